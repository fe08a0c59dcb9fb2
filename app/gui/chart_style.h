// The look every Qt Charts view shares: chart and axis styling, a per-layer category
// axis, and a value axis (linear or log) for a quantity shown in some unit.
#pragma once

#include <QString>
#include <QtCharts/QAbstractAxis>
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QChart>

namespace archscope::gui {

void style_chart(QChart* chart);
void style_axis(QAbstractAxis* axis, const QString& title);
// Removes every series and axis (the chart is rebuilt on each change).
void clear_chart(QChart* chart);
// Categories 0..n-1, titled "layer", smaller labels past 48 layers.
QBarCategoryAxis* layer_axis(int n);
// A y axis for values up to max_value (in base units) shown divided by `divisor`. Log
// axes start at the decade below min_positive; linear ones at 0 with `headroom` above.
QAbstractAxis* value_axis(bool log, double min_positive, double max_value, double divisor, double headroom,
                          const QString& title);

}  // namespace archscope::gui
