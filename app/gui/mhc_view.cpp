#include "mhc_view.h"

#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QPainter>
#include <QScrollArea>
#include <QSlider>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "palette.h"

namespace archscope::gui {

namespace {

constexpr int kCell = 26, kPanelPad = 10, kTitle = 18;
const char* const kSites[] = {"attention", "MoE"};

QColor heat(double v, double max) {
  const double t = std::clamp(max > 0 ? v / max : 0.0, 0.0, 1.0);
  const QColor hot = kind_color(AttentionKind::Global);
  auto mix = [&](int to) { return int(255 + (to - 255) * t); };
  return QColor(mix(hot.red()), mix(hot.green()), mix(hot.blue()));
}

}  // namespace

// Panels laid out in as many columns as fit: each is title, pre row, n x n residual with
// row sums on the right and column sums below, post row.
class MhcGrid : public QWidget {
 public:
  explicit MhcGrid(MhcView* view) : QWidget(view), view_(view) { setMouseTracking(true); }

  int streams() const { return std::max(1, view_->spec_.hc_width); }
  QSize panelSize() const {
    const int n = streams();
    return {kPanelPad * 2 + 34 + (n + 1) * kCell + 8, kPanelPad * 2 + kTitle + (n + 3) * kCell + 12};
  }
  int columns() const { return std::max(1, (std::max(width(), 400)) / panelSize().width()); }
  int panels() const { return int(view_->spec_.hc_width > 0 ? view_->spec_.layers.size() * 2 : 0); }
  void relayout() {
    const int rows = (panels() + columns() - 1) / columns();
    setMinimumHeight(rows * panelSize().height() + 8);
    update();
  }

 protected:
  void resizeEvent(QResizeEvent*) override { relayout(); }

  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.fillRect(rect(), colors::background());
    QFont small = font();
    small.setPointSizeF(7.5);
    QFont bold = font();
    bold.setPointSizeF(9);
    bold.setBold(true);
    for (int i = 0; i < panels(); ++i) {
      const QRect r = panelRect(i);
      if (!r.intersects(p.clipBoundingRect().toAlignedRect()) && !p.clipBoundingRect().isEmpty()) continue;
      const int layer = i / 2, site = i % 2;
      p.setPen(colors::grid());
      p.setBrush(Qt::NoBrush);
      p.drawRoundedRect(r.adjusted(2, 2, -2, -2), 6, 6);
      p.setFont(bold);
      p.setPen(colors::text());
      p.drawText(QRect(r.left() + kPanelPad, r.top() + 4, r.width(), kTitle), Qt::AlignLeft | Qt::AlignVCenter,
                 QString("L%1 · %2").arg(layer).arg(kSites[site]));
      const HyperConnectionMix* m = view_->mix(layer, site);
      p.setFont(small);
      if (!m) {
        p.setPen(colors::muted());
        p.drawText(r.adjusted(kPanelPad, kTitle + 8, -kPanelPad, -kPanelPad), Qt::AlignCenter | Qt::TextWordWrap,
                   "no token yet");
        continue;
      }
      const int n = m->streams;
      double max_res = 0, max_pre = 0, max_post = 0;
      for (float v : m->residual) max_res = std::max(max_res, double(std::fabs(v)));
      for (float v : m->pre) max_pre = std::max(max_pre, double(std::fabs(v)));
      for (float v : m->post) max_post = std::max(max_post, double(std::fabs(v)));
      auto cell = [&](int row, int col, double v, double max, bool label) {
        const QRect c = cellRect(i, row, col);
        p.fillRect(c.adjusted(1, 1, -1, -1), label ? QColor(0xf4, 0xf6, 0xfa) : heat(v, max));
        p.setPen(!label && max > 0 && v / max > 0.6 ? Qt::white : colors::text());
        QString text = QString::number(v, 'f', 2);
        if (text.startsWith("0.")) text = text.mid(1);  // ".25": four cells fit a narrow panel
        p.drawText(c, Qt::AlignCenter, text);
      };
      auto caption = [&](int row, const QString& text) {
        p.setPen(colors::muted());
        p.drawText(QRect(r.left() + kPanelPad, cellRect(i, row, 0).top(), 34, kCell), Qt::AlignLeft | Qt::AlignVCenter, text);
      };
      caption(0, "pre");
      for (int j = 0; j < n; ++j) cell(0, j, m->pre[j], max_pre, false);
      caption(1, "mix");
      for (int a = 0; a < n; ++a) {
        double row_sum = 0;
        for (int b = 0; b < n; ++b) {
          cell(1 + a, b, m->residual[a * n + b], max_res, false);
          row_sum += m->residual[a * n + b];
        }
        cell(1 + a, n, row_sum, 0, true);  // row sums
      }
      caption(1 + n, "Σ col");
      for (int b = 0; b < n; ++b) {
        double col_sum = 0;
        for (int a = 0; a < n; ++a) col_sum += m->residual[a * n + b];
        cell(1 + n, b, col_sum, 0, true);
      }
      caption(2 + n, "post");
      for (int j = 0; j < n; ++j) cell(2 + n, j, m->post[j], max_post, false);
    }
  }

  bool event(QEvent* event) override {
    if (event->type() != QEvent::ToolTip) return QWidget::event(event);
    auto* help = static_cast<QHelpEvent*>(event);
    const QString text = toolTipAt(help->pos());
    if (text.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(help->globalPos(), text, this);
    return true;
  }

 private:
  QRect panelRect(int i) const {
    const QSize s = panelSize();
    return QRect((i % columns()) * s.width(), (i / columns()) * s.height(), s.width(), s.height());
  }
  QRect cellRect(int panel, int row, int col) const {
    const QRect r = panelRect(panel);
    return QRect(r.left() + kPanelPad + 34 + col * kCell, r.top() + kTitle + 10 + row * kCell + (row > 0 ? 4 : 0), kCell, kCell);
  }
  QString toolTipAt(const QPoint& pos) const {
    for (int i = 0; i < panels(); ++i) {
      if (!panelRect(i).contains(pos)) continue;
      const HyperConnectionMix* m = view_->mix(i / 2, i % 2);
      if (!m) return {};
      const int n = m->streams;
      for (int row = 0; row < n + 3; ++row)
        for (int col = 0; col <= n; ++col) {
          if (!cellRect(i, row, col).contains(pos)) continue;
          const QString where = QString("layer %1, %2: ").arg(i / 2).arg(kSites[i % 2]);
          if (row == 0 && col < n) return where + QString("pre weight of stream %1 = %2").arg(col).arg(m->pre[col], 0, 'f', 4);
          if (row == n + 2 && col < n) return where + QString("post weight of stream %1 = %2").arg(col).arg(m->post[col], 0, 'f', 4);
          if (row >= 1 && row <= n && col < n)
            return where + QString("output stream %1 takes %2 of stream %3").arg(row - 1).arg(m->residual[(row - 1) * n + col], 0, 'f', 4).arg(col);
          if (row >= 1 && row <= n) return where + QString("row %1 sums to the value shown").arg(row - 1);
          if (row == n + 1 && col < n) return where + QString("column %1 sums to the value shown").arg(col);
        }
    }
    return {};
  }
  MhcView* view_;
};

MhcView::MhcView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 8, 10, 8);
  summary_ = new QLabel(this);
  summary_->setTextFormat(Qt::RichText);
  summary_->setWordWrap(true);
  layout->addWidget(summary_);
  auto* scrub = new QHBoxLayout;
  scrubber_label_ = new QLabel(this);
  scrubber_ = new QSlider(Qt::Horizontal, this);
  scrubber_->setToolTip("Replay the mixing of earlier tokens of the reply");
  scrub->addWidget(new QLabel("Token", this));
  scrub->addWidget(scrubber_, 1);
  scrub->addWidget(scrubber_label_);
  layout->addLayout(scrub);
  scroll_ = new QScrollArea(this);
  scroll_->setWidgetResizable(true);
  grid_ = new MhcGrid(this);
  scroll_->setWidget(grid_);
  layout->addWidget(scroll_, 1);
  connect(scrubber_, &QSlider::valueChanged, this, [this](int v) {
    follow_latest_ = v == scrubber_->maximum();
    token_ = v;
    refresh();
  });
  setModel({});
}

void MhcView::setModel(const ModelSpec& spec) {
  spec_ = spec;
  beginReply();
  grid_->relayout();
}

void MhcView::beginReply() {
  tokens_.clear();
  token_ = -1;
  follow_latest_ = true;
  refresh();
}

void MhcView::addStep(const StepReport& report) {
  TokenMixes mixes(report.layers.size());
  bool any = false;
  for (size_t l = 0; l < report.layers.size(); ++l) {
    for (const HyperConnectionMix& m : report.layers[l].hyper) {
      const size_t n = size_t(std::max(0, m.streams));
      if (n == 0 || m.residual.size() != n * n || m.pre.size() != n || m.post.size() != n) continue;  // malformed
      mixes[l].push_back(m);
      any = true;
    }
  }
  if (!any) return;
  tokens_.push_back(std::move(mixes));
  if (follow_latest_) token_ = int(tokens_.size()) - 1;
}

void MhcView::setToken(int index) {
  if (tokens_.empty()) return;
  scrubber_->setValue(std::clamp(index, 0, int(tokens_.size()) - 1));
}

void MhcView::refresh() {
  {
    const QSignalBlocker block(scrubber_);
    scrubber_->setRange(0, std::max(0, int(tokens_.size()) - 1));
    scrubber_->setValue(std::max(0, token_));
    scrubber_->setEnabled(tokens_.size() > 1);
  }
  scrubber_label_->setText(tokens_.empty() ? QString("no tokens") : QString("%1 of %2").arg(token_ + 1).arg(tokens_.size()));
  updateSummary();
  grid_->update();
}

const HyperConnectionMix* MhcView::mix(int layer, int site) const {
  if (token_ < 0 || token_ >= int(tokens_.size())) return nullptr;
  const TokenMixes& t = tokens_[token_];
  if (layer < 0 || layer >= int(t.size()) || site < 0 || site >= int(t[layer].size())) return nullptr;
  return &t[layer][site];
}

QString MhcView::summaryText() const { return summary_->text(); }

void MhcView::updateSummary() {
  if (spec_.hc_width <= 0) {
    summary_->setText("<span style='color:#6b7280'>This model has plain residual connections (no hyper-connections).</span>");
    return;
  }
  QString text = QString("<b>%1</b> residual streams, mixed before and after every attention and MoE sublayer "
                         "(%2 layers); the mixing matrices are projected to doubly stochastic with %3 Sinkhorn "
                         "iterations, so every row and column sums to 1.")
                     .arg(spec_.hc_width)
                     .arg(spec_.layers.size())
                     .arg(spec_.hc_sinkhorn_iters);
  if (tokens_.empty()) text += " <span style='color:#6b7280'>The matrices appear while the model replies.</span>";
  summary_->setText(text);
}

}  // namespace archscope::gui
