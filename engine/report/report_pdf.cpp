// The report as an A4 PDF, drawn with cairo: the title, headings, paragraphs, preformatted text
// and tables laid out on pages (a table breaks between rows and repeats its header, claim
// verdicts are coloured), the figures placed with draw_chart (report_charts.cpp), page numbers
// "n / total" in the footers (a first pass counts the pages); written to a temporary file next
// to the target and renamed over it. Text and shapes come from cairo_draw.h. Built without
// cairo, the PDF writer refuses.
#include <stdexcept>
#include <string>

#include "engine/report/document.h"

#ifdef NORMOUT_HAVE_CAIRO
#include <cairo-pdf.h>
#include <cairo.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/report/cairo_draw.h"
#include "engine/report/report_charts.h"
#endif

namespace normout {

#ifndef NORMOUT_HAVE_CAIRO

bool report_pdf_available() {
    return false;
}

void write_pdf(const Document&, const std::string& path) {
    throw std::runtime_error(path + ": this build has no PDF writer (cairo); install libcairo2-dev and rebuild");
}

#else

namespace {

using namespace report_detail;

// Claim verdicts in table cells.
const Rgb kSupported{0.81, 0.925, 0.81};
const Rgb kContradicted{0.965, 0.79, 0.79};
const Rgb kInconclusive{0.953, 0.89, 0.71};

// ---------------------------------------------------------------------------------------------
// Page layout

constexpr double kPageW = 595, kPageH = 842, kMargin = 50;
constexpr double kTextW = kPageW - 2 * kMargin;
constexpr double kTop = kMargin, kBottom = kPageH - kMargin - 10;
constexpr double kBodySize = 10, kBodyLine = 14;

class Layout {
  public:
    Layout(cairo_t* cr, int total_pages) : cr_(cr), total_(total_pages) {}

    // Draws the document; returns the number of pages.
    int run(const Document& doc) {
        if (!doc.title.empty()) {
            text(doc.title, Face::Bold, 20, 25, kText);
            y_ += 2;
        }
        if (!doc.subtitle.empty()) text(doc.subtitle, Face::Sans, 11, 15, kGrey);
        if (!doc.title.empty() || !doc.subtitle.empty()) {
            y_ += 5;
            line(cr_, kMargin, y_, kMargin + kTextW, y_, 0.6, {0.7, 0.7, 0.7});
            y_ += 12;
        }
        for (const Block& b : doc.blocks) {
            switch (b.kind) {
                case Block::Kind::Heading:
                    heading(b.text, b.level);
                    break;
                case Block::Kind::Paragraph:
                    text(b.text, Face::Sans, kBodySize, kBodyLine, kText);
                    y_ += 6;
                    break;
                case Block::Kind::Preformatted:
                    preformatted(b.text);
                    break;
                case Block::Kind::Table:
                    table(b.table);
                    break;
                case Block::Kind::Figure:
                    figure(b.chart);
                    break;
            }
        }
        footer();
        cairo_show_page(cr_);
        return page_;
    }

  private:
    cairo_t* cr_;
    int total_;
    int page_ = 1;
    double y_ = kTop;

    double room() const { return kBottom - y_; }
    bool at_top() const { return y_ <= kTop + 0.5; }

    void footer() {
        set_font(cr_, Face::Sans, 8);
        set_colour(cr_, kGrey);
        const std::string text =
            total_ > 0 ? std::to_string(page_) + " / " + std::to_string(total_) : std::to_string(page_);
        show(cr_, kPageW / 2, kPageH - kMargin + 18, text, Align::Centre);
    }

    void new_page() {
        footer();
        cairo_show_page(cr_);
        ++page_;
        y_ = kTop;
    }

    // Starts a new page unless `height` fits the rest of this one (or this one is empty).
    void need(double height) {
        if (height > room() && !at_top()) new_page();
    }

    // Wrapped text, a page break between any two lines.
    void text(const std::string& s, Face face, double size, double line_h, Rgb colour) {
        set_font(cr_, face, size);
        for (const std::string& l : wrap(cr_, s, kTextW)) {
            need(line_h);
            set_font(cr_, face, size);
            set_colour(cr_, colour);
            show(cr_, kMargin, baseline(cr_, y_, line_h), l);
            y_ += line_h;
        }
    }

    void heading(const std::string& s, int level) {
        const double sizes[] = {16, 13, 11}, before[] = {14, 10, 8};
        const int i = std::clamp(level, 1, 3) - 1;
        const double size = sizes[i], line_h = size * 1.3;
        if (!at_top()) y_ += before[i];
        set_font(cr_, Face::Bold, size);
        const std::vector<std::string> lines = wrap(cr_, s, kTextW);
        // Kept with the start of what follows.
        need(lines.size() * line_h + 3 * kBodyLine + 4);
        for (const std::string& l : lines) {
            set_font(cr_, Face::Bold, size);
            set_colour(cr_, kText);
            show(cr_, kMargin, baseline(cr_, y_, line_h), l);
            y_ += line_h;
        }
        y_ += 4;
    }

    void preformatted(const std::string& s) {
        const double size = 8, line_h = 10, pad = 5;
        set_font(cr_, Face::Mono, size);
        // Tabs to 8 columns, then lines wrapped between characters.
        std::vector<std::string> lines;
        std::size_t start = 0;
        while (start <= s.size()) {
            const std::size_t nl = std::min(s.find('\n', start), s.size());
            std::string l;
            for (char ch : s.substr(start, nl - start)) {
                if (ch == '\t') {
                    l.append(8 - l.size() % 8, ' ');
                } else if (ch != '\r') {
                    l += ch;
                }
            }
            l = clean(l);
            std::string piece;
            for (const std::string& cp : code_points(l)) {
                if (!piece.empty() && advance(cr_, piece + cp) > kTextW - 2 * pad) {
                    lines.push_back(piece);
                    piece = "  ";  // continuation, indented
                }
                piece += cp;
            }
            lines.push_back(piece);
            start = nl + 1;
        }
        while (lines.size() > 1 && lines.back().empty())
            lines.pop_back();
        std::size_t i = 0;
        while (i < lines.size()) {
            need(line_h + 2 * pad);
            const std::size_t fit = std::max<std::size_t>(1, static_cast<std::size_t>((room() - 2 * pad) / line_h));
            const std::size_t count = std::min(fit, lines.size() - i);
            fill_rect(cr_, kMargin, y_, kTextW, count * line_h + 2 * pad, {0.955, 0.955, 0.955});
            y_ += pad;
            set_font(cr_, Face::Mono, size);
            set_colour(cr_, kText);
            for (std::size_t k = 0; k < count; ++k, ++i) {
                show(cr_, kMargin + pad, baseline(cr_, y_, line_h), lines[i]);
                y_ += line_h;
            }
            y_ += pad;
            if (i < lines.size()) new_page();
        }
        y_ += 8;
    }

    struct TableLayout {
        double size = 9, pad = 4, vpad = 2, line_h = 11.7;
        std::vector<double> widths;
        std::vector<bool> numeric;
    };

    // Column widths from the widest cell; the font shrinks to 6 pt to fit, then the first column
    // wraps; if that is not enough, every column gets at least its longest word (a number is one
    // word) and the rest of the width in proportion to what it lacks.
    TableLayout table_layout(const TableBlock& t) {
        TableLayout L;
        L.numeric = numeric_columns(t);
        const std::size_t columns = L.numeric.size();
        std::vector<double> widest, longest_word;  // per column, at the size last measured
        auto measure_cell = [&](std::size_t c, const std::string& cell) {
            for (const auto& l : wrap(cr_, cell, 1e9)) {
                widest[c] = std::max(widest[c], advance(cr_, l));
                if (cell_is_numeric(cell)) {
                    longest_word[c] = std::max(longest_word[c], advance(cr_, l));
                    continue;
                }
                std::size_t i = 0;
                while (i < l.size()) {
                    const std::size_t end = std::min(l.find(' ', i), l.size());
                    longest_word[c] = std::max(longest_word[c], advance(cr_, l.substr(i, end - i)));
                    i = end + 1;
                }
            }
        };
        auto measure = [&](double size) {
            widest.assign(columns, 0);
            longest_word.assign(columns, 0);
            set_font(cr_, Face::Bold, size);
            for (std::size_t c = 0; c < t.header.size(); ++c)
                measure_cell(c, t.header[c]);
            set_font(cr_, Face::Sans, size);
            for (const auto& row : t.rows) {
                for (std::size_t c = 0; c < row.size(); ++c)
                    measure_cell(c, row[c]);
            }
            const double extra = 2 * size * 0.45 + 0.5;
            for (std::size_t c = 0; c < columns; ++c)
                widest[c] += extra, longest_word[c] += extra;
        };
        auto total = [](const std::vector<double>& w) {
            double s = 0;
            for (double x : w)
                s += x;
            return s;
        };
        double size = 9;
        measure(size);
        if (total(widest) > kTextW) {
            size = std::max(6.0, std::floor(size * kTextW / total(widest) * 10) / 10);
            measure(size);
            while (total(widest) > kTextW && size > 6) {
                size = std::max(6.0, size - 0.25);
                measure(size);
            }
        }
        std::vector<double> w = widest;
        if (total(w) > kTextW && columns > 0) {
            const double others = total(w) - w[0];
            if (kTextW - others >= std::max(longest_word[0], std::min(w[0], 0.2 * kTextW))) {
                w[0] = kTextW - others;
            } else if (total(longest_word) <= kTextW) {
                const double k = (kTextW - total(longest_word)) / (total(widest) - total(longest_word));
                for (std::size_t c = 0; c < columns; ++c)
                    w[c] = longest_word[c] + k * (widest[c] - longest_word[c]);
            } else {
                for (std::size_t c = 0; c < columns; ++c)
                    w[c] = longest_word[c] * kTextW / total(longest_word);
            }
        }
        L.size = size;
        L.pad = size * 0.45;
        L.vpad = size * 0.25;
        L.line_h = size * 1.3;
        L.widths = w;
        return L;
    }

    struct RowLines {
        std::vector<std::vector<std::string> > cells;
        double height = 0;
    };

    RowLines row_lines(const TableLayout& L, const std::vector<std::string>& row, Face face) {
        RowLines r;
        set_font(cr_, face, L.size);
        std::size_t most = 1;
        for (std::size_t c = 0; c < L.widths.size(); ++c) {
            r.cells.push_back(c < row.size() ? wrap(cr_, row[c], L.widths[c] - 2 * L.pad)
                                             : std::vector<std::string>{""});
            most = std::max(most, r.cells.back().size());
        }
        r.height = most * L.line_h + 2 * L.vpad;
        return r;
    }

    void draw_row(const TableLayout& L, const RowLines& r, const std::vector<std::string>& row, Face face, bool header,
                  bool shaded) {
        double width = 0;
        for (double w : L.widths)
            width += w;
        if (header) {
            fill_rect(cr_, kMargin, y_, width, r.height, {0.93, 0.93, 0.93});
        } else if (shaded) {
            fill_rect(cr_, kMargin, y_, width, r.height, {0.968, 0.968, 0.968});
        }
        double x = kMargin;
        for (std::size_t c = 0; c < L.widths.size(); ++c) {
            const std::string cell = c < row.size() ? row[c] : "";
            if (!header) {
                switch (cell_verdict(cell)) {
                    case Verdict::Supported:
                        fill_rect(cr_, x, y_, L.widths[c], r.height, kSupported);
                        break;
                    case Verdict::Contradicted:
                        fill_rect(cr_, x, y_, L.widths[c], r.height, kContradicted);
                        break;
                    case Verdict::Inconclusive:
                        fill_rect(cr_, x, y_, L.widths[c], r.height, kInconclusive);
                        break;
                    case Verdict::None:
                        break;
                }
            }
            const bool right = header ? L.numeric[c] : cell_right_aligned(cell, L.numeric[c]);
            set_font(cr_, face, L.size);
            set_colour(cr_, kText);
            double top = y_ + L.vpad;
            for (const std::string& l : r.cells[c]) {
                const double b = baseline(cr_, top, L.line_h);
                if (right) {
                    show(cr_, x + L.widths[c] - L.pad, b, l, Align::Right);
                } else {
                    show(cr_, x + L.pad, b, l);
                }
                top += L.line_h;
            }
            x += L.widths[c];
        }
        if (!header) line(cr_, kMargin, y_ + r.height, kMargin + width, y_ + r.height, 0.25, {0.82, 0.82, 0.82});
        y_ += r.height;
    }

    void table(const TableBlock& t) {
        const TableLayout L = table_layout(t);
        double width = 0;
        for (double w : L.widths)
            width += w;
        const double caption_size = 9.5, caption_line = 12.5;
        set_font(cr_, Face::Bold, caption_size);
        const std::vector<std::string> caption =
            t.title.empty() ? std::vector<std::string>{} : wrap(cr_, t.title, kTextW);
        const RowLines header = t.header.empty() ? RowLines{} : row_lines(L, t.header, Face::Bold);
        std::vector<RowLines> rows;
        for (const auto& r : t.rows)
            rows.push_back(row_lines(L, r, Face::Sans));

        const double caption_h = caption.size() * caption_line + (caption.empty() ? 0 : 3);
        need(caption_h + header.height + (rows.empty() ? 0 : rows[0].height) + 2);
        y_ += 2;
        for (const auto& l : caption) {
            set_font(cr_, Face::Bold, caption_size);
            set_colour(cr_, kText);
            show(cr_, kMargin, baseline(cr_, y_, caption_line), l);
            y_ += caption_line;
        }
        if (!caption.empty()) y_ += 3;

        auto start_rows = [&]() {
            line(cr_, kMargin, y_, kMargin + width, y_, 0.9, kBlack);
            if (!t.header.empty()) {
                draw_row(L, header, t.header, Face::Bold, true, false);
                line(cr_, kMargin, y_, kMargin + width, y_, 0.5, kBlack);
            }
        };
        start_rows();
        int on_page = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (rows[i].height > room() - 1 && on_page > 0) {
                line(cr_, kMargin, y_, kMargin + width, y_, 0.9, kBlack);
                new_page();
                if (!t.title.empty()) {
                    set_font(cr_, Face::Italic, 8.5);
                    set_colour(cr_, kGrey);
                    show(cr_, kMargin, baseline(cr_, y_, 12), ellipsize(cr_, t.title, kTextW - 60) + " (continued)");
                    y_ += 14;
                }
                start_rows();
                on_page = 0;
            }
            draw_row(L, rows[i], t.rows[i], Face::Sans, false, i % 2 == 1);
            ++on_page;
        }
        line(cr_, kMargin, y_, kMargin + width, y_, 0.9, kBlack);
        y_ += 4;
        if (!t.note.empty()) text(t.note, Face::Italic, 8, 10.5, kGrey);
        y_ += 10;
    }

    void figure(const Chart& c) {
        const double w = kTextW;
        const double h = std::min(auto_height(c, w), kBottom - kTop);
        need(h);
        draw_chart(cr_, c, kMargin, y_, w, h);
        y_ += h + 12;
    }
};

// ---------------------------------------------------------------------------------------------
// Output

cairo_status_t discard(void*, const unsigned char*, unsigned int) {
    return CAIRO_STATUS_SUCCESS;
}

struct FileSink {
    int fd = -1;
    int error = 0;
};

cairo_status_t write_to_file(void* closure, const unsigned char* data, unsigned int length) {
    auto* sink = static_cast<FileSink*>(closure);
    while (length > 0) {
        const ssize_t n = ::write(sink->fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            sink->error = n < 0 ? errno : EIO;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        data += n;
        length -= static_cast<unsigned int>(n);
    }
    return CAIRO_STATUS_SUCCESS;
}

// The temporary file next to the target: removed unless it was renamed over the target.
struct TempFile {
    std::string path;
    int fd = -1;
    bool keep = false;
    ~TempFile() {
        if (fd >= 0) ::close(fd);
        if (!keep && !path.empty()) ::unlink(path.c_str());
    }
};

std::string error_text(int error) {
    return std::strerror(error);
}

}  // namespace

bool report_pdf_available() {
    return true;
}

void write_pdf(const Document& doc, const std::string& path) {
    using namespace report_detail;
    // A first pass counts the pages, for the footers' "n / total".
    int pages = 0;
    {
        Surface surface(cairo_pdf_surface_create_for_stream(discard, nullptr, kPageW, kPageH));
        Context cr(cairo_create(surface.get()));
        pages = Layout(cr.get(), 0).run(doc);
    }

    TempFile tmp;
    std::vector<char> name(path.begin(), path.end());
    for (char ch : std::string(".tmp-XXXXXX"))
        name.push_back(ch);
    name.push_back('\0');
    tmp.fd = ::mkstemp(name.data());
    if (tmp.fd < 0) {
        throw std::runtime_error(path + ": cannot write the PDF here (creating a temporary file: " + error_text(errno) +
                                 ")");
    }
    tmp.path = name.data();
    ::fchmod(tmp.fd, 0644);

    FileSink sink;
    sink.fd = tmp.fd;
    cairo_status_t status = CAIRO_STATUS_SUCCESS;
    {
        Surface surface(cairo_pdf_surface_create_for_stream(write_to_file, &sink, kPageW, kPageH));
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
        if (!doc.title.empty()) {
            cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, clean(doc.title).c_str());
        }
        cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "NormOut Lab");
#endif
        {
            Context cr(cairo_create(surface.get()));
            Layout(cr.get(), pages).run(doc);
            status = cairo_status(cr.get());
        }
        cairo_surface_finish(surface.get());
        if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface.get());
    }
    if (sink.error != 0) throw std::runtime_error(path + ": cannot write the PDF: " + error_text(sink.error));
    if (status != CAIRO_STATUS_SUCCESS) {
        throw std::runtime_error(path + ": cannot write the PDF: " + cairo_status_to_string(status));
    }
    if (::fsync(tmp.fd) != 0) throw std::runtime_error(path + ": cannot write the PDF: " + error_text(errno));
    const int fd = tmp.fd;
    tmp.fd = -1;
    if (::close(fd) != 0) throw std::runtime_error(path + ": cannot write the PDF: " + error_text(errno));
    if (::rename(tmp.path.c_str(), path.c_str()) != 0) {
        throw std::runtime_error(path + ": cannot write the PDF: " + error_text(errno));
    }
    tmp.keep = true;
}

#endif

}  // namespace normout
