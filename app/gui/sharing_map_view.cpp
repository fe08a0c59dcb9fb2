// SharingMapView: lanes, arrows and the summary above them.
#include "sharing_map_view.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QScrollBar>
#include <QToolTip>

#include <algorithm>
#include <cmath>

#include "palette.h"

namespace archscope::gui {

namespace {
constexpr int kPad = 10;
constexpr int kBadgeWidth = 96;
constexpr int kBarWidth = 150;
constexpr int kBytesWidth = 78;
constexpr int kReadByWidth = 78;
constexpr int kGapWidth = 170;
constexpr int kReaderWidth = 300;
constexpr int kSummaryHeight = 58;
constexpr int kLaneTitleHeight = 26;
}  // namespace

SharingMapView::SharingMapView(QWidget* parent) : QAbstractScrollArea(parent) {
  setFrameShape(QFrame::NoFrame);
  setFocusPolicy(Qt::StrongFocus);
  viewport()->setMouseTracking(true);
}

void SharingMapView::setModel(const ModelSpec& spec, const CachePlan& plan) {
  layers_ = spec.layers;
  selected_ = -1;
  setPlan(plan);
  verticalScrollBar()->setValue(0);
}

void SharingMapView::setPlan(const CachePlan& plan) {
  plan_ = plan;
  max_owner_bytes_ = 1;
  for (const LayerCache& c : plan_.layers) max_owner_bytes_ = std::max(max_owner_bytes_, c.bytes);
  updateScrollBars();
  updateGeometry();
  viewport()->update();
}

int SharingMapView::ownerCount() const {
  return int(std::count_if(layers_.begin(), layers_.end(), [](const LayerSpec& l) { return l.owns_cache(); }));
}

int SharingMapView::readerCount() const { return int(layers_.size()) - ownerCount(); }

int SharingMapView::readersOf(int owner) const {
  return int(std::count_if(layers_.begin(), layers_.end(),
                           [owner](const LayerSpec& l) { return !l.owns_cache() && l.kv_source == owner; }));
}

void SharingMapView::setSelectedLayer(int layer) {
  selected_ = layer >= 0 && layer < int(layers_.size()) ? layer : -1;
  if (selected_ >= 0) {
    const int top = selected_ * rowHeight();
    const int page = std::max(rowHeight(), viewport()->height() - headerHeight());
    QScrollBar* bar = verticalScrollBar();
    if (top < bar->value()) bar->setValue(top);
    else if (top + rowHeight() > bar->value() + page) bar->setValue(top + rowHeight() - page);
  }
  viewport()->update();
}

SharingMapView::Lanes SharingMapView::lanes() const {
  Lanes l{};
  l.index_x = 0;
  l.index_w = 52;
  l.owner_x = l.index_x + l.index_w;
  l.owner_w = kBadgeWidth + kBarWidth + kBytesWidth + kReadByWidth + 3 * kPad;
  l.gap_x = l.owner_x + l.owner_w;
  l.gap_w = hasSharing() ? kGapWidth : 24;
  l.reader_x = l.gap_x + l.gap_w;
  l.reader_w = hasSharing() ? kReaderWidth : 330;
  l.width = l.reader_x + l.reader_w + kPad;
  return l;
}

int SharingMapView::headerHeight() const { return kSummaryHeight + kLaneTitleHeight; }

int SharingMapView::rowTop(int layer) const { return headerHeight() + layer * rowHeight() - verticalScrollBar()->value(); }

void SharingMapView::updateScrollBars() {
  const int content = int(layers_.size()) * rowHeight() + kPad;
  const int visible = std::max(0, viewport()->height() - headerHeight());
  verticalScrollBar()->setPageStep(visible);
  verticalScrollBar()->setSingleStep(rowHeight());
  verticalScrollBar()->setRange(0, std::max(0, content - visible));
  horizontalScrollBar()->setPageStep(viewport()->width());
  horizontalScrollBar()->setRange(0, std::max(0, lanes().width - viewport()->width()));
}

QSize SharingMapView::sizeHint() const {
  return QSize(lanes().width + 16, headerHeight() + std::min<int>(int(layers_.size()), 40) * rowHeight() + kPad);
}

QSize SharingMapView::minimumSizeHint() const { return QSize(300, headerHeight() + 4 * rowHeight()); }

void SharingMapView::resizeEvent(QResizeEvent* event) {
  QAbstractScrollArea::resizeEvent(event);
  updateScrollBars();
}

int SharingMapView::layerAt(const QPoint& pos) const {
  if (pos.y() < headerHeight()) return -1;
  const int layer = (pos.y() - headerHeight() + verticalScrollBar()->value()) / rowHeight();
  return layer >= 0 && layer < int(layers_.size()) ? layer : -1;
}

void SharingMapView::paintSummary(QPainter& p, int width) {
  const Lanes ln = lanes();
  const int x0 = -horizontalScrollBar()->value();
  p.fillRect(QRect(0, 0, width, headerHeight()), colors::background());
  QFont title = font();
  title.setPixelSize(15);
  title.setBold(true);
  QFont body = font();
  body.setPixelSize(12);
  const QString context = QStringLiteral("%1 tokens").arg(format_tokens(plan_.context));
  QString headline, detail;
  if (hasSharing()) {
    headline = QStringLiteral("%1 layers own a KV cache, %2 read another layer's").arg(ownerCount()).arg(readerCount());
    detail = QStringLiteral("At %1 the owners hold %2; without sharing every layer would hold its own: %3 (sharing saves %4).")
                 .arg(context, format_bytes(double(plan_.bytes)), format_bytes(double(plan_.bytes_no_sharing)),
                      format_bytes(double(plan_.bytes_no_sharing - std::min(plan_.bytes_no_sharing, plan_.bytes))));
  } else {
    headline = QStringLiteral("No KV sharing: every layer owns its cache");
    detail = QStringLiteral("At %1 the %2 layers hold %3 in all.")
                 .arg(context)
                 .arg(layers_.size())
                 .arg(format_bytes(double(plan_.bytes)));
  }
  p.setFont(title);
  p.setPen(colors::text());
  p.drawText(QRect(x0 + kPad, 8, width, 22), Qt::AlignLeft | Qt::AlignVCenter, headline);
  p.setFont(body);
  p.setPen(colors::muted());
  p.drawText(QRect(x0 + kPad, 30, width, 20), Qt::AlignLeft | Qt::AlignVCenter, detail);

  // Lane titles.
  const QRect band(0, kSummaryHeight, width, kLaneTitleHeight);
  p.fillRect(band, colors::header());
  p.setPen(colors::grid());
  p.drawLine(band.bottomLeft(), band.bottomRight());
  QFont bold = body;
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(colors::muted());
  p.drawText(QRect(x0 + ln.index_x, band.top(), ln.index_w - kPad, band.height()), Qt::AlignRight | Qt::AlignVCenter,
             QStringLiteral("layer"));
  p.drawText(QRect(x0 + ln.owner_x + kPad, band.top(), ln.owner_w, band.height()), Qt::AlignLeft | Qt::AlignVCenter,
             QStringLiteral("owns a cache: bytes held"));
  if (hasSharing())
    p.drawText(QRect(x0 + ln.reader_x, band.top(), ln.reader_w, band.height()), Qt::AlignLeft | Qt::AlignVCenter,
               QStringLiteral("reads another layer's cache"));
}

void SharingMapView::paintEvent(QPaintEvent*) {
  QPainter p(viewport());
  const int width = viewport()->width();
  p.fillRect(viewport()->rect(), colors::background());
  if (layers_.empty()) {
    p.setPen(colors::muted());
    p.drawText(viewport()->rect(), Qt::AlignCenter, QStringLiteral("Open a model or a card to see its KV-sharing map"));
    return;
  }
  const Lanes ln = lanes();
  const int x0 = -horizontalScrollBar()->value();
  const int h = rowHeight();
  QFont body = font();
  body.setPixelSize(12);
  p.setFont(body);
  const QFontMetrics fm(body);
  const int n = int(layers_.size());
  const int selected_source = selected_ >= 0 ? layers_[selected_].kv_source : -1;

  // Rows: backgrounds, owner lane, reader lane.
  for (int i = 0; i < n; ++i) {
    const int top = rowTop(i);
    if (top + h < headerHeight() || top > viewport()->height()) continue;
    const LayerSpec& l = layers_[i];
    const LayerCache* c = i < int(plan_.layers.size()) ? &plan_.layers[i] : nullptr;
    QColor bg = i % 2 ? colors::alternate_row() : colors::background();
    // The selected layer, the cache it reads, and (for an owner) the layers reading it.
    const bool related = selected_ >= 0 && (i == selected_source || (!l.owns_cache() && l.kv_source == selected_));
    if (related) bg = colors::hover();
    if (i == selected_) bg = colors::selection();
    p.fillRect(QRect(0, top, width, h), bg);
    p.setPen(colors::muted());
    p.drawText(QRect(x0 + ln.index_x, top, ln.index_w - kPad, h), Qt::AlignRight | Qt::AlignVCenter,
               QStringLiteral("L%1").arg(i));

    if (l.owns_cache()) {
      int x = x0 + ln.owner_x + kPad;
      paint_kind_badge(p, QRectF(x, top + 3, kBadgeWidth - 6, h - 6), l);
      x += kBadgeWidth;
      const uint64_t bytes = c ? c->bytes : 0;
      p.setRenderHint(QPainter::Antialiasing, true);
      p.setPen(Qt::NoPen);
      p.setBrush(QColor(0xec, 0xee, 0xf2));
      p.drawRoundedRect(QRectF(x, top + h * 0.3, kBarWidth, h * 0.4), 2, 2);
      if (bytes) {
        p.setBrush(kind_color(l.attention));
        p.drawRoundedRect(QRectF(x, top + h * 0.3, std::max(2.0, kBarWidth * double(bytes) / double(max_owner_bytes_)), h * 0.4), 2, 2);
      }
      p.setRenderHint(QPainter::Antialiasing, false);
      x += kBarWidth + kPad;
      p.setPen(colors::text());
      p.drawText(QRect(x, top, kBytesWidth, h), Qt::AlignRight | Qt::AlignVCenter, c ? format_bytes(double(bytes)) : QString());
      x += kBytesWidth + kPad;
      const int readers = readersOf(i);
      if (readers) {
        p.setPen(kind_color(l.attention).darker(125));
        p.drawText(QRect(x, top, kReadByWidth, h), Qt::AlignLeft | Qt::AlignVCenter,
                   QStringLiteral("read by %1").arg(readers));
      }
    } else {
      // An empty slot where an owner's bar would be.
      p.setPen(QPen(colors::grid(), 1, Qt::DashLine));
      p.drawLine(x0 + ln.owner_x + kPad + kBadgeWidth, top + h / 2, x0 + ln.owner_x + kPad + kBadgeWidth + kBarWidth, top + h / 2);
      p.setPen(colors::muted());
      p.drawText(QRect(x0 + ln.owner_x + kPad + kBadgeWidth + kBarWidth + kPad, top, kBytesWidth, h),
                 Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("0 B"));
      const int bx = x0 + ln.reader_x;
      paint_kind_badge(p, QRectF(bx, top + 3, kBadgeWidth - 6, h - 6), l);
      const QColor src = l.kv_source >= 0 && l.kv_source < n ? kind_color(layers_[l.kv_source].attention) : colors::reader();
      p.setPen(src.darker(125));
      const QString reads = QStringLiteral("reads L%1").arg(l.kv_source);
      p.drawText(QRect(bx + kBadgeWidth, top, ln.reader_w - kBadgeWidth, h), Qt::AlignLeft | Qt::AlignVCenter, reads);
      if (c && c->bytes_no_sharing) {
        p.setPen(colors::muted());
        p.drawText(QRect(bx + kBadgeWidth + fm.horizontalAdvance(reads + QStringLiteral("  ")), top, ln.reader_w, h),
                   Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("saves %1").arg(format_bytes(double(c->bytes_no_sharing))));
      }
    }
  }

  // Arrows from each reader to its owner, drawn over the gap lane.
  p.setRenderHint(QPainter::Antialiasing, true);
  for (int pass = 0; pass < 2; ++pass) {  // highlighted arrows last, on top
    for (int i = 0; i < n; ++i) {
      const LayerSpec& l = layers_[i];
      if (l.owns_cache() || l.kv_source < 0 || l.kv_source >= n) continue;
      const bool hot = selected_ >= 0 && (i == selected_ || l.kv_source == selected_);
      if (hot != (pass == 1)) continue;
      const QPointF from(x0 + ln.reader_x - 4, rowTop(i) + h / 2.0);
      const QPointF to(x0 + ln.gap_x + 2, rowTop(l.kv_source) + h / 2.0);
      QColor color = kind_color(layers_[l.kv_source].attention);
      if (!hot) color.setAlpha(selected_ >= 0 ? 60 : 150);
      QPainterPath path(from);
      const double bend = ln.gap_w * 0.55;
      path.cubicTo(from + QPointF(-bend, 0), to + QPointF(bend, 0), to + QPointF(7, 0));
      p.setPen(QPen(color, hot ? 2.2 : 1.3));
      p.setBrush(Qt::NoBrush);
      p.drawPath(path);
      QPolygonF head;
      head << to << to + QPointF(8, -4) << to + QPointF(8, 4);
      p.setPen(Qt::NoPen);
      p.setBrush(color);
      p.drawPolygon(head);
    }
  }
  p.setRenderHint(QPainter::Antialiasing, false);

  if (!hasSharing()) {
    // The explanation sits beside the owners, where arrows would be.
    const QRect box(x0 + ln.reader_x, headerHeight() + 10, ln.reader_w - kPad, 92);
    p.setRenderHint(QPainter::Antialiasing, true);
    p.setPen(colors::grid());
    p.setBrush(colors::alternate_row());
    p.drawRoundedRect(box, 8, 8);
    p.setRenderHint(QPainter::Antialiasing, false);
    QFont bold = body;
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(colors::text());
    p.drawText(box.adjusted(12, 10, -12, 0), Qt::AlignLeft | Qt::AlignTop, QStringLiteral("Every layer owns its cache"));
    p.setFont(body);
    p.setPen(colors::muted());
    p.drawText(box.adjusted(12, 32, -12, -8), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap,
               QStringLiteral("No layer reads another layer's keys and values. (Gemma 4 E2B and E4B share: "
                              "their last layers reuse the caches of earlier ones.)"));
  }

  paintSummary(p, width);
}

QString SharingMapView::toolTipFor(int layer) const {
  const LayerSpec& l = layers_[layer];
  QString tip = QStringLiteral("<b>Layer %1</b> &mdash; %2<br>").arg(layer).arg(kind_badge(l));
  const LayerCache* c = layer < int(plan_.layers.size()) ? &plan_.layers[layer] : nullptr;
  if (l.owns_cache()) {
    if (c) {
      tip += QStringLiteral("holds %1 at %2 tokens (%3 positions").arg(format_bytes(double(c->bytes)), format_count(plan_.context),
                                                                      format_count(c->positions));
      if (c->compressed_entries) tip += QStringLiteral(" + %1 compressed entries").arg(format_count(c->compressed_entries));
      tip += QStringLiteral(")");
    }
    QStringList readers;
    for (const LayerSpec& r : layers_)
      if (!r.owns_cache() && r.kv_source == layer) readers << QStringLiteral("L%1").arg(r.index);
    if (!readers.isEmpty()) tip += QStringLiteral("<br>read by %1 layers: %2").arg(readers.size()).arg(readers.join(QStringLiteral(", ")));
  } else {
    tip += QStringLiteral("reads layer %1's cache and holds nothing").arg(l.kv_source);
    if (c) tip += QStringLiteral("<br>(would hold %1 owning a cache of its own)").arg(format_bytes(double(c->bytes_no_sharing)));
  }
  return tip;
}

void SharingMapView::mousePressEvent(QMouseEvent* event) {
  const int layer = layerAt(event->position().toPoint());
  if (event->button() != Qt::LeftButton || layer < 0) return QAbstractScrollArea::mousePressEvent(event);
  setSelectedLayer(layer);
  emit layerClicked(layer);
}

bool SharingMapView::viewportEvent(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    const int layer = layerAt(help->pos());
    if (layer >= 0) QToolTip::showText(help->globalPos(), toolTipFor(layer), viewport());
    else QToolTip::hideText();
    return true;
  }
  return QAbstractScrollArea::viewportEvent(event);
}

}  // namespace archscope::gui
