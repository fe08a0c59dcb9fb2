// The "mHC" tab of models with manifold-constrained hyper-connections (DeepSeek V4): for
// every layer, one panel per site (attention, MoE) with the n x n residual mixing matrix
// of a token as a heatmap, its row and column sums (1 for the doubly stochastic matrices
// mHC projects onto), and the pre and post weights that read the sublayer's input from
// the streams and write its output back. Hovering a cell shows its value; the scrubber
// replays earlier tokens of the reply. Fed by StepReports; without a running model it
// describes the streams and waits.
#pragma once

#include <QWidget>

#include <vector>

#include "archscope/model_spec.h"
#include "archscope/session.h"

class QLabel;
class QScrollArea;
class QSlider;

namespace archscope::gui {

class MhcGrid;

class MhcView : public QWidget {
  Q_OBJECT
 public:
  explicit MhcView(QWidget* parent = nullptr);

  void setModel(const archscope::ModelSpec& spec);
  void beginReply();
  void addStep(const archscope::StepReport& report);  // a token with mHC sites joins the reply
  void refresh();

  int tokenCount() const { return int(tokens_.size()); }
  int token() const { return token_; }       // shown token, -1 while none
  void setToken(int index);                  // 0 .. tokenCount()-1
  // The shown token's mix of `site` (0 attention, 1 MoE) in `layer`, or null.
  const archscope::HyperConnectionMix* mix(int layer, int site) const;
  QString summaryText() const;

 private:
  friend class MhcGrid;
  using TokenMixes = std::vector<std::vector<archscope::HyperConnectionMix>>;  // [layer][site]
  void updateSummary();

  archscope::ModelSpec spec_;
  std::vector<TokenMixes> tokens_;
  int token_ = -1;
  bool follow_latest_ = true;
  QLabel* summary_ = nullptr;
  QSlider* scrubber_ = nullptr;
  QLabel* scrubber_label_ = nullptr;
  QScrollArea* scroll_ = nullptr;
  MhcGrid* grid_ = nullptr;
};

}  // namespace archscope::gui
