// The cairo drawing primitives shared by the report's figures and its PDF pages (declared, with
// what each does, in cairo_draw.h): kept apart so that report_charts.cpp and report_pdf.cpp each
// hold only what they draw. Compiled only with cairo.
#include "engine/report/cairo_draw.h"

#ifdef NORMOUT_HAVE_CAIRO
#include <algorithm>
#include <cmath>

namespace normout::report_detail {

// ---------------------------------------------------------------------------------------------
// Colours

void set_colour(cairo_t* cr, Rgb c, double alpha) {
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

// ---------------------------------------------------------------------------------------------
// Text

void set_font(cairo_t* cr, Face face, double size) {
    cairo_select_font_face(cr, face == Face::Mono ? "DejaVu Sans Mono" : "DejaVu Sans",
                           face == Face::Italic ? CAIRO_FONT_SLANT_OBLIQUE : CAIRO_FONT_SLANT_NORMAL,
                           face == Face::Bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

// Length of the UTF-8 sequence starting at s[i], 0 when it is not valid.
std::size_t utf8_length(const std::string& s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    }
    if (n == 2 && c < 0xC2) return 0;  // overlong
    return n;
}

// cairo puts its context in an error state for good on invalid UTF-8: replace such bytes by
// U+FFFD, tabs by spaces, and drop other control characters.
std::string clean(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_length(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\t') {
            out += ' ';
        } else if (n > 1 || c >= 0x20) {
            out.append(s, i, n);
        }
        i += n;
    }
    return out;
}

// The code points of a (clean) string.
std::vector<std::string> code_points(const std::string& s) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = std::max<std::size_t>(1, utf8_length(s, i));
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

double advance(cairo_t* cr, const std::string& text) {
    if (text.empty()) return 0;
    cairo_text_extents_t e;
    cairo_text_extents(cr, clean(text).c_str(), &e);
    return e.x_advance;
}

void show(cairo_t* cr, double x, double baseline, const std::string& text, Align align) {
    if (text.empty()) return;
    const std::string t = clean(text);
    double w = 0;
    if (align != Align::Left) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, t.c_str(), &e);
        w = e.x_advance;
    }
    cairo_move_to(cr, align == Align::Left ? x : align == Align::Centre ? x - w / 2 : x - w, baseline);
    cairo_show_text(cr, t.c_str());
    cairo_new_path(cr);
}

// The text shortened with "…" to fit `width`.
std::string ellipsize(cairo_t* cr, const std::string& text, double width) {
    if (advance(cr, text) <= width) return text;
    std::vector<std::string> cps = code_points(clean(text));
    while (!cps.empty()) {
        cps.pop_back();
        std::string t;
        for (const auto& c : cps)
            t += c;
        while (!t.empty() && t.back() == ' ')
            t.pop_back();
        if (advance(cr, t + "\xE2\x80\xA6") <= width) return t + "\xE2\x80\xA6";
    }
    return "";
}

// Words wrapped to `width` in the current font; '\n' breaks lines; a word wider than the line
// is broken between characters.
std::vector<std::string> wrap(cairo_t* cr, const std::string& text, double width) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (true) {
        const std::size_t nl = text.find('\n', start);
        const std::string line = clean(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        std::string current;
        std::size_t i = 0;
        while (i < line.size()) {
            if (line[i] == ' ') {
                ++i;
                continue;
            }
            const std::size_t end = std::min(line.find(' ', i), line.size());
            const std::string word = line.substr(i, end - i);
            i = end;
            const std::string candidate = current.empty() ? word : current + " " + word;
            if (advance(cr, candidate) <= width) {
                current = candidate;
                continue;
            }
            if (!current.empty()) lines.push_back(current);
            current.clear();
            if (advance(cr, word) <= width) {
                current = word;
                continue;
            }
            for (const std::string& cp : code_points(word)) {
                if (!current.empty() && advance(cr, current + cp) > width) {
                    lines.push_back(current);
                    current.clear();
                }
                current += cp;
            }
        }
        lines.push_back(current);
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return lines;
}

// The baseline of a line of height `line_height` whose top is `top`, in the current font.
double baseline(cairo_t* cr, double top, double line_height) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    return top + (line_height - (fe.ascent + fe.descent)) / 2 + fe.ascent;
}

// ---------------------------------------------------------------------------------------------
// Shapes

void fill_rect(cairo_t* cr, double x, double y, double w, double h, Rgb c, double alpha) {
    set_colour(cr, c, alpha);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
}

void line(cairo_t* cr, double x0, double y0, double x1, double y1, double width, Rgb c) {
    set_colour(cr, c);
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

void circle(cairo_t* cr, double x, double y, double r) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * M_PI);
}

}  // namespace normout::report_detail

#endif
