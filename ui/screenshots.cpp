#include "ui/screenshots.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QTabWidget>

#include "ui/compare_view.h"
#include "ui/dashboard.h"
#include "ui/main_window.h"
#include "ui/neuron_inspector.h"

namespace normout::ui {

void save_screenshots(MainWindow& window, const QString& folder) {
    QDir().mkpath(folder);
    auto* tabs = qobject_cast<QTabWidget*>(window.centralWidget());
    auto settle = [] {
        for (int i = 0; i < 5; ++i)
            QApplication::processEvents();
    };
    window.dashboard()->refresh_now();
    settle();
    window.grab().save(QDir(folder).filePath("lab-window.png"));
    window.dashboard()->grab().save(QDir(folder).filePath("lab-dashboard.png"));
    if (tabs) tabs->setCurrentWidget(window.inspector());
    if (window.inspector()->neuron_box()->count() > 0) window.inspector()->neuron_box()->setCurrentIndex(0);
    settle();
    window.inspector()->grab().save(QDir(folder).filePath("lab-inspector.png"));
    if (tabs && window.compare_view()->run_count() > 0) {
        tabs->setCurrentWidget(window.compare_view());
        settle();
        window.compare_view()->grab().save(QDir(folder).filePath("lab-compare.png"));
    }
    if (tabs) tabs->setCurrentWidget(window.dashboard());
}

}  // namespace normout::ui
