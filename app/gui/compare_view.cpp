#include "compare_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QStackedBarSeries>

#include <algorithm>

#include "archscope/cache_plan.h"
#include "archscope/cost_model.h"
#include "chart_style.h"
#include "palette.h"

namespace archscope::gui {

namespace {
const char* const kCacheTypes[] = {"f16", "bf16", "f32", "q8_0"};
}

CompareView::CompareView(ChatEngine* engine, QWidget* parent) : QWidget(parent), engine_(engine) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 8, 10, 8);
  intro_ = new QLabel(this);
  intro_->setWordWrap(true);
  layout->addWidget(intro_);

  auto* setup = new QHBoxLayout;
  auto* toggles = new QGroupBox("B: what changes", this);
  toggle_grid_ = new QGridLayout(toggles);
  toggle_grid_->setColumnStretch(2, 1);
  setup->addWidget(toggles, 1);

  auto* run_box = run_box_ = new QGroupBox("Prompt", this);
  auto* run_layout = new QGridLayout(run_box);
  prompt_ = new QLineEdit("Write a short story about a lighthouse.", run_box);
  max_tokens_ = new QSpinBox(run_box);
  max_tokens_->setRange(1, 4096);
  max_tokens_->setValue(32);
  max_tokens_->setSuffix(" tokens");
  run_ = new QPushButton("Compare", run_box);
  run_->setToolTip("Run the prompt as A and as B, greedy (Ctrl+Shift+C)");
  run_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
  stop_ = new QPushButton("Stop", run_box);
  run_layout->addWidget(prompt_, 0, 0, 1, 3);
  reply_length_label_ = new QLabel("Reply length", run_box);
  run_layout->addWidget(reply_length_label_, 1, 0);
  run_layout->addWidget(max_tokens_, 1, 1);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(stop_);
  buttons->addWidget(run_);
  run_layout->addLayout(buttons, 2, 0, 1, 3);
  setup->addWidget(run_box, 1);
  layout->addLayout(setup);

  status_ = new QLabel(this);
  status_->setTextFormat(Qt::RichText);
  status_->setWordWrap(true);
  layout->addWidget(status_);

  auto* sides = new QHBoxLayout;
  for (int i = 0; i < 2; ++i) {
    auto* column = new QVBoxLayout;
    side_label_[i] = new QLabel(this);
    side_label_[i]->setTextFormat(Qt::RichText);
    side_label_[i]->setWordWrap(true);
    side_text_[i] = new QTextBrowser(this);
    side_text_[i]->setMaximumHeight(140);
    column->addWidget(side_label_[i]);
    column->addWidget(side_text_[i], 1);
    sides->addLayout(column, 1);
  }
  layout->addLayout(sides);

  kl_chart_ = new QChart;
  style_chart(kl_chart_);
  kl_chart_->setTitle("KL(A || B) per reply token");
  kl_view_ = new QChartView(kl_chart_, this);
  kl_view_->setRenderHint(QPainter::Antialiasing);
  kl_view_->setMinimumHeight(220);
  layout->addWidget(kl_view_, 1);
  filler_ = new QWidget(this);  // takes the room of the texts and chart in analytic mode
  layout->addWidget(filler_, 1);

  connect(run_, &QPushButton::clicked, this, &CompareView::run);
  connect(stop_, &QPushButton::clicked, engine_, &ChatEngine::stop);
  connect(engine_, &ChatEngine::compareProgress, this, [this](const QString& stage) {
    if (running_) status_->setText(stage + "…");
  });
  connect(engine_, &ChatEngine::compared, this, &CompareView::show);
  clear("Open a GGUF model to compare its toggles.");
}

void CompareView::clear(const QString& why) {
  available_ = false;
  running_ = false;
  intro_->setText(QString("<span style='color:#6b7280'>%1</span>").arg(why.toHtmlEscaped()));
  rows_.clear();
  cache_b_ = nullptr;
  shown_analytic_ = false;
  while (QLayoutItem* item = toggle_grid_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  result_.reset();
  status_->clear();
  for (int i = 0; i < 2; ++i) {
    side_label_[i]->clear();
    side_text_[i]->clear();
  }
  clear_chart(kl_chart_);
  updateButtons();
}

void CompareView::setSession(const SessionInfo& info) {
  clear("");
  analytic_ = false;
  intro_->setText("Runs the prompt greedily on the model as loaded (A) and with the changes you tick (B). "
                  "Agreement and KL are measured with B reading A's reply, so both see the same text.");
  buildRows(info.spec, info.cache_type);
  for (QWidget* w : runOnlyWidgets()) w->show();
  filler_->hide();
  run_box_->setTitle("Prompt");
}

void CompareView::setAnalytic(const ModelSpec& spec, uint64_t context, GgmlType cache_type) {
  clear("");
  analytic_ = true;
  spec_ = spec;
  context_ = context;
  intro_->setText("No weights to run: Compare sets the model as described (A) against the changes you tick (B) "
                  "at the window's context length, from the cache plan and the cost model. Open a GGUF file to "
                  "also compare the text they write.");
  buildRows(spec, cache_type);
  for (QWidget* w : runOnlyWidgets()) w->hide();
  filler_->show();
  run_box_->setTitle("Cost at the context above");
}

std::vector<QWidget*> CompareView::runOnlyWidgets() const {
  return {prompt_, max_tokens_, reply_length_label_, side_label_[0], side_label_[1], side_text_[0], side_text_[1], kl_view_};
}

void CompareView::setContext(uint64_t context, GgmlType cache_type) {
  if (!analytic_) return;
  context_ = context;
  // B's cache type follows A's until the user picks another.
  if (cache_b_ && cache_b_->currentText() == ggml_type_info(cache_type_a_)->name) cache_b_->setCurrentText(ggml_type_info(cache_type)->name);
  cache_type_a_ = cache_type;
  if (shown_analytic_) compareAnalytic();
}

// Cache bytes, attention work and bytes read per decoded token, A against B.
void CompareView::compareAnalytic() {
  ModelSpec b = spec_;
  try {
    apply_toggles(b, toggles());
  } catch (const std::exception& e) {
    status_->setText(QString("<span style='color:#b91c1c'>%1</span>").arg(QString(e.what()).toHtmlEscaped()));
    return;
  }
  const GgmlType type_b = parse_cache_type(cache_b_->currentText().toStdString()).value_or(cache_type_a_);
  struct Figures {
    uint64_t cache;
    double work, bytes;
  };
  auto figures = [&](const ModelSpec& spec, GgmlType type) {
    const CachePlan plan = plan_cache(spec, context_, type);
    const DecodeCost cost = estimate_decode(spec, plan);
    double work = 0;
    for (const LayerDecodeCost& l : cost.layers) work += double(l.attended_positions) * spec.layers[l.layer].active_q_heads();
    return Figures{plan.bytes, work, double(cost.bytes_read())};
  };
  const Figures a = figures(spec_, cache_type_a_), fb = figures(b, type_b);
  auto change = [](double from, double to) {
    return from > 0 ? QString("%1%2%").arg(to >= from ? "+" : "").arg((to - from) / from * 100.0, 0, 'f', 1) : QString();
  };
  QString label_b = QString::fromStdString(describe_toggles(toggles()));
  if (type_b != cache_type_a_) label_b += QString(label_b.isEmpty() ? "" : ", ") + "cache " + ggml_type_info(type_b)->name;
  if (label_b.isEmpty()) label_b = "no change";
  auto row = [&](const QString& what, const QString& va, const QString& vb, const QString& delta) {
    return QString("<tr><td>%1</td><td align='right'>%2</td><td align='right'><b>%3</b></td>"
                   "<td align='right' style='color:#6b7280'>%4</td></tr>")
        .arg(what, va, vb, delta);
  };
  status_->setText(
      QString("<p>At <b>%1</b> tokens:</p><table cellspacing='0' cellpadding='5'>"
              "<tr style='background:#eef0f4'><th align='left'></th><th align='right'>A: as described</th>"
              "<th align='right'>B: %2</th><th align='right'>change</th></tr>")
          .arg(format_count(context_), label_b.toHtmlEscaped()) +
      row("KV cache", format_bytes(double(a.cache)), format_bytes(double(fb.cache)), change(double(a.cache), double(fb.cache))) +
      row("attention work per token (heads × positions)", format_count(uint64_t(a.work)), format_count(uint64_t(fb.work)),
          change(a.work, fb.work)) +
      row("bytes read per token (weights + cache)", format_bytes(a.bytes), format_bytes(fb.bytes), change(a.bytes, fb.bytes)) +
      "</table>");
  shown_analytic_ = true;
}

void CompareView::buildRows(const ModelSpec& spec, GgmlType cache_type) {
  available_ = true;
  cache_type_a_ = cache_type;
  const std::vector<ToggleInfo> available = available_toggles(spec);
  int row = 0;
  for (const ToggleInfo& t : available) {
    Row r;
    r.name = QString::fromStdString(t.name);
    r.use = new QCheckBox(r.name, this);
    r.use->setToolTip(QString::fromStdString(t.description));
    toggle_grid_->addWidget(r.use, row, 0);
    if (t.choices.empty()) {
      r.number = new QSpinBox(this);
      r.number->setRange(1, 1 << 24);
      r.number->setValue(std::max(1, QString::fromStdString(t.current).toInt() / 2));
      toggle_grid_->addWidget(r.number, row, 1);
    } else {
      r.choice = new QComboBox(this);
      for (const std::string& c : t.choices) r.choice->addItem(QString::fromStdString(c));
      const int other = std::max(0, r.choice->findText(QString::fromStdString(t.current)) == 0 ? 1 : 0);
      r.choice->setCurrentIndex(std::min(other, r.choice->count() - 1));
      toggle_grid_->addWidget(r.choice, row, 1);
    }
    auto* what = new QLabel(QString("%1 (now %2)").arg(QString::fromStdString(t.description), QString::fromStdString(t.current)), this);
    what->setStyleSheet("color: #6b7280;");
    what->setWordWrap(true);  // long descriptions must not widen the window
    toggle_grid_->addWidget(what, row, 2);
    rows_.push_back(r);
    ++row;
  }
  cache_b_ = new QComboBox(this);
  for (const char* t : kCacheTypes) cache_b_->addItem(t);
  cache_b_->setCurrentText(ggml_type_info(cache_type)->name);
  toggle_grid_->addWidget(new QLabel("KV cache type", this), row, 0);
  toggle_grid_->addWidget(cache_b_, row, 1);
  updateButtons();
}

std::vector<Toggle> CompareView::toggles() const {
  std::vector<Toggle> out;
  for (const Row& r : rows_) {
    if (!r.use->isChecked()) continue;
    const QString value = r.choice ? r.choice->currentText() : QString::number(r.number->value());
    out.push_back({r.name.toStdString(), value.toStdString()});
  }
  return out;
}

bool CompareView::setToggle(const QString& name, const QString& value) {
  for (Row& r : rows_) {
    if (r.name != name) continue;
    r.use->setChecked(true);
    if (r.choice) r.choice->setCurrentText(value);
    if (r.number) r.number->setValue(value.toInt());
    return true;
  }
  return false;
}

void CompareView::setCacheTypeB(GgmlType type) {
  if (cache_b_ && ggml_type_info(type)) cache_b_->setCurrentText(ggml_type_info(type)->name);
}
void CompareView::setPrompt(const QString& prompt) { prompt_->setText(prompt); }
void CompareView::setMaxTokens(int tokens) { max_tokens_->setValue(tokens); }

void CompareView::run() {
  if (!available_ || running_) return;
  if (analytic_) {
    compareAnalytic();
    emit finished();
    return;
  }
  CompareRequest request;
  request.messages = {{"user", prompt_->text().toStdString()}};
  request.toggles = toggles();
  request.cache_type_b = parse_cache_type(cache_b_->currentText().toStdString()).value_or(cache_type_a_);
  request.max_tokens = max_tokens_->value();
  running_ = true;
  result_.reset();
  status_->setText("Starting…");
  updateButtons();
  engine_->compare(request);
}

void CompareView::show(std::shared_ptr<const CompareResult> result) {
  if (!running_) return;
  running_ = false;
  result_ = std::move(result);
  updateButtons();
  if (!result_->error.isEmpty()) {
    status_->setText(QString("<span style='color:#b91c1c'>%1</span>").arg(result_->error.toHtmlEscaped()));
    emit finished();
    return;
  }
  status_->setText(QString("Top-1 agreement <b>%1%</b> over %2 tokens · mean KL(A‖B) <b>%3</b> nats")
                       .arg(result_->agreement() * 100.0, 0, 'f', 1)
                       .arg(result_->top1_agree.size())
                       .arg(result_->meanKl(), 0, 'g', 3));
  const CompareSide* sides[2] = {&result_->a, &result_->b};
  for (int i = 0; i < 2; ++i) {
    const CompareSide& s = *sides[i];
    side_label_[i]->setText(QString("<b>%1</b><br>KV cache %2 filled · %3 at the full context · %4 tok/s")
                                .arg(s.label.toHtmlEscaped(), format_bytes(double(s.cache_bytes)),
                                     format_bytes(double(s.cache_bytes_full)))
                                .arg(s.tokens_per_second, 0, 'f', 1));
    side_text_[i]->setPlainText(s.text);
  }
  rebuildChart();
  emit finished();
}

void CompareView::rebuildChart() {
  clear_chart(kl_chart_);
  if (!result_ || result_->kl.empty()) return;
  // Two sets stacked so each bar is coloured by whether the top-1 tokens agree.
  auto* agree = new QBarSet("same top-1 token");
  auto* differ = new QBarSet("different top-1 token");
  agree->setColor(kind_color(AttentionKind::Sliding));
  differ->setColor(QColor(0xdc, 0x26, 0x26));
  double top = 0;
  for (size_t i = 0; i < result_->kl.size(); ++i) {
    *agree << (result_->top1_agree[i] ? result_->kl[i] : 0.0);
    *differ << (result_->top1_agree[i] ? 0.0 : result_->kl[i]);
    top = std::max(top, result_->kl[i]);
  }
  auto* series = new QStackedBarSeries;
  series->append(agree);
  series->append(differ);
  series->setBarWidth(0.8);
  kl_chart_->addSeries(series);
  auto* x = new QBarCategoryAxis;
  QStringList categories;
  for (size_t i = 0; i < result_->kl.size(); ++i) categories << QString::number(i + 1);
  x->append(categories);
  x->setGridLineVisible(false);
  style_axis(x, "reply token");
  kl_chart_->addAxis(x, Qt::AlignBottom);
  series->attachAxis(x);
  QAbstractAxis* y = value_axis(false, 0, std::max(top, 1e-6), 1.0, 1.15, "KL(A‖B), nats");
  kl_chart_->addAxis(y, Qt::AlignLeft);
  series->attachAxis(y);
}

QString CompareView::summaryText() const { return status_->text(); }

void CompareView::updateButtons() {
  run_->setEnabled(available_ && !running_);
  stop_->setEnabled(running_);
  prompt_->setEnabled(available_);
}

}  // namespace archscope::gui
