// The "Cache" tab: KV cache bytes against context length (Qt Charts).
//
// Top chart: the bytes every layer group (by attention kind) holds, stacked, on a log
// context axis from 1K to the model's maximum, with lines for the figures a model without
// each trick would need (naive, without sharing, without windows) and the actual total,
// and a marker at the current context. Bottom chart: bytes per layer at the current
// context, coloured by attention kind; layers that read another layer's cache show what
// they would hold without sharing as a grey outline.
//
// Analytic: everything comes from archscope::plan_cache. During a chat the app calls
// setContext() as the context grows and addMeasured() with the bytes the running session
// reports, drawn as points on the curves (the axis then starts at 16 tokens).
#pragma once

#include <QWidget>

#include <cstdint>
#include <vector>

#include "archscope/cache_plan.h"
#include "archscope/model_spec.h"

class QCheckBox;
class QChart;
class QChartView;
class QLabel;

namespace archscope::gui {

class CacheChartView : public QWidget {
  Q_OBJECT
 public:
  explicit CacheChartView(QWidget* parent = nullptr);

  void setModel(const archscope::ModelSpec& spec);
  void setContext(uint64_t tokens, archscope::GgmlType cache_type);
  void clear();
  // The CachePlan's batch: 1 for the analytic figures, a running session's prefill batch in
  // live mode (its rings hold window + batch - 1 positions).
  void setBatch(uint64_t batch);
  // A running session's filled cache at `position` tokens, in its cache element type.
  void addMeasured(uint64_t position, uint64_t bytes, archscope::GgmlType cache_type);
  void clearMeasured();
  size_t measuredCount() const { return measured_.size(); }

  uint64_t context() const { return context_; }
  QString summaryText() const;
  QChart* contextChart() const { return context_chart_; }
  QChart* layerChart() const { return layer_chart_; }

 private:
  void rebuildContextChart();
  void rebuildLayerChart();

  archscope::ModelSpec spec_;
  bool has_model_ = false;
  uint64_t context_ = 0;
  archscope::GgmlType type_ = archscope::GgmlType::F16;
  bool curves_valid_ = false;
  // Plans at the sampled contexts of the top chart (recomputed when the model or type changes).
  std::vector<archscope::CachePlan> sweep_;
  archscope::CachePlan plan_;  // at context_
  struct Measured {
    uint64_t position, bytes;
  };
  std::vector<Measured> measured_;  // ascending positions of the current conversation
  archscope::GgmlType measured_type_ = archscope::GgmlType::F16;
  uint64_t batch_ = 1;

  QLabel* summary_ = nullptr;
  QCheckBox* fit_actual_ = nullptr;
  QCheckBox* log_layers_ = nullptr;
  QChart* context_chart_ = nullptr;
  QChart* layer_chart_ = nullptr;
  QChartView* context_view_ = nullptr;
  QChartView* layer_view_ = nullptr;
};

}  // namespace archscope::gui
