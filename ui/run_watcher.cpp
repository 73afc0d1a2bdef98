#include "ui/run_watcher.h"

#include <QDir>
#include <QFileInfo>
#include <QtConcurrent/QtConcurrentRun>

namespace normout::ui {

RunWatcher::RunWatcher(QObject* parent) : QObject(parent) {
    qRegisterMetaType<normout::ui::RunData>();
    timer_.setInterval(1000);
    connect(&timer_, &QTimer::timeout, this, &RunWatcher::poll);
    connect(&future_, &QFutureWatcher<LoadResult>::finished, this, [this] {
        const LoadResult r = future_.result();
        ++loads_;
        if (r.error.isEmpty())
            Q_EMIT loaded(r.data);
        else
            Q_EMIT failed(r.error);
    });
}

RunWatcher::~RunWatcher() {
    timer_.stop();
    future_.waitForFinished();
}

void RunWatcher::watch(const QString& path) {
    stop();
    path_ = path;
    last_signature_ = QStringLiteral("(never read)");  // the first poll always reads
    poll();
    timer_.start();
}

void RunWatcher::stop() {
    timer_.stop();
    future_.waitForFinished();
    path_.clear();
}

QString RunWatcher::signature() const {
    // The run file, its continuation segments and its analysis files: sizes and modification times.
    const QFileInfo info(path_);
    QString s;
    const QString stem = info.completeBaseName();
    for (const QFileInfo& f : QDir(info.absolutePath())
                                  .entryInfoList({stem + ".h5", stem + ".resume-*.h5", stem + ".analysis.hdf5",
                                                  stem + ".analysis-unsaved-*.json"},
                                                 QDir::Files))
        s += QStringLiteral("%1:%2:%3;").arg(f.fileName()).arg(f.size()).arg(f.lastModified().toMSecsSinceEpoch());
    return s;
}

void RunWatcher::poll() {
    if (path_.isEmpty() || future_.isRunning()) return;
    const QString sig = signature();
    if (sig == last_signature_) return;  // nothing new (a live writer flushes at least every second)
    last_signature_ = sig;
    const std::string path = path_.toStdString();
    future_.setFuture(QtConcurrent::run([path] {
        LoadResult r;
        try {
            r.data = load_run_data(path);
        } catch (const std::exception& e) {
            r.error = QString::fromStdString(e.what());
        }
        return r;
    }));
}

}  // namespace normout::ui
