// The "Compare" tab: the what-if toggles the loaded architecture supports (from
// archscope::available_toggles) and the cache element type, and "Compare", which runs one
// prompt greedily as A (the model as loaded) and B (toggled) and shows them side by side:
// cache bytes, tokens per second, both texts, and per reply token whether both pick the
// same top-1 token and the KL divergence of B's next-token distribution from A's. For a
// card (no weights) it compares analytically: cache bytes, attention work and bytes read
// per token at the window's context.
#pragma once

#include <QWidget>

#include <memory>
#include <vector>

#include "archscope/toggles.h"
#include "chat_engine.h"

class QCheckBox;
class QChart;
class QChartView;
class QComboBox;
class QGridLayout;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace archscope::gui {

class CompareView : public QWidget {
  Q_OBJECT
 public:
  explicit CompareView(ChatEngine* engine, QWidget* parent = nullptr);

  void clear(const QString& why);  // no running model
  void setSession(const SessionInfo& info);
  void setAnalytic(const archscope::ModelSpec& spec, uint64_t context, archscope::GgmlType cache_type);
  void setContext(uint64_t context, archscope::GgmlType cache_type);  // analytic: follows the window
  // B's toggles as set in the panel (checked rows only).
  std::vector<archscope::Toggle> toggles() const;
  // Checks the row of toggle `name` and sets its value; false when there is no such row.
  bool setToggle(const QString& name, const QString& value);
  void setCacheTypeB(archscope::GgmlType type);
  void setPrompt(const QString& prompt);
  void setMaxTokens(int tokens);
  void run();
  bool running() const { return running_; }

  const CompareResult* result() const { return result_.get(); }
  QString summaryText() const;
  QChart* klChart() const { return kl_chart_; }

 signals:
  void finished();

 private:
  struct Row {
    QString name;
    QCheckBox* use = nullptr;
    QComboBox* choice = nullptr;  // for toggles with choices
    QSpinBox* number = nullptr;   // for integer toggles
  };
  void buildRows(const archscope::ModelSpec& spec, archscope::GgmlType cache_type);
  void compareAnalytic();
  std::vector<QWidget*> runOnlyWidgets() const;  // hidden in analytic mode
  void show(std::shared_ptr<const CompareResult> result);
  void rebuildChart();
  void updateButtons();

  ChatEngine* engine_;
  bool available_ = false, running_ = false;
  bool analytic_ = false, shown_analytic_ = false;
  archscope::ModelSpec spec_;  // analytic mode
  uint64_t context_ = 0;
  archscope::GgmlType cache_type_a_ = archscope::GgmlType::F16;
  std::vector<Row> rows_;
  std::shared_ptr<const CompareResult> result_;

  QLabel* intro_ = nullptr;
  QGridLayout* toggle_grid_ = nullptr;
  QComboBox* cache_b_ = nullptr;
  QLineEdit* prompt_ = nullptr;
  QSpinBox* max_tokens_ = nullptr;
  QLabel* reply_length_label_ = nullptr;
  QGroupBox* run_box_ = nullptr;
  QWidget* filler_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* stop_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* side_label_[2] = {};
  QTextBrowser* side_text_[2] = {};
  QChart* kl_chart_ = nullptr;
  QChartView* kl_view_ = nullptr;
};

}  // namespace archscope::gui
