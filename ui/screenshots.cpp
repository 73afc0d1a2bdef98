#include "ui/screenshots.h"

#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QListWidget>
#include <QTabWidget>

#include "engine/runfile/notable_units.h"
#include "ui/compare_view.h"
#include "ui/dashboard.h"
#include "ui/main_window.h"
#include "ui/neuron_inspector.h"
#include "ui/report_tab.h"

namespace normout::ui {

void save_screenshots(MainWindow& window, const QString& folder) {
    QDir().mkpath(folder);
    auto* tabs = qobject_cast<QTabWidget*>(window.centralWidget());
    // Long enough for the plots' coalesced redraws (a 40 ms timer) to happen.
    auto settle = [] {
        QElapsedTimer clock;
        clock.start();
        while (clock.elapsed() < 200)
            QApplication::processEvents(QEventLoop::AllEvents, 20);
    };
    window.dashboard()->refresh_now();
    settle();
    window.grab().save(QDir(folder).filePath("lab-window.png"));
    window.dashboard()->grab().save(QDir(folder).filePath("lab-dashboard.png"));
    if (tabs) tabs->setCurrentWidget(window.inspector());
    // A selected unit: the one that changed most since the first epoch, else the first tracked one.
    NeuronInspector* inspector = window.inspector();
    inspector->notable_box()->setCurrentIndex(
        inspector->notable_box()->findData(static_cast<int>(NotableKind::Changed)));
    settle();
    if (inspector->notable_list()->count() > 0)
        inspector->select_unit(inspector->notable_list()->item(0)->data(Qt::UserRole).toLongLong());
    else if (inspector->neuron_box()->count() > 0)
        inspector->neuron_box()->setCurrentIndex(0);
    settle();
    window.inspector()->grab().save(QDir(folder).filePath("lab-inspector.png"));
    if (tabs && window.compare_view()->run_count() > 0) {
        tabs->setCurrentWidget(window.compare_view());
        settle();
        window.compare_view()->grab().save(QDir(folder).filePath("lab-compare.png"));
        // Compare → Report: the claims tested on the compared runs.
        CompareView* compare = window.compare_view();
        const int previous = compare->tabs()->currentIndex();
        compare->tabs()->setCurrentWidget(compare->report());
        compare->report()->build();
        settle();
        compare->grab().save(QDir(folder).filePath("lab-report.png"));
        compare->tabs()->setCurrentIndex(previous);
    }
    if (tabs) tabs->setCurrentWidget(window.dashboard());
}

}  // namespace normout::ui
