#include "ui/compare_view.h"
#include "ui/unit_compare.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "engine/runfile/tables.h"
#include "plots/figure_export.h"
#include "plots/live_plot.h"
#include "plots/plot_theme.h"
#include "plots/qcp.h"
#include "ui/figure_set.h"
#include "ui/report_tab.h"

namespace normout::ui {

CompareView::CompareView(QWidget* parent)
    : QWidget(parent),
      metric_box_(new QComboBox),
      scatter_y_box_(new QComboBox),
      table_kind_(new QComboBox),
      table_norm_(new QComboBox),
      table_format_(new QComboBox),
      smoothing_(new QDoubleSpinBox),
      group_seeds_(new QCheckBox(tr("Group seeds (mean ± sd)"))),
      curves_(new plots::LivePlot(tr("Compare runs"), tr("epoch"), QString())),
      scatter_(new plots::LivePlot(tr("Flatness against robustness"), tr("Fisher-Rao norm (empirical)"), QString())),
      differences_(new QTableWidget),
      table_text_(new QPlainTextEdit),
      tabs_(new QTabWidget),
      units_(new UnitCompare),
      report_(new ReportTab) {
    smoothing_->setRange(0.001, 1.0);
    smoothing_->setDecimals(3);
    smoothing_->setSingleStep(0.01);
    smoothing_->setValue(0.05);
    smoothing_->setToolTip(
        tr("Weight of the newest value in the moving average of per-step curves (1: raw). "
           "The raw curves are drawn faintly."));
    group_seeds_->setChecked(true);
    group_seeds_->setToolTip(
        tr("Runs whose settings differ only in train.seed become one curve: their mean with a "
           "±1 standard deviation band"));
    scatter_->set_placeholder(
        tr("Needs runs with a Fisher-Rao norm and attack results (evaluate.*, or "
           "`normout flatness` and `normout attack`)."));
    curves_->set_placeholder(tr("Select runs in the Runs tab and press Compare selected."));

    auto* export_one = new QPushButton(tr("Export figure…"));
    export_one->setToolTip(tr("PNG (300 dpi), PDF or SVG by the file's extension, 160 × 100 mm; .csv writes the data"));
    auto* export_all_button = new QPushButton(tr("Export all figures…"));
    export_all_button->setToolTip(tr("The thesis-style figure set (3.1 to 3.11 equivalents) as PDF, SVG, PNG and CSV"));
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Metric")));
    controls->addWidget(metric_box_, 1);
    controls->addWidget(new QLabel(tr("Smoothing")));
    controls->addWidget(smoothing_);
    controls->addWidget(group_seeds_);
    controls->addWidget(export_one);
    controls->addWidget(export_all_button);

    differences_->setColumnCount(0);
    differences_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    differences_->horizontalHeader()->setStretchLastSection(true);
    differences_->setToolTip(tr("Only the settings that differ between the runs"));
    auto* split = new QSplitter;
    split->addWidget(curves_);
    split->addWidget(differences_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto* curves_page = new QWidget;
    auto* cl = new QVBoxLayout(curves_page);
    cl->addLayout(controls);
    cl->addWidget(split, 1);

    auto* scatter_page = new QWidget;
    auto* sl = new QVBoxLayout(scatter_page);
    auto* sc = new QHBoxLayout;
    sc->addWidget(new QLabel(tr("Against")));
    sc->addWidget(scatter_y_box_, 1);
    auto* export_scatter = new QPushButton(tr("Export figure…"));
    sc->addWidget(export_scatter);
    sl->addLayout(sc);
    sl->addWidget(scatter_, 1);

    table_kind_->addItems({"accuracy", "activations", "attacks", "flatness"});
    table_kind_->setToolTip(
        tr("Thesis table 3.1 (accuracy), 3.2/3.3 (activations), 3.4/3.5 (attacks), 3.6 (flatness)"));
    table_norm_->addItems({"linf", "l2"});
    table_format_->addItems({"md", "csv", "tex"});
    table_text_->setReadOnly(true);
    table_text_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto* copy = new QPushButton(tr("Copy"));
    auto* save = new QPushButton(tr("Save…"));
    auto* tc = new QHBoxLayout;
    for (QWidget* w : std::initializer_list<QWidget*>{new QLabel(tr("Table")), table_kind_, new QLabel(tr("Norm")),
                                                      table_norm_, new QLabel(tr("Format")), table_format_})
        tc->addWidget(w);
    tc->addStretch(1);
    tc->addWidget(copy);
    tc->addWidget(save);
    auto* table_page = new QWidget;
    auto* tl = new QVBoxLayout(table_page);
    tl->addLayout(tc);
    tl->addWidget(table_text_, 1);

    tabs_->addTab(curves_page, tr("Curves"));
    tabs_->addTab(scatter_page, tr("Flatness vs robustness"));
    tabs_->addTab(table_page, tr("Thesis tables"));
    tabs_->addTab(units_, tr("Units"));
    tabs_->addTab(report_, tr("Report"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(tabs_);

    connect(metric_box_, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
    connect(smoothing_, &QDoubleSpinBox::valueChanged, this, [this] { redraw(); });
    connect(group_seeds_, &QCheckBox::toggled, this, [this] { redraw(); });
    connect(scatter_y_box_, &QComboBox::currentIndexChanged, this, [this] { redraw_scatter(); });
    for (QComboBox* b : {table_kind_, table_norm_, table_format_})
        connect(b, &QComboBox::currentIndexChanged, this, [this] { rebuild_table(); });
    connect(export_one, &QPushButton::clicked, this, [this] { export_plot(curves_); });
    connect(export_scatter, &QPushButton::clicked, this, [this] { export_plot(scatter_); });
    connect(export_all_button, &QPushButton::clicked, this, &CompareView::export_all);
    connect(copy, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(table_text_->toPlainText()); });
    connect(save, &QPushButton::clicked, this, [this] {
        const QString ext = table_format_->currentText();
        const QString path = QFileDialog::getSaveFileName(this, tr("Save table"), QStringLiteral("table.") + ext);
        if (path.isEmpty()) return;
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(table_text_->toPlainText().toUtf8()) < 0)
            QMessageBox::warning(this, tr("Save table"), tr("Could not write %1: %2").arg(path, f.errorString()));
    });
}

std::vector<const RunData*> CompareView::pointers() const {
    std::vector<const RunData*> out;
    for (const auto& r : runs_)
        out.push_back(&r);
    return out;
}

void CompareView::set_runs(std::vector<RunData> runs) {
    runs_ = std::move(runs);
    metrics_ = available_metrics(pointers());
    {
        const QSignalBlocker b1(metric_box_), b2(scatter_y_box_);
        metric_box_->clear();
        scatter_y_box_->clear();
        int test_acc = 0;
        for (std::size_t i = 0; i < metrics_.size(); ++i) {
            const Metric& m = metrics_[i];
            metric_box_->addItem(m.title());
            if (m.kind == Metric::Kind::Epoch && m.field == QLatin1String("test_accuracy"))
                test_acc = static_cast<int>(i);
            if (m.kind == Metric::Kind::Attack ||
                (m.kind == Metric::Kind::Epoch && m.field == QLatin1String("test_accuracy")))
                scatter_y_box_->addItem(m.title(), static_cast<int>(i));
        }
        metric_box_->setCurrentIndex(test_acc);
    }
    // The settings that differ, one column per run.
    const auto diffs = differing_settings(pointers());
    differences_->clear();
    differences_->setRowCount(static_cast<int>(diffs.size()));
    differences_->setColumnCount(static_cast<int>(runs_.size()));
    QStringList headers, rows;
    for (const auto& r : runs_)
        headers << QString::fromStdString(r.name.empty() ? r.path : r.name);
    differences_->setHorizontalHeaderLabels(headers);
    for (int i = 0; i < static_cast<int>(diffs.size()); ++i) {
        rows << diffs[static_cast<std::size_t>(i)].first;
        const QStringList& values = diffs[static_cast<std::size_t>(i)].second;
        for (int j = 0; j < values.size() && j < differences_->columnCount(); ++j)
            differences_->setItem(i, j, new QTableWidgetItem(values[j]));
    }
    differences_->setVerticalHeaderLabels(rows);
    differences_->resizeColumnsToContents();
    redraw();
    redraw_scatter();
    rebuild_table();
    units_->set_runs(pointers());
    std::vector<std::string> paths;
    for (const auto& r : runs_)
        paths.push_back(r.path);
    report_->set_paths(std::move(paths));
}

void CompareView::select_metric(int index) {
    metric_box_->setCurrentIndex(index);
}
void CompareView::set_group_seeds(bool on) {
    group_seeds_->setChecked(on);
}
void CompareView::set_smoothing(double weight) {
    smoothing_->setValue(weight);
}

void CompareView::set_table(const QString& kind, const QString& format) {
    const QSignalBlocker b(table_kind_);
    table_kind_->setCurrentText(kind);
    table_format_->setCurrentText(format);
    rebuild_table();
}

QString CompareView::table_text() const {
    return table_text_->toPlainText();
}

void CompareView::redraw() {
    curves_->clear_series();
    const int i = metric_box_->currentIndex();
    if (i < 0 || i >= static_cast<int>(metrics_.size())) {
        curves_->request_replot();
        return;
    }
    const Metric& m = metrics_[static_cast<std::size_t>(i)];
    const bool per_step = m.kind == Metric::Kind::Step || m.kind == Metric::Kind::Layer || m.kind == Metric::Kind::Keep;
    const double weight = per_step ? smoothing_->value() : 1.0;
    const auto ptrs = pointers();
    const auto smooth = compare(ptrs, m, weight, group_seeds_->isChecked());
    if (per_step && weight < 1.0) {  // raw curves, faint, without legend entries
        const auto raw = compare(ptrs, m, 1.0, group_seeds_->isChecked());
        for (std::size_t k = 0; k < raw.size(); ++k) {
            QColor c = plots::series_color(static_cast<int>(k));
            c.setAlpha(50);
            curves_->set_data(curves_->add_series({}, c), raw[k].x, raw[k].y);
        }
    }
    for (std::size_t k = 0; k < smooth.size(); ++k) {
        const Curve& c = smooth[k];
        const int s = curves_->add_series(c.label, plots::series_color(static_cast<int>(k)), Qt::SolidLine, !per_step);
        curves_->set_data(s, c.x, c.y);
        if (!c.low.isEmpty()) curves_->set_band(s, c.x, c.low, c.high);
    }
    curves_->plot()->xAxis->setLabel(per_step || m.kind == Metric::Kind::Epoch ? tr("epoch")
                                                                               : tr("epoch of the weights"));
    curves_->plot()->yAxis->setLabel(m.y_label());
    curves_->fit();
    curves_->request_replot();
}

void CompareView::redraw_scatter() {
    scatter_->clear_series();
    const int i = scatter_y_box_->currentData().toInt();
    if (scatter_y_box_->currentIndex() >= 0 && i >= 0 && i < static_cast<int>(metrics_.size())) {
        const auto points =
            flatness_vs(pointers(), QStringLiteral("fisher_rao_empirical"), metrics_[static_cast<std::size_t>(i)]);
        int k = 0;
        for (const auto& p : points) {
            const int s = scatter_->add_series(p.label, plots::series_color(k++), Qt::NoPen, true);
            scatter_->set_data(s, {p.x}, {p.y});
        }
    }
    if (scatter_y_box_->currentIndex() >= 0) scatter_->plot()->yAxis->setLabel(scatter_y_box_->currentText());
    scatter_->fit();
    scatter_->request_replot();
}

void CompareView::rebuild_table() {
    std::vector<std::string> paths;
    for (const auto& r : runs_)
        paths.push_back(r.path);
    if (paths.empty()) {
        table_text_->clear();
        return;
    }
    try {
        TableOptions o;
        o.norm = table_norm_->currentText().toStdString();
        const Table t = build_table(paths, table_kind(table_kind_->currentText().toStdString()), o);
        const QString f = table_format_->currentText();
        const std::string text = f == QLatin1String("csv")   ? to_csv(t)
                                 : f == QLatin1String("tex") ? to_latex(t)
                                                             : to_markdown(t);
        table_text_->setPlainText(QString::fromStdString(text));
    } catch (const std::exception& e) {
        table_text_->setPlainText(tr("Cannot build the table: %1").arg(QString::fromStdString(e.what())));
    }
}

void CompareView::export_plot(plots::LivePlot* plot) {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export figure"), QStringLiteral("figure.pdf"),
                                                      tr("Figures (*.pdf *.svg *.png);;Data (*.csv)"));
    if (path.isEmpty()) return;
    const QString error = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive)
                              ? plots::export_csv(plot->plot(), path)
                              : plots::export_plot(plot->plot(), path);
    if (!error.isEmpty()) QMessageBox::warning(this, tr("Export figure"), error);
}

void CompareView::export_all() {
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder for the figure set"));
    if (folder.isEmpty()) return;
    try {
        FigureSetOptions o;
        o.group_seeds = group_seeds_->isChecked();
        const QStringList files = export_figure_set(pointers(), folder, o);
        QMessageBox::information(this, tr("Export all figures"),
                                 tr("%1 files written to %2").arg(files.size()).arg(folder));
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Export all figures"), QString::fromStdString(e.what()));
    }
}

}  // namespace normout::ui
