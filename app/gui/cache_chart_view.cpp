#include "cache_chart_view.h"

#include "chart_style.h"

#include <QAreaSeries>
#include <QBarCategoryAxis>
#include <QBarSet>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QCursor>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QScatterSeries>
#include <QLogValueAxis>
#include <QSplitter>
#include <QStackedBarSeries>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <map>

#include "palette.h"

namespace archscope::gui {

using namespace archscope;

namespace {

constexpr AttentionKind kKinds[] = {AttentionKind::Global, AttentionKind::Sliding, AttentionKind::Csa,
                                    AttentionKind::Hca, AttentionKind::Cca};

// A byte unit that keeps the axis numbers readable.
struct ByteUnit {
  double divisor;
  const char* name;
};
ByteUnit unit_for(double max_bytes) {
  if (max_bytes >= 1024.0 * 1024 * 1024) return {1024.0 * 1024 * 1024, "GiB"};
  if (max_bytes >= 1024.0 * 1024) return {1024.0 * 1024, "MiB"};
  return {1024.0, "KiB"};
}

uint64_t bytes_of_kind(const ModelSpec& spec, const CachePlan& plan, AttentionKind kind) {
  uint64_t sum = 0;
  for (const LayerCache& c : plan.layers)
    if (c.layer >= 0 && c.layer < spec.layer_count() && spec.layers[c.layer].attention == kind) sum += c.bytes;
  return sum;
}

QLineSeries* line(const QString& name, const QColor& color, qreal width, Qt::PenStyle style) {
  auto* s = new QLineSeries;
  s->setName(name);
  QPen pen(color, width, style);
  pen.setCapStyle(Qt::RoundCap);
  s->setPen(pen);
  return s;
}

}  // namespace

CacheChartView::CacheChartView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->setSpacing(6);

  auto* top = new QHBoxLayout;
  summary_ = new QLabel(this);
  summary_->setTextFormat(Qt::RichText);
  summary_->setWordWrap(true);
  summary_->setObjectName("cacheSummary");
  fit_actual_ = new QCheckBox("Fit y to actual", this);
  fit_actual_->setToolTip("Scale the y axis to the bytes archscope allocates; the naive and\n"
                          "no-sharing/no-window lines may then run off the top");
  connect(fit_actual_, &QCheckBox::toggled, this, [this] { rebuildContextChart(); });
  log_layers_ = new QCheckBox("Log scale per layer", this);
  log_layers_->setToolTip("A logarithmic y axis for the per-layer chart shows small windowed caches next to global ones");
  connect(log_layers_, &QCheckBox::toggled, this, [this] { rebuildLayerChart(); });
  top->addWidget(summary_, 1);
  top->addWidget(fit_actual_, 0, Qt::AlignTop);
  top->addWidget(log_layers_, 0, Qt::AlignTop);
  layout->addLayout(top);

  context_chart_ = new QChart;
  layer_chart_ = new QChart;
  style_chart(context_chart_);
  style_chart(layer_chart_);
  context_view_ = new QChartView(context_chart_, this);
  layer_view_ = new QChartView(layer_chart_, this);
  for (QChartView* v : {context_view_, layer_view_}) {
    v->setRenderHint(QPainter::Antialiasing);
    v->setMinimumHeight(220);
  }
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(context_view_);
  split->addWidget(layer_view_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
  clear();
}

void CacheChartView::clear() {
  has_model_ = false;
  curves_valid_ = false;
  sweep_.clear();
  context_chart_->removeAllSeries();
  layer_chart_->removeAllSeries();
  for (QAbstractAxis* a : context_chart_->axes()) context_chart_->removeAxis(a), delete a;
  for (QAbstractAxis* a : layer_chart_->axes()) layer_chart_->removeAxis(a), delete a;
  context_chart_->setTitle("KV cache against context length");
  layer_chart_->setTitle("KV cache per layer");
  summary_->setText("<i>No model loaded.</i>");
}

void CacheChartView::addMeasured(uint64_t position, uint64_t bytes, GgmlType cache_type) {
  if (position == 0) return;
  if (measured_.empty() || cache_type != measured_type_) curves_valid_ = false;  // the axis reaches down to 16
  if (cache_type != measured_type_) measured_.clear();
  measured_type_ = cache_type;
  while (!measured_.empty() && measured_.back().position >= position) measured_.pop_back();  // rewound
  measured_.push_back({position, bytes});
}

void CacheChartView::setBatch(uint64_t batch) {
  if (batch == batch_) return;
  batch_ = std::max<uint64_t>(1, batch);
  curves_valid_ = false;
  if (has_model_) setContext(context_, type_);
}

void CacheChartView::clearMeasured() {
  if (measured_.empty()) return;
  measured_.clear();
  curves_valid_ = false;
}

void CacheChartView::setModel(const ModelSpec& spec) {
  spec_ = spec;
  measured_.clear();
  has_model_ = true;
  curves_valid_ = false;
  if (context_ == 0 || context_ > static_cast<uint64_t>(std::max(1, spec.context_length)))
    context_ = std::max(1, spec.context_length);
  setContext(context_, type_);
}

void CacheChartView::setContext(uint64_t tokens, GgmlType cache_type) {
  if (cache_type != type_) curves_valid_ = false;
  type_ = cache_type;
  context_ = std::max<uint64_t>(1, tokens);
  if (!has_model_) return;
  plan_ = plan_cache(spec_, context_, type_, batch_);
  if (!curves_valid_) {
    // Sample the context axis geometrically: 1K (or less for tiny models) to the maximum.
    const double hi = std::max(2, spec_.context_length);
    const double lo = std::min(measured_.empty() ? 1024.0 : 16.0, hi / 2);
    const int steps = 64;
    sweep_.clear();
    for (int i = 0; i <= steps; ++i) {
      const uint64_t ctx = static_cast<uint64_t>(std::llround(lo * std::pow(hi / lo, double(i) / steps)));
      if (!sweep_.empty() && sweep_.back().context == ctx) continue;
      sweep_.push_back(plan_cache(spec_, ctx, type_, batch_));
    }
    curves_valid_ = true;
  }
  const char* type_name = ggml_type_info(type_) ? ggml_type_info(type_)->name : "?";
  summary_->setText(
      QString("<b>%1</b> KV cache at <b>%2</b> tokens, %3 elements &nbsp;·&nbsp; "
              "<span style='color:#555'>without sharing %4 &nbsp;·&nbsp; without windows %5 &nbsp;·&nbsp; naive %6</span>")
          .arg(format_bytes(plan_.bytes), format_count(context_), type_name, format_bytes(plan_.bytes_no_sharing),
               format_bytes(plan_.bytes_no_windows), format_bytes(plan_.bytes_naive)) +
      (batch_ > 1 ? QString(" &nbsp;·&nbsp; <span style='color:#555'>as the running session allocates: sliding rings "
                            "hold window + %1 positions for its %2-token prefill steps</span>")
                        .arg(batch_ - 1)
                        .arg(batch_)
                  : QString()));
  rebuildContextChart();
  rebuildLayerChart();
}

QString CacheChartView::summaryText() const { return summary_->text(); }

void CacheChartView::rebuildContextChart() {
  QChart* chart = context_chart_;
  clear_chart(chart);
  if (!has_model_ || sweep_.empty()) return;
  chart->setTitle(QString("KV cache against context length — %1").arg(QString::fromStdString(spec_.name)));

  double max_all = 0, max_actual = 0;
  for (const CachePlan& p : sweep_) {
    max_all = std::max({max_all, double(p.bytes_naive), double(p.bytes_no_sharing), double(p.bytes_no_windows),
                        double(p.bytes)});
    max_actual = std::max(max_actual, double(p.bytes));
  }
  const bool fit = fit_actual_->isChecked();
  const double y_max_bytes = std::max(1.0, (fit ? max_actual : max_all) * 1.08);
  const ByteUnit unit = unit_for(y_max_bytes);
  auto x_of = [](uint64_t ctx) { return std::log2(double(std::max<uint64_t>(1, ctx))); };
  auto y_of = [&](double bytes) { return bytes / unit.divisor; };

  auto* axis_x = new QCategoryAxis;
  auto* axis_y = new QValueAxis;
  const double x_lo = x_of(sweep_.front().context), x_hi = x_of(sweep_.back().context);
  // A little room on the right so the marker at the maximum context stays visible.
  axis_x->setRange(x_lo, x_hi + 0.02 * std::max(1.0, x_hi - x_lo));
  axis_x->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
  for (int e = int(std::ceil(x_lo - 1e-9)); e <= int(std::floor(x_hi + 1e-9)); ++e)
    axis_x->append(format_tokens(uint64_t(1) << e), e);
  axis_y->setRange(0, y_of(y_max_bytes));
  axis_y->setLabelFormat("%.3g");
  axis_y->applyNiceNumbers();
  style_axis(axis_x, "context length (tokens, log scale)");
  style_axis(axis_y, QString("KV cache (%1)").arg(unit.name));
  chart->addAxis(axis_x, Qt::AlignBottom);
  chart->addAxis(axis_y, Qt::AlignLeft);
  auto attach = [&](QAbstractSeries* s) {
    chart->addSeries(s);
    s->attachAxis(axis_x);
    s->attachAxis(axis_y);
  };

  // Stacked areas, one per attention kind that holds bytes.
  std::vector<double> lower(sweep_.size(), 0.0);
  for (AttentionKind kind : kKinds) {
    std::vector<double> part(sweep_.size());
    bool any = false;
    for (size_t i = 0; i < sweep_.size(); ++i) {
      part[i] = double(bytes_of_kind(spec_, sweep_[i], kind));
      any = any || part[i] > 0;
    }
    if (!any) continue;
    auto* lo = new QLineSeries;
    auto* up = new QLineSeries;
    for (size_t i = 0; i < sweep_.size(); ++i) {
      lo->append(x_of(sweep_[i].context), y_of(lower[i]));
      lower[i] += part[i];
      up->append(x_of(sweep_[i].context), y_of(lower[i]));
    }
    auto* area = new QAreaSeries(up, lo);
    up->setParent(area);
    lo->setParent(area);
    const uint64_t at_ctx = bytes_of_kind(spec_, plan_, kind);
    area->setName(QString("%1 layers (%2)").arg(archscope::gui::kind_name(kind), format_bytes(at_ctx)));
    QColor fill = archscope::gui::kind_color(kind);
    fill.setAlpha(150);
    area->setBrush(fill);
    area->setPen(QPen(archscope::gui::kind_color(kind).darker(115), 1.0));
    attach(area);
    connect(area, &QAreaSeries::hovered, this, [this, kind](const QPointF& p, bool state) {
      if (!state) return QToolTip::hideText();
      const uint64_t ctx = uint64_t(std::llround(std::exp2(p.x())));
      const CachePlan plan = plan_cache(spec_, ctx, type_, batch_);
      QToolTip::showText(QCursor::pos(), QString("%1 layers at %2 tokens: %3 of %4")
                                             .arg(archscope::gui::kind_name(kind), format_count(ctx),
                                                  format_bytes(bytes_of_kind(spec_, plan, kind)), format_bytes(plan.bytes)));
    });
  }

  struct Curve {
    QString name;
    uint64_t CachePlan::*field;
    QColor color;
    qreal width;
    Qt::PenStyle style;
  };
  const Curve curves[] = {
      {"naive", &CachePlan::bytes_naive, QColor(0xb4, 0x23, 0x18), 2.0, Qt::DashDotLine},
      {"without windows", &CachePlan::bytes_no_windows, QColor(0x55, 0x5b, 0x66), 2.0, Qt::DashLine},
      {"without sharing", &CachePlan::bytes_no_sharing, QColor(0x8a, 0x93, 0xa3), 2.0, Qt::DotLine},
      {"actual", &CachePlan::bytes, QColor(0x1f, 0x23, 0x28), 2.5, Qt::SolidLine},
  };
  // A line that coincides with one already drawn (or with the actual total) joins its
  // legend entry instead of hiding under it: "naive = without windows".
  std::vector<std::pair<const Curve*, QStringList>> drawn;
  auto same = [&](uint64_t CachePlan::*a, uint64_t CachePlan::*b) {
    for (const CachePlan& p : sweep_)
      if (p.*a != p.*b) return false;
    return true;
  };
  for (const Curve& c : curves) {
    auto hit = std::find_if(drawn.begin(), drawn.end(), [&](const auto& d) { return same(d.first->field, c.field); });
    if (hit != drawn.end())
      hit->second << c.name;
    else if (c.field != &CachePlan::bytes && same(c.field, &CachePlan::bytes))
      continue;  // equal to the actual line: nothing saved by this feature
    else
      drawn.push_back({&c, QStringList{c.name}});
  }
  for (const auto& [c, names] : drawn) {
    QLineSeries* s = line(QString("%1 (%2)").arg(names.join(" = "), format_bytes(plan_.*(c->field))), c->color, c->width,
                          c->style);
    for (const CachePlan& p : sweep_) s->append(x_of(p.context), y_of(double(p.*(c->field))));
    attach(s);
  }

  // The current context.
  const double cx = std::clamp(x_of(context_), x_lo, x_hi);
  QLineSeries* marker = line(QString("current context %1").arg(format_tokens(context_)), QColor(0xd9, 0x46, 0xef), 1.5,
                             Qt::DashLine);
  marker->append(cx, 0);
  marker->append(cx, axis_y->max());
  attach(marker);
  auto* dot = new QScatterSeries;
  dot->setMarkerShape(QScatterSeries::MarkerShapeCircle);
  dot->setMarkerSize(9);
  dot->setColor(QColor(0xd9, 0x46, 0xef));
  dot->setBorderColor(Qt::white);
  dot->append(cx, y_of(double(plan_.bytes)));
  attach(dot);
  chart->legend()->markers(dot).first()->setVisible(false);

  // What the running session reports, at most ~150 points spread over the conversation.
  if (!measured_.empty() && measured_type_ == type_) {
    auto* points = new QScatterSeries;
    points->setName(QString("measured in the chat (%1)").arg(format_bytes(double(measured_.back().bytes))));
    points->setMarkerShape(QScatterSeries::MarkerShapeRectangle);
    points->setMarkerSize(6);
    points->setColor(QColor(0xf5, 0x9e, 0x0b));
    points->setBorderColor(QColor(0x92, 0x40, 0x0e));
    const size_t stride = std::max<size_t>(1, measured_.size() / 150);
    for (size_t i = 0; i < measured_.size(); i += stride)
      points->append(x_of(measured_[i].position), y_of(double(measured_[i].bytes)));
    points->append(x_of(measured_.back().position), y_of(double(measured_.back().bytes)));
    attach(points);
  }
}

void CacheChartView::rebuildLayerChart() {
  QChart* chart = layer_chart_;
  clear_chart(chart);
  if (!has_model_) return;
  chart->setTitle(QString("KV cache per layer at %1 tokens").arg(format_count(context_)));

  const int n = spec_.layer_count();
  double max_bytes = 1;
  for (const LayerCache& c : plan_.layers) max_bytes = std::max(max_bytes, double(std::max(c.bytes, c.bytes_no_sharing)));
  const ByteUnit unit = unit_for(max_bytes);

  auto* series = new QStackedBarSeries;
  series->setBarWidth(0.8);
  for (AttentionKind kind : kKinds) {
    bool any = false;
    for (const LayerSpec& l : spec_.layers) any = any || (l.attention == kind && l.owns_cache());
    if (!any) continue;
    auto* set = new QBarSet(QString("%1 (owns cache)").arg(archscope::gui::kind_name(kind)));
    set->setColor(archscope::gui::kind_color(kind));
    set->setBorderColor(archscope::gui::kind_color(kind).darker(120));
    for (int i = 0; i < n; ++i) {
      const bool mine = spec_.layers[i].attention == kind && i < int(plan_.layers.size());
      set->append(mine ? plan_.layers[i].bytes / unit.divisor : 0.0);
    }
    series->append(set);
  }
  bool readers = false;
  for (const LayerSpec& l : spec_.layers) readers = readers || !l.owns_cache();
  if (readers) {
    auto* set = new QBarSet("reads another layer's cache (would hold without sharing)");
    set->setColor(archscope::gui::colors::reader().lighter(150));
    set->setBorderColor(archscope::gui::colors::reader());
    for (int i = 0; i < n; ++i) {
      const LayerCache* c = i < int(plan_.layers.size()) ? &plan_.layers[i] : nullptr;
      set->append(c && !c->owner ? c->bytes_no_sharing / unit.divisor : 0.0);
    }
    series->append(set);
  }
  for (QBarSet* set : series->barSets()) {
    connect(set, &QBarSet::hovered, this, [this](bool state, int i) {
      if (!state || i < 0 || i >= int(plan_.layers.size())) return QToolTip::hideText();
      const LayerSpec& l = spec_.layers[i];
      const LayerCache& c = plan_.layers[i];
      QString text = QString("<b>Layer %1</b> · %2<br>").arg(i).arg(archscope::gui::kind_badge(l));
      if (c.owner)
        text += QString("owns its cache: %1 positions").arg(format_count(c.positions)) +
                (c.compressed_entries ? QString(" + %1 compressed entries").arg(format_count(c.compressed_entries)) : QString()) +
                QString("<br>holds <b>%1</b>").arg(format_bytes(c.bytes));
      else
        text += QString("reads layer %1's cache: holds 0 B<br>without sharing it would hold %2")
                    .arg(c.source)
                    .arg(format_bytes(c.bytes_no_sharing));
      text += QString("<br>naive: %1").arg(format_bytes(c.bytes_naive));
      QToolTip::showText(QCursor::pos(), text);
    });
  }

  auto* axis_x = layer_axis(n);
  double min_bytes = max_bytes;
  for (const LayerCache& c : plan_.layers)
    for (uint64_t b : {c.bytes, c.owner ? 0 : c.bytes_no_sharing})
      if (b > 0) min_bytes = std::min(min_bytes, double(b));
  QAbstractAxis* axis_y = value_axis(log_layers_->isChecked(), min_bytes, max_bytes, unit.divisor, 1.05,
                                     QString("KV cache (%1)").arg(unit.name));
  chart->addSeries(series);
  chart->addAxis(axis_x, Qt::AlignBottom);
  chart->addAxis(axis_y, Qt::AlignLeft);
  series->attachAxis(axis_x);
  series->attachAxis(axis_y);
}

}  // namespace archscope::gui
