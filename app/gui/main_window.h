// The archscope window: File menu (open a GGUF file, a Hugging Face folder or a card; recent
// models; the bundled cards), drag and drop, a header naming the model, a context-length
// control and cache-type combo that recompute the CachePlan for every view, six tabs
// (Layers: diagram + details, KV sharing, Attention budget, Cache, Performance, Compare,
// Routing for mixture-of-experts models, mHC for models with hyper-connections)
// and the chat beside them. With no model loaded a welcome page offers the bundled cards.
// Loading runs on a worker thread (ModelLoader) with progress and Cancel; a bad file shows
// an inline error and keeps the previous model. A GGUF file is then opened in a
// ChatEngine (its own thread): while it replies, each StepReport moves the views' context
// to the tokens in the cache (live mode), at most every 100 ms.
#pragma once

#include <QMainWindow>
#include <QStringList>

#include <cstdint>
#include <memory>
#include <optional>

#include "archscope/cache_plan.h"
#include "archscope/model_spec.h"
#include "chat_engine.h"
#include "model_loader_thread.h"
#include "recent_models.h"

class QComboBox;
class QFrame;
class QHBoxLayout;
class QLabel;
class QMenu;
class QMimeData;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QSplitter;
class QStackedWidget;
class QTabWidget;
class QTimer;
class QVBoxLayout;

namespace archscope::gui {

class AttentionBudgetView;
class CacheChartView;
class ChatPanel;
class CompareView;
class LayerDetails;
class MhcView;
class PerformanceView;
class RoutingView;
class LayerDiagramView;
class SharingMapView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // `archscope [MODEL]`: opens MODEL when given (arguments[0] is the program).
  void openArguments(const QStringList& arguments);
  // Starts loading a GGUF file, a Hugging Face folder or a card on the worker thread.
  void openModel(const QString& path);
  void cancelLoad();
  // Opens the first local file or folder of a drop (what dropEvent does); false if none.
  bool openDropped(const QMimeData* mime);
  void openFileDialog();
  void openFolderDialog();
  bool loading() const;

  // The context the views show (the app calls this as a chat's context grows).
  void setContext(uint64_t tokens);
  uint64_t context() const { return context_; }
  void setCacheType(archscope::GgmlType type);
  // Selects a layer in the diagram, the sharing map and the details panel.
  void selectLayer(int layer);
  archscope::GgmlType cacheType() const { return cache_type_; }

  bool hasModel() const { return model_ != nullptr; }
  const archscope::ModelSpec* model() const { return model_ ? &model_->spec : nullptr; }
  const archscope::CachePlan& plan() const { return plan_; }

  // What tests and screenshots look at.
  QString headerText() const;
  QString statusText() const;
  QString errorText() const;  // empty when no error is shown
  QTabWidget* tabs() const { return tabs_; }
  QSlider* contextSlider() const { return slider_; }
  ModelLoader* loader() const { return loader_; }
  AttentionBudgetView* budgetView() const { return budget_; }
  CacheChartView* cacheView() const { return cache_; }
  ChatPanel* chat() const { return chat_; }
  ChatEngine* engine() const { return engine_; }
  PerformanceView* performanceView() const { return performance_; }
  CompareView* compareView() const { return compare_; }
  RoutingView* routingView() const { return routing_; }
  MhcView* mhcView() const { return mhc_; }
  bool welcomeShown() const;
  // A session is open on the loaded GGUF file (the chat can run).
  bool running() const { return session_ != nullptr; }

 signals:
  void modelLoaded(const QString& path);
  void loadFailed(const QString& message);
  void loadCancelled();
  void sessionOpened();
  void sessionFailed(const QString& message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void buildMenus();
  QWidget* buildHeader();
  QWidget* buildControls();
  QWidget* buildBanners();
  QWidget* buildWelcome();
  QWidget* buildTabs();
  void rebuildRecentMenu();
  void rebuildWelcomeRecent();

  void onLoaded(int request, std::shared_ptr<LoadedModel> model);
  void onFailed(int request, const QString& path, const QString& message);
  void onProgress(int request, int percent, const QString& stage);
  void onCancelled(int request, const QString& path);
  void openSession();  // runs the loaded model when it is a GGUF file with weights
  void onSessionOpened(std::shared_ptr<const SessionInfo> info);
  void onSessionFailed(const QString& path, const QString& message);
  void onStep(std::shared_ptr<const archscope::StepReport> report);
  void applyLiveStep();
  void showError(const QString& message);
  void hideError();

  void updateHeader();
  void updateContextRange();
  void recompute();  // plan at context_/cache_type_ -> every view and the status bar
  uint64_t sliderToTokens(int value) const;
  int tokensToSlider(uint64_t tokens) const;

  ModelLoader* loader_ = nullptr;
  ChatEngine* engine_ = nullptr;
  std::shared_ptr<const SessionInfo> session_;
  std::shared_ptr<const archscope::StepReport> live_step_;  // the newest report not shown yet
  QTimer* live_timer_ = nullptr;
  RecentModels recent_;
  std::shared_ptr<LoadedModel> model_;
  archscope::CachePlan plan_;
  uint64_t context_ = 0, min_context_ = 1, max_context_ = 1;
  archscope::GgmlType cache_type_ = archscope::GgmlType::F16;
  uint64_t plan_batch_ = 1;  // the running session's prefill batch in live mode, else 1
  QString loading_path_;
  bool opening_session_ = false;  // the engine is loading the weights

  // Header.
  QLabel* name_ = nullptr;
  QLabel* facts_ = nullptr;
  QLabel* device_ = nullptr;
  // Controls.
  QWidget* controls_ = nullptr;
  QSlider* slider_ = nullptr;
  QSpinBox* spin_ = nullptr;
  QHBoxLayout* presets_ = nullptr;
  QComboBox* cache_combo_ = nullptr;
  // Banners.
  QFrame* loading_bar_ = nullptr;
  QLabel* loading_label_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QFrame* error_bar_ = nullptr;
  QLabel* error_label_ = nullptr;
  // Pages.
  QStackedWidget* pages_ = nullptr;
  QWidget* welcome_ = nullptr;
  QVBoxLayout* welcome_recent_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QSplitter* layers_split_ = nullptr;
  LayerDiagramView* diagram_ = nullptr;
  LayerDetails* details_ = nullptr;
  SharingMapView* sharing_ = nullptr;
  AttentionBudgetView* budget_ = nullptr;
  CacheChartView* cache_ = nullptr;
  PerformanceView* performance_ = nullptr;
  CompareView* compare_ = nullptr;
  RoutingView* routing_ = nullptr;
  MhcView* mhc_ = nullptr;
  ChatPanel* chat_ = nullptr;
  QLabel* status_ = nullptr;
  QMenu* recent_menu_ = nullptr;
};

// The model cards shipped in ARCHSCOPE_CARDS_DIR, sorted by name.
QStringList bundled_cards();
// The runnable demo models (GGUF) shipped in ARCHSCOPE_MODELS_DIR, sorted by name.
QStringList bundled_models();

}  // namespace archscope::gui
