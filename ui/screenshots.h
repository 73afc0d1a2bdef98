#pragma once
// Saves the lab's main views as PNG files (the README's screenshots, docs/screenshots/).
#include <QString>

namespace normout::ui {

class MainWindow;
// Writes lab-window.png, lab-dashboard.png and lab-inspector.png into `folder`.
void save_screenshots(MainWindow& window, const QString& folder);

}  // namespace normout::ui
