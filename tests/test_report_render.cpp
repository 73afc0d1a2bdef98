// The report's two renderings of one Document: the HTML page is self-contained and holds every
// cell; the PDF (cairo) holds the title, headings, paragraphs and every cell of a table that
// spans a page break (read back with pdftotext when installed), a failed write leaves nothing
// behind, and the figures are SVG documents.
//
// NORMOUT_RENDER_SAMPLE=/tmp/render_sample writes the sample document to that path + .pdf and
// .html, to look at.
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "engine/report/document.h"
#include "support/fixtures.h"

using namespace normout;
namespace fs = std::filesystem;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string long_cell(int row, int column) {
    return "r" + std::to_string(row) + "c" + std::to_string(column);
}

Chart intervals_chart() {
    Chart c;
    c.kind = Chart::Kind::Intervals;
    c.title = "Test accuracy by method (95% interval)";
    c.x_label = "test accuracy − baseline (percentage points)";
    c.zero_line = 0;
    const char* labels[] = {"baseline", "dropout p=0.5", "NormOut (layer 48, α = 0.3) with a long label that is cut",
                            "NormOut + FGSM ε ≥ 8/255", "no runs"};
    for (int i = 0; i < 5; ++i) {
        IntervalItem it;
        it.label = labels[i];
        it.estimate = i == 4 ? kNaN : -1.5 + i * 1.2;
        it.low = i == 4 ? kNaN : it.estimate - 0.8;
        it.high = i == 4 ? kNaN : it.estimate + 0.6;
        if (i != 4) it.observations = {it.estimate - 0.5, it.estimate + 0.1, it.estimate + 0.4};
        it.reference = i == 2 ? 2.0 : (i == 4 ? 1.0 : kNaN);
        c.items.push_back(it);
    }
    return c;
}

Chart scatter_chart() {
    Chart c;
    c.kind = Chart::Kind::Scatter;
    c.title = "Robust accuracy against Fisher–Rao norm";
    c.x_label = "Fisher–Rao norm (log scale)";
    c.y_label = "PGD accuracy (%)";
    c.x_log = true;
    c.fit_line = true;
    const char* groups[] = {"baseline", "dropout", "NormOut"};
    for (int i = 0; i < 18; ++i) {
        ScatterPoint p;
        p.x = std::pow(10.0, 0.5 + 0.15 * i);
        p.y = 20 + 2.0 * i + (i % 3) * 3;
        p.label = groups[i % 3];
        c.points.push_back(p);
    }
    c.points.push_back({kNaN, 3, "baseline"});  // skipped
    c.points.push_back({-1, 3, "dropout"});     // not on a log axis: skipped
    return c;
}

Document sample() {
    Document d;
    d.title = "NormOut Lab — statistics report";
    d.subtitle = "12 runs, 3 seeds each; intervals are 95% bootstrap, accuracy ± standard deviation";
    d.heading("Summary");
    d.paragraph(
        "This paragraph is long on purpose so that it wraps over several lines in the PDF. The runs compare "
        "NormOut against Dropout and a baseline on Fashion-MNIST; every number is a mean over seeds with its "
        "interval, and each claim of the thesis is checked against these intervals. Differences of less than "
        "half a percentage point are called inconclusive unless the interval excludes zero. Characters such as "
        "± – ≥ × α must survive both renderings, and so must <angle brackets> & \"quotes\".");
    d.heading("Claims", 2);
    TableBlock claims;
    claims.title = "Claims of the thesis";
    claims.header = {"claim", "thesis", "measured", "verdict"};
    claims.rows = {{"NormOut improves clean accuracy", "+0.8", "+0.6 ± 0.2", "supported"},
                   {"NormOut resists FGSM at ε = 8/255", "≥ 40%", "12.5 ± 3.1", "contradicted (p < 0.01)"},
                   {"Sparsity rises with training", "—", "n/a", "inconclusive: 2 of 3 seeds"}};
    claims.note = "Verdicts compare the thesis's number with the 95% interval.";
    d.table(claims);
    d.heading("All runs", 3);
    TableBlock runs;
    runs.title = "Every run (40 rows)";
    runs.header = {"run", "seed", "test acc. (%)", "FGSM acc. (%)", "Fisher–Rao", "note"};
    for (int r = 0; r < 40; ++r) {
        std::vector<std::string> row;
        for (int c = 0; c < 6; ++c)
            row.push_back(long_cell(r, c));
        runs.rows.push_back(row);
    }
    runs.note = "One row per run file.";
    d.table(runs);
    d.preformatted(
        "normout report --runs runs/ --out report.pdf\n"
        "\tseed\taccuracy\n"
        "\t0\t91.2 ± 0.1\n"
        "a very long line of preformatted text that does not fit the width of the page and must be wrapped or "
        "clipped, not drawn over the margin");
    d.figure(intervals_chart());
    d.figure(scatter_chart());
    d.paragraph("The end.");
    return d;
}

bool has_pdftotext() {
    return std::system("command -v pdftotext >/dev/null 2>&1") == 0;
}

std::string pdf_text(const std::string& pdf, const std::string& txt) {
    const std::string cmd = "pdftotext -enc UTF-8 '" + pdf + "' '" + txt + "'";
    if (std::system(cmd.c_str()) != 0) return "";
    return test::read_bytes(txt);
}

std::string escaped(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '&') {
            out += "&amp;";
        } else if (c == '<') {
            out += "&lt;";
        } else if (c == '>') {
            out += "&gt;";
        } else if (c == '"') {
            out += "&quot;";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

class TestReportRender : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string path(const std::string& name) const { return dir_.path().toStdString() + "/" + name; }

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        if (const char* out = std::getenv("NORMOUT_RENDER_SAMPLE")) {
            const Document d = sample();
            test::write_bytes(std::string(out) + ".html", to_html(d));
            if (report_pdf_available()) write_pdf(d, std::string(out) + ".pdf");
        }
    }

    void htmlIsSelfContained() {
        const Document d = sample();
        const std::string html = to_html(d);
        QVERIFY(html.rfind("<!DOCTYPE html>", 0) == 0);
        QVERIFY(html.find("<meta charset=\"utf-8\">") != std::string::npos);
        // No URL but the SVG namespaces.
        std::string stripped = html;
        for (const std::string ns :
             {"xmlns=\"http://www.w3.org/2000/svg\"", "xmlns:xlink=\"http://www.w3.org/1999/xlink\""}) {
            for (std::size_t at = stripped.find(ns); at != std::string::npos; at = stripped.find(ns)) {
                stripped.erase(at, ns.size());
            }
        }
        QVERIFY2(stripped.find("http://") == std::string::npos, "an http:// URL in the page");
        QVERIFY2(stripped.find("https://") == std::string::npos, "an https:// URL in the page");
        QVERIFY(stripped.find("<script") == std::string::npos && stripped.find("<link") == std::string::npos);
        QVERIFY(html.find("<?xml") == std::string::npos);
        for (const Block& b : d.blocks) {
            if (b.kind != Block::Kind::Table) continue;
            QVERIFY(html.find(escaped(b.table.title)) != std::string::npos);
            for (const auto& h : b.table.header)
                QVERIFY2(html.find(escaped(h)) != std::string::npos, h.c_str());
            for (const auto& row : b.table.rows) {
                for (const auto& cell : row)
                    QVERIFY2(html.find(escaped(cell)) != std::string::npos, cell.c_str());
            }
        }
        QVERIFY(html.find("&lt;angle brackets&gt; &amp; &quot;quotes&quot;") != std::string::npos);
        QVERIFY(html.find("± – ≥ × α") != std::string::npos);
        QVERIFY(html.find("class=\"v-supported\"") != std::string::npos);
        QVERIFY(html.find("class=\"v-contradicted\"") != std::string::npos);
        QVERIFY(html.find("class=\"v-inconclusive\"") != std::string::npos);
        QVERIFY(html.find("<pre>") != std::string::npos);
        if (report_pdf_available()) {
            QVERIFY(html.find("<svg") != std::string::npos);
            // Each inline figure has its own ids.
            QVERIFY(html.find("id=\"f1-") != std::string::npos && html.find("id=\"f2-") != std::string::npos);
        } else {
            QVERIFY(html.find("figure not drawn: built without cairo") != std::string::npos);
        }
    }

    void cellHelpers() {
        QVERIFY(cell_is_numeric("0.91") && cell_is_numeric("-3") && cell_is_numeric("+0.6 ± 0.2"));
        QVERIFY(cell_is_numeric("\xE2\x88\x92"
                                "1e-3") &&
                cell_is_numeric(".5"));
        QVERIFY(!cell_is_numeric("baseline") && !cell_is_numeric("—") && !cell_is_numeric(""));
        QVERIFY(cell_verdict("Supported") == Verdict::Supported);
        QVERIFY(cell_verdict("contradicted (p < 0.01)") == Verdict::Contradicted);
        QVERIFY(cell_verdict("inconclusive") == Verdict::Inconclusive);
        QVERIFY(cell_verdict("unsupported") == Verdict::None);
        TableBlock t;
        t.rows = {{"a", "1.0", "—"}, {"b", "n/a", "x"}};
        QCOMPARE(numeric_columns(t), (std::vector<bool>{false, true, false}));
    }

    void pdfHoldsTheText() {
        if (!report_pdf_available()) {
            QVERIFY_THROWS_EXCEPTION(std::runtime_error, write_pdf(sample(), path("none.pdf")));
            QSKIP("built without cairo");
        }
        const std::string pdf = path("report.pdf");
        write_pdf(sample(), pdf);
        const std::string bytes = test::read_bytes(pdf);
        QVERIFY(bytes.rfind("%PDF", 0) == 0);
        // Written through a temporary file, renamed: nothing else is left in the folder.
        int files = 0;
        for (const auto& e : fs::directory_iterator(dir_.path().toStdString())) {
            files += 1;
            QVERIFY2(e.path().filename().string().find(".tmp") == std::string::npos, e.path().c_str());
        }
        QCOMPARE(files, 1);
        if (!has_pdftotext()) QSKIP("pdftotext not installed (poppler-utils)");
        const std::string text = pdf_text(pdf, path("report.txt"));
        QVERIFY(!text.empty());
        for (const std::string s :
             {"NormOut Lab — statistics report", "Summary", "Claims", "All runs", "long on purpose", "bootstrap",
              "half a percentage point", "±", "≥", "Claims of the thesis", "contradicted (p < 0.01)",
              "Every run (40 rows)", "(continued)", "One row per run file.", "clean accuracy"}) {
            QVERIFY2(text.find(s) != std::string::npos, s.c_str());
        }
        for (int r = 0; r < 40; ++r) {
            for (int c = 0; c < 6; ++c)
                QVERIFY2(text.find(long_cell(r, c)) != std::string::npos, long_cell(r, c).c_str());
        }
        // Page numbers "n / total" on more than one page.
        const std::regex footer(R"(^\s*(\d+)\s*/\s*(\d+)\s*$)");
        std::istringstream lines(text);
        std::string line;
        int footers = 0, total = 0;
        while (std::getline(lines, line)) {
            std::smatch m;
            if (std::regex_match(line, m, footer)) {
                ++footers;
                total = std::stoi(m[2].str());
            }
        }
        QVERIFY2(total >= 2 && footers == total, text.c_str());
    }

    void failedWriteLeavesNothing() {
        const std::string missing = path("missing/report.pdf");
        try {
            write_pdf(sample(), missing);
            QFAIL("no exception");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find(missing) != std::string::npos, e.what());
        }
        QVERIFY(!fs::exists(path("missing")));
        // Over an existing file: the failed write (a folder in the way) keeps what was there.
        if (report_pdf_available()) {
            fs::create_directories(path("folder.pdf"));
            QVERIFY_THROWS_EXCEPTION(std::runtime_error, write_pdf(sample(), path("folder.pdf")));
            QVERIFY(fs::is_directory(path("folder.pdf")));
            for (const auto& e : fs::directory_iterator(dir_.path().toStdString())) {
                QVERIFY2(e.path().filename().string().find(".tmp") == std::string::npos, e.path().c_str());
            }
        }
    }

    void chartsAreSvg() {
        if (!report_pdf_available()) {
            QCOMPARE(chart_svg(intervals_chart()), std::string());
            QSKIP("built without cairo");
        }
        Chart empty;
        empty.title = "nothing";
        Chart empty_scatter;
        empty_scatter.kind = Chart::Kind::Scatter;
        for (const Chart& c : {intervals_chart(), scatter_chart(), empty, empty_scatter}) {
            const std::string svg = chart_svg(c);
            QVERIFY(svg.rfind("<?xml", 0) == 0 || svg.rfind("<svg", 0) == 0);
            QVERIFY(svg.find("<svg") != std::string::npos);
            QVERIFY(svg.find("</svg>") != std::string::npos);
        }
        // Automatic height: ~28 pt per item; fixed when given.
        QVERIFY(chart_svg(intervals_chart(), 300, 100).find("height=\"100") != std::string::npos);
    }
};

QTEST_APPLESS_MAIN(TestReportRender)
#include "test_report_render.moc"
