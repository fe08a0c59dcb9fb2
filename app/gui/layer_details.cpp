// LayerDetails: fills the tree from ModelSpec::tensors and the CachePlan row of one layer.
#include "layer_details.h"

#include <QHeaderView>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "archscope/ggml_types.h"
#include "palette.h"

namespace archscope::gui {

namespace {

enum Column { ColName, ColShape, ColType, ColBytes };

// "blk.3.attn_q.weight" -> "attn_q": the layer is the panel's, and every matrix is a weight
// (other suffixes, such as ".bias", stay).
QString short_name(const std::string& name) {
  QString n = QString::fromStdString(name);
  if (n.startsWith(QStringLiteral("blk."))) {
    const int dot = n.indexOf('.', 4);
    if (dot >= 0) n = n.mid(dot + 1);
  }
  if (n.endsWith(QStringLiteral(".weight"))) n.chop(7);
  return n;
}

QString shape_text(const std::vector<uint64_t>& shape) {
  QStringList dims;
  for (uint64_t d : shape) dims << format_count(d);
  return dims.join(QStringLiteral(" × "));
}

QString type_name(uint32_t type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info ? QString::fromLatin1(info->name) : QStringLiteral("type %1").arg(type);
}

QTreeWidgetItem* add_row(QTreeWidgetItem* parent, const QString& name, const QString& value, const QString& bytes = {}) {
  auto* item = new QTreeWidgetItem(parent);
  item->setText(ColName, name);
  item->setText(ColShape, value);
  item->setText(ColBytes, bytes);
  item->setTextAlignment(ColBytes, Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

LayerDetails::LayerDetails(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 8, 8);
  layout->setSpacing(4);
  title_ = new QLabel(this);
  QFont tf = title_->font();
  tf.setPointSizeF(tf.pointSizeF() * 1.25);
  tf.setBold(true);
  title_->setFont(tf);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  summary_->setTextFormat(Qt::RichText);
  tree_ = new QTreeWidget(this);
  tree_->setColumnCount(4);
  tree_->setHeaderLabels({tr("tensor / property"), tr("shape / value"), tr("type"), tr("bytes")});
  tree_->headerItem()->setToolTip(ColShape, tr("ggml order: the first dimension is the contiguous (input) one"));
  tree_->headerItem()->setTextAlignment(ColBytes, Qt::AlignRight | Qt::AlignVCenter);
  tree_->setRootIsDecorated(true);
  tree_->setAlternatingRowColors(true);
  tree_->setUniformRowHeights(true);
  // Names take the width the other columns leave (eliding in the middle when narrow), so
  // shapes, types and bytes always stay in view.
  tree_->setTextElideMode(Qt::ElideMiddle);
  tree_->header()->setStretchLastSection(false);
  tree_->header()->setSectionResizeMode(ColName, QHeaderView::Stretch);
  tree_->header()->setSectionResizeMode(ColShape, QHeaderView::ResizeToContents);
  tree_->header()->setSectionResizeMode(ColType, QHeaderView::ResizeToContents);
  tree_->header()->setSectionResizeMode(ColBytes, QHeaderView::ResizeToContents);
  layout->addWidget(title_);
  layout->addWidget(summary_);
  layout->addWidget(tree_, 1);
  refresh();
}

QSize LayerDetails::sizeHint() const { return QSize(440, 600); }
QSize LayerDetails::minimumSizeHint() const { return QSize(300, 200); }

void LayerDetails::setModel(const ModelSpec& spec, const CachePlan& plan) {
  spec_ = spec;
  plan_ = plan;
  layer_ = -1;
  refresh();
}

void LayerDetails::setPlan(const CachePlan& plan) {
  plan_ = plan;
  refresh();
}

void LayerDetails::setLayer(int layer) {
  layer_ = layer >= 0 && layer < spec_.layer_count() ? layer : -1;
  refresh();
}

QStringList LayerDetails::tensorNames() const {
  QStringList names;
  if (layer_ < 0) return names;
  for (const TensorSpec& t : spec_.tensors)
    if (t.layer == layer_) names << short_name(t.name);
  return names;
}

void LayerDetails::refresh() {
  tree_->clear();
  if (layer_ < 0) {
    title_->setText(spec_.layers.empty() ? tr("No model") : tr("No layer selected"));
    summary_->setText(spec_.layers.empty() ? QString() : tr("Click a layer in the diagram to see its tensors and cache."));
    return;
  }
  const LayerSpec& l = spec_.layers[layer_];
  const QColor kc = kind_color(l.attention);
  title_->setText(tr("Layer %1 of %2").arg(layer_).arg(spec_.layer_count()));
  summary_->setText(QStringLiteral("<span style='color:%1; font-weight:bold'>%2</span> &nbsp;%3 query heads, %4 KV heads, "
                                   "head dim %5%6 &nbsp;·&nbsp; %7")
                        .arg(kc.darker(120).name(), kind_badge(l).toHtmlEscaped())
                        .arg(l.q_heads)
                        .arg(l.kv_heads)
                        .arg(l.head_dim_k)
                        .arg(l.head_dim_v != l.head_dim_k ? QStringLiteral("/%1").arg(l.head_dim_v) : QString())
                        .arg(l.owns_cache() ? tr("owns its cache") : tr("reads layer %1's cache").arg(l.kv_source)) +
                    QStringLiteral("<br>FFN %1").arg(ffn_label(l.ffn).toHtmlEscaped()) +
                    (l.ple_width ? tr(" &nbsp;·&nbsp; per-layer embedding %1").arg(l.ple_width) : QString()) +
                    (l.hc_width ? tr(" &nbsp;·&nbsp; %1 residual streams (mHC)").arg(l.hc_width) : QString()) +
                    (spec_.weights_present ? QString() : tr("<br><i>Model card: tensors as the architecture implies them, no weights.</i>")));

  // Cache first: a few lines, then the (sometimes long) tensor list.
  QFont bold = tree_->font();
  bold.setBold(true);
  if (layer_ < int(plan_.layers.size())) {
    const LayerCache& c = plan_.layers[layer_];
    auto* cache = new QTreeWidgetItem(tree_);
    cache->setText(ColName, tr("KV cache"));  // at the context in the window's context box
    cache->setText(ColBytes, format_bytes(double(c.bytes)));
    cache->setTextAlignment(ColBytes, Qt::AlignRight | Qt::AlignVCenter);
    const GgmlTypeInfo* info = ggml_type_info(plan_.type);
    cache->setText(ColType, info ? QString::fromLatin1(info->name) : QString());
    for (int col = 0; col < 4; ++col) cache->setFont(col, bold);
    add_row(cache, tr("source"), c.owner ? tr("own cache") : tr("reads layer %1").arg(c.source))
        ->setToolTip(ColShape, c.owner ? QString() : tr("keys and values live in layer %1's cache; this layer stores none").arg(c.source));
    QString positions = format_count(c.positions);
    if (l.window) positions += tr(" (window %1)").arg(format_count(uint64_t(l.window)));
    add_row(cache, tr("positions"), positions);
    if (c.compressed_entries || l.compress_ratio)
      add_row(cache, tr("compressed entries"),
              tr("%1 (one per %2 tokens)").arg(format_count(c.compressed_entries)).arg(l.compress_ratio),
              format_bytes(double(c.compressed_bytes)));
    add_row(cache, tr("raw K/V"), l.k_equals_v ? tr("K = V, stored once") : l.v_from_k_proj ? tr("K and V (V from W_k)") : tr("K and V"), format_bytes(double(c.kv_bytes)));
    if (c.state_bytes) add_row(cache, tr("fixed state (f32)"), tr("per sequence"), format_bytes(double(c.state_bytes)));
    add_row(cache, tr("without sharing"), {}, format_bytes(double(c.bytes_no_sharing)))
        ->setToolTip(ColName, tr("what this layer would hold owning a cache of its own"));
    add_row(cache, tr("naive"), {}, format_bytes(double(c.bytes_naive)))
        ->setToolTip(ColName, tr("2 × context × KV heads × head dim: no windows, sharing, compression or K = V"));
  }
  // Tensors.
  uint64_t total = 0;
  int count = 0;
  auto* tensors = new QTreeWidgetItem(tree_);
  for (const TensorSpec& t : spec_.tensors) {
    if (t.layer != layer_) continue;
    auto* item = add_row(tensors, short_name(t.name), shape_text(t.shape), format_bytes(double(t.bytes)));
    item->setText(ColType, type_name(t.ggml_type));
    item->setToolTip(ColName, QStringLiteral("%1 (%2)").arg(QString::fromStdString(t.name), QString::fromLatin1(to_string(t.component))));
    item->setToolTip(ColBytes, tr("%1 bytes").arg(format_count(t.bytes)));
    total += t.bytes;
    ++count;
  }
  tensors->setText(ColName, count == 1 ? tr("Weights: 1 tensor") : tr("Weights: %1 tensors").arg(count));
  tensors->setText(ColBytes, format_bytes(double(total)));
  tensors->setTextAlignment(ColBytes, Qt::AlignRight | Qt::AlignVCenter);
  if (!spec_.weights_present) tensors->setToolTip(ColName, tr("the tensors the architecture implies (a card has no weights)"));
  for (int c = 0; c < 4; ++c) tensors->setFont(c, bold);

  tree_->expandAll();
}

}  // namespace archscope::gui
