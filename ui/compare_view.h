#pragma once
// Runs side by side: any recorded metric overlaid (seed groups as mean ± sd, smoothing, log
// axes), the settings that differ, flatness against robustness (thesis section 4.3.1), the
// thesis's tables built from the runs (copy or save as CSV, Markdown, LaTeX), and figure export
// (PNG/PDF/SVG of a plot, its data as CSV, the whole thesis-style figure set), and one unit of
// a layer overlaid across the runs (UnitCompare), and the thesis's claims tested on the runs
// (ReportTab: `normout report` in the lab).
#include <QWidget>
#include <vector>

#include "ui/compare_data.h"
#include "ui/run_data.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QTableWidget;
class QTabWidget;

namespace normout::plots {
class LivePlot;
}

namespace normout::ui {

class UnitCompare;
class ReportTab;

class CompareView : public QWidget {
    Q_OBJECT
  public:
    explicit CompareView(QWidget* parent = nullptr);

    void set_runs(std::vector<RunData> runs);
    int run_count() const { return static_cast<int>(runs_.size()); }
    const std::vector<Metric>& metrics() const { return metrics_; }
    void select_metric(int index);
    void set_group_seeds(bool on);
    void set_smoothing(double weight);
    void set_table(const QString& kind, const QString& format);  // accuracy|activations|attacks|flatness; csv|md|tex
    QString table_text() const;

    plots::LivePlot* curves() const { return curves_; }
    plots::LivePlot* scatter() const { return scatter_; }
    QTableWidget* differences() const { return differences_; }
    UnitCompare* units() const { return units_; }
    ReportTab* report() const { return report_; }
    QTabWidget* tabs() const { return tabs_; }

  private:
    std::vector<const RunData*> pointers() const;
    void redraw();
    void redraw_scatter();
    void rebuild_table();
    void export_plot(plots::LivePlot* plot);
    void export_all();

    std::vector<RunData> runs_;
    std::vector<Metric> metrics_;
    QComboBox *metric_box_, *scatter_y_box_, *table_kind_, *table_norm_, *table_format_;
    QDoubleSpinBox* smoothing_;
    QCheckBox* group_seeds_;
    plots::LivePlot *curves_, *scatter_;
    QTableWidget* differences_;
    QPlainTextEdit* table_text_;
    QTabWidget* tabs_;
    UnitCompare* units_;
    ReportTab* report_;
};

}  // namespace normout::ui
