// LayerDiagramView: one painted row per layer. Attention-kind badge, a bar whose width is
// the query-head count (the layer's attention budget, split into its KV-head groups), KV
// heads and head dims, where the layer's cache lives ("reads L13"), the FFN, the
// per-layer-embedding and hyper-connection markers, and the cache bytes at the plan's
// context. Scrolls by itself (the column header stays on top); Ctrl+wheel or +/- zoom.
#pragma once

#include <QAbstractScrollArea>
#include <QRect>

#include "archscope/cache_plan.h"
#include "archscope/model_spec.h"

namespace archscope::gui {

class LayerDiagramView : public QAbstractScrollArea {
  Q_OBJECT

 public:
  explicit LayerDiagramView(QWidget* parent = nullptr);

  // Shows a model; the plan gives the cache column (its context is named in the header).
  void setModel(const ModelSpec& spec, const CachePlan& plan);
  // New cache figures for the same model (the context grew, or a StepReport came in).
  void setPlan(const CachePlan& plan);
  void clear();

  int layerCount() const { return static_cast<int>(layers_.size()); }
  int selectedLayer() const { return selected_; }  // -1 when none
  void setSelectedLayer(int layer);                // scrolls it into view; emits nothing

  double zoom() const { return zoom_; }
  void setZoom(double zoom);  // 1.0 = 24 px rows; clamped to [0.6, 2.5]

  // Where a layer's row is drawn, in viewport coordinates (it may lie outside the viewport).
  QRect rowRect(int layer) const;
  // The layer drawn at a viewport point, or -1.
  int layerAt(const QPoint& viewport_pos) const;
  void ensureLayerVisible(int layer);

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 signals:
  void layerClicked(int layer);  // the user picked a layer (mouse or arrow keys)

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  bool viewportEvent(QEvent* event) override;

 private:
  struct Column {
    QString title;
    int x = 0, width = 0;
  };
  int rowHeight() const;
  int headerHeight() const;
  int legendHeight() const;
  void paintLegend(QPainter& p, int top);
  QFont rowFont() const;
  void layoutColumns();
  void updateScrollBars();
  void paintHeader(QPainter& p);
  void paintRow(QPainter& p, int layer, const QRect& row);
  QString rowToolTip(int layer) const;
  QString columnToolTip(int content_x) const;

  std::vector<LayerSpec> layers_;
  CachePlan plan_;
  std::string model_name_;
  int max_q_heads_ = 1;
  uint64_t max_layer_bytes_ = 1;
  int selected_ = -1, hovered_ = -1;
  double zoom_ = 1.0;
  std::vector<Column> columns_;
  int content_width_ = 0;  // the columns as laid out for the current width
  int natural_width_ = 0;  // the columns with a comfortable bar: what sizeHint asks for
};

}  // namespace archscope::gui
