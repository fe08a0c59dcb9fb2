// The "Attention budget" tab (Qt Charts): per layer, query heads x positions one query
// attends to at the current context (the window, the whole context, or window plus
// compressed entries, from CostModel's LayerDecodeCost::attended_positions) = the attention
// work of one decoded token, as bars coloured by attention kind, with a line for the
// uniform-budget equivalent: every layer global with the model's largest query-head count.
//
// Analytic: computed from plan_cache + estimate_decode. During a chat the app calls
// setContext() as the context grows.
#pragma once

#include <QWidget>

#include <cstdint>

#include "archscope/cache_plan.h"
#include "archscope/cost_model.h"
#include "archscope/model_spec.h"

class QChart;
class QChartView;
class QCheckBox;
class QLabel;

namespace archscope::gui {

class AttentionBudgetView : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionBudgetView(QWidget* parent = nullptr);

  void setModel(const archscope::ModelSpec& spec);
  void setContext(uint64_t tokens, archscope::GgmlType cache_type);
  void clear();

  uint64_t context() const { return context_; }
  // Sum over layers of query heads x attended positions, and the uniform-budget figure.
  double totalWork() const { return total_; }
  double uniformWork() const { return uniform_total_; }
  QString summaryText() const;
  QChart* chart() const { return chart_; }
  QChart* headsChart() const { return heads_chart_; }

 private:
  void rebuild();
  void rebuildHeads();

  archscope::ModelSpec spec_;
  bool has_model_ = false;
  uint64_t context_ = 0;
  archscope::GgmlType type_ = archscope::GgmlType::F16;
  archscope::DecodeCost cost_;
  double total_ = 0, uniform_total_ = 0;

  QLabel* summary_ = nullptr;
  QCheckBox* log_scale_ = nullptr;
  QChart* chart_ = nullptr;
  QChartView* view_ = nullptr;
  QChart* heads_chart_ = nullptr;      // query heads (and KV heads) per layer
  QChartView* heads_view_ = nullptr;
};

}  // namespace archscope::gui
