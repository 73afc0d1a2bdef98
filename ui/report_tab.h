#pragma once
// Compare → Report: the thesis's claims tested on the compared runs (engine/report/), their
// verdicts shown here, and the whole report saved as a self-contained HTML page or a PDF — the
// same report as `normout report`.
#include <QWidget>
#include <memory>
#include <string>
#include <vector>

class QLabel;
class QPushButton;
class QTextBrowser;

namespace normout {
struct Report;
}

namespace normout::ui {

class ReportTab : public QWidget {
    Q_OBJECT
  public:
    explicit ReportTab(QWidget* parent = nullptr);
    ~ReportTab() override;

    // The runs to report on; the report is built when the tab asks for it (Build) or on save.
    void set_paths(std::vector<std::string> paths);
    // Builds the report now; false (and the reason shown) when it cannot be built.
    bool build();
    // Saves the built report (building it first if needed); "" or the error.
    QString save_html(const QString& path);
    QString save_pdf(const QString& path);
    QString summary_html() const;  // what the tab shows

  private:
    void show_summary();

    std::vector<std::string> paths_;
    std::unique_ptr<Report> report_;
    QTextBrowser* view_;
    QPushButton *build_, *save_html_, *save_pdf_;
};

}  // namespace normout::ui
