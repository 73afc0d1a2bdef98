#include "plots/live_plot.h"

#include "plots/qcp.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "plots/plot_theme.h"
#include "plots/replot_queue.h"

namespace normout::plots {

LivePlot::LivePlot(const QString& title, const QString& x_label, const QString& y_label, QWidget* parent)
    : QWidget(parent),
      plot_(new QCustomPlot(this)),
      log_box_(new QCheckBox(tr("log"), this)),
      readout_(new QLabel(this)),
      placeholder_(new QLabel(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->setSpacing(2);
    auto* header = new QHBoxLayout;
    auto* title_label = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), this);
    header->addWidget(title_label);
    header->addStretch();
    header->addWidget(readout_);
    header->addWidget(log_box_);
    layout->addLayout(header);
    layout->addWidget(plot_, 1);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    placeholder_->setAttribute(Qt::WA_TransparentForMouseEvents);
    placeholder_->setAutoFillBackground(true);  // covers the empty axes: an empty state, not a plot of nothing
    placeholder_->setMargin(24);
    placeholder_->hide();
    readout_->setTextFormat(Qt::PlainText);
    log_box_->setToolTip(tr("Logarithmic y axis"));
    setObjectName(title);

    plot_->setMinimumHeight(140);
    plot_->xAxis->setLabel(x_label);
    plot_->yAxis->setLabel(y_label);
    plot_->legend->setVisible(true);
    plot_->legend->setFont(QFont(font().family(), std::max(7, font().pointSize() - 2)));
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->setNoAntialiasingOnDrag(true);
    apply_theme(plot_);
    cursor_ = new QCPItemStraightLine(plot_);
    cursor_->setPen(QPen(faint(palette().color(QPalette::Text), 120), 1, Qt::DashLine));
    cursor_->setVisible(false);

    replot_timer_.setSingleShot(true);
    replot_timer_.setInterval(40);
    connect(&replot_timer_, &QTimer::timeout, this, &LivePlot::do_replot);
    connect(log_box_, &QCheckBox::toggled, this, &LivePlot::set_log_y);
    connect(plot_, &QCustomPlot::mouseMove, this,
            [this](QMouseEvent* e) { update_crosshair(plot_->xAxis->pixelToCoord(e->pos().x())); });
    connect(plot_, &QCustomPlot::mousePress, this, [this] { user_zoomed_ = true; });
    connect(plot_, &QCustomPlot::mouseWheel, this, [this] { user_zoomed_ = true; });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this] {
        user_zoomed_ = false;
        fit();
    });
}

int LivePlot::add_series(const QString& name, const QColor& color, Qt::PenStyle style, bool markers) {
    QCPGraph* g = plot_->addGraph();
    g->setName(name);
    g->setPen(QPen(color, style == Qt::SolidLine ? 1.6 : 1.2, style));
    if (markers) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 5));
    if (style == Qt::NoPen) g->setLineStyle(QCPGraph::lsNone);  // a scatter: points only
    g->setAdaptiveSampling(true);
    if (name.isEmpty()) g->removeFromLegend();  // faint raw companions stay out of the legend
    graphs_.push_back(g);
    bands_low_.push_back(nullptr);
    bands_high_.push_back(nullptr);
    right_.push_back(false);
    return graphs_.size() - 1;
}

int LivePlot::add_span_series(const QString& name, const QColor& color) {
    QCPGraph* g = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
    g->setName(name);
    g->setPen(QPen(faint(color, 120), 1));
    g->setBrush(QBrush(faint(color, 45)));  // fills down to 0: shaded where the series is 1
    g->setLineStyle(QCPGraph::lsStepLeft);
    plot_->yAxis2->setRange(0, 1);
    graphs_.push_back(g);
    bands_low_.push_back(nullptr);
    bands_high_.push_back(nullptr);
    right_.push_back(true);
    return graphs_.size() - 1;
}

bool LivePlot::is_span(int series) const {
    return right_.value(series, false) && graphs_.at(series)->brush().style() != Qt::NoBrush;
}

void LivePlot::use_right_axis(int series, const QString& label) {
    graphs_.at(series)->setValueAxis(plot_->yAxis2);
    right_[series] = true;  // fitted like the spans: x only
    plot_->yAxis2->setRange(0, 1);
    plot_->yAxis2->setLabel(label);
    plot_->yAxis2->setVisible(true);
    request_replot();
}

bool LivePlot::on_right_axis(int series) const {
    return graphs_.at(series)->valueAxis() == plot_->yAxis2;
}

void LivePlot::set_steps(int series) {
    graphs_.at(series)->setLineStyle(QCPGraph::lsStepLeft);
    request_replot();
}

void LivePlot::set_data(int series, const QVector<double>& x, const QVector<double>& y) {
    graphs_.at(series)->setData(x, y, /*alreadySorted=*/std::is_sorted(x.begin(), x.end()));
    request_replot();
}

void LivePlot::set_band(int series, const QVector<double>& x, const QVector<double>& low, const QVector<double>& high) {
    QCPGraph* main = graphs_.at(series);
    if (!bands_low_[series]) {
        const QColor c = main->pen().color();
        bands_low_[series] = plot_->addGraph();
        bands_high_[series] = plot_->addGraph();
        for (QCPGraph* b : {bands_low_[series], bands_high_[series]}) {
            b->setPen(QPen(faint(c, 40)));
            b->removeFromLegend();
        }
        bands_high_[series]->setBrush(QBrush(faint(c, 50)));
        bands_high_[series]->setChannelFillGraph(bands_low_[series]);
    }
    bands_low_[series]->setData(x, low, true);
    bands_high_[series]->setData(x, high, true);
    request_replot();
}

void LivePlot::set_visible(int series, bool visible) {
    graphs_.at(series)->setVisible(visible);
    if (visible && !graphs_.at(series)->name().isEmpty())
        graphs_.at(series)->addToLegend();
    else
        graphs_.at(series)->removeFromLegend();
    request_replot();
}

void LivePlot::hide_from_legend(int series) {
    graphs_.at(series)->removeFromLegend();
    request_replot();
}

void LivePlot::clear_series() {
    plot_->clearGraphs();
    graphs_.clear();
    bands_low_.clear();
    bands_high_.clear();
    right_.clear();
    plot_->yAxis2->setVisible(false);
    request_replot();
}

int LivePlot::series_count() const {
    return graphs_.size();
}

QVector<double> LivePlot::series_x(int series) const {
    QVector<double> v;
    for (const auto& d : *graphs_.at(series)->data())
        v.push_back(d.key);
    return v;
}

QVector<double> LivePlot::series_y(int series) const {
    QVector<double> v;
    for (const auto& d : *graphs_.at(series)->data())
        v.push_back(d.value);
    return v;
}

QVector<double> LivePlot::band(int series, bool high) const {
    QVector<double> v;
    const QCPGraph* g = (high ? bands_high_ : bands_low_).value(series, nullptr);
    if (g)
        for (const auto& d : *g->data())
            v.push_back(d.value);
    return v;
}

QString LivePlot::series_name(int series) const {
    return graphs_.at(series)->name();
}

void LivePlot::set_log_y(bool on) {
    if (log_box_->isChecked() != on) log_box_->setChecked(on);
    plot_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (on)
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    fit();
}

bool LivePlot::log_y() const {
    return log_box_->isChecked();
}

void LivePlot::set_placeholder(const QString& text) {
    placeholder_->setText(text);
    request_replot();
}

void LivePlot::fit() {
    fit_ranges();
    request_replot();
}

void LivePlot::fit_ranges() {
    bool any_x = false, any_y = false;
    QCPRange x, y;
    const bool log = log_y();
    for (int i = 0; i < graphs_.size(); ++i) {
        QCPGraph* g = graphs_[i];
        if (!g->visible() || g->data()->isEmpty()) continue;
        bool found = false;
        const QCPRange gx = g->getKeyRange(found);
        if (!found) continue;
        // Series on the right axis (fixed at 0..1) count for x only.
        QCPRange gy;
        if (!right_[i]) {
            gy = g->getValueRange(found, log ? QCP::sdPositive : QCP::sdBoth);
            if (!found) continue;
            y = any_y ? QCPRange(std::min(y.lower, gy.lower), std::max(y.upper, gy.upper)) : gy;
            any_y = true;
        }
        x = any_x ? QCPRange(std::min(x.lower, gx.lower), std::max(x.upper, gx.upper)) : gx;
        any_x = true;
    }
    if (!any_x) return;
    if (x.size() == 0) x = QCPRange(x.lower - 0.5, x.upper + 0.5);
    plot_->xAxis->setRange(x);
    plot_->xAxis->scaleRange(1.03, x.center());  // markers at the ends stay whole
    if (!any_y) return;
    if (y.size() == 0) y = QCPRange(y.lower - (log ? y.lower / 2 : 0.5), y.upper + (log ? y.upper : 0.5));
    plot_->yAxis->setRange(y);
    if (!log) plot_->yAxis->scaleRange(1.08, plot_->yAxis->range().center());
}

void LivePlot::request_replot() {
    if (!replot_timer_.isActive()) replot_timer_.start();
}

void LivePlot::do_replot() {
    ReplotQueue::instance().request(plot_, [this] { draw_now(); });
}

void LivePlot::draw_now() {
    bool empty = true;
    for (QCPGraph* g : graphs_)
        empty &= g->data()->isEmpty();
    placeholder_->setVisible(empty && !placeholder_->text().isEmpty());
    placeholder_->setGeometry(plot_->geometry());
    placeholder_->raise();
    plot_->legend->setVisible(plot_->legend->itemCount() > 0);
    if (!user_zoomed_) fit_ranges();
    plot_->replot();
    ++replots_;
}

void LivePlot::update_crosshair(double x) {
    QStringList parts;
    double nearest_x = NAN;
    for (QCPGraph* g : graphs_) {
        if (!g->visible() || g->data()->isEmpty() || g->name().isEmpty()) continue;
        auto it = g->data()->findBegin(x, true);
        if (it == g->data()->constEnd()) continue;
        auto next = it + 1;
        if (next != g->data()->constEnd() && std::fabs(next->key - x) < std::fabs(it->key - x)) it = next;
        if (!std::isfinite(nearest_x)) nearest_x = it->key;
        parts << QStringLiteral("%1 %2").arg(g->name()).arg(it->value, 0, 'g', 4);
    }
    if (parts.isEmpty()) {
        readout_->clear();
        cursor_->setVisible(false);
    } else {
        readout_->setText(QStringLiteral("%1 = %2:  %3")
                              .arg(plot_->xAxis->label())
                              .arg(nearest_x, 0, 'g', 6)
                              .arg(parts.join(QStringLiteral(", "))));
        cursor_->point1->setCoords(nearest_x, 0);
        cursor_->point2->setCoords(nearest_x, 1);
        cursor_->setVisible(true);
    }
    request_replot();
}

}  // namespace normout::plots
