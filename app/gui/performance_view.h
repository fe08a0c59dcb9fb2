// The "Performance" tab: prompt and reply tokens per second, the time of the last decode
// step, device memory by component (weights, of which the per-layer-embedding table; KV
// cache; scratch) and per-layer time of the decode steps (the backend's GPU timestamps on
// Vulkan, wall time per layer on the CPU path), averaged over the current reply.
#pragma once

#include <QWidget>

#include <vector>

#include "archscope/model_spec.h"
#include "archscope/session.h"
#include "chat_engine.h"

class QChart;
class QChartView;
class QLabel;

namespace archscope::gui {

class PerformanceView : public QWidget {
  Q_OBJECT
 public:
  explicit PerformanceView(QWidget* parent = nullptr);

  void clear(const QString& why);   // no running model
  void setSession(const SessionInfo& info);
  // Decode steps join the per-layer average; the chart follows on refresh() (the window
  // calls it at most a few times a second however fast the decode).
  void addStep(const archscope::StepReport& report);
  void refresh();
  void setReply(const ReplyStats& stats);
  void beginReply();                // starts a new per-layer average

  // The per-layer average in milliseconds (empty before the first timed decode step).
  std::vector<double> layerMilliseconds() const;
  QString summaryText() const;
  QChart* layerChart() const { return layer_chart_; }
  QChart* memoryChart() const { return memory_chart_; }

 private:
  void rebuildLayers();
  void rebuildMemory();

  archscope::ModelSpec spec_;
  archscope::MemoryUse memory_;
  uint64_t ple_table_bytes_ = 0;
  QString backend_;
  std::vector<double> layer_sum_;  // per layer, over decode steps of this reply
  int decode_steps_ = 0;
  double last_step_ms_ = 0.0;
  uint64_t cache_filled_ = 0;

  QLabel* summary_ = nullptr;
  QChart* memory_chart_ = nullptr;
  QChartView* memory_view_ = nullptr;
  QChart* layer_chart_ = nullptr;
  QChartView* layer_view_ = nullptr;
};

}  // namespace archscope::gui
