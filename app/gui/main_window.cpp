#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeySequence>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextDocument>
#include <QTimer>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "archscope/cost_model.h"
#include "archscope/gguf.h"
#include "attention_budget_view.h"
#include "cache_chart_view.h"
#include "chat_panel.h"
#include "compare_view.h"
#include "layer_details.h"
#include "layer_diagram_view.h"
#include "palette.h"
#include "mhc_view.h"
#include "performance_view.h"
#include "routing_view.h"
#include "sharing_map_view.h"

namespace archscope::gui {

namespace {

constexpr int kSliderSteps = 1000;
const char* const kCacheTypes[] = {"f16", "bf16", "f32", "q8_0"};

QString cards_dir() {
  const QByteArray env = qgetenv("ARCHSCOPE_CARDS_DIR");
  return env.isEmpty() ? QString(ARCHSCOPE_CARDS_DIR) : QString::fromLocal8Bit(env);
}

QString models_dir() {
  const QByteArray env = qgetenv("ARCHSCOPE_MODELS_DIR");
  return env.isEmpty() ? QString(ARCHSCOPE_MODELS_DIR) : QString::fromLocal8Bit(env);
}

// general.name of a GGUF file, else its file name.
QString gguf_title(const QString& path) {
  try {
    const GgufFile file = GgufFile::open(path.toStdString());
    if (const GgufValue* name = file.find("general.name")) return QString::fromStdString(name->as_string("general.name"));
  } catch (const std::exception&) {
  }
  return QFileInfo(path).completeBaseName();
}

// "google/gemma-4-E2B" from a card's _name_or_path, else the file name.
QString card_title(const QString& path) {
  QFile f(path);
  if (f.size() < (1 << 20) && f.open(QIODevice::ReadOnly)) {
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    const QString name = o.value("_name_or_path").toString();
    if (!name.isEmpty()) return name;
  }
  return QFileInfo(path).completeBaseName();
}

QString source_name(SourceKind s) {
  switch (s) {
    case SourceKind::Gguf: return "GGUF";
    case SourceKind::HfFolder: return "HF folder";
    case SourceKind::Card: return "card";
  }
  return "?";
}

// Decimal magnitudes for parameter counts: "4.63 B", "760 M".
QString format_params(double v) {
  const char* suffix[] = {"", " K", " M", " B", " T"};
  int s = 0;
  while (v >= 1000.0 && s < 4) v /= 1000.0, ++s;
  return QString::number(v, 'f', s == 0 ? 0 : (v < 10 ? 2 : (v < 100 ? 1 : 0))) + suffix[s];
}

QString chip(const QString& label, const QString& value) {
  return QString("<span style='color:#6b7280'>%1</span>&nbsp;<b>%2</b>").arg(label, value.toHtmlEscaped());
}

}  // namespace

QStringList bundled_models() {
  QDir dir(models_dir());
  QStringList out;
  for (const QString& name : dir.entryList({"*.gguf"}, QDir::Files, QDir::Name)) out << dir.filePath(name);
  return out;
}

QStringList bundled_cards() {
  QDir dir(cards_dir());
  QStringList out;
  for (const QString& name : dir.entryList({"*.json"}, QDir::Files, QDir::Name)) out << dir.filePath(name);
  return out;
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("archscope");
  setAcceptDrops(true);
  resize(1400, 900);

  loader_ = new ModelLoader(this);
  connect(loader_, &ModelLoader::loaded, this, &MainWindow::onLoaded);
  connect(loader_, &ModelLoader::failed, this, &MainWindow::onFailed);
  connect(loader_, &ModelLoader::progress, this, &MainWindow::onProgress);
  connect(loader_, &ModelLoader::cancelled, this, &MainWindow::onCancelled);
  engine_ = new ChatEngine(this);
  connect(engine_, &ChatEngine::opened, this, &MainWindow::onSessionOpened);
  connect(engine_, &ChatEngine::openFailed, this, &MainWindow::onSessionFailed);
  connect(engine_, &ChatEngine::step, this, &MainWindow::onStep);
  connect(engine_, &ChatEngine::openProgress, this, [this](int percent) {
    if (!opening_session_) return;
    progress_->setValue(percent);
    progress_->setFormat("Loading the weights  %p%");
  });
  live_timer_ = new QTimer(this);
  live_timer_->setSingleShot(true);
  live_timer_->setInterval(100);
  connect(live_timer_, &QTimer::timeout, this, &MainWindow::applyLiveStep);

  buildMenus();
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(buildHeader());
  layout->addWidget(buildControls());
  layout->addWidget(buildBanners());
  pages_ = new QStackedWidget(central);
  pages_->addWidget(buildWelcome());
  pages_->addWidget(buildTabs());
  layout->addWidget(pages_, 1);
  setCentralWidget(central);

  status_ = new QLabel(this);
  status_->setObjectName("totals");
  statusBar()->addPermanentWidget(status_, 1);
  statusBar()->setSizeGripEnabled(false);
  updateHeader();
  recompute();
}

MainWindow::~MainWindow() = default;

// ---- building -------------------------------------------------------------------------

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu("&File");
  QAction* open = file->addAction("&Open…", this, &MainWindow::openFileDialog);
  open->setShortcut(QKeySequence::Open);
  file->addAction("Open &Folder…", this, &MainWindow::openFolderDialog);
  recent_menu_ = file->addMenu("Open &Recent");
  QMenu* demos = file->addMenu("&Demo Models");
  for (const QString& model : bundled_models())
    demos->addAction(gguf_title(model), this, [this, model] { openModel(model); });
  demos->setEnabled(!demos->isEmpty());
  QMenu* cards = file->addMenu("&Bundled Cards");
  for (const QString& card : bundled_cards())
    cards->addAction(card_title(card), this, [this, card] { openModel(card); });
  cards->setEnabled(!cards->isEmpty());
  file->addSeparator();
  QAction* quit = file->addAction("&Quit", this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);
  rebuildRecentMenu();
}

QWidget* MainWindow::buildHeader() {
  auto* header = new QFrame(this);
  header->setObjectName("header");
  header->setStyleSheet("#header { background: #f4f6fa; border-bottom: 1px solid #dde1e7; }");
  auto* layout = new QVBoxLayout(header);
  layout->setContentsMargins(14, 8, 14, 8);
  layout->setSpacing(2);
  name_ = new QLabel(header);
  name_->setObjectName("modelName");
  QFont f = name_->font();
  f.setPointSizeF(f.pointSizeF() * 1.45);
  f.setBold(true);
  name_->setFont(f);
  name_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  facts_ = new QLabel(header);
  facts_->setTextFormat(Qt::RichText);
  device_ = new QLabel(header);
  device_->setTextFormat(Qt::RichText);
  layout->addWidget(name_);
  auto* row = new QHBoxLayout;
  row->addWidget(facts_);
  row->addStretch(1);
  row->addWidget(device_);
  layout->addLayout(row);
  return header;
}

QWidget* MainWindow::buildControls() {
  controls_ = new QWidget(this);
  auto* layout = new QHBoxLayout(controls_);
  layout->setContentsMargins(14, 6, 14, 6);
  layout->setSpacing(8);
  auto* label = new QLabel("Context", controls_);
  label->setToolTip("Tokens in the context: every view recomputes the cache plan and attention work at this length");
  slider_ = new QSlider(Qt::Horizontal, controls_);
  slider_->setObjectName("contextSlider");
  slider_->setRange(0, kSliderSteps);
  slider_->setMinimumWidth(320);
  slider_->setToolTip("Context length (log scale, up to the model's trained context)");
  spin_ = new QSpinBox(controls_);
  spin_->setObjectName("contextSpin");
  spin_->setGroupSeparatorShown(true);
  spin_->setSuffix(" tokens");
  spin_->setMinimumWidth(150);
  spin_->setKeyboardTracking(false);
  presets_ = new QHBoxLayout;
  presets_->setSpacing(2);
  cache_combo_ = new QComboBox(controls_);
  cache_combo_->setObjectName("cacheType");
  for (const char* t : kCacheTypes) cache_combo_->addItem(t);
  cache_combo_->setToolTip("Element type of the KV cache (f16 is the engine's default)");
  connect(slider_, &QSlider::valueChanged, this, [this](int v) { setContext(sliderToTokens(v)); });
  connect(spin_, &QSpinBox::valueChanged, this, [this](int v) { setContext(uint64_t(v)); });
  connect(cache_combo_, &QComboBox::currentTextChanged, this, [this](const QString& t) {
    if (auto type = parse_cache_type(t.toStdString())) setCacheType(*type);
  });
  layout->addWidget(label);
  layout->addWidget(slider_, 1);
  layout->addWidget(spin_);
  layout->addLayout(presets_);
  layout->addSpacing(16);
  layout->addWidget(new QLabel("KV cache type", controls_));
  layout->addWidget(cache_combo_);
  return controls_;
}

QWidget* MainWindow::buildBanners() {
  auto* box = new QWidget(this);
  auto* layout = new QVBoxLayout(box);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);

  loading_bar_ = new QFrame(box);
  loading_bar_->setObjectName("loadingBar");
  loading_bar_->setStyleSheet("#loadingBar { background: #eef3ff; border-bottom: 1px solid #c9d7f5; }");
  auto* l = new QHBoxLayout(loading_bar_);
  l->setContentsMargins(14, 6, 14, 6);
  loading_label_ = new QLabel(loading_bar_);
  progress_ = new QProgressBar(loading_bar_);
  progress_->setRange(0, 100);
  progress_->setMaximumWidth(260);
  auto* cancel = new QPushButton("Cancel", loading_bar_);
  cancel->setObjectName("cancelLoad");
  cancel->setShortcut(Qt::Key_Escape);
  cancel->setToolTip("Stop loading (Esc); the current model stays open");
  connect(cancel, &QPushButton::clicked, this, &MainWindow::cancelLoad);
  l->addWidget(loading_label_, 1);
  l->addWidget(progress_);
  l->addWidget(cancel);
  loading_bar_->hide();

  error_bar_ = new QFrame(box);
  error_bar_->setObjectName("errorBar");
  error_bar_->setStyleSheet("#errorBar { background: #fdecea; border-bottom: 1px solid #f2b8b5; } "
                            "#errorBar QLabel { color: #8c1d18; }");
  auto* e = new QHBoxLayout(error_bar_);
  e->setContentsMargins(14, 6, 14, 6);
  error_label_ = new QLabel(error_bar_);
  error_label_->setWordWrap(true);
  error_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* dismiss = new QToolButton(error_bar_);
  dismiss->setText("✕");
  dismiss->setAutoRaise(true);
  dismiss->setToolTip("Dismiss");
  connect(dismiss, &QToolButton::clicked, this, &MainWindow::hideError);
  e->addWidget(error_label_, 1);
  e->addWidget(dismiss);
  error_bar_->hide();

  layout->addWidget(loading_bar_);
  layout->addWidget(error_bar_);
  return box;
}

QWidget* MainWindow::buildWelcome() {
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  welcome_ = new QWidget(scroll);
  welcome_->setObjectName("welcome");
  auto* outer = new QVBoxLayout(welcome_);
  outer->setContentsMargins(48, 32, 48, 32);
  outer->setSpacing(12);
  auto* title = new QLabel("Open a model to explore its layers", welcome_);
  QFont f = title->font();
  f.setPointSizeF(f.pointSizeF() * 1.6);
  f.setBold(true);
  title->setFont(f);
  auto* text = new QLabel(
      "archscope reads a GGUF file, a Hugging Face folder or a model card (a config.json) and shows, layer by "
      "layer, what each architecture's tricks do to attention reach, KV cache bytes and decode cost. "
      "Use File ▸ Open (Ctrl+O), drop a file on this window, or start with one of the bundled cards:",
      welcome_);
  text->setWordWrap(true);
  outer->addWidget(title);
  outer->addWidget(text);

  // Demo models first: they run, so the chat and the live views can be tried at once.
  for (const QString& model : bundled_models()) {
    auto* button = new QPushButton(welcome_);
    button->setObjectName("model:" + QFileInfo(model).fileName());
    button->setText(QString("Chat with %1 — a demo model trained by archscope\n%2")
                        .arg(gguf_title(model), QFileInfo(model).fileName()));
    button->setToolTip(model);
    button->setMinimumHeight(54);
    button->setCursor(Qt::PointingHandCursor);
    button->setStyleSheet(
        "QPushButton { text-align: left; padding: 8px 14px; border: 1px solid #2563eb; border-radius: 6px; "
        "background: #eef3ff; font-weight: 600; } QPushButton:hover { background: #dce8ff; }");
    connect(button, &QPushButton::clicked, this, [this, model] { openModel(model); });
    outer->addWidget(button);
  }

  auto* grid = new QGridLayout;
  grid->setSpacing(10);
  int i = 0;
  for (const QString& card : bundled_cards()) {
    auto* button = new QPushButton(welcome_);
    button->setObjectName("card:" + QFileInfo(card).fileName());
    button->setText(card_title(card) + "\n" + QFileInfo(card).fileName());
    button->setToolTip(card);
    button->setMinimumHeight(54);
    button->setCursor(Qt::PointingHandCursor);
    button->setStyleSheet(
        "QPushButton { text-align: left; padding: 8px 14px; border: 1px solid #d5dae2; border-radius: 6px; "
        "background: #ffffff; } QPushButton:hover { background: #eef3ff; border-color: #2563eb; }");
    connect(button, &QPushButton::clicked, this, [this, card] { openModel(card); });
    grid->addWidget(button, i / 3, i % 3);
    ++i;
  }
  outer->addLayout(grid);
  auto* buttons = new QHBoxLayout;
  auto* open = new QPushButton("Open file…", welcome_);
  auto* folder = new QPushButton("Open folder…", welcome_);
  connect(open, &QPushButton::clicked, this, &MainWindow::openFileDialog);
  connect(folder, &QPushButton::clicked, this, &MainWindow::openFolderDialog);
  buttons->addWidget(open);
  buttons->addWidget(folder);
  buttons->addStretch(1);
  outer->addLayout(buttons);
  welcome_recent_ = new QVBoxLayout;
  outer->addLayout(welcome_recent_);
  outer->addStretch(1);
  scroll->setWidget(welcome_);
  rebuildWelcomeRecent();
  return scroll;
}

QWidget* MainWindow::buildTabs() {
  tabs_ = new QTabWidget(this);
  tabs_->setDocumentMode(true);

  auto* split = new QSplitter(Qt::Horizontal, tabs_);
  layers_split_ = split;
  diagram_ = new LayerDiagramView(split);
  details_ = new LayerDetails(split);
  split->addWidget(diagram_);
  split->addWidget(details_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  tabs_->addTab(split, "Layers");

  sharing_ = new SharingMapView(tabs_);
  tabs_->addTab(sharing_, "KV sharing");
  budget_ = new AttentionBudgetView(tabs_);
  tabs_->addTab(budget_, "Attention budget");
  cache_ = new CacheChartView(tabs_);
  tabs_->addTab(cache_, "Cache");
  performance_ = new PerformanceView(tabs_);
  tabs_->addTab(performance_, "Performance");
  compare_ = new CompareView(engine_, tabs_);
  tabs_->addTab(compare_, "Compare");
  routing_ = new RoutingView(tabs_);
  tabs_->addTab(routing_, "Routing");
  mhc_ = new MhcView(tabs_);
  tabs_->addTab(mhc_, "mHC");

  connect(diagram_, &LayerDiagramView::layerClicked, this, &MainWindow::selectLayer);
  connect(sharing_, &SharingMapView::layerClicked, this, &MainWindow::selectLayer);

  // The chat beside the views, so the diagram and charts move while the model replies.
  auto* page = new QSplitter(Qt::Horizontal, this);
  page->addWidget(tabs_);
  chat_ = new ChatPanel(engine_, page);
  page->addWidget(chat_);
  page->setStretchFactor(0, 3);
  page->setStretchFactor(1, 1);
  page->setSizes({1000, 400});
  connect(chat_, &ChatPanel::replyFinished, performance_, &PerformanceView::setReply);
  connect(chat_, &ChatPanel::replyStarted, performance_, &PerformanceView::beginReply);
  connect(chat_, &ChatPanel::replyStarted, routing_, &RoutingView::beginReply);
  connect(chat_, &ChatPanel::replyStarted, mhc_, &MhcView::beginReply);
  connect(chat_, &ChatPanel::replyFinished, this, &MainWindow::applyLiveStep);
  // A reply that failed (device lost, out of memory, a full context) says why in the window.
  connect(chat_, &ChatPanel::replyFinished, this, [this](const ReplyStats& stats) {
    if (!stats.error.isEmpty() && !stats.stopped) showError(stats.error);
  });
  connect(chat_, &ChatPanel::replyStarted, this, &MainWindow::hideError);
  return page;
}

void MainWindow::rebuildRecentMenu() {
  recent_menu_->clear();
  for (const QString& path : recent_.paths())
    recent_menu_->addAction(QFileInfo(path).fileName() + "    " + QFileInfo(path).absolutePath(), this,
                            [this, path] { openModel(path); });
  if (!recent_.empty()) {
    recent_menu_->addSeparator();
    recent_menu_->addAction("Clear Recent", this, [this] {
      recent_.clear();
      rebuildRecentMenu();
      rebuildWelcomeRecent();
    });
  }
  recent_menu_->setEnabled(!recent_.empty());
}

void MainWindow::rebuildWelcomeRecent() {
  while (QLayoutItem* item = welcome_recent_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  if (recent_.empty()) return;
  auto* title = new QLabel("<b>Recent models</b>", welcome_);
  welcome_recent_->addWidget(title);
  for (const QString& path : recent_.paths()) {
    auto* link = new QPushButton(QFileInfo(path).fileName() + "  —  " + path, welcome_);
    link->setFlat(true);
    link->setCursor(Qt::PointingHandCursor);
    link->setStyleSheet("QPushButton { text-align: left; color: #2563eb; padding: 2px; }");
    connect(link, &QPushButton::clicked, this, [this, path] { openModel(path); });
    welcome_recent_->addWidget(link);
  }
}

// ---- loading --------------------------------------------------------------------------

void MainWindow::openArguments(const QStringList& arguments) {
  if (arguments.size() > 1) openModel(arguments.at(1));
}

void MainWindow::openModel(const QString& path) {
  loading_path_ = path;
  loading_label_->setText(QString("Loading <b>%1</b> …").arg(QFileInfo(path).fileName().toHtmlEscaped()));
  progress_->setValue(0);
  loading_bar_->show();
  loader_->start(path);
}

void MainWindow::openFileDialog() {
  const QString path = QFileDialog::getOpenFileName(this, "Open a model", QString(),
                                                    "Models (*.gguf *.json);;GGUF files (*.gguf);;Cards (*.json);;All files (*)");
  if (!path.isEmpty()) openModel(path);
}

void MainWindow::openFolderDialog() {
  const QString path = QFileDialog::getExistingDirectory(this, "Open a Hugging Face model folder");
  if (!path.isEmpty()) openModel(path);
}

void MainWindow::cancelLoad() {
  if (loader_->busy()) loader_->cancel();
  else if (opening_session_) engine_->stop();
}

bool MainWindow::loading() const { return loader_->busy() || opening_session_; }

void MainWindow::onProgress(int, int percent, const QString& stage) {
  progress_->setValue(percent);
  progress_->setFormat(stage + "  %p%");
}

void MainWindow::onCancelled(int, const QString& path) {
  loading_bar_->hide();
  statusBar()->showMessage(QString("Loading %1 cancelled").arg(QFileInfo(path).fileName()), 5000);
  emit loadCancelled();
}

void MainWindow::openSession() {
  engine_->stop();  // a reply of the previous model ends after its current token
  session_.reset();
  opening_session_ = false;
  live_step_.reset();
  const ModelSpec& spec = model_->spec;
  if (!spec.weights_present || spec.source != SourceKind::Gguf) {
    engine_->close();
    const QString why = spec.source == SourceKind::Card
                            ? "This is a model card: every view is computed from its description. Open a GGUF file to chat."
                            : "The engine runs GGUF files; this folder's views are computed from its description.";
    chat_->setUnavailable(why);
    chat_->hide();  // the views get the whole width
    performance_->clear(why);
    compare_->setAnalytic(spec, context_, cache_type_);
    return;
  }
  chat_->show();
  const QString loading = QString("Loading the weights onto %1…").arg(model_->device);
  opening_session_ = true;
  loading_label_->setText(QString("Running <b>%1</b> …").arg(QFileInfo(QString::fromStdString(spec.source_path)).fileName().toHtmlEscaped()));
  progress_->setValue(0);
  progress_->setFormat("Loading the weights  %p%");
  loading_bar_->show();
  chat_->setUnavailable(loading);
  performance_->clear(loading);
  compare_->clear(loading);
  SessionOptions options;
  options.cache_type = cache_type_;
  engine_->open(QString::fromStdString(spec.source_path), options);
}

void MainWindow::onSessionOpened(std::shared_ptr<const SessionInfo> info) {
  if (!model_ || info->path.toStdString() != model_->spec.source_path) return;  // a model since replaced
  session_ = std::move(info);
  opening_session_ = false;
  loading_bar_->hide();
  cache_->clearMeasured();
  // Live: every view shows the plan the session allocated from, rings included.
  plan_batch_ = uint64_t(session_->batch);
  cache_->setBatch(plan_batch_);
  chat_->setSession(*session_);
  performance_->setSession(*session_);
  compare_->setSession(*session_);
  routing_->setModel(session_->spec);
  mhc_->setModel(session_->spec);
  // Why the model runs where it runs (e.g. the CPU path for ops Vulkan lacks): in the status
  // bar for a while, and on the device chip for as long as the session lasts.
  if (!session_->notice.isEmpty()) statusBar()->showMessage(session_->notice, 30000);
  updateHeader();
  updateContextRange();
  recompute();
  emit sessionOpened();
}

void MainWindow::onSessionFailed(const QString& path, const QString& message) {
  if (!model_ || path.toStdString() != model_->spec.source_path) return;
  opening_session_ = false;
  loading_bar_->hide();
  if (message.endsWith("cancelled")) {
    const QString why = "Loading the weights was cancelled: the views stay analytic. Open the model again to chat.";
    chat_->setUnavailable(why);
    performance_->clear(why);
    compare_->setAnalytic(model_->spec, context_, cache_type_);
    statusBar()->showMessage("Loading the weights cancelled", 5000);
    emit sessionFailed(message);
    return;
  }
  showError(message);
  chat_->setUnavailable("The model could not be run: " + message);
  performance_->clear(message);
  compare_->clear(message);
  emit sessionFailed(message);
}

void MainWindow::onStep(std::shared_ptr<const archscope::StepReport> report) {
  if (!session_) return;
  performance_->addStep(*report);
  cache_->addMeasured(uint64_t(report->position), report->cache_bytes, session_->cache_type);
  routing_->addStep(*report);
  mhc_->addStep(*report);
  live_step_ = std::move(report);
  if (!live_timer_->isActive()) live_timer_->start();
}

// Live mode: the views show the context the conversation has reached.
void MainWindow::applyLiveStep() {
  if (!live_step_) return;
  const int position = live_step_->position;
  live_step_.reset();
  setContext(uint64_t(std::max(1, position)));
  performance_->refresh();
  routing_->refresh();
  mhc_->refresh();
}

void MainWindow::onFailed(int, const QString& path, const QString& message) {
  loading_bar_->hide();
  showError(message.isEmpty() ? QString("%1: could not be opened").arg(path) : message);
  emit loadFailed(message);
}

void MainWindow::onLoaded(int, std::shared_ptr<LoadedModel> model) {
  loading_bar_->hide();
  hideError();
  model_ = std::move(model);
  recent_.add(model_->spec.source_path.empty() ? loading_path_ : QString::fromStdString(model_->spec.source_path));
  rebuildRecentMenu();
  rebuildWelcomeRecent();
  setWindowTitle(QString("%1 — archscope").arg(QString::fromStdString(model_->spec.name)));

  context_ = uint64_t(std::max(1, model_->spec.context_length));
  updateContextRange();
  updateHeader();
  plan_batch_ = 1;
  cache_->setBatch(1);
  plan_ = plan_cache(model_->spec, context_, cache_type_);
  diagram_->setModel(model_->spec, plan_);
  sharing_->setModel(model_->spec, plan_);
  details_->setModel(model_->spec, plan_);
  budget_->setModel(model_->spec);
  cache_->setModel(model_->spec);
  routing_->setModel(model_->spec);
  const bool moe = std::any_of(model_->spec.layers.begin(), model_->spec.layers.end(),
                               [](const LayerSpec& l) { return l.ffn.kind == FfnKind::Moe; });
  tabs_->setTabVisible(tabs_->indexOf(routing_), moe);
  mhc_->setModel(model_->spec);
  tabs_->setTabVisible(tabs_->indexOf(mhc_), model_->spec.hc_width > 0);
  pages_->setCurrentIndex(1);
  openSession();
  // The diagram gets the width its columns need (at most 60%: its head-budget bars shrink),
  // details the rest, enough for the tensor table's columns.
  const int total = std::max(layers_split_->width(), width());
  const int diagram_width = std::min(diagram_->sizeHint().width(), total * 3 / 5);
  layers_split_->setSizes({diagram_width, std::max(200, total - diagram_width)});
  recompute();
  selectLayer(0);
  emit modelLoaded(loading_path_);
}

void MainWindow::showError(const QString& message) {
  error_label_->setText(message);
  error_bar_->show();
}

void MainWindow::hideError() {
  error_label_->clear();
  error_bar_->hide();
}

bool MainWindow::openDropped(const QMimeData* mime) {
  if (!mime || !mime->hasUrls() || mime->urls().isEmpty() || !mime->urls().first().isLocalFile()) return false;
  openModel(mime->urls().first().toLocalFile());
  return true;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  if (openDropped(event->mimeData())) event->acceptProposedAction();
}

// ---- context and cache type -----------------------------------------------------------

uint64_t MainWindow::sliderToTokens(int value) const {
  if (max_context_ <= min_context_) return max_context_;
  const double t = double(min_context_) *
                   std::pow(double(max_context_) / double(min_context_), double(value) / kSliderSteps);
  uint64_t tokens = uint64_t(std::llround(t));
  // Round to a readable step: whole KiB-of-tokens above 4K, whole 64s above 256.
  if (tokens >= 4096) tokens = (tokens + 512) / 1024 * 1024;
  else if (tokens >= 256) tokens = (tokens + 32) / 64 * 64;
  return std::clamp(tokens, min_context_, max_context_);
}

int MainWindow::tokensToSlider(uint64_t tokens) const {
  if (max_context_ <= min_context_) return kSliderSteps;
  const double v = std::log(double(std::max(tokens, min_context_)) / double(min_context_)) /
                   std::log(double(max_context_) / double(min_context_));
  return std::clamp(int(std::lround(v * kSliderSteps)), 0, kSliderSteps);
}

void MainWindow::updateContextRange() {
  max_context_ = model_ ? uint64_t(std::max(1, model_->spec.context_length)) : 1;
  min_context_ = max_context_ > 1024 ? std::min<uint64_t>(1024, max_context_) : std::max<uint64_t>(1, max_context_ / 8);
  if (session_) min_context_ = 1;  // live: the views follow the chat from its first token
  {
    const QSignalBlocker b1(slider_), b2(spin_);
    spin_->setRange(int(min_context_), int(std::min<uint64_t>(max_context_, INT32_MAX)));
    spin_->setValue(int(context_));
    slider_->setValue(tokensToSlider(context_));
  }
  while (QLayoutItem* item = presets_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  if (!model_) return;
  auto add_preset = [this](uint64_t tokens, const QString& text) {
    auto* b = new QToolButton(controls_);
    b->setText(text);
    b->setToolTip(QString("%1 tokens").arg(format_count(tokens)));
    connect(b, &QToolButton::clicked, this, [this, tokens] { setContext(tokens); });
    presets_->addWidget(b);
  };
  for (uint64_t p : {uint64_t(4096), uint64_t(32768), uint64_t(131072), uint64_t(1048576)})
    if (p >= min_context_ && p < max_context_) add_preset(p, format_tokens(p));
  add_preset(max_context_, QString("max %1").arg(format_tokens(max_context_)));
}

void MainWindow::setContext(uint64_t tokens) {
  if (!model_) return;
  tokens = std::clamp(tokens, min_context_, max_context_);
  if (tokens == context_) return;
  context_ = tokens;
  {
    const QSignalBlocker b1(slider_), b2(spin_);
    spin_->setValue(int(context_));
    if (sliderToTokens(slider_->value()) != context_) slider_->setValue(tokensToSlider(context_));
  }
  recompute();
}

void MainWindow::setCacheType(GgmlType type) {
  if (type == cache_type_) return;
  cache_type_ = type;
  const char* name = ggml_type_info(type) ? ggml_type_info(type)->name : "";
  {
    const QSignalBlocker b(cache_combo_);
    cache_combo_->setCurrentText(name);
  }
  recompute();
}

void MainWindow::recompute() {
  controls_->setVisible(model_ != nullptr);
  if (!model_) {
    status_->setText("No model loaded · File ▸ Open, drop a file, or pick a bundled card");
    return;
  }
  const ModelSpec& spec = model_->spec;
  plan_ = plan_cache(spec, context_, cache_type_, plan_batch_);
  diagram_->setPlan(plan_);
  sharing_->setPlan(plan_);
  details_->setPlan(plan_);
  budget_->setContext(context_, cache_type_);
  cache_->setContext(context_, cache_type_);
  compare_->setContext(context_, cache_type_);
  const WeightSummary weights = summarize_weights(spec);
  const char* type_name = ggml_type_info(cache_type_) ? ggml_type_info(cache_type_)->name : "?";
  status_->setText(QString("KV %1 at %2 tokens (naive %3) · %4 cache · weights %5")
                       .arg(format_bytes(plan_.bytes), format_count(context_), format_bytes(plan_.bytes_naive), type_name,
                            format_bytes(weights.bytes)));
}

void MainWindow::selectLayer(int layer) {
  if (!model_ || layer < 0 || layer >= model_->spec.layer_count()) return;
  diagram_->setSelectedLayer(layer);
  sharing_->setSelectedLayer(layer);
  details_->setLayer(layer);
}

void MainWindow::updateHeader() {
  if (!model_) {
    name_->setText("archscope");
    facts_->setText("<span style='color:#6b7280'>No model loaded: open a GGUF file, a Hugging Face folder or a "
                    "model card</span>");
    device_->clear();
    return;
  }
  const ModelSpec& spec = model_->spec;
  const WeightSummary weights = summarize_weights(spec);
  name_->setText(QString::fromStdString(spec.name));
  QStringList parts;
  parts << chip("architecture", QString::fromStdString(spec.architecture));
  parts << chip("parameters", format_params(double(weights.params)) +
                                  (weights.active_params && weights.active_params < weights.params
                                       ? QString(" (%1 active)").arg(format_params(double(weights.active_params)))
                                       : QString()));
  parts << chip("layers", QString::number(spec.layer_count()));
  parts << chip("context", format_tokens(uint64_t(std::max(0, spec.context_length))));
  parts << chip("weights", QString::fromStdString(spec.weight_type.empty() ? "?" : spec.weight_type) +
                               (spec.weights_present ? "" : " (card: no weights)"));
  parts << chip("source", source_name(spec.source) + " · " + QFileInfo(QString::fromStdString(spec.source_path)).fileName());
  facts_->setText(parts.join("&nbsp;&nbsp;&nbsp;"));
  device_->setText(chip("device", session_ ? session_->backend : model_->device));
  device_->setToolTip(session_ ? session_->notice : QString());
}

QString MainWindow::headerText() const {
  auto plain = [](const QLabel* l) {
    QTextDocument doc;
    doc.setHtml(l->text());
    return doc.toPlainText();
  };
  return name_->text() + "\n" + plain(facts_) + "\n" + plain(device_);
}

QString MainWindow::statusText() const { return status_->text(); }
QString MainWindow::errorText() const { return error_label_->text(); }
bool MainWindow::welcomeShown() const { return pages_->currentIndex() == 0; }

}  // namespace archscope::gui
