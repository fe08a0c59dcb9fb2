// Colours, badge style and number formats shared by every view, painted or charted, so
// that "sliding" is the same green in the layer diagram, the sharing map and the charts.
#pragma once

#include <QColor>
#include <QFont>
#include <QFontMetricsF>
#include <QLocale>
#include <QPainter>
#include <QPainterPath>
#include <QRectF>
#include <QString>

#include <cstdint>

#include "archscope/model_spec.h"

namespace archscope::gui {

// One colour per attention kind (a colour-blind-safe set: blue, green, orange, purple, red).
inline QColor kind_color(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::Global: return QColor(0x3b, 0x6f, 0xc4);
    case AttentionKind::Sliding: return QColor(0x3a, 0x9a, 0x5c);
    case AttentionKind::Csa: return QColor(0xdd, 0x7f, 0x2e);
    case AttentionKind::Hca: return QColor(0x80, 0x63, 0xc0);
    case AttentionKind::Cca: return QColor(0xc8, 0x4a, 0x6a);
  }
  return QColor(0x80, 0x80, 0x80);
}
// The same hue, washed out: badge fills, bar backgrounds, hover tints.
inline QColor kind_tint(AttentionKind kind, int percent_white = 82) {
  const QColor c = kind_color(kind);
  auto mix = [&](int v) { return v + (255 - v) * percent_white / 100; };
  return QColor(mix(c.red()), mix(c.green()), mix(c.blue()));
}

// Short name of a kind as shown on badges and legends.
inline QString kind_name(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::Global: return QStringLiteral("global");
    case AttentionKind::Sliding: return QStringLiteral("sliding");
    case AttentionKind::Csa: return QStringLiteral("CSA");
    case AttentionKind::Hca: return QStringLiteral("HCA");
    case AttentionKind::Cca: return QStringLiteral("CCA");
  }
  return QStringLiteral("?");
}
// Badge text of one layer: "global", "sliding 512", "CSA 4", "HCA 128", "CCA".
inline QString kind_badge(const LayerSpec& layer) {
  switch (layer.attention) {
    case AttentionKind::Sliding: return kind_name(layer.attention) + ' ' + QString::number(layer.window);
    case AttentionKind::Csa:
    case AttentionKind::Hca: return kind_name(layer.attention) + ' ' + QString::number(layer.compress_ratio);
    default: return kind_name(layer.attention);
  }
}
// FFN of a layer: "dense 6144", "MoE 8/256 +1 shared", "MoE 8/128 +dense".
inline QString ffn_label(const FfnSpec& f) {
  if (f.kind == FfnKind::Dense) return QStringLiteral("dense %1").arg(f.dense_width);
  QString s = QStringLiteral("MoE %1/%2").arg(f.active_experts).arg(f.experts);
  if (f.shared_experts) s += QStringLiteral(" +%1 shared").arg(f.shared_experts);
  if (f.dense_width) s += QStringLiteral(" +dense");
  if (f.hash_routed) s += QStringLiteral(" (hash)");
  return s;
}
// One line explaining a kind, for legends and tooltips.
inline QString kind_description(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::Global: return QStringLiteral("attends to the whole context");
    case AttentionKind::Sliding: return QStringLiteral("attends to the last W positions");
    case AttentionKind::Csa: return QStringLiteral("window + top-k of 4x-compressed entries (DeepSeek V4)");
    case AttentionKind::Hca: return QStringLiteral("window + all 128x-compressed entries (DeepSeek V4)");
    case AttentionKind::Cca: return QStringLiteral("compressed convolutional attention, global reach (ZAYA1)");
  }
  return {};
}

// Neutral colours of the painted views (light theme, drawn on their own background).
namespace colors {
inline QColor background() { return QColor(0xff, 0xff, 0xff); }
inline QColor alternate_row() { return QColor(0xf6, 0xf7, 0xf9); }
inline QColor header() { return QColor(0xee, 0xf0, 0xf4); }
inline QColor grid() { return QColor(0xdd, 0xe1, 0xe7); }
inline QColor text() { return QColor(0x1f, 0x23, 0x28); }
inline QColor muted() { return QColor(0x6b, 0x72, 0x80); }
inline QColor accent() { return QColor(0x25, 0x63, 0xeb); }           // selection, focus
inline QColor selection() { return QColor(0xdc, 0xe8, 0xff); }
inline QColor hover() { return QColor(0xee, 0xf3, 0xff); }
inline QColor ple() { return QColor(0x0e, 0x8f, 0x9a); }               // per-layer-embedding marker
inline QColor hyper_connection() { return QColor(0xb0, 0x6a, 0x00); }  // mHC streams marker
inline QColor reader() { return QColor(0x8a, 0x93, 0xa3); }            // layers reading another's cache
}  // namespace colors

// A rounded chip with a tinted fill, a border and centred text: the look of every badge.
inline void paint_chip(QPainter& p, const QRectF& r, const QColor& color, const QString& text, bool filled = false) {
  p.save();
  p.setRenderHint(QPainter::Antialiasing, true);
  const qreal radius = qMin<qreal>(r.height() / 2.0, 6.0);
  QColor fill = color;
  if (!filled) {
    fill = QColor(color.red() + (255 - color.red()) * 84 / 100, color.green() + (255 - color.green()) * 84 / 100,
                  color.blue() + (255 - color.blue()) * 84 / 100);
  }
  p.setPen(QPen(color, 1.0));
  p.setBrush(fill);
  p.drawRoundedRect(r.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius);
  p.setPen(filled ? QColor(Qt::white) : color.darker(135));
  p.drawText(r, Qt::AlignCenter, text);
  p.restore();
}
// The attention-kind badge of a layer, in its kind colour.
inline void paint_kind_badge(QPainter& p, const QRectF& r, const LayerSpec& layer) {
  paint_chip(p, r, kind_color(layer.attention), kind_badge(layer));
}

// Binary units, as memory is allocated: "774.0 MiB", "512 B".
inline QString format_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 5) {
    bytes /= 1024.0;
    ++u;
  }
  return u == 0 ? QStringLiteral("%1 B").arg(bytes, 0, 'f', 0)
                : QStringLiteral("%1 %2").arg(bytes, 0, 'f', bytes < 10 ? 2 : 1).arg(QLatin1String(units[u]));
}
// Digits grouped: 131072 -> "131,072".
inline QString format_count(uint64_t v) { return QLocale(QLocale::English).toString(static_cast<qulonglong>(v)); }
// Token counts as people say them: 131072 -> "128K", 1048576 -> "1M", 3000 -> "3,000".
inline QString format_tokens(uint64_t v) {
  if (v >= (1u << 20) && v % (1u << 20) == 0) return QStringLiteral("%1M").arg(v >> 20);
  if (v >= 1024 && v % 1024 == 0) return QStringLiteral("%1K").arg(v >> 10);
  return format_count(v);
}

}  // namespace archscope::gui
