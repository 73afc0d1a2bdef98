#pragma once
// The report's figures as report_charts.cpp draws them, for the PDF pages (report_pdf.cpp) to
// place; chart_svg (document.h) draws them as SVG. Internal to the report; empty when built
// without cairo.
#ifdef NORMOUT_HAVE_CAIRO
#include <cairo.h>

#include "engine/report/document.h"

namespace normout::report_detail {

// The height a chart wants at this width: intervals charts grow with their rows.
double auto_height(const Chart& c, double width);
// One chart within the rectangle (x, y, w, h), clipped to it.
void draw_chart(cairo_t* cr, const Chart& c, double x, double y, double w, double h);

}  // namespace normout::report_detail

#endif
