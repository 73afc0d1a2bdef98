// The report as an A4 PDF, and its figures as SVG, both drawn with cairo: one function draws a
// Chart onto a cairo context within a rectangle (draw_chart), used for the PDF's figures and for
// chart_svg (the HTML page's inline figures). Text uses cairo's "toy" API with DejaVu Sans, which
// covers the report's UTF-8 (±, –, ≥, ×, α). Built without cairo, the PDF writer refuses and
// chart_svg answers "".
#include <stdexcept>
#include <string>

#include "engine/report/document.h"

#ifdef NORMOUT_HAVE_CAIRO
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <vector>
#endif

namespace normout {

#ifndef NORMOUT_HAVE_CAIRO

bool report_pdf_available() {
    return false;
}

void write_pdf(const Document&, const std::string& path) {
    throw std::runtime_error(path + ": this build has no PDF writer (cairo); install libcairo2-dev and rebuild");
}

std::string chart_svg(const Chart&, double, double) {
    return "";
}

#else

namespace {

// ---------------------------------------------------------------------------------------------
// Text

struct Rgb {
    double r, g, b;
};

void set_colour(cairo_t* cr, Rgb c, double alpha = 1) {
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

const Rgb kBlack{0, 0, 0};
const Rgb kText{0.13, 0.13, 0.13};
const Rgb kGrey{0.4, 0.4, 0.4};
const Rgb kSupported{0.81, 0.925, 0.81};
const Rgb kContradicted{0.965, 0.79, 0.79};
const Rgb kInconclusive{0.953, 0.89, 0.71};

enum class Face { Sans, Bold, Italic, Mono };

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

enum class Align { Left, Centre, Right };

void show(cairo_t* cr, double x, double baseline, const std::string& text, Align align = Align::Left) {
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

void fill_rect(cairo_t* cr, double x, double y, double w, double h, Rgb c, double alpha = 1) {
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

// ---------------------------------------------------------------------------------------------
// Axes

struct Axis {
    double lo = 0, hi = 1;
    std::vector<double> ticks;
    std::vector<std::string> labels;
    bool log = false;
    // Position of a value between `from` and `to` (pixels).
    double map(double v, double from, double to) const {
        const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
        const double t = log ? std::log10(v) : v;
        return from + (t - a) / (b - a) * (to - from);
    }
};

std::string tick_label(double v, int decimals) {
    char buf[64];
    if (v != 0 && (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-4)) {
        std::snprintf(buf, sizeof buf, "%g", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    }
    std::string s = buf;
    if (!s.empty() && s[0] == '-') s = "\xE2\x88\x92" + s.substr(1);  // U+2212 minus
    return s;
}

// Ticks in steps of 1, 2 or 5 times a power of ten covering [lo, hi].
Axis linear_axis(double lo, double hi, int target = 6) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (!(hi > lo)) {
        const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
        lo -= d;
        hi += d;
    }
    const double raw = (hi - lo) / target;
    const double magnitude = std::pow(10, std::floor(std::log10(raw)));
    const double f = raw / magnitude;
    const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
    Axis a;
    const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
    a.lo = first * step;
    a.hi = last * step;
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    for (double k = first; k <= last + 0.5; ++k) {
        const double v = std::fabs(k) < 0.5 ? 0.0 : k * step;
        a.ticks.push_back(v);
        a.labels.push_back(tick_label(v, decimals));
    }
    return a;
}

// A logarithmic axis over [lo, hi] (both > 0, padded a little): ticks at the decades, or at
// 1, 2 and 5 (then 1 to 9) times them when the range holds fewer than three decades.
Axis log_axis(double lo, double hi) {
    if (!(lo > 0) || !std::isfinite(lo) || !std::isfinite(hi) || hi < lo) lo = 1, hi = 10;
    double a0 = std::log10(lo), a1 = std::log10(hi);
    const double pad = std::max(0.05, (a1 - a0) * 0.04);
    a0 -= pad;
    a1 += pad;
    Axis a;
    a.log = true;
    a.lo = std::pow(10.0, a0);
    a.hi = std::pow(10.0, a1);
    const int e0 = static_cast<int>(std::floor(a0)), e1 = static_cast<int>(std::ceil(a1));
    auto ticks_for = [&](const std::vector<double>& multiples, int every) {
        Axis t = a;
        for (int e = e0; e <= e1; ++e) {
            if ((e - e0) % every != 0) continue;
            for (double m : multiples) {
                const double v = m * std::pow(10.0, e);
                if (v < a.lo || v > a.hi) continue;
                t.ticks.push_back(v);
                t.labels.push_back(tick_label(v, std::max(0, -e)));
            }
        }
        return t;
    };
    const int decades = e1 - e0;
    Axis t = ticks_for({1}, decades > 8 ? (decades + 7) / 8 : 1);
    if (t.ticks.size() < 3) t = ticks_for({1, 2, 5}, 1);
    if (t.ticks.size() < 3) t = ticks_for({1, 2, 3, 4, 5, 6, 7, 8, 9}, 1);
    if (t.ticks.size() < 2) {
        // Less than a factor of two: plain steps.
        const Axis lin = linear_axis(a.lo, a.hi);
        t = a;
        for (std::size_t i = 0; i < lin.ticks.size(); ++i) {
            if (lin.ticks[i] >= a.lo && lin.ticks[i] <= a.hi) {
                t.ticks.push_back(lin.ticks[i]);
                t.labels.push_back(lin.labels[i]);
            }
        }
    }
    return t;
}

// ---------------------------------------------------------------------------------------------
// Charts

const Rgb kPalette[] = {{0.0, 0.447, 0.698}, {0.835, 0.369, 0.0},   {0.0, 0.62, 0.451}, {0.8, 0.475, 0.655},
                        {0.902, 0.624, 0.0}, {0.337, 0.706, 0.914}, {0.35, 0.35, 0.35}, {0.6, 0.4, 0.2}};
constexpr int kPaletteSize = sizeof kPalette / sizeof kPalette[0];
const Rgb kEstimate{0.1, 0.3, 0.58};
const Rgb kReference{0.8, 0.3, 0.05};
const Rgb kObservation{0.55, 0.55, 0.55};
const Rgb kGrid{0.9, 0.9, 0.9};

const double kTitleSize = 10, kLabelSize = 8, kTickSize = 7.5;

bool has_title(const Chart& c) {
    return !c.title.empty();
}

double intervals_chrome(const Chart& c) {
    bool legend = false;
    for (const auto& it : c.items)
        legend = legend || std::isfinite(it.reference) || !it.observations.empty();
    return 8 + (has_title(c) ? 18 : 0) + (legend ? 15 : 0) + 20 + (c.x_label.empty() ? 0 : 13);
}

double auto_height(const Chart& c, double width) {
    if (c.kind == Chart::Kind::Intervals) {
        return intervals_chrome(c) + 28.0 * std::max<std::size_t>(1, c.items.size());
    }
    return std::round(0.62 * width);
}

// Draws the title centred at the top; returns the y below it.
double chart_title(cairo_t* cr, const Chart& c, double x, double y, double w) {
    if (!has_title(c)) return y + 4;
    set_font(cr, Face::Bold, kTitleSize);
    set_colour(cr, kText);
    show(cr, x + w / 2, y + 13, ellipsize(cr, c.title, w - 8), Align::Centre);
    return y + 22;
}

void circle(cairo_t* cr, double x, double y, double r) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * M_PI);
}

void diamond(cairo_t* cr, double x, double y, double r) {
    cairo_move_to(cr, x, y - r);
    cairo_line_to(cr, x + r, y);
    cairo_line_to(cr, x, y + r);
    cairo_line_to(cr, x - r, y);
    cairo_close_path(cr);
}

void draw_reference(cairo_t* cr, double x, double y, double r) {
    diamond(cr, x, y, r);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    set_colour(cr, kReference);
    cairo_set_line_width(cr, 1.2);
    cairo_stroke(cr);
}

void draw_estimate(cairo_t* cr, double x, double y, double r) {
    circle(cr, x, y, r);
    set_colour(cr, kEstimate);
    cairo_fill(cr);
}

void y_label(cairo_t* cr, const std::string& text, double x, double y_mid, double room) {
    if (text.empty()) return;
    set_font(cr, Face::Sans, kLabelSize);
    set_colour(cr, kText);
    const std::string t = ellipsize(cr, text, room);
    cairo_save(cr);
    cairo_translate(cr, x, y_mid);
    cairo_rotate(cr, -M_PI / 2);
    show(cr, 0, 0, t, Align::Centre);
    cairo_restore(cr);
}

void draw_intervals(cairo_t* cr, const Chart& c, double X, double Y, double W, double H) {
    double top = chart_title(cr, c, X, Y, W);
    bool any_reference = false, any_observation = false;
    for (const auto& it : c.items) {
        any_reference = any_reference || std::isfinite(it.reference);
        any_observation = any_observation || !it.observations.empty();
    }
    // Legend, right-aligned on its own line.
    if (any_reference || any_observation) {
        set_font(cr, Face::Sans, kTickSize);
        double x = X + W - 6;
        const double cy = top + 5;
        auto entry = [&](const std::string& text, int kind) {
            x -= advance(cr, text);
            set_colour(cr, kText);
            show(cr, x, cy + 2.7, text);
            x -= 9;
            if (kind == 0) {
                draw_reference(cr, x, cy, 3.8);
            } else if (kind == 1) {
                circle(cr, x, cy, 1.7);
                set_colour(cr, kObservation);
                cairo_fill(cr);
            } else {
                line(cr, x - 6, cy, x + 6, cy, 1.3, kEstimate);
                draw_estimate(cr, x, cy, 3);
                x -= 4;
            }
            x -= 14;
        };
        if (any_reference) entry("thesis", 0);
        if (any_observation) entry("seeds", 1);
        entry("estimate and interval", 2);
        top += 15;
    }
    const double axis_y = Y + H - 20 - (c.x_label.empty() ? 0 : 13);
    const std::size_t n = std::max<std::size_t>(1, c.items.size());
    const double row_h = std::max(1.0, (axis_y - top) / static_cast<double>(n));
    const double label_size = std::max(4.5, std::min(kLabelSize, row_h * 0.75));

    // Label column: as wide as the widest label, up to 38% of the chart.
    set_font(cr, Face::Sans, label_size);
    double label_w = 0;
    for (const auto& it : c.items)
        label_w = std::max(label_w, advance(cr, it.label));
    const double y_label_w = c.y_label.empty() ? 0 : 14;
    label_w = std::min(label_w, 0.38 * W);
    const double px0 = X + y_label_w + label_w + 10, px1 = X + W - 12;
    const double inner = std::min(8.0, (px1 - px0) * 0.03);

    // Range over everything drawn.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    auto take = [&](double v) {
        if (std::isfinite(v) && (!c.x_log || v > 0)) lo = std::min(lo, v), hi = std::max(hi, v);
    };
    for (const auto& it : c.items) {
        take(it.estimate);
        take(it.low);
        take(it.high);
        take(it.reference);
        for (double o : it.observations)
            take(o);
    }
    take(c.zero_line);
    const Axis axis = !std::isfinite(lo) ? (c.x_log ? log_axis(1, 10) : linear_axis(0, 1))
                                         : (c.x_log ? log_axis(lo, hi) : linear_axis(lo, hi));
    // On a log axis a value at or below zero (an interval's low end) is drawn at the axis' start.
    auto xpos = [&](double v) { return axis.map(c.x_log ? std::max(v, axis.lo) : v, px0 + inner, px1 - inner); };

    // Row bands, grid and axis, zero line.
    for (std::size_t i = 0; i < c.items.size(); ++i) {
        if (i % 2 == 1) fill_rect(cr, px0, top + i * row_h, px1 - px0, row_h, {0.965, 0.965, 0.965});
    }
    set_font(cr, Face::Sans, kTickSize);
    for (std::size_t i = 0; i < axis.ticks.size(); ++i) {
        const double x = xpos(axis.ticks[i]);
        line(cr, x, top, x, axis_y, 0.5, kGrid);
        line(cr, x, axis_y, x, axis_y + 3, 0.6, kBlack);
        set_colour(cr, kText);
        show(cr, x, axis_y + 11.5, axis.labels[i], Align::Centre);
    }
    line(cr, px0, axis_y, px1, axis_y, 0.7, kBlack);
    if (std::isfinite(c.zero_line)) line(cr, xpos(c.zero_line), top, xpos(c.zero_line), axis_y, 0.9, {0.6, 0.6, 0.6});
    if (!c.x_label.empty()) {
        set_font(cr, Face::Sans, kLabelSize);
        set_colour(cr, kText);
        show(cr, (px0 + px1) / 2, axis_y + 25, ellipsize(cr, c.x_label, px1 - px0), Align::Centre);
    }
    y_label(cr, c.y_label, X + 9, (top + axis_y) / 2, axis_y - top);
    if (c.items.empty()) {
        set_font(cr, Face::Italic, kLabelSize);
        set_colour(cr, kGrey);
        show(cr, (px0 + px1) / 2, (top + axis_y) / 2 + 3, "no data", Align::Centre);
    }

    const double jitter_room = std::min(row_h * 0.2, 5.0);
    const double cap = std::min(row_h * 0.28, 5.0);
    const double dot = std::min(3.3, std::max(1.2, row_h * 0.14));
    for (std::size_t i = 0; i < c.items.size(); ++i) {
        const IntervalItem& it = c.items[i];
        const double cy = top + (i + 0.5) * row_h;
        set_font(cr, Face::Sans, label_size);
        set_colour(cr, kText);
        show(cr, px0 - 6, cy + label_size * 0.35, ellipsize(cr, it.label, label_w), Align::Right);
        if (std::isfinite(it.low) && std::isfinite(it.high)) {
            const double a = xpos(it.low), b = xpos(it.high);
            line(cr, a, cy, b, cy, 1.4, kEstimate);
            line(cr, a, cy - cap, a, cy + cap, 1.2, kEstimate);
            line(cr, b, cy - cap, b, cy + cap, 1.2, kEstimate);
        }
        for (std::size_t k = 0; k < it.observations.size(); ++k) {
            const double o = it.observations[k];
            if (!std::isfinite(o)) continue;
            const double j = static_cast<double>((k * 7 + i * 3) % 9) / 4.0 - 1.0;  // -1 .. 1
            circle(cr, xpos(o), cy + j * jitter_room, std::max(1.0, dot * 0.5));
        }
        set_colour(cr, kObservation, 0.85);
        cairo_fill(cr);
        if (std::isfinite(it.estimate)) {
            draw_estimate(cr, xpos(it.estimate), cy, dot);
        } else {
            set_font(cr, Face::Italic, std::min(kLabelSize, label_size));
            set_colour(cr, kGrey);
            show(cr, px0 + inner + 2, cy + label_size * 0.35, "no data");
        }
        if (std::isfinite(it.reference)) draw_reference(cr, xpos(it.reference), cy, dot + 1.2);
    }
}

void marker(cairo_t* cr, int shape, double x, double y, double r) {
    if (shape == 1) {
        cairo_rectangle(cr, x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
    } else if (shape == 2) {
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x + r, y + r * 0.75);
        cairo_line_to(cr, x - r, y + r * 0.75);
        cairo_close_path(cr);
    } else {
        circle(cr, x, y, r);
    }
}

void draw_scatter(cairo_t* cr, const Chart& c, double X, double Y, double W, double H) {
    const double top = chart_title(cr, c, X, Y, W);
    // Groups in order of first appearance; usable points.
    std::vector<std::string> groups;
    std::map<std::string, int> group_of;
    std::vector<const ScatterPoint*> points;
    double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
    for (const auto& p : c.points) {
        if (!std::isfinite(p.x) || !std::isfinite(p.y) || (c.x_log && !(p.x > 0))) continue;
        points.push_back(&p);
        if (group_of.emplace(p.label, static_cast<int>(groups.size())).second) groups.push_back(p.label);
        xlo = std::min(xlo, p.x), xhi = std::max(xhi, p.x), ylo = std::min(ylo, p.y), yhi = std::max(yhi, p.y);
    }
    const bool legend = groups.size() > 1 || (groups.size() == 1 && !groups[0].empty());
    const Axis xa = points.empty() ? (c.x_log ? log_axis(1, 10) : linear_axis(0, 1))
                                   : (c.x_log ? log_axis(xlo, xhi) : linear_axis(xlo, xhi));
    const Axis ya = points.empty() ? linear_axis(0, 1) : linear_axis(ylo, yhi, 5);

    set_font(cr, Face::Sans, kTickSize);
    double tick_w = 0;
    for (const auto& l : ya.labels)
        tick_w = std::max(tick_w, advance(cr, l));
    double legend_w = 0;
    if (legend) {
        set_font(cr, Face::Sans, kTickSize);
        for (const auto& g : groups)
            legend_w = std::max(legend_w, advance(cr, g.empty() ? "(none)" : g));
        legend_w = std::min(legend_w + 16, 0.3 * W);
    }
    const double px0 = X + (c.y_label.empty() ? 4 : 16) + tick_w + 6;
    const double px1 = X + W - (legend ? legend_w + 14 : 10);
    const double py0 = top + 4;
    const double py1 = Y + H - 20 - (c.x_label.empty() ? 0 : 13);
    const double inner = 6;
    auto xp = [&](double v) { return xa.map(v, px0 + inner, px1 - inner); };
    auto yp = [&](double v) { return ya.map(v, py1 - inner, py0 + inner); };

    // Grid, frame, axes.
    set_font(cr, Face::Sans, kTickSize);
    for (std::size_t i = 0; i < xa.ticks.size(); ++i) {
        const double x = xp(xa.ticks[i]);
        line(cr, x, py0, x, py1, 0.5, kGrid);
        line(cr, x, py1, x, py1 + 3, 0.6, kBlack);
        set_colour(cr, kText);
        show(cr, x, py1 + 11.5, xa.labels[i], Align::Centre);
    }
    for (std::size_t i = 0; i < ya.ticks.size(); ++i) {
        const double y = yp(ya.ticks[i]);
        line(cr, px0, y, px1, y, 0.5, kGrid);
        line(cr, px0 - 3, y, px0, y, 0.6, kBlack);
        set_colour(cr, kText);
        show(cr, px0 - 5, y + 2.6, ya.labels[i], Align::Right);
    }
    set_colour(cr, kBlack);
    cairo_set_line_width(cr, 0.7);
    cairo_rectangle(cr, px0, py0, px1 - px0, py1 - py0);
    cairo_stroke(cr);
    if (!c.x_label.empty()) {
        set_font(cr, Face::Sans, kLabelSize);
        set_colour(cr, kText);
        show(cr, (px0 + px1) / 2, py1 + 25, ellipsize(cr, c.x_label, px1 - px0), Align::Centre);
    }
    y_label(cr, c.y_label, X + 9, (py0 + py1) / 2, py1 - py0);
    if (points.empty()) {
        set_font(cr, Face::Italic, kLabelSize);
        set_colour(cr, kGrey);
        show(cr, (px0 + px1) / 2, (py0 + py1) / 2 + 3, "no data", Align::Centre);
        return;
    }

    // Least-squares line, clipped to the plot.
    if (c.fit_line && points.size() >= 2) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        double tmin = std::numeric_limits<double>::infinity(), tmax = -tmin;
        for (const ScatterPoint* p : points) {
            const double t = c.x_log ? std::log10(p->x) : p->x;
            sx += t, sy += p->y, sxx += t * t, sxy += t * p->y;
            tmin = std::min(tmin, t), tmax = std::max(tmax, t);
        }
        const double m = static_cast<double>(points.size());
        const double den = m * sxx - sx * sx;
        if (den > 0 && tmax > tmin) {
            const double slope = (m * sxy - sx * sy) / den, icpt = (sy - slope * sx) / m;
            auto back = [&](double t) { return c.x_log ? std::pow(10.0, t) : t; };
            cairo_save(cr);
            cairo_rectangle(cr, px0, py0, px1 - px0, py1 - py0);
            cairo_clip(cr);
            const double dash[] = {4, 3};
            cairo_set_dash(cr, dash, 2, 0);
            line(cr, xp(back(tmin)), yp(icpt + slope * tmin), xp(back(tmax)), yp(icpt + slope * tmax), 1, kGrey);
            cairo_restore(cr);
        }
    }

    for (const ScatterPoint* p : points) {
        const int g = group_of[p->label];
        marker(cr, (g / kPaletteSize) % 3, xp(p->x), yp(p->y), 3.2);
        set_colour(cr, kPalette[g % kPaletteSize], 0.85);
        cairo_fill_preserve(cr);
        set_colour(cr, {0.15, 0.15, 0.15}, 0.6);
        cairo_set_line_width(cr, 0.4);
        cairo_stroke(cr);
    }

    if (legend) {
        set_font(cr, Face::Sans, kTickSize);
        const double lx = px1 + 10;
        double ly = py0 + 6;
        for (std::size_t g = 0; g < groups.size(); ++g) {
            if (ly + 12 > py1 && g + 1 < groups.size()) {
                set_colour(cr, kGrey);
                show(cr, lx, ly + 2.6, "+ " + std::to_string(groups.size() - g) + " more");
                break;
            }
            marker(cr, (static_cast<int>(g) / kPaletteSize) % 3, lx + 3, ly, 3);
            set_colour(cr, kPalette[g % kPaletteSize], 0.85);
            cairo_fill(cr);
            set_colour(cr, kText);
            show(cr, lx + 10, ly + 2.6, ellipsize(cr, groups[g].empty() ? "(none)" : groups[g], legend_w - 12));
            ly += 12;
        }
    }
}

// One chart within the rectangle (x, y, w, h).
void draw_chart(cairo_t* cr, const Chart& c, double x, double y, double w, double h) {
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    if (c.kind == Chart::Kind::Scatter) {
        draw_scatter(cr, c, x, y, w, h);
    } else {
        draw_intervals(cr, c, x, y, w, h);
    }
    cairo_restore(cr);
}

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

struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
    void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

cairo_status_t discard(void*, const unsigned char*, unsigned int) {
    return CAIRO_STATUS_SUCCESS;
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
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

std::string chart_svg(const Chart& chart, double width_pt, double height_pt) {
    if (!(width_pt > 0) || !std::isfinite(width_pt)) width_pt = 480;
    if (!(height_pt > 0) || !std::isfinite(height_pt)) height_pt = auto_height(chart, width_pt);
    std::string out;
    cairo_status_t status = CAIRO_STATUS_SUCCESS;
    {
        Surface surface(cairo_svg_surface_create_for_stream(append_to_string, &out, width_pt, height_pt));
        {
            Context cr(cairo_create(surface.get()));
            draw_chart(cr.get(), chart, 0, 0, width_pt, height_pt);
            status = cairo_status(cr.get());
        }
        cairo_surface_finish(surface.get());
        if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface.get());
    }
    if (status != CAIRO_STATUS_SUCCESS) {
        throw std::runtime_error(std::string("drawing the figure \"") + chart.title +
                                 "\": " + cairo_status_to_string(status));
    }
    return out;
}

#endif

}  // namespace normout
