#include "chart_style.h"

#include <QtCharts/QLogValueAxis>
#include <QtCharts/QValueAxis>
#include <algorithm>
#include <cmath>

#include "palette.h"

namespace archscope::gui {

void style_chart(QChart* chart) {
  chart->setTheme(QChart::ChartThemeLight);
  chart->setBackgroundRoundness(0);
  chart->setMargins(QMargins(6, 4, 6, 4));
  QFont title = chart->titleFont();
  title.setPointSizeF(11);
  title.setBold(true);
  chart->setTitleFont(title);
  chart->legend()->setAlignment(Qt::AlignTop);
  chart->legend()->setMarkerShape(QLegend::MarkerShapeRectangle);
}

void style_axis(QAbstractAxis* axis, const QString& title) {
  axis->setTitleText(title);
  QFont f = axis->titleFont();
  f.setPointSizeF(9);
  f.setBold(false);
  axis->setTitleFont(f);
  QFont l = axis->labelsFont();
  l.setPointSizeF(8);
  axis->setLabelsFont(l);
  axis->setGridLineColor(colors::grid());
  axis->setLabelsColor(colors::text());
  axis->setTitleBrush(colors::muted());
}

void clear_chart(QChart* chart) {
  chart->removeAllSeries();
  for (QAbstractAxis* a : chart->axes()) {
    chart->removeAxis(a);
    delete a;
  }
}

QBarCategoryAxis* layer_axis(int n) {
  auto* axis = new QBarCategoryAxis;
  QStringList categories;
  for (int i = 0; i < n; ++i) categories << QString::number(i);
  axis->append(categories);
  axis->setGridLineVisible(false);
  style_axis(axis, "layer");
  if (n > 48) {
    QFont f = axis->labelsFont();
    f.setPointSizeF(6.5);
    axis->setLabelsFont(f);
  }
  return axis;
}

QAbstractAxis* value_axis(bool log, double min_positive, double max_value, double divisor, double headroom,
                          const QString& title) {
  QAbstractAxis* axis = nullptr;
  if (log) {
    auto* a = new QLogValueAxis;
    a->setBase(10);
    const double lo_exp = std::floor(std::log10(min_positive / divisor));
    const double hi_exp = std::ceil(std::log10(max_value * 1.2 / divisor));
    a->setRange(std::pow(10, lo_exp), std::pow(10, std::max(hi_exp, lo_exp + 1)));
    a->setLabelFormat("%g");
    a->setMinorTickCount(8);
    a->setMinorGridLineColor(QColor(0xf0, 0xf2, 0xf5));
    axis = a;
  } else {
    auto* a = new QValueAxis;
    a->setRange(0, max_value * headroom / divisor);
    a->setLabelFormat("%.3g");
    a->applyNiceNumbers();
    axis = a;
  }
  style_axis(axis, title + (log ? ", log scale" : ""));
  return axis;
}

}  // namespace archscope::gui
