// The report's figures, drawn with cairo: interval charts (an estimate and its interval per row,
// the seeds as dots, the thesis's value as a diamond) and scatter plots (groups by colour and
// marker, an optional least-squares line), on linear or logarithmic axes. One function draws a
// Chart onto a cairo context within a rectangle (draw_chart, report_charts.h): the PDF's pages
// (report_pdf.cpp) place its figures with it, and chart_svg draws the HTML page's inline
// figures with it. Text and shapes come from cairo_draw.h. Built without cairo, chart_svg
// answers "".
#include <stdexcept>
#include <string>

#include "engine/report/document.h"

#ifdef NORMOUT_HAVE_CAIRO
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <vector>

#include "engine/report/cairo_draw.h"
#include "engine/report/report_charts.h"
#endif

namespace normout {

#ifndef NORMOUT_HAVE_CAIRO

std::string chart_svg(const Chart&, double, double) {
    return "";
}

#else

namespace report_detail {
namespace {

// ---------------------------------------------------------------------------------------------
// Axes

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

// Draws the title centred at the top; returns the y below it.
double chart_title(cairo_t* cr, const Chart& c, double x, double y, double w) {
    if (!has_title(c)) return y + 4;
    set_font(cr, Face::Bold, kTitleSize);
    set_colour(cr, kText);
    show(cr, x + w / 2, y + 13, ellipsize(cr, c.title, w - 8), Align::Centre);
    return y + 22;
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

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

}  // namespace

double auto_height(const Chart& c, double width) {
    if (c.kind == Chart::Kind::Intervals) {
        return intervals_chrome(c) + 28.0 * std::max<std::size_t>(1, c.items.size());
    }
    return std::round(0.62 * width);
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

}  // namespace report_detail

std::string chart_svg(const Chart& chart, double width_pt, double height_pt) {
    using namespace report_detail;
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
