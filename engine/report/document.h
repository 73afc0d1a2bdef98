#pragma once
// A report as a sequence of blocks (headings, paragraphs, tables, figures), written once and
// rendered twice: to a self-contained HTML page (report_html.cpp) and to a PDF (report_pdf.cpp:
// pages; report_charts.cpp: figures, also as the page's inline SVG; cairo_draw.*: cairo
// primitives). Plain data, no torch, no Qt.
#include <string>
#include <vector>

namespace normout {

// A chart of intervals: one row per item, a point estimate with its interval, the individual
// observations (seeds) as small dots, and an optional reference value (the thesis's number),
// drawn as a hollow diamond.
struct IntervalItem {
    std::string label;
    double estimate = 0;
    double low = 0, high = 0;          // NaN: no interval
    std::vector<double> observations;  // may be empty
    double reference = 0;              // NaN: none
};

// A scatter plot of points with labels, optionally with a least-squares line.
struct ScatterPoint {
    double x = 0, y = 0;
    std::string label;  // legend group (points with the same label share a colour)
};

struct Chart {
    enum class Kind { Intervals, Scatter } kind = Kind::Intervals;
    std::string title;
    std::string x_label, y_label;
    std::vector<IntervalItem> items;   // Intervals
    double zero_line = 0;              // Intervals: a vertical line at this value (NaN: none)
    std::vector<ScatterPoint> points;  // Scatter
    bool x_log = false;                // logarithmic x axis (values <= 0 left out / clamped)
    bool fit_line = false;             // Scatter: draw the least-squares line (in log10 x when x_log)
};

struct TableBlock {
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::string note;  // printed under the table
};

// Verdict colours for a claims table: rows may carry a verdict word in a column.
struct Block {
    enum class Kind { Heading, Paragraph, Table, Figure, Preformatted } kind = Kind::Paragraph;
    int level = 1;     // Heading: 1, 2 or 3
    std::string text;  // Heading, Paragraph, Preformatted
    TableBlock table;  // Table
    Chart chart;       // Figure
};

struct Document {
    std::string title;
    std::string subtitle;
    std::vector<Block> blocks;

    void heading(const std::string& text, int level = 1);
    void paragraph(const std::string& text);
    void preformatted(const std::string& text);
    void table(TableBlock t);
    void figure(Chart c);
};

// Helpers shared by both renderers (document.cpp).
// A cell that reads as a number ("0.91", "-3", "12.5 %", "0.90 ± 0.02", "−1e-3"): right-aligned.
bool cell_is_numeric(const std::string& text);
// Per column of a table: whether its non-empty cells are numbers (placeholders such as "—",
// "-", "n/a" and "NaN" do not count against it). Header cells of such columns are right-aligned.
std::vector<bool> numeric_columns(const TableBlock& t);
// Whether a cell is right-aligned: a number, or a placeholder in a numeric column.
bool cell_right_aligned(const std::string& text, bool numeric_column);
// The claim verdict a cell starts with (case-insensitive): "supported", "contradicted",
// "inconclusive"; coloured green, red and amber.
enum class Verdict { None, Supported, Contradicted, Inconclusive };
Verdict cell_verdict(const std::string& text);

// The page as HTML: styles inline, figures as inline SVG, no external resource.
std::string to_html(const Document& doc);

// Whether this build can write PDF and draw figures (it was built with cairo).
bool report_pdf_available();
// Writes the document as an A4 PDF. Throws std::runtime_error naming the file when it cannot
// be written or when the build has no cairo.
void write_pdf(const Document& doc, const std::string& path);
// One chart as a standalone SVG document (used by to_html); empty when built without cairo.
std::string chart_svg(const Chart& chart, double width_pt = 480, double height_pt = 0);

}  // namespace normout
