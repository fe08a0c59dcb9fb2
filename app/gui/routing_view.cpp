#include "routing_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QPainter>
#include <QScrollArea>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>

#include "palette.h"

namespace archscope::gui {

// The painted heatmap: a label column, then one cell per expert.
class RoutingGrid : public QWidget {
 public:
  explicit RoutingGrid(RoutingView* view) : QWidget(view), view_(view) { setMouseTracking(true); }

  QSize sizeHint() const override {
    return {kLabelWidth + columns() * cellWidth() + 12, kHeader + int(view_->rows_.size()) * kRowHeight + 8};
  }
  void relayout() {
    setFixedHeight(sizeHint().height());
    setMinimumWidth(sizeHint().width());
    update();
  }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.fillRect(rect(), colors::background());
    p.setRenderHint(QPainter::Antialiasing, false);
    QFont small = font();
    small.setPointSizeF(8);
    p.setFont(small);
    const int cw = cellWidth();
    // Expert numbers every few columns.
    p.setPen(colors::muted());
    const int step = cw >= 14 ? 1 : cw >= 6 ? 4 : 16;
    for (int e = 0; e < columns(); e += step)
      p.drawText(QRect(kLabelWidth + e * cw - 10, 2, cw + 20, kHeader - 4), Qt::AlignHCenter | Qt::AlignBottom, QString::number(e));
    int max_count = 1;
    for (const auto& r : view_->rows_) max_count = std::max(max_count, *std::max_element(r.counts.begin(), r.counts.end()));
    const QColor hot = kind_color(AttentionKind::Csa);
    for (size_t i = 0; i < view_->rows_.size(); ++i) {
      const auto& r = view_->rows_[i];
      const int y = kHeader + int(i) * kRowHeight;
      p.setPen(colors::text());
      p.drawText(QRect(4, y, kLabelWidth - 8, kRowHeight), Qt::AlignRight | Qt::AlignVCenter, QString("L%1").arg(r.layer));
      for (int e = 0; e < r.experts; ++e) {
        double level = 0.0;
        if (view_->mode_ == RoutingView::Mode::Reply) {
          level = double(r.counts[e]) / max_count;
        } else {
          const auto it = std::find(r.latest.begin(), r.latest.end(), e);
          if (it != r.latest.end()) {
            const float top = *std::max_element(r.latest_weights.begin(), r.latest_weights.end());
            level = top > 0 ? 0.35 + 0.65 * r.latest_weights[it - r.latest.begin()] / top : 1.0;
          }
        }
        QColor c = colors::alternate_row();
        if (level > 0) {
          auto mix = [&](int from, int to) { return int(from + (to - from) * level); };
          c = QColor(mix(0xfd, hot.red()), mix(0xf1, hot.green()), mix(0xe4, hot.blue()));
        }
        p.fillRect(QRect(kLabelWidth + e * cw, y + 2, std::max(1, cw - 1), kRowHeight - 4), c);
      }
    }
  }

  bool event(QEvent* event) override {
    if (event->type() == QEvent::ToolTip) {
      auto* help = static_cast<QHelpEvent*>(event);
      const QString text = toolTipAt(help->pos());
      if (text.isEmpty()) QToolTip::hideText();
      else QToolTip::showText(help->globalPos(), text, this);
      return true;
    }
    return QWidget::event(event);
  }

 private:
  static constexpr int kLabelWidth = 48, kHeader = 22, kRowHeight = 22;
  int columns() const {
    int n = 0;
    for (const auto& r : view_->rows_) n = std::max(n, r.experts);
    return n;
  }
  int cellWidth() const {
    const int n = std::max(1, columns());
    return std::clamp((std::max(width(), 400) - kLabelWidth - 12) / n, 3, 48);
  }
  QString toolTipAt(const QPoint& pos) const {
    const int row = (pos.y() - kHeader) / kRowHeight, e = (pos.x() - kLabelWidth) / std::max(1, cellWidth());
    if (pos.y() < kHeader || pos.x() < kLabelWidth || row >= int(view_->rows_.size())) return {};
    const auto& r = view_->rows_[row];
    if (e >= r.experts) return {};
    QString text = QString("layer %1, expert %2: chosen %3 of %4 tokens this reply").arg(r.layer).arg(e).arg(r.counts[e]).arg(view_->tokens_);
    const auto it = std::find(r.latest.begin(), r.latest.end(), e);
    if (it != r.latest.end()) text += QString("; latest token weight %1").arg(r.latest_weights[it - r.latest.begin()], 0, 'f', 3);
    return text;
  }
  RoutingView* view_;
};

RoutingView::RoutingView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 8, 10, 8);
  auto* top = new QHBoxLayout;
  summary_ = new QLabel(this);
  summary_->setTextFormat(Qt::RichText);
  summary_->setWordWrap(true);
  mode_box_ = new QComboBox(this);
  mode_box_->addItem("Latest token");
  mode_box_->addItem("This reply");
  top->addWidget(summary_, 1);
  top->addWidget(mode_box_);
  layout->addLayout(top);
  scroll_ = new QScrollArea(this);
  scroll_->setWidgetResizable(true);
  grid_ = new RoutingGrid(this);
  scroll_->setWidget(grid_);
  layout->addWidget(scroll_, 1);
  connect(mode_box_, &QComboBox::currentIndexChanged, this,
          [this](int index) { setMode(index == 0 ? Mode::LatestToken : Mode::Reply); });
  setModel({});
}

void RoutingView::setModel(const ModelSpec& spec) {
  spec_ = spec;
  rows_.clear();
  for (const LayerSpec& l : spec.layers) {
    if (l.ffn.kind != FfnKind::Moe || l.ffn.experts <= 0) continue;
    LayerRouting r;
    r.layer = l.index;
    r.experts = l.ffn.experts;
    r.counts.assign(r.experts, 0);
    rows_.push_back(std::move(r));
  }
  tokens_ = 0;
  grid_->relayout();
  updateSummary();
}

void RoutingView::beginReply() {
  for (LayerRouting& r : rows_) std::fill(r.counts.begin(), r.counts.end(), 0);
  tokens_ = 0;
  refresh();
}

void RoutingView::addStep(const StepReport& report) {
  bool routed = false;
  for (LayerRouting& r : rows_) {
    if (r.layer >= int(report.layers.size())) continue;
    const LayerStep& step = report.layers[r.layer];
    if (step.experts.empty()) continue;
    r.latest = step.experts;
    r.latest_weights = step.expert_weights;
    r.latest_weights.resize(r.latest.size(), 0.0f);
    for (int e : step.experts)
      if (e >= 0 && e < r.experts) ++r.counts[e];
    routed = true;
  }
  if (routed) ++tokens_;
}

void RoutingView::refresh() {
  grid_->update();
  updateSummary();
}

void RoutingView::setMode(Mode mode) {
  mode_ = mode;
  mode_box_->setCurrentIndex(mode == Mode::LatestToken ? 0 : 1);
  refresh();
}

const RoutingView::LayerRouting* RoutingView::routing(int layer) const {
  for (const LayerRouting& r : rows_)
    if (r.layer == layer) return &r;
  return nullptr;
}

const std::vector<int>& RoutingView::latestExperts(int layer) const {
  static const std::vector<int> none;
  const LayerRouting* r = routing(layer);
  return r ? r->latest : none;
}

int RoutingView::count(int layer, int expert) const {
  const LayerRouting* r = routing(layer);
  return r && expert >= 0 && expert < r->experts ? r->counts[expert] : 0;
}

QString RoutingView::summaryText() const { return summary_->text(); }

void RoutingView::updateSummary() {
  if (rows_.empty()) {
    summary_->setText("<span style='color:#6b7280'>This model has no mixture-of-experts layers.</span>");
    return;
  }
  const FfnSpec& f = spec_.layers[rows_.front().layer].ffn;
  QString text = QString("<b>%1</b> MoE layers · <b>%2</b> routed experts, top-<b>%3</b>")
                     .arg(rows_.size())
                     .arg(f.experts)
                     .arg(f.active_experts);
  if (f.shared_experts) text += QString(" · %1 shared expert%2 always on").arg(f.shared_experts).arg(f.shared_experts > 1 ? "s" : "");
  text += mode_ == Mode::Reply ? " · darker: chosen more often this reply" : " · coloured: chosen for the newest token, darker for a larger weight";
  text += tokens_ > 0 ? QString(" · %1 tokens routed this reply").arg(tokens_)
                      : QString(" · <span style='color:#6b7280'>routing appears while a model replies</span>");
  summary_->setText(text);
}

}  // namespace archscope::gui
