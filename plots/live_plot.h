#pragma once
// A plot for curves that grow while a run trains: named series (optionally with a faint raw
// companion and a confidence band), replots capped at 25 per second whatever the update rate,
// zoom and pan with the mouse (double-click fits), a log-scale toggle, a crosshair readout and a
// legend; step lines and shaded spans for per-epoch settings. NaN values leave gaps (a diverged run draws up to its
// last finite point).
#include <QTimer>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCheckBox;
class QLabel;

namespace normout::plots {

class LivePlot : public QWidget {
    Q_OBJECT
  public:
    explicit LivePlot(const QString& title, const QString& x_label, const QString& y_label, QWidget* parent = nullptr);

    // Series are identified by the index returned here.
    int add_series(const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine, bool markers = false);
    // A 0/1 series drawn as shaded spans where it is 1 (e.g. the epochs in which a layer acts), on
    // a hidden 0..1 axis of its own so that it fills the plot's height whatever the y range.
    int add_span_series(const QString& name, const QColor& color);
    bool is_span(int series) const;
    // Draws the series against the right axis, shown with this label and fixed at 0..1 like the
    // spans': for a probability beside a quantity of another scale.
    void use_right_axis(int series, const QString& label);
    bool on_right_axis(int series) const;
    // Draws the series as a step line: each value held until the next point's x.
    void set_steps(int series);
    void set_data(int series, const QVector<double>& x, const QVector<double>& y);
    // A band (e.g. a 95% confidence interval) drawn around the series in its colour, faded.
    void set_band(int series, const QVector<double>& x, const QVector<double>& low, const QVector<double>& high);
    void set_visible(int series, bool visible);
    void hide_from_legend(int series);  // named (the crosshair reads it) but not in the legend
    void clear_series();
    int series_count() const;
    // Data of a series (tests read plots through their data, not their pixels).
    QVector<double> series_x(int series) const;
    QVector<double> series_y(int series) const;
    QString series_name(int series) const;
    QVector<double> band(int series, bool high) const;  // a band's lower or upper values (empty: none)

    void set_log_y(bool on);
    bool log_y() const;
    void set_placeholder(const QString& text);  // shown while no series has data
    void fit();                                 // rescale the axes to the data
    // Asks for a replot; at most one every 40 ms is queued (ReplotQueue: one plot per event-loop
    // pass, none while hidden).
    void request_replot();
    QCustomPlot* plot() const { return plot_; }
    int replot_count() const { return replots_; }  // replots drawn

  private:
    void do_replot();  // hands the replot to the ReplotQueue
    void draw_now();
    void fit_ranges();
    void update_crosshair(double x);

    QCustomPlot* plot_;
    QCheckBox* log_box_;
    QLabel* readout_;
    QLabel* placeholder_;
    QCPItemStraightLine* cursor_ = nullptr;
    QTimer replot_timer_;
    QVector<QCPGraph*> graphs_;
    QVector<QCPGraph*> bands_low_, bands_high_;
    QVector<bool> right_;  // on the right axis, fixed at 0..1 (spans, probabilities): fitted in x only
    bool user_zoomed_ = false;
    int replots_ = 0;
};

}  // namespace normout::plots
