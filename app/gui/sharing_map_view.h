// SharingMapView: which layers own a KV cache and which read another layer's (Gemma 4 KV
// sharing). One row per layer at its depth: owners in the left lane with the bytes each
// holds, readers in the right lane, an arrow from every reader to the owner it reads.
// A model without sharing says so and still shows every layer's bytes.
#pragma once

#include <QAbstractScrollArea>

#include "archscope/cache_plan.h"
#include "archscope/model_spec.h"

namespace archscope::gui {

class SharingMapView : public QAbstractScrollArea {
  Q_OBJECT

 public:
  explicit SharingMapView(QWidget* parent = nullptr);

  void setModel(const ModelSpec& spec, const CachePlan& plan);
  // New cache figures for the same model (the context grew, or a StepReport came in).
  void setPlan(const CachePlan& plan);

  int ownerCount() const;
  int readerCount() const;                  // layers that read another layer's cache
  int readersOf(int owner) const;           // how many layers read this owner's cache
  bool hasSharing() const { return readerCount() > 0; }
  // The layer drawn at a viewport point (either lane), or -1.
  int layerAt(const QPoint& viewport_pos) const;
  void setSelectedLayer(int layer);         // highlights the layer and its producer/readers

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 signals:
  void layerClicked(int layer);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  bool viewportEvent(QEvent* event) override;

 private:
  struct Lanes {
    int index_x, index_w, owner_x, owner_w, gap_x, gap_w, reader_x, reader_w, width;
  };
  Lanes lanes() const;
  int rowHeight() const { return 22; }
  int headerHeight() const;
  int rowTop(int layer) const;
  void updateScrollBars();
  void paintSummary(QPainter& p, int height);
  QString toolTipFor(int layer) const;

  std::vector<LayerSpec> layers_;
  CachePlan plan_;
  uint64_t max_owner_bytes_ = 1;
  int selected_ = -1;
};

}  // namespace archscope::gui
