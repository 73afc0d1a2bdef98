#pragma once
// The cairo drawing primitives shared by the report's figures (report_charts.cpp) and its PDF
// pages (report_pdf.cpp): fonts, UTF-8 made safe for cairo, text measured, shortened, wrapped
// and shown, colours, lines, rectangles, circles, and owning handles for surfaces and contexts.
// Internal to the report: only those two files include it. Text uses cairo's "toy" API with
// DejaVu Sans, which covers the report's UTF-8 (±, –, ≥, ×, α). Empty when built without cairo.
#ifdef NORMOUT_HAVE_CAIRO
#include <cairo.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace normout::report_detail {

// ---------------------------------------------------------------------------------------------
// Colours

struct Rgb {
    double r, g, b;
};

constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kText{0.13, 0.13, 0.13};
constexpr Rgb kGrey{0.4, 0.4, 0.4};

void set_colour(cairo_t* cr, Rgb c, double alpha = 1);

// ---------------------------------------------------------------------------------------------
// Text

enum class Face { Sans, Bold, Italic, Mono };
enum class Align { Left, Centre, Right };

void set_font(cairo_t* cr, Face face, double size);

// Length of the UTF-8 sequence starting at s[i], 0 when it is not valid.
std::size_t utf8_length(const std::string& s, std::size_t i);
// cairo puts its context in an error state for good on invalid UTF-8: replace such bytes by
// U+FFFD, tabs by spaces, and drop other control characters.
std::string clean(const std::string& s);
// The code points of a (clean) string.
std::vector<std::string> code_points(const std::string& s);

// The width of the text in the current font.
double advance(cairo_t* cr, const std::string& text);
// Shows the text on the baseline, starting, centred or ending at x.
void show(cairo_t* cr, double x, double baseline, const std::string& text, Align align = Align::Left);
// The text shortened with "…" to fit `width`.
std::string ellipsize(cairo_t* cr, const std::string& text, double width);
// Words wrapped to `width` in the current font; '\n' breaks lines; a word wider than the line
// is broken between characters.
std::vector<std::string> wrap(cairo_t* cr, const std::string& text, double width);
// The baseline of a line of height `line_height` whose top is `top`, in the current font.
double baseline(cairo_t* cr, double top, double line_height);

// ---------------------------------------------------------------------------------------------
// Shapes

void fill_rect(cairo_t* cr, double x, double y, double w, double h, Rgb c, double alpha = 1);
void line(cairo_t* cr, double x0, double y0, double x1, double y1, double width, Rgb c);
// A circle as a new sub-path, to fill or stroke.
void circle(cairo_t* cr, double x, double y, double r);

// ---------------------------------------------------------------------------------------------
// Owning handles

struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
    void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

}  // namespace normout::report_detail

#endif
