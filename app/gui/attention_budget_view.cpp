#include "attention_budget_view.h"

#include "chart_style.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QCursor>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QScatterSeries>
#include <QSplitter>
#include <QStackedBarSeries>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

#include "palette.h"

namespace archscope::gui {

using namespace archscope;

namespace {

constexpr AttentionKind kKinds[] = {AttentionKind::Global, AttentionKind::Sliding, AttentionKind::Csa,
                                    AttentionKind::Hca, AttentionKind::Cca};

// Head-positions as people read them: 1.05 M, 4,096.
QString format_work(double v) {
  if (v >= 1e9) return QString("%1 G").arg(v / 1e9, 0, 'f', v < 1e10 ? 2 : 1);
  if (v >= 1e6) return QString("%1 M").arg(v / 1e6, 0, 'f', v < 1e7 ? 2 : 1);
  if (v >= 1e4) return QString("%1 K").arg(v / 1e3, 0, 'f', 1);
  return format_count(uint64_t(std::llround(v)));
}

struct WorkUnit {
  double divisor;
  const char* name;
};
WorkUnit work_unit(double max) {
  if (max >= 1e9) return {1e9, "billions"};
  if (max >= 1e6) return {1e6, "millions"};
  if (max >= 1e3) return {1e3, "thousands"};
  return {1, ""};
}

}  // namespace

AttentionBudgetView::AttentionBudgetView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->setSpacing(6);
  auto* top = new QHBoxLayout;
  summary_ = new QLabel(this);
  summary_->setTextFormat(Qt::RichText);
  summary_->setWordWrap(true);
  summary_->setObjectName("budgetSummary");
  log_scale_ = new QCheckBox("Log scale", this);
  log_scale_->setChecked(true);
  log_scale_->setToolTip("A logarithmic y axis makes windowed layers' small budgets visible next to global layers");
  connect(log_scale_, &QCheckBox::toggled, this, [this] { rebuild(); });
  top->addWidget(summary_, 1);
  top->addWidget(log_scale_, 0, Qt::AlignTop);
  layout->addLayout(top);

  chart_ = new QChart;
  heads_chart_ = new QChart;
  style_chart(chart_);
  style_chart(heads_chart_);
  view_ = new QChartView(chart_, this);
  heads_view_ = new QChartView(heads_chart_, this);
  auto* split = new QSplitter(Qt::Vertical, this);
  for (QChartView* v : {view_, heads_view_}) {
    v->setRenderHint(QPainter::Antialiasing);
    v->setMinimumHeight(200);
    split->addWidget(v);
  }
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
  clear();
}

void AttentionBudgetView::clear() {
  has_model_ = false;
  total_ = uniform_total_ = 0;
  clear_chart(chart_);
  clear_chart(heads_chart_);
  chart_->setTitle("Attention work per layer");
  heads_chart_->setTitle("Query heads per layer");
  summary_->setText("<i>No model loaded.</i>");
}

void AttentionBudgetView::setModel(const ModelSpec& spec) {
  spec_ = spec;
  has_model_ = true;
  if (context_ == 0 || context_ > uint64_t(std::max(1, spec.context_length))) context_ = std::max(1, spec.context_length);
  setContext(context_, type_);
}

void AttentionBudgetView::setContext(uint64_t tokens, GgmlType cache_type) {
  context_ = std::max<uint64_t>(1, tokens);
  type_ = cache_type;
  if (!has_model_) return;
  cost_ = estimate_decode(spec_, plan_cache(spec_, context_, type_));
  int max_heads = 0;
  for (const LayerSpec& l : spec_.layers) max_heads = std::max(max_heads, l.q_heads);
  total_ = 0;
  for (const LayerDecodeCost& c : cost_.layers)
    if (c.layer >= 0 && c.layer < spec_.layer_count()) total_ += double(spec_.layers[c.layer].active_q_heads()) * c.attended_positions;
  uniform_total_ = double(max_heads) * double(context_) * spec_.layer_count();
  const double share = uniform_total_ > 0 ? 100.0 * total_ / uniform_total_ : 0;
  summary_->setText(QString("Attention work per decoded token at <b>%1</b> tokens: <b>%2</b> head·positions, "
                            "<b>%3%</b> of the uniform budget (%4: all %5 layers global with %6 query heads)")
                        .arg(format_count(context_), format_work(total_))
                        .arg(share, 0, 'f', share < 10 ? 2 : 1)
                        .arg(format_work(uniform_total_))
                        .arg(spec_.layer_count())
                        .arg(max_heads));
  rebuild();
}

QString AttentionBudgetView::summaryText() const { return summary_->text(); }

void AttentionBudgetView::rebuild() {
  clear_chart(chart_);
  if (!has_model_) return;
  rebuildHeads();
  chart_->setTitle(QString("Attention work per token at %1 tokens: query heads × positions attended — %2")
                       .arg(format_tokens(context_), QString::fromStdString(spec_.name)));
  const int n = spec_.layer_count();
  std::vector<double> work(n, 0.0);
  for (const LayerDecodeCost& c : cost_.layers)
    if (c.layer >= 0 && c.layer < n) work[c.layer] = double(spec_.layers[c.layer].active_q_heads()) * c.attended_positions;
  int max_heads = 0;
  for (const LayerSpec& l : spec_.layers) max_heads = std::max(max_heads, l.q_heads);
  const double uniform = double(max_heads) * double(context_);
  const double max_value = std::max(uniform, *std::max_element(work.begin(), work.end()));
  const bool log = log_scale_->isChecked();
  const WorkUnit unit = work_unit(max_value);

  // One bar set per attention kind, zero at the other kinds' layers: bars coloured by kind
  // with a legend entry each.
  auto* series = new QStackedBarSeries;
  series->setBarWidth(0.8);
  for (AttentionKind kind : kKinds) {
    bool any = false;
    for (const LayerSpec& l : spec_.layers) any = any || l.attention == kind;
    if (!any) continue;
    auto* set = new QBarSet(archscope::gui::kind_name(kind));
    set->setColor(archscope::gui::kind_color(kind));
    set->setBorderColor(archscope::gui::kind_color(kind).darker(120));
    for (int i = 0; i < n; ++i) set->append(spec_.layers[i].attention == kind ? work[i] / unit.divisor : 0.0);
    series->append(set);
    connect(set, &QBarSet::hovered, this, [this, work](bool state, int i) {
      if (!state || i < 0 || i >= spec_.layer_count()) return QToolTip::hideText();
      const LayerSpec& l = spec_.layers[i];
      uint64_t attended = 0;
      for (const LayerDecodeCost& c : cost_.layers)
        if (c.layer == i) attended = c.attended_positions;
      QToolTip::showText(QCursor::pos(), QString("<b>Layer %1</b> · %2<br>%3 query heads × %4 positions = <b>%5</b>"
                                                 "<br>%6 KV heads, head dim %7<br><i>%8</i>")
                                             .arg(i)
                                             .arg(archscope::gui::kind_badge(l))
                                             .arg(l.q_heads)
                                             .arg(format_count(attended), format_work(work[i]))
                                             .arg(l.kv_heads)
                                             .arg(l.head_dim_k)
                                             .arg(archscope::gui::kind_description(l.attention)));
    });
  }

  auto* uniform_line = new QLineSeries;
  uniform_line->setName(QString("uniform budget (global, %1 heads): %2 per layer").arg(max_heads).arg(format_work(uniform)));
  QPen pen(QColor(0xb4, 0x23, 0x18), 2.0, Qt::DashLine);
  uniform_line->setPen(pen);
  uniform_line->append(-0.5, uniform / unit.divisor);
  uniform_line->append(n - 0.5, uniform / unit.divisor);

  auto* axis_x = layer_axis(n);
  const QString y_title = QString("query heads × positions%1").arg(unit.name[0] ? QString(" (%1)").arg(unit.name) : QString());
  double min_work = max_value;
  for (double w : work)
    if (w > 0) min_work = std::min(min_work, w);
  QAbstractAxis* axis_y = value_axis(log, min_work, max_value, unit.divisor, 1.08, y_title);
  chart_->addSeries(series);
  chart_->addSeries(uniform_line);
  chart_->addAxis(axis_x, Qt::AlignBottom);
  chart_->addAxis(axis_y, Qt::AlignLeft);
  series->attachAxis(axis_x);
  series->attachAxis(axis_y);
  uniform_line->attachAxis(axis_x);
  uniform_line->attachAxis(axis_y);
}

void AttentionBudgetView::rebuildHeads() {
  clear_chart(heads_chart_);
  const int n = spec_.layer_count();
  int max_heads = 0;
  for (const LayerSpec& l : spec_.layers) max_heads = std::max(max_heads, l.q_heads);
  heads_chart_->setTitle("Query heads per layer (the head budget; bar colour = attention kind)");
  auto* series = new QStackedBarSeries;
  series->setBarWidth(0.8);
  for (AttentionKind kind : kKinds) {
    bool any = false;
    for (const LayerSpec& l : spec_.layers) any = any || l.attention == kind;
    if (!any) continue;
    auto* set = new QBarSet(archscope::gui::kind_name(kind));
    set->setColor(archscope::gui::kind_tint(kind, 35));
    set->setBorderColor(archscope::gui::kind_color(kind).darker(120));
    for (int i = 0; i < n; ++i) set->append(spec_.layers[i].attention == kind ? spec_.layers[i].active_q_heads() : 0);
    series->append(set);
  }
  series->setLabelsVisible(n <= 64);
  series->setLabelsPosition(QAbstractBarSeries::LabelsInsideEnd);
  for (QBarSet* set : series->barSets()) {
    set->setLabelColor(Qt::white);
    QFont f = set->labelFont();
    f.setPointSizeF(7);
    set->setLabelFont(f);
  }
  auto* kv = new QScatterSeries;
  kv->setName("KV heads");
  kv->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
  kv->setMarkerSize(7);
  kv->setColor(archscope::gui::colors::text());
  kv->setBorderColor(Qt::white);
  for (int i = 0; i < n; ++i) kv->append(i, spec_.layers[i].kv_heads);
  auto* axis_x = layer_axis(n);
  auto* axis_y = new QValueAxis;
  axis_y->setRange(0, max_heads * 1.1);
  axis_y->setLabelFormat("%d");
  axis_y->applyNiceNumbers();
  style_axis(axis_y, "heads");
  heads_chart_->addSeries(series);
  heads_chart_->addSeries(kv);
  heads_chart_->addAxis(axis_x, Qt::AlignBottom);
  heads_chart_->addAxis(axis_y, Qt::AlignLeft);
  for (QAbstractSeries* s : {static_cast<QAbstractSeries*>(series), static_cast<QAbstractSeries*>(kv)}) {
    s->attachAxis(axis_x);
    s->attachAxis(axis_y);
  }
}

}  // namespace archscope::gui
