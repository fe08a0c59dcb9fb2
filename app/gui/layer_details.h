// LayerDetails: everything about one layer. A summary line, then a tree with the layer's
// weight tensors (name, shape in ggml order, type, bytes) and its KV cache at the plan's
// context (source, positions, compressed entries, bytes).
#pragma once

#include <QStringList>
#include <QWidget>

#include "archscope/cache_plan.h"
#include "archscope/model_spec.h"

class QLabel;
class QTreeWidget;

namespace archscope::gui {

class LayerDetails : public QWidget {
  Q_OBJECT

 public:
  explicit LayerDetails(QWidget* parent = nullptr);

  void setModel(const ModelSpec& spec, const CachePlan& plan);  // shows no layer until setLayer
  void setPlan(const CachePlan& plan);                          // new cache figures, same layer
  void setLayer(int layer);                                     // -1 clears
  int layer() const { return layer_; }

  QStringList tensorNames() const;  // the shown layer's tensors, short names ("attn_q.weight")
  QTreeWidget* tree() const { return tree_; }

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 private:
  void refresh();

  ModelSpec spec_;
  CachePlan plan_;
  int layer_ = -1;
  QLabel* title_ = nullptr;
  QLabel* summary_ = nullptr;
  QTreeWidget* tree_ = nullptr;
};

}  // namespace archscope::gui
