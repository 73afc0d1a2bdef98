#include "ui/report_tab.h"

#include <QApplication>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <cmath>

#include "engine/report/report_build.h"
#include "engine/util/durable_file.h"

namespace normout::ui {

namespace {

QString escaped(const std::string& s) {
    return QString::fromStdString(s).toHtmlEscaped();
}

QString verdict_colour(ClaimVerdict v) {
    switch (v) {
        case ClaimVerdict::Supported:
            return QStringLiteral("#d7f0d7");
        case ClaimVerdict::Contradicted:
            return QStringLiteral("#f6d5d5");
        case ClaimVerdict::Inconclusive:
            return QStringLiteral("#f7ecc9");
        case ClaimVerdict::NotTested:
            return QStringLiteral("#eeeeee");
    }
    return {};
}

}  // namespace

ReportTab::ReportTab(QWidget* parent)
    : QWidget(parent),
      view_(new QTextBrowser),
      build_(new QPushButton(tr("Test the claims"))),
      save_html_(new QPushButton(tr("Save HTML…"))),
      save_pdf_(new QPushButton(tr("Save PDF…"))) {
    build_->setToolTip(
        tr("Test the thesis's claims on the compared runs: effects with 95% intervals, Holm-adjusted "
           "p-values, verdicts, the seeds an inconclusive claim would need"));
    save_html_->setToolTip(
        tr("The whole report (tables 3.1-3.6 with intervals, claims, figures, every run) as one "
           "self-contained HTML file"));
    save_pdf_->setToolTip(tr("The same report as a PDF"));
    save_pdf_->setEnabled(report_pdf_available());
    view_->setOpenLinks(false);
    view_->setPlaceholderText(
        tr("Compare runs (ideally several seeds of each configuration, e.g. a thesis/claims "
           "sweep), then press Test the claims."));
    auto* controls = new QHBoxLayout;
    controls->addWidget(build_);
    controls->addStretch(1);
    controls->addWidget(save_html_);
    controls->addWidget(save_pdf_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(view_, 1);
    connect(build_, &QPushButton::clicked, this, [this] { build(); });
    auto save = [this](bool pdf) {
        const QString path =
            QFileDialog::getSaveFileName(this, pdf ? tr("Save report as PDF") : tr("Save report"),
                                         pdf ? QStringLiteral("report.pdf") : QStringLiteral("report.html"),
                                         pdf ? tr("PDF (*.pdf)") : tr("HTML (*.html)"));
        if (path.isEmpty()) return;
        const QString error = pdf ? save_pdf(path) : save_html(path);
        if (!error.isEmpty()) QMessageBox::warning(this, tr("Save report"), error);
    };
    connect(save_html_, &QPushButton::clicked, this, [save] { save(false); });
    connect(save_pdf_, &QPushButton::clicked, this, [save] { save(true); });
}

ReportTab::~ReportTab() = default;

void ReportTab::set_paths(std::vector<std::string> paths) {
    paths_ = std::move(paths);
    report_.reset();
    view_->clear();
}

bool ReportTab::build() {
    if (paths_.empty()) {
        view_->setHtml(tr("<p>No runs to report on: compare runs first.</p>"));
        return false;
    }
    QApplication::setOverrideCursor(Qt::WaitCursor);
    try {
        ReportOptions o;
        o.command = "NormOut Lab, Compare → Report";
        report_ = std::make_unique<Report>(build_report(paths_, o));
        QApplication::restoreOverrideCursor();
    } catch (const std::exception& e) {
        QApplication::restoreOverrideCursor();
        report_.reset();
        view_->setHtml(tr("<p><b>Cannot build the report:</b> %1</p>").arg(escaped(e.what())));
        return false;
    }
    show_summary();
    return true;
}

QString ReportTab::summary_html() const {
    return view_->toHtml();
}

void ReportTab::show_summary() {
    QString html = QStringLiteral("<h3>%1</h3><p>%2</p>")
                       .arg(escaped(report_->document.title), escaped(report_->document.subtitle));
    html += QStringLiteral(
        "<table border='1' cellspacing='0' cellpadding='4'><tr><th>Claim</th><th>Compared</th>"
        "<th>Runs</th><th>Effect [95% interval]</th><th>p (Holm)</th><th>Verdict</th>"
        "<th>Seeds to settle</th></tr>");
    for (const auto& c : report_->claims) {
        html += QStringLiteral(
                    "<tr><td>(%1) %2</td><td>%3</td><td align='right'>%4</td><td>%5</td>"
                    "<td align='right'>%6</td><td bgcolor='%7'>%8</td><td align='right'>%9</td></tr>")
                    .arg(escaped(c.id), escaped(c.statement), escaped(c.compared), QString::number(c.runs),
                         escaped(c.effect_text.empty() ? "–" : c.effect_text),
                         std::isfinite(c.p_adjusted) ? QString::number(c.p_adjusted, 'g', 3) : QStringLiteral("–"),
                         verdict_colour(c.verdict), QString::fromUtf8(verdict_name(c.verdict)),
                         c.seeds_needed > 0 ? QString::number(c.seeds_needed) : QStringLiteral("–"));
    }
    html += QStringLiteral("</table>");
    for (const auto& c : report_->claims)
        if (!c.detail.empty() || !c.needed_text.empty())
            html += QStringLiteral("<p>(%1) %2 %3</p>").arg(escaped(c.id), escaped(c.needed_text), escaped(c.detail));
    html +=
        tr("<p>Save the report for the thesis's tables with 95% intervals over seeds, the figures and every "
           "run's provenance.</p>");
    view_->setHtml(html);
}

QString ReportTab::save_html(const QString& path) {
    if (!report_ && !build()) return tr("The report could not be built: see the Report tab.");
    try {
        replace_file_durably(path.toStdString(), to_html(report_->document));
    } catch (const std::exception& e) {
        return tr("Could not write %1: %2").arg(path, QString::fromStdString(e.what()));
    }
    return {};
}

QString ReportTab::save_pdf(const QString& path) {
    if (!report_ && !build()) return tr("The report could not be built: see the Report tab.");
    try {
        write_pdf(report_->document, path.toStdString());
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace normout::ui
