#include "performance_view.h"

#include <QLabel>
#include <QVBoxLayout>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QHorizontalStackedBarSeries>
#include <QtCharts/QStackedBarSeries>
#include <QtCharts/QValueAxis>

#include <algorithm>

#include "archscope/cost_model.h"
#include "chart_style.h"
#include "palette.h"

namespace archscope::gui {

PerformanceView::PerformanceView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 8, 10, 8);
  summary_ = new QLabel(this);
  summary_->setTextFormat(Qt::RichText);
  summary_->setWordWrap(true);
  layout->addWidget(summary_);

  memory_chart_ = new QChart;
  style_chart(memory_chart_);
  memory_chart_->setTitle("Device memory");
  memory_view_ = new QChartView(memory_chart_, this);
  memory_view_->setRenderHint(QPainter::Antialiasing);
  memory_view_->setFixedHeight(150);
  layout->addWidget(memory_view_);

  layer_chart_ = new QChart;
  style_chart(layer_chart_);
  layer_chart_->setTitle("Time per layer of one decode step");
  layer_view_ = new QChartView(layer_chart_, this);
  layer_view_->setRenderHint(QPainter::Antialiasing);
  layout->addWidget(layer_view_, 1);
  clear("Open a GGUF model to measure it.");
}

void PerformanceView::clear(const QString& why) {
  spec_ = {};
  memory_ = {};
  backend_.clear();
  layer_sum_.clear();
  decode_steps_ = 0;
  summary_->setText(QString("<span style='color:#6b7280'>%1</span>").arg(why.toHtmlEscaped()));
  clear_chart(memory_chart_);
  clear_chart(layer_chart_);
}

void PerformanceView::setSession(const SessionInfo& info) {
  spec_ = info.spec;
  memory_ = info.memory;
  backend_ = info.backend;
  ple_table_bytes_ = summarize_weights(spec_).ple_table_bytes;
  beginReply();
  summary_->setText(QString("<b>%1</b> · send a message to measure").arg(backend_.toHtmlEscaped()));
  rebuildMemory();
}

void PerformanceView::beginReply() {
  layer_sum_.assign(spec_.layers.size(), 0.0);
  decode_steps_ = 0;
  rebuildLayers();
}

void PerformanceView::addStep(const archscope::StepReport& report) {
  cache_filled_ = report.cache_bytes;
  if (report.tokens != 1 || report.layers.size() != layer_sum_.size()) return;
  last_step_ms_ = report.milliseconds;
  bool timed = false;
  for (const LayerStep& l : report.layers) {
    layer_sum_[l.layer] += l.milliseconds;
    timed = timed || l.milliseconds > 0;
  }
  if (timed) ++decode_steps_;
}

void PerformanceView::refresh() { rebuildLayers(); }

void PerformanceView::setReply(const ReplyStats& stats) {
  QStringList parts;
  parts << QString("<b>%1</b>").arg(backend_.toHtmlEscaped());
  if (stats.prefilled > 0)
    parts << QString("prompt <b>%1</b> tok/s (%2 tokens)").arg(stats.prefillTokensPerSecond(), 0, 'f', 1).arg(stats.prefilled);
  if (stats.generated > 0)
    parts << QString("reply <b>%1</b> tok/s (%2 tokens)").arg(stats.decodeTokensPerSecond(), 0, 'f', 1).arg(stats.generated);
  if (last_step_ms_ > 0) parts << QString("last step %1 ms").arg(last_step_ms_, 0, 'f', 2);
  parts << QString("KV cache filled %1").arg(format_bytes(double(cache_filled_)));
  summary_->setText(parts.join(" · "));
}

std::vector<double> PerformanceView::layerMilliseconds() const {
  if (decode_steps_ == 0) return {};
  std::vector<double> out = layer_sum_;
  for (double& v : out) v /= decode_steps_;
  return out;
}

QString PerformanceView::summaryText() const { return summary_->text(); }

void PerformanceView::rebuildMemory() {
  clear_chart(memory_chart_);
  struct Part {
    QString name;
    uint64_t bytes;
    QColor color;
  };
  // The per-layer-embedding table is part of the device's weights unless it stays in host memory.
  const uint64_t ple = memory_.host_tables > 0 ? 0 : std::min(ple_table_bytes_, memory_.weights);
  const std::vector<Part> parts = {
      {"weights", memory_.weights - ple, kind_color(AttentionKind::Global)},
      {"per-layer-embedding table", ple, colors::ple()},
      {"KV cache", memory_.caches, kind_color(AttentionKind::Sliding)},
      {"scratch", memory_.scratch, colors::reader()},
  };
  auto* series = new QHorizontalStackedBarSeries;
  double total = 0;
  for (const Part& p : parts) {
    if (p.bytes == 0) continue;
    auto* set = new QBarSet(QString("%1 %2").arg(p.name, format_bytes(double(p.bytes))));
    *set << double(p.bytes) / (1 << 20);
    set->setColor(p.color);
    set->setBorderColor(Qt::white);
    series->append(set);
    total += double(p.bytes);
  }
  series->setBarWidth(0.7);
  memory_chart_->addSeries(series);
  auto* x = new QValueAxis;
  x->setRange(0, std::max(total / (1 << 20), 0.001) * 1.02);
  x->setLabelsVisible(false);  // the legend carries each part's size
  x->setGridLineVisible(false);
  style_axis(x, QString("total %1").arg(format_bytes(total)));
  memory_chart_->addAxis(x, Qt::AlignBottom);
  series->attachAxis(x);
  memory_chart_->legend()->setAlignment(Qt::AlignTop);
  memory_chart_->setTitle(memory_.host_tables > 0
                              ? QString("Device memory (per-layer-embedding table in host memory: %1 saved)")
                                    .arg(format_bytes(double(memory_.host_tables)))
                              : QString("Device memory"));
}

void PerformanceView::rebuildLayers() {
  clear_chart(layer_chart_);
  const std::vector<double> ms = layerMilliseconds();
  if (ms.empty()) {
    layer_chart_->setTitle("Time per layer of one decode step (after the first reply token)");
    return;
  }
  layer_chart_->setTitle(QString("Time per layer of one decode step, mean of %1 steps").arg(decode_steps_));
  // One set per attention kind so bars keep the kind colours of the other views.
  auto* series = new QStackedBarSeries;
  double top = 0;
  for (AttentionKind kind : {AttentionKind::Global, AttentionKind::Sliding, AttentionKind::Csa, AttentionKind::Hca,
                             AttentionKind::Cca}) {
    auto* set = new QBarSet(kind_name(kind));
    bool any = false;
    for (const LayerSpec& l : spec_.layers) {
      const bool mine = l.attention == kind;
      *set << (mine ? ms[l.index] : 0.0);
      any = any || mine;
      top = std::max(top, ms[l.index]);
    }
    if (!any) {
      delete set;
      continue;
    }
    set->setColor(kind_color(kind));
    set->setBorderColor(kind_color(kind));
    series->append(set);
  }
  series->setBarWidth(0.8);
  layer_chart_->addSeries(series);
  QBarCategoryAxis* x = layer_axis(int(spec_.layers.size()));
  layer_chart_->addAxis(x, Qt::AlignBottom);
  series->attachAxis(x);
  QAbstractAxis* y = value_axis(false, 0, std::max(top, 1e-3), 1.0, 1.15, "milliseconds");
  layer_chart_->addAxis(y, Qt::AlignLeft);
  series->attachAxis(y);
}

}  // namespace archscope::gui
