// The report as one self-contained HTML5 page: inline styles, figures as inline SVG (drawn by
// chart_svg, report_pdf.cpp), no external resource (no fonts, scripts or style sheets to fetch).
#include <string>

#include "engine/report/document.h"

namespace normout {

namespace {

const char* const kStyle = R"(
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5;
       color: #222; background: #fff; max-width: 60em; margin: 0 auto; padding: 1.5em 1.25em 3em; }
header { border-bottom: 1px solid #ccc; margin-bottom: 1.5em; }
h1 { font-size: 1.8em; line-height: 1.2; margin: 0.2em 0 0.2em; }
.subtitle { color: #555; margin: 0 0 1em; }
h2 { font-size: 1.4em; margin: 1.6em 0 0.5em; }
h3 { font-size: 1.15em; margin: 1.3em 0 0.4em; }
h4 { font-size: 1em; margin: 1.1em 0 0.3em; }
p { margin: 0.5em 0 0.8em; }
pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.8em; line-height: 1.35;
      background: #f5f5f5; border: 1px solid #e2e2e2; padding: 0.6em 0.8em; overflow-x: auto; }
.table-wrap { overflow-x: auto; margin: 1em 0 0.4em; }
table { border-collapse: collapse; font-size: 0.85em; border-top: 2px solid #444; border-bottom: 2px solid #444; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0 0 0.4em; }
th, td { padding: 0.25em 0.65em; border-bottom: 1px solid #ddd; vertical-align: top; text-align: left; }
thead th { border-bottom: 1px solid #444; background: #f0f0f0; }
tbody tr:nth-child(even) { background: #f7f7f7; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.v-supported { background: #cfeccf; }
td.v-contradicted { background: #f6c9c9; }
td.v-inconclusive { background: #f3e3b5; }
.note { font-size: 0.85em; color: #555; margin: 0.2em 0 1.2em; }
figure { margin: 1.2em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figure.missing { border: 1px dashed #bbb; padding: 0.6em 0.8em; }
figcaption { font-size: 0.9em; font-weight: bold; }
@media print { body { max-width: none; } .table-wrap { overflow: visible; } }
)";

std::string escape(const std::string& s) {
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// Escaped, with line breaks kept as <br>.
std::string escape_lines(const std::string& s) {
    std::string out;
    std::size_t start = 0;
    while (true) {
        const std::size_t nl = s.find('\n', start);
        out += escape(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) break;
        out += "<br>\n";
        start = nl + 1;
    }
    return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
}

// cairo names the glyphs, clips and surfaces of every SVG alike ("glyph0-1", "clip1"): several
// inline in one page would resolve each other's references. Gives each figure its own prefix.
std::string inline_svg(std::string svg, int figure) {
    if (svg.compare(0, 5, "<?xml") == 0) {
        const std::size_t end = svg.find("?>");
        svg.erase(0, end == std::string::npos ? svg.size() : end + 2);
        while (!svg.empty() && (svg[0] == '\n' || svg[0] == '\r' || svg[0] == ' '))
            svg.erase(0, 1);
    }
    const std::string p = "f" + std::to_string(figure) + "-";
    replace_all(svg, " id=\"", " id=\"" + p);
    replace_all(svg, "href=\"#", "href=\"#" + p);
    replace_all(svg, "url(#", "url(#" + p);
    return svg;
}

void table_html(std::string& out, const TableBlock& t) {
    const std::vector<bool> numeric = numeric_columns(t);
    const std::size_t columns = numeric.size();
    out += "<div class=\"table-wrap\"><table>\n";
    if (!t.title.empty()) out += "<caption>" + escape(t.title) + "</caption>\n";
    if (!t.header.empty()) {
        out += "<thead><tr>";
        for (std::size_t c = 0; c < columns; ++c) {
            const std::string text = c < t.header.size() ? t.header[c] : "";
            out += numeric[c] ? "<th scope=\"col\" class=\"num\">" : "<th scope=\"col\">";
            out += escape(text) + "</th>";
        }
        out += "</tr></thead>\n";
    }
    out += "<tbody>\n";
    for (const auto& row : t.rows) {
        out += "<tr>";
        for (std::size_t c = 0; c < columns; ++c) {
            const std::string text = c < row.size() ? row[c] : "";
            std::string cls;
            if (cell_right_aligned(text, numeric[c])) cls = "num";
            switch (cell_verdict(text)) {
                case Verdict::Supported:
                    cls += cls.empty() ? "v-supported" : " v-supported";
                    break;
                case Verdict::Contradicted:
                    cls += cls.empty() ? "v-contradicted" : " v-contradicted";
                    break;
                case Verdict::Inconclusive:
                    cls += cls.empty() ? "v-inconclusive" : " v-inconclusive";
                    break;
                case Verdict::None:
                    break;
            }
            out += cls.empty() ? "<td>" : "<td class=\"" + cls + "\">";
            out += escape_lines(text) + "</td>";
        }
        out += "</tr>\n";
    }
    out += "</tbody></table></div>\n";
    if (!t.note.empty()) out += "<p class=\"note\">" + escape_lines(t.note) + "</p>\n";
}

}  // namespace

std::string to_html(const Document& doc) {
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + escape(doc.title.empty() ? std::string("Report") : doc.title) + "</title>\n";
    out += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
    if (!doc.title.empty() || !doc.subtitle.empty()) {
        out += "<header>\n";
        if (!doc.title.empty()) out += "<h1>" + escape(doc.title) + "</h1>\n";
        if (!doc.subtitle.empty()) out += "<p class=\"subtitle\">" + escape_lines(doc.subtitle) + "</p>\n";
        out += "</header>\n";
    }
    out += "<main>\n";
    int figures = 0;
    for (const Block& b : doc.blocks) {
        switch (b.kind) {
            case Block::Kind::Heading: {
                // The page's title is the <h1>: the document's levels 1-3 are <h2>-<h4>.
                const std::string tag = "h" + std::to_string(b.level < 1 ? 2 : (b.level > 3 ? 4 : b.level + 1));
                out += "<" + tag + ">" + escape(b.text) + "</" + tag + ">\n";
                break;
            }
            case Block::Kind::Paragraph:
                out += "<p>" + escape_lines(b.text) + "</p>\n";
                break;
            case Block::Kind::Preformatted:
                out += "<pre>" + escape(b.text) + "</pre>\n";
                break;
            case Block::Kind::Table:
                table_html(out, b.table);
                break;
            case Block::Kind::Figure: {
                ++figures;
                const std::string svg = chart_svg(b.chart);
                if (svg.empty()) {
                    out += "<figure class=\"missing\">";
                    if (!b.chart.title.empty()) out += "<figcaption>" + escape(b.chart.title) + "</figcaption>";
                    out += "<p class=\"note\">figure not drawn: built without cairo</p></figure>\n";
                } else {
                    out += "<figure role=\"img\" aria-label=\"" + escape(b.chart.title) + "\">\n";
                    out += inline_svg(svg, figures);
                    out += "</figure>\n";
                }
                break;
            }
        }
    }
    out += "</main>\n</body>\n</html>\n";
    return out;
}

}  // namespace normout
