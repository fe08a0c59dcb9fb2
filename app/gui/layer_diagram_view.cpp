// LayerDiagramView: painting, layout of the columns, scrolling, zoom and picking.
#include "layer_diagram_view.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QStyle>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

#include "archscope/ggml_types.h"
#include "palette.h"

namespace archscope::gui {

namespace {

constexpr int kBaseRowHeight = 24;
constexpr int kBaseFontPixels = 13;
constexpr double kMinZoom = 0.6, kMaxZoom = 2.5;

enum ColumnId { ColLayer, ColKind, ColBudget, ColKv, ColCache, ColFfn, ColExtras, ColBytes, ColCount };

QString dims_text(const LayerSpec& l) {
  QString dims = l.head_dim_k == l.head_dim_v ? QString::number(l.head_dim_k)
                                              : QStringLiteral("%1/%2").arg(l.head_dim_k).arg(l.head_dim_v);
  return QStringLiteral("%1 × %2").arg(l.kv_heads).arg(dims);
}

// How values relate to keys, beside the dims: one cached tensor, or V projected by W_k.
QString kv_note(const LayerSpec& l) {
  if (l.k_equals_v) return QStringLiteral("K=V");
  if (l.v_from_k_proj) return QStringLiteral("V=W_k");
  return {};
}

QString positions_text(const LayerCache& c) {
  QString s = format_count(c.positions);
  if (c.compressed_entries) s += QStringLiteral(" + %1 compressed").arg(format_count(c.compressed_entries));
  return s;
}

struct LegendEntry {
  QColor color;
  QString chip, text;
  bool bar = false;
};

// What the rows' colours and markers mean, for the kinds and markers this model has.
std::vector<LegendEntry> legend_entries(const std::vector<LayerSpec>& layers) {
  std::vector<LegendEntry> entries;
  for (AttentionKind kind : {AttentionKind::Global, AttentionKind::Sliding, AttentionKind::Csa, AttentionKind::Hca, AttentionKind::Cca}) {
    const auto it = std::find_if(layers.begin(), layers.end(), [kind](const LayerSpec& l) { return l.attention == kind; });
    if (it == layers.end()) continue;
    const int count = int(std::count_if(layers.begin(), layers.end(), [kind](const LayerSpec& l) { return l.attention == kind; }));
    entries.push_back({kind_color(kind), kind_name(kind),
                       QStringLiteral("%1 (%2 layers)").arg(kind_description(kind)).arg(count)});
  }
  entries.push_back({colors::muted(), QString(),
                     QStringLiteral("bar length = query heads, scaled to the model's largest layer; ticks split it into KV-head groups"),
                     true});
  if (std::any_of(layers.begin(), layers.end(), [](const LayerSpec& l) { return !l.owns_cache(); }))
    entries.push_back({colors::reader(), QStringLiteral("↳ reads"), QStringLiteral("uses another layer's KV cache and stores none")});
  if (std::any_of(layers.begin(), layers.end(), [](const LayerSpec& l) { return l.ple_width > 0; }))
    entries.push_back({colors::ple(), QStringLiteral("PLE"), QStringLiteral("per-layer embedding: a slice of its own embedding table feeds this layer")});
  if (std::any_of(layers.begin(), layers.end(), [](const LayerSpec& l) { return l.hc_width > 0; }))
    entries.push_back({colors::hyper_connection(), QStringLiteral("mHC"), QStringLiteral("hyper-connections: parallel residual streams mixed by learned matrices")});
  return entries;
}

}  // namespace

LayerDiagramView::LayerDiagramView(QWidget* parent) : QAbstractScrollArea(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setFrameShape(QFrame::NoFrame);
  viewport()->setMouseTracking(true);
  viewport()->setAutoFillBackground(false);
  setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  setVerticalScrollBarPolicy(Qt::ScrollBarAsNeeded);
  layoutColumns();
}

void LayerDiagramView::setModel(const ModelSpec& spec, const CachePlan& plan) {
  layers_ = spec.layers;
  model_name_ = spec.name;
  max_q_heads_ = 1;
  for (const LayerSpec& l : layers_) max_q_heads_ = std::max(max_q_heads_, l.q_heads);
  selected_ = hovered_ = -1;
  setPlan(plan);
  verticalScrollBar()->setValue(0);
  horizontalScrollBar()->setValue(0);
}

void LayerDiagramView::setPlan(const CachePlan& plan) {
  plan_ = plan;
  max_layer_bytes_ = 1;
  for (const LayerCache& c : plan_.layers) max_layer_bytes_ = std::max(max_layer_bytes_, c.bytes);
  layoutColumns();
  viewport()->update();
}

void LayerDiagramView::clear() {
  setModel(ModelSpec{}, CachePlan{});
}

void LayerDiagramView::setSelectedLayer(int layer) {
  if (layer < -1 || layer >= layerCount()) layer = -1;
  if (layer == selected_) return;
  selected_ = layer;
  if (layer >= 0) ensureLayerVisible(layer);
  viewport()->update();
}

void LayerDiagramView::setZoom(double zoom) {
  zoom = std::clamp(zoom, kMinZoom, kMaxZoom);
  if (std::abs(zoom - zoom_) < 1e-6) return;
  // Keep the row under the top of the view where it was.
  const double top_fraction = verticalScrollBar()->maximum() > 0
                                  ? double(verticalScrollBar()->value()) / std::max(1, layerCount() * rowHeight())
                                  : 0.0;
  zoom_ = zoom;
  layoutColumns();
  verticalScrollBar()->setValue(int(std::lround(top_fraction * layerCount() * rowHeight())));
  if (selected_ >= 0) ensureLayerVisible(selected_);
  updateGeometry();
  viewport()->update();
}

int LayerDiagramView::legendHeight() const {
  return layers_.empty() ? 0 : int(legend_entries(layers_).size()) * int(std::lround(20 * zoom_)) + int(std::lround(24 * zoom_));
}

void LayerDiagramView::paintLegend(QPainter& p, int top) {
  const int line = int(std::lround(20 * zoom_));
  const int pad = int(std::lround(8 * zoom_));
  QFont f = rowFont();
  f.setPixelSize(std::max(8, int(std::lround(12 * zoom_))));
  p.setFont(f);
  const QFontMetrics fm(f);
  const int x = -horizontalScrollBar()->value() + pad;
  const int chip_w = fm.horizontalAdvance(QStringLiteral("sliding ")) + pad;
  int y = top + int(std::lround(12 * zoom_));
  for (const LegendEntry& e : legend_entries(layers_)) {
    const QRectF chip(x, y + line * 0.12, chip_w, line * 0.76);
    if (e.bar) {
      p.setRenderHint(QPainter::Antialiasing, true);
      p.setPen(Qt::NoPen);
      p.setBrush(colors::muted());
      p.drawRoundedRect(QRectF(chip.left(), chip.top() + chip.height() * 0.2, chip.width(), chip.height() * 0.6), 2, 2);
      p.setPen(QPen(Qt::white, 1));
      for (int g = 1; g < 4; ++g) p.drawLine(QPointF(chip.left() + g * chip.width() / 4, chip.top() + chip.height() * 0.25),
                                            QPointF(chip.left() + g * chip.width() / 4, chip.bottom() - chip.height() * 0.25));
      p.setRenderHint(QPainter::Antialiasing, false);
    } else {
      paint_chip(p, chip, e.color, e.chip);
    }
    p.setPen(colors::muted());
    p.drawText(QRect(int(chip.right()) + pad, y, 2000, line), Qt::AlignLeft | Qt::AlignVCenter, e.text);
    y += line;
  }
  p.setFont(rowFont());
}

int LayerDiagramView::rowHeight() const { return int(std::lround(kBaseRowHeight * zoom_)); }
int LayerDiagramView::headerHeight() const { return int(std::lround(kBaseRowHeight * 1.35 * zoom_)); }

QFont LayerDiagramView::rowFont() const {
  QFont f = font();
  f.setPixelSize(std::max(8, int(std::lround(kBaseFontPixels * zoom_))));
  return f;
}

void LayerDiagramView::layoutColumns() {
  const QFont f = rowFont();
  QFont bold = f;
  bold.setBold(true);
  const QFontMetrics fm(f), bm(bold);
  const int pad = int(std::lround(8 * zoom_));
  auto widest = [&](const QString& title, auto&& text_of) {
    int w = bm.horizontalAdvance(title);
    for (const LayerSpec& l : layers_) w = std::max(w, fm.horizontalAdvance(text_of(l)));
    return w + 2 * pad;
  };
  columns_.assign(ColCount, Column{});
  columns_[ColLayer] = {QStringLiteral("layer"), 0, widest(QStringLiteral("layer"), [](const LayerSpec& l) { return QStringLiteral("L%1").arg(l.index); })};
  columns_[ColKind] = {QStringLiteral("attention"), 0,
                       widest(QStringLiteral("attention"), [](const LayerSpec& l) { return kind_badge(l); }) + pad};
  // The bar column is elastic: it takes what the view has to spare, within limits.
  const int budget_min = std::max(bm.horizontalAdvance(QStringLiteral("query heads")) + 2 * pad, int(std::lround(90 * zoom_)));
  const int budget_max = int(std::lround(280 * zoom_));
  columns_[ColBudget] = {QStringLiteral("query heads"), 0, budget_min};
  columns_[ColKv] = {QStringLiteral("KV heads × dim"), 0, widest(QStringLiteral("KV heads × dim"), [](const LayerSpec& l) {
                       return dims_text(l) + QStringLiteral("  ") + kv_note(l);
                     })};
  columns_[ColCache] = {QStringLiteral("cache"), 0, widest(QStringLiteral("cache"), [](const LayerSpec& l) {
                          return l.owns_cache() ? QStringLiteral("own") : QStringLiteral("↳ reads L%1").arg(l.kv_source);
                        })};
  columns_[ColFfn] = {QStringLiteral("FFN"), 0, widest(QStringLiteral("FFN"), [](const LayerSpec& l) { return ffn_label(l.ffn); })};
  bool any_ple = false, any_hc = false;
  for (const LayerSpec& l : layers_) {
    any_ple |= l.ple_width > 0;
    any_hc |= l.hc_width > 0;
  }
  QString extras_title = any_ple && any_hc ? QStringLiteral("PLE · mHC") : any_ple ? QStringLiteral("PLE") : QStringLiteral("mHC");
  int extras_w = 0;
  if (any_ple) extras_w += fm.horizontalAdvance(QStringLiteral("PLE 8888")) + pad;
  if (any_hc) extras_w += fm.horizontalAdvance(QStringLiteral("mHC ×8")) + pad;
  if (any_ple && any_hc) extras_w += pad / 2;
  columns_[ColExtras] = {extras_title, 0, (any_ple || any_hc) ? std::max(extras_w, bm.horizontalAdvance(extras_title)) + 2 * pad : 0};
  const QString bytes_title = plan_.context ? QStringLiteral("KV cache @ %1").arg(format_tokens(plan_.context))
                                            : QStringLiteral("KV cache");
  columns_[ColBytes] = {bytes_title, 0,
                        std::max(bm.horizontalAdvance(bytes_title) + 2 * pad,
                                 fm.horizontalAdvance(QStringLiteral("888.8 MiB")) + int(std::lround(56 * zoom_)) + 2 * pad)};
  int fixed = 0;
  for (const Column& c : columns_) fixed += c.width;
  natural_width_ = fixed - budget_min + int(std::lround(200 * zoom_));
  columns_[ColBudget].width = std::clamp(viewport()->width() - (fixed - budget_min) - pad, budget_min, budget_max);
  int x = 0;
  for (Column& c : columns_) {
    c.x = x;
    x += c.width;
  }
  content_width_ = x;
  updateScrollBars();
}

void LayerDiagramView::updateScrollBars() {
  const QSize vp = viewport()->size();
  const int content_height = layerCount() * rowHeight() + legendHeight();
  const int visible_rows_height = std::max(0, vp.height() - headerHeight());
  verticalScrollBar()->setPageStep(visible_rows_height);
  verticalScrollBar()->setSingleStep(rowHeight());
  verticalScrollBar()->setRange(0, std::max(0, content_height - visible_rows_height));
  horizontalScrollBar()->setPageStep(vp.width());
  horizontalScrollBar()->setSingleStep(20);
  horizontalScrollBar()->setRange(0, std::max(0, content_width_ - vp.width()));
}

QSize LayerDiagramView::sizeHint() const {
  const int h = headerHeight() + std::min(layerCount(), 40) * rowHeight() + legendHeight() + 2 * frameWidth();
  // Wide enough for a typical model even before one is loaded (splitters size from this once).
  const int w = std::max(natural_width_, int(std::lround(880 * zoom_))) + 2 * frameWidth() + style()->pixelMetric(QStyle::PM_ScrollBarExtent);
  return QSize(w, std::max(h, 200));
}

QSize LayerDiagramView::minimumSizeHint() const { return QSize(240, headerHeight() + 4 * rowHeight()); }

QRect LayerDiagramView::rowRect(int layer) const {
  if (layer < 0 || layer >= layerCount()) return {};
  const int y = headerHeight() + layer * rowHeight() - verticalScrollBar()->value();
  const int x = -horizontalScrollBar()->value();
  return QRect(x, y, std::max(content_width_, viewport()->width() - x), rowHeight());
}

int LayerDiagramView::layerAt(const QPoint& pos) const {
  if (pos.y() < headerHeight() || rowHeight() <= 0) return -1;
  const int layer = (pos.y() - headerHeight() + verticalScrollBar()->value()) / rowHeight();
  return layer >= 0 && layer < layerCount() ? layer : -1;
}

void LayerDiagramView::ensureLayerVisible(int layer) {
  if (layer < 0 || layer >= layerCount()) return;
  const int top = layer * rowHeight();
  const int page = std::max(rowHeight(), viewport()->height() - headerHeight());
  QScrollBar* bar = verticalScrollBar();
  if (top < bar->value()) bar->setValue(top);
  else if (top + rowHeight() > bar->value() + page) bar->setValue(top + rowHeight() - page);
}

void LayerDiagramView::resizeEvent(QResizeEvent* event) {
  QAbstractScrollArea::resizeEvent(event);
  layoutColumns();  // the bar column follows the width
}

void LayerDiagramView::paintEvent(QPaintEvent*) {
  QPainter p(viewport());
  p.fillRect(viewport()->rect(), colors::background());
  p.setFont(rowFont());
  if (layers_.empty()) {
    p.setPen(colors::muted());
    p.drawText(viewport()->rect(), Qt::AlignCenter, QStringLiteral("Open a model or a card to see its layers"));
    return;
  }
  const int first = std::max(0, verticalScrollBar()->value() / std::max(1, rowHeight()));
  for (int layer = first; layer < layerCount(); ++layer) {
    const QRect row = rowRect(layer);
    if (row.top() > viewport()->height()) break;
    paintRow(p, layer, row);
  }
  const int legend_top = headerHeight() + layerCount() * rowHeight() - verticalScrollBar()->value();
  if (legend_top < viewport()->height()) paintLegend(p, legend_top);
  paintHeader(p);
}

void LayerDiagramView::paintHeader(QPainter& p) {
  const QRect header(0, 0, viewport()->width(), headerHeight());
  p.fillRect(header, colors::header());
  p.setPen(colors::grid());
  p.drawLine(header.bottomLeft(), header.bottomRight());
  QFont bold = rowFont();
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(colors::muted());
  const int x0 = -horizontalScrollBar()->value();
  const int pad = int(std::lround(8 * zoom_));
  for (int i = 0; i < ColCount; ++i) {
    const Column& c = columns_[i];
    if (c.width == 0) continue;
    QRect r(x0 + c.x + pad, 0, c.width - 2 * pad, header.height());
    const Qt::Alignment align = (i == ColBytes || i == ColLayer) ? Qt::AlignRight : Qt::AlignLeft;
    p.drawText(r, align | Qt::AlignVCenter, c.title);
  }
  p.setFont(rowFont());
}

void LayerDiagramView::paintRow(QPainter& p, int layer, const QRect& row) {
  const LayerSpec& l = layers_[layer];
  const LayerCache* cache = layer < int(plan_.layers.size()) ? &plan_.layers[layer] : nullptr;
  const QRect full(0, row.top(), viewport()->width(), row.height());
  QColor bg = layer % 2 ? colors::alternate_row() : colors::background();
  if (layer == hovered_) bg = colors::hover();
  if (layer == selected_) bg = colors::selection();
  p.fillRect(full, bg);
  if (layer == selected_) p.fillRect(QRect(0, row.top(), std::max(3, int(3 * zoom_)), row.height()), colors::accent());

  const int pad = int(std::lround(8 * zoom_));
  const int h = row.height();
  const QFontMetrics fm(p.font());
  auto cell = [&](int col) {
    const Column& c = columns_[col];
    return QRect(row.left() + c.x + pad, row.top(), c.width - 2 * pad, h);
  };
  const QColor kc = kind_color(l.attention);

  // Layer index.
  p.setPen(colors::muted());
  p.drawText(cell(ColLayer), Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("L%1").arg(l.index));

  // Kind badge.
  {
    const QRect c = cell(ColKind);
    paint_kind_badge(p, QRectF(c.left(), c.top() + h * 0.16, c.width(), h * 0.68), l);
  }

  // Query heads as a bar: the attention budget, split into KV-head groups (GQA).
  {
    const QRect c = cell(ColBudget);
    const QString label = QString::number(l.q_heads);
    const int label_w = fm.horizontalAdvance(QStringLiteral("888")) + pad / 2;
    const int track_w = std::max(10, c.width() - label_w - pad / 2);
    const QRectF track(c.left(), c.top() + h * 0.25, track_w, h * 0.5);
    p.setRenderHint(QPainter::Antialiasing, true);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(0xec, 0xee, 0xf2));
    p.drawRoundedRect(track, 2, 2);
    const double len = track_w * double(l.q_heads) / std::max(1, max_q_heads_);
    QRectF bar(track.left(), track.top(), len, track.height());
    p.setBrush(kc);
    p.drawRoundedRect(bar, 2, 2);
    if (l.kv_heads > 1) {
      const double group = len / l.kv_heads;
      if (group >= 4) {
        p.setPen(QPen(QColor(255, 255, 255, 200), 1));
        for (int g = 1; g < l.kv_heads; ++g) {
          const double x = bar.left() + g * group;
          p.drawLine(QPointF(x, bar.top() + 1), QPointF(x, bar.bottom() - 1));
        }
      }
    }
    p.setRenderHint(QPainter::Antialiasing, false);
    p.setPen(colors::text());
    p.drawText(QRect(int(track.right()) + pad / 2, c.top(), label_w, h), Qt::AlignLeft | Qt::AlignVCenter, label);
  }

  // KV heads x head dim.
  {
    const QRect c = cell(ColKv);
    p.setPen(colors::text());
    const QString dims = dims_text(l);
    p.drawText(c, Qt::AlignLeft | Qt::AlignVCenter, dims);
    if (!kv_note(l).isEmpty()) {
      p.setPen(colors::muted());
      p.drawText(c.adjusted(fm.horizontalAdvance(dims + QStringLiteral("  ")), 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter,
                 kv_note(l));
    }
  }

  // Cache: own, or the layer whose cache it reads.
  {
    const QRect c = cell(ColCache);
    if (l.owns_cache()) {
      p.setPen(colors::muted());
      p.drawText(c, Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("own"));
    } else {
      QColor src = l.kv_source >= 0 && l.kv_source < layerCount() ? kind_color(layers_[l.kv_source].attention) : colors::reader();
      p.setPen(src.darker(120));
      p.drawText(c, Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("↳ reads L%1").arg(l.kv_source));
    }
  }

  // FFN.
  p.setPen(colors::text());
  p.drawText(cell(ColFfn), Qt::AlignLeft | Qt::AlignVCenter, ffn_label(l.ffn));

  // Per-layer embedding and hyper-connection markers.
  {
    const QRect c = cell(ColExtras);
    int x = c.left();
    const QRectF chip_box(0, c.top() + h * 0.18, 0, h * 0.64);
    if (l.ple_width > 0) {
      const QString t = QStringLiteral("PLE %1").arg(l.ple_width);
      const int w = fm.horizontalAdvance(t) + pad;
      paint_chip(p, QRectF(x, chip_box.top(), w, chip_box.height()), colors::ple(), t);
      x += w + pad / 2;
    }
    if (l.hc_width > 0) {
      const QString t = QStringLiteral("mHC ×%1").arg(l.hc_width);
      const int w = fm.horizontalAdvance(t) + pad;
      paint_chip(p, QRectF(x, chip_box.top(), w, chip_box.height()), colors::hyper_connection(), t);
    }
  }

  // Cache bytes at the plan's context: a bar relative to the largest layer, and the figure.
  {
    const QRect c = cell(ColBytes);
    const uint64_t bytes = cache ? cache->bytes : 0;
    const QString text = cache ? format_bytes(double(bytes)) : QStringLiteral("–");
    const int text_w = fm.horizontalAdvance(QStringLiteral("888.8 MiB"));
    const int bar_w = std::max(10, c.width() - text_w - pad);
    if (cache && bytes > 0) {
      const double len = std::max(1.5, bar_w * double(bytes) / double(max_layer_bytes_));
      p.setRenderHint(QPainter::Antialiasing, true);
      p.setPen(Qt::NoPen);
      p.setBrush(kind_tint(l.attention, 30));
      p.drawRoundedRect(QRectF(c.left(), c.top() + h * 0.3, len, h * 0.4), 2, 2);
      p.setRenderHint(QPainter::Antialiasing, false);
    }
    p.setPen(bytes ? colors::text() : colors::muted());
    p.drawText(c, Qt::AlignRight | Qt::AlignVCenter, text);
  }

  p.setPen(colors::grid());
  p.drawLine(full.left(), full.bottom(), full.right(), full.bottom());
}

QString LayerDiagramView::rowToolTip(int layer) const {
  const LayerSpec& l = layers_[layer];
  QString tip = QStringLiteral("<b>Layer %1</b> &mdash; %2<br><i>%3</i><br>").arg(l.index).arg(kind_badge(l), kind_description(l.attention));
  tip += QStringLiteral("query heads %1, KV heads %2 (%3 queries per KV head)<br>")
             .arg(l.q_heads)
             .arg(l.kv_heads)
             .arg(l.kv_heads ? l.q_heads / l.kv_heads : 0);
  tip += QStringLiteral("head dim K %1, V %2%3<br>")
             .arg(l.head_dim_k)
             .arg(l.head_dim_v)
             .arg(l.k_equals_v       ? ", K = V (cached once)"
                  : l.v_from_k_proj ? ", V projected by W_k (unroped, normed; K and V cached)"
                                    : "");
  if (l.window) tip += QStringLiteral("window %1 tokens<br>").arg(format_count(uint64_t(l.window)));
  if (l.compress_ratio) tip += QStringLiteral("one compressed entry per %1 tokens<br>").arg(l.compress_ratio);
  if (l.indexer_top_k)
    tip += QStringLiteral("indexer: %1 heads × %2, top-%3<br>").arg(l.indexer_heads).arg(l.indexer_dim).arg(l.indexer_top_k);
  if (l.qk_conv_kernel) tip += QStringLiteral("q/k convolutions: kernels %1 and %2<br>").arg(l.qk_conv_kernel).arg(l.qk_conv_kernel2);
  if (l.rope.rotary_dims)
    tip += QStringLiteral("RoPE θ %1 on %2 dims%3<br>")
               .arg(l.rope.theta, 0, 'g', 8)
               .arg(l.rope.rotary_dims)
               .arg(l.rope.scaling != RopeScaling::None ? QStringLiteral(", %1 ×%2").arg(to_string(l.rope.scaling)).arg(l.rope.factor)
                                                        : QString());
  else
    tip += QStringLiteral("no RoPE<br>");
  QStringList extras;
  if (l.qk_norm) extras << QStringLiteral("q/k norm");
  if (l.attn_output_gate) extras << (l.attn_gate_per_head ? QStringLiteral("per-head output gate") : QStringLiteral("output gate"));
  if (l.ple_width) extras << QStringLiteral("per-layer embedding %1 wide").arg(l.ple_width);
  if (l.hc_width) extras << QStringLiteral("%1 residual streams (mHC)").arg(l.hc_width);
  if (!extras.isEmpty()) tip += extras.join(QStringLiteral(", ")) + QStringLiteral("<br>");
  const FfnSpec& f = l.ffn;
  if (f.kind == FfnKind::Dense) {
    tip += QStringLiteral("FFN: dense, %1 wide (%2)<br>").arg(f.dense_width).arg(to_string(f.activation));
  } else {
    tip += QStringLiteral("FFN: %1 of %2 experts, %3 wide").arg(f.active_experts).arg(f.experts).arg(f.expert_width);
    if (f.shared_experts) tip += QStringLiteral(", %1 shared × %2").arg(f.shared_experts).arg(f.shared_width);
    if (f.dense_width) tip += QStringLiteral(", dense MLP %1 beside").arg(f.dense_width);
    if (f.hash_routed) tip += QStringLiteral(", hash-routed by token id");
    if (f.skip_expert) tip += QStringLiteral(", plus a \"skip\" choice");
    tip += QStringLiteral("<br>");
  }
  if (layer < int(plan_.layers.size())) {
    const LayerCache& c = plan_.layers[layer];
    tip += QStringLiteral("<b>KV cache @ %1 tokens</b>: ").arg(format_count(plan_.context));
    if (!c.owner) {
      tip += QStringLiteral("reads layer %1's cache, holds nothing (would hold %2 on its own)")
                 .arg(c.source)
                 .arg(format_bytes(double(c.bytes_no_sharing)));
    } else {
      tip += QStringLiteral("%1 positions, %2").arg(positions_text(c), format_bytes(double(c.bytes)));
      if (c.bytes_naive > c.bytes) tip += QStringLiteral(" (naive %1)").arg(format_bytes(double(c.bytes_naive)));
    }
  }
  return tip;
}

QString LayerDiagramView::columnToolTip(int content_x) const {
  int col = -1;
  for (int i = 0; i < int(columns_.size()); ++i)
    if (columns_[i].width > 0 && content_x >= columns_[i].x && content_x < columns_[i].x + columns_[i].width) col = i;
  switch (col) {
    case ColLayer: return tr("Layer index, input to output. Click a row for its tensors and cache; Ctrl+wheel or +/- zooms.");
    case ColKind: return tr("Attention kind: global, sliding (window W), CSA / HCA (DeepSeek V4, compression ratio), CCA (ZAYA1)");
    case ColBudget: return tr("Query heads, the layer's attention budget, scaled to the model's largest layer; ticks mark the groups that share one KV head");
    case ColKv: return tr("KV heads × head dim (K/V when they differ); K=V: one tensor serves as keys and values and is cached once");
    case ColCache: return tr("own: the layer stores its keys and values; reads Ln: it attends over layer n's cache and stores none (KV sharing)");
    case ColFfn: return tr("Feed-forward: dense width, or MoE active/total experts, shared experts, a dense MLP beside them, hash routing");
    case ColExtras: return tr("PLE: per-layer embedding width; mHC: hyper-connection residual streams");
    case ColBytes: return tr("Bytes this layer's KV cache holds at %1 tokens (%2 elements); the bar is relative to the largest layer")
                       .arg(format_count(plan_.context))
                       .arg(ggml_type_info(plan_.type) ? QString::fromLatin1(ggml_type_info(plan_.type)->name) : QString());
    default: return {};
  }
}

void LayerDiagramView::mousePressEvent(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return QAbstractScrollArea::mousePressEvent(event);
  const int layer = layerAt(event->position().toPoint());
  if (layer < 0) return;
  setSelectedLayer(layer);
  emit layerClicked(layer);
}

void LayerDiagramView::mouseReleaseEvent(QMouseEvent* event) { event->accept(); }

void LayerDiagramView::mouseMoveEvent(QMouseEvent* event) {
  const int layer = layerAt(event->position().toPoint());
  if (layer != hovered_) {
    hovered_ = layer;
    viewport()->update();
  }
  QAbstractScrollArea::mouseMoveEvent(event);
}

void LayerDiagramView::leaveEvent(QEvent* event) {
  if (hovered_ != -1) {
    hovered_ = -1;
    viewport()->update();
  }
  QAbstractScrollArea::leaveEvent(event);
}

void LayerDiagramView::wheelEvent(QWheelEvent* event) {
  if (event->modifiers() & Qt::ControlModifier) {
    const int steps = event->angleDelta().y() / 120;
    if (steps) setZoom(zoom_ * std::pow(1.15, steps));
    event->accept();
    return;
  }
  QAbstractScrollArea::wheelEvent(event);
}

void LayerDiagramView::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal: setZoom(zoom_ * 1.15); return;
    case Qt::Key_Minus: setZoom(zoom_ / 1.15); return;
    case Qt::Key_0: setZoom(1.0); return;
    case Qt::Key_Up:
    case Qt::Key_Down: {
      if (layers_.empty()) return;
      const int next = std::clamp(selected_ < 0 ? 0 : selected_ + (event->key() == Qt::Key_Up ? -1 : 1), 0, layerCount() - 1);
      if (next != selected_) {
        setSelectedLayer(next);
        emit layerClicked(next);
      }
      return;
    }
    default: QAbstractScrollArea::keyPressEvent(event);
  }
}

bool LayerDiagramView::viewportEvent(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    if (help->pos().y() < headerHeight()) {
      const QString tip = columnToolTip(help->pos().x() + horizontalScrollBar()->value());
      if (!tip.isEmpty()) QToolTip::showText(help->globalPos(), tip, viewport());
      else QToolTip::hideText();
      return true;
    }
    const int layer = layerAt(help->pos());
    if (layer >= 0) QToolTip::showText(help->globalPos(), rowToolTip(layer), viewport(), rowRect(layer));
    else QToolTip::hideText();
    return true;
  }
  return QAbstractScrollArea::viewportEvent(event);
}

}  // namespace archscope::gui
