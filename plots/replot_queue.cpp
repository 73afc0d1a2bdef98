#include "plots/replot_queue.h"

#include <QCoreApplication>
#include <QEvent>
#include <algorithm>

#include "plots/qcp.h"

namespace normout::plots {

ReplotQueue& ReplotQueue::instance() {
    // Owned by the application: its timer ends with the event loop it runs in.
    static QPointer<ReplotQueue> queue;
    if (!queue) queue = new ReplotQueue;
    return *queue;
}

ReplotQueue::ReplotQueue() : QObject(QCoreApplication::instance()) {
    timer_.setInterval(0);
    connect(&timer_, &QTimer::timeout, this, &ReplotQueue::draw_next);
}

void ReplotQueue::request(QCustomPlot* plot, std::function<void()> draw) {
    if (!plot) return;
    if (!draw)
        draw = [p = QPointer<QCustomPlot>(plot)] {
            if (p) p->replot();
        };
    const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.plot == plot; });
    if (it != entries_.end()) {
        it->draw = std::move(draw);
    } else {
        entries_.push_back({plot, std::move(draw)});
        plot->installEventFilter(this);  // its Show event restarts the queue
    }
    if (plot->isVisible() && !timer_.isActive()) timer_.start();
}

bool ReplotQueue::queued(const QCustomPlot* plot) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.plot == plot; });
}

void ReplotQueue::flush(QCustomPlot* plot) {
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].plot == plot) return draw(i);
}

void ReplotQueue::draw(std::size_t entry) {
    Entry e = std::move(entries_[entry]);
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(entry));
    if (!e.plot) return;
    e.plot->removeEventFilter(this);
    e.draw();
}

void ReplotQueue::draw_next() {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.plot.isNull(); }),
                   entries_.end());
    const auto visible = [](const Entry& e) { return e.plot->isVisible(); };
    const auto it = std::find_if(entries_.begin(), entries_.end(), visible);
    if (it != entries_.end()) draw(static_cast<std::size_t>(it - entries_.begin()));
    // Hidden plots wait for their Show event.
    if (std::none_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.plot && visible(e); }))
        timer_.stop();
}

bool ReplotQueue::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::Show && !timer_.isActive()) timer_.start();
    return QObject::eventFilter(watched, event);
}

}  // namespace normout::plots
