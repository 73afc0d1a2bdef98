#pragma once
// Spreads replots over event-loop passes: one plot is drawn per pass, so an update that dirties
// every plot on screen never holds input back for the sum of their replots (5-15 ms each). A
// plot that is not visible (another tab) waits until it is shown: nobody sees its pixels.
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <functional>
#include <vector>

class QCustomPlot;

namespace normout::plots {

class ReplotQueue : public QObject {
  public:
    static ReplotQueue& instance();  // GUI thread only

    // Queues a replot of `plot`; `draw` does it (fit axes, then replot), plot->replot() if empty.
    // A plot already queued keeps its place and takes the newer `draw`.
    void request(QCustomPlot* plot, std::function<void()> draw = {});
    bool queued(const QCustomPlot* plot) const;
    // Draws `plot` now if it is queued, shown or not (before an export reads it).
    void flush(QCustomPlot* plot);

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

  private:
    ReplotQueue();
    void draw_next();
    void draw(std::size_t entry);

    struct Entry {
        QPointer<QCustomPlot> plot;
        std::function<void()> draw;
    };
    std::vector<Entry> entries_;  // in request order, each plot once
    QTimer timer_;                // 0 ms: fires once the pending input has been handled
};

}  // namespace normout::plots
