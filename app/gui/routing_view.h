// The "Routing" tab of mixture-of-experts models: one row per MoE layer, one cell per
// routed expert. "Latest token" colours the experts the router chose for the newest token
// by their weight; "This reply" colours each expert by how often it was chosen since the
// reply began, so hot and idle experts stand out. Hovering a cell tells the layer, the
// expert and its weight or count. Fed by the StepReports of a running model; a card
// shows the layout (experts, top-k, shared experts) and waits for a model to run.
#pragma once

#include <QWidget>

#include <vector>

#include "archscope/model_spec.h"
#include "archscope/session.h"

class QComboBox;
class QLabel;
class QScrollArea;

namespace archscope::gui {

class RoutingGrid;

class RoutingView : public QWidget {
  Q_OBJECT
 public:
  explicit RoutingView(QWidget* parent = nullptr);

  void setModel(const archscope::ModelSpec& spec);
  void beginReply();                                  // the reply's counts start over
  void addStep(const archscope::StepReport& report);  // records the routing; drawn on refresh()
  void refresh();

  enum class Mode { LatestToken, Reply };
  void setMode(Mode mode);
  // The experts chosen for the newest token in `layer` and their weights (empty: none seen).
  const std::vector<int>& latestExperts(int layer) const;
  // How often `expert` was chosen in `layer` since beginReply().
  int count(int layer, int expert) const;
  int tokensSeen() const { return tokens_; }
  QString summaryText() const;
  RoutingGrid* grid() const { return grid_; }

 private:
  friend class RoutingGrid;
  struct LayerRouting {
    int layer = 0;                  // model layer index
    int experts = 0;
    std::vector<int> latest;
    std::vector<float> latest_weights;
    std::vector<int> counts;        // per expert, this reply
  };
  const LayerRouting* routing(int layer) const;
  void updateSummary();

  archscope::ModelSpec spec_;
  std::vector<LayerRouting> rows_;  // MoE layers only
  int tokens_ = 0;
  Mode mode_ = Mode::LatestToken;
  QLabel* summary_ = nullptr;
  QComboBox* mode_box_ = nullptr;
  QScrollArea* scroll_ = nullptr;
  RoutingGrid* grid_ = nullptr;
};

}  // namespace archscope::gui
