#include "plots/figure_export.h"

#include <QFile>
#include <QFileInfo>
#include <QSvgGenerator>
#include <QTextStream>
#include <cmath>

#include "plots/qcp.h"
#include "plots/replot_queue.h"

namespace normout::plots {

namespace {

// Sets every text of the plot to the export font for the duration of an export.
class FontScope {
  public:
    FontScope(QCustomPlot* plot, const ExportOptions& o) : plot_(plot) {
        QFont base = plot->font();
        if (!o.font_family.isEmpty()) base.setFamily(o.font_family);
        base.setPointSizeF(o.font_points);
        QFont label = base;
        label.setPointSizeF(o.font_points * 1.1);
        for (QCPAxis* a : plot->axisRect()->axes()) {
            saved_axes_.push_back({a, a->tickLabelFont(), a->labelFont()});
            a->setTickLabelFont(base);
            a->setLabelFont(label);
        }
        saved_legend_ = plot->legend->font();
        plot->legend->setFont(base);
        for (int i = 0; i < plot->legend->itemCount(); ++i)
            if (auto* item = qobject_cast<QCPPlottableLegendItem*>(plot->legend->item(i))) {
                saved_items_.push_back({item, item->font()});
                item->setFont(base);
            }
        if (plot->plotLayout()->rowCount() > 0)
            if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))) {
                title_ = title;
                saved_title_ = title->font();
                QFont t = label;
                t.setBold(true);
                title->setFont(t);
            }
    }
    ~FontScope() {
        for (const auto& s : saved_axes_) {
            s.axis->setTickLabelFont(s.ticks);
            s.axis->setLabelFont(s.label);
        }
        plot_->legend->setFont(saved_legend_);
        for (const auto& s : saved_items_)
            s.item->setFont(s.font);
        if (title_) title_->setFont(saved_title_);
    }

  private:
    struct AxisFonts {
        QCPAxis* axis;
        QFont ticks, label;
    };
    struct ItemFont {
        QCPAbstractLegendItem* item;
        QFont font;
    };
    QCustomPlot* plot_;
    std::vector<AxisFonts> saved_axes_;
    std::vector<ItemFont> saved_items_;
    QFont saved_legend_;
    QCPTextElement* title_ = nullptr;
    QFont saved_title_;
};

}  // namespace

QString export_plot(QCustomPlot* plot, const QString& path, const ExportOptions& o) {
    if (o.width_mm <= 0 || o.height_mm <= 0 || o.dpi <= 0) return QStringLiteral("invalid figure size or DPI");
    const QString ext = QFileInfo(path).suffix().toLower();
    // Sizes in PostScript points (1/72 inch): fonts in points keep their size in every format.
    const int w = static_cast<int>(std::lround(o.width_mm / 25.4 * 72.0));
    const int h = static_cast<int>(std::lround(o.height_mm / 25.4 * 72.0));
    ReplotQueue::instance().flush(plot);  // axes fitted to the newest data
    FontScope fonts(plot, o);
    bool ok = false;
    if (ext == "png") {
        ok = plot->savePng(path, w, h, o.dpi / 72.0, -1, static_cast<int>(std::lround(o.dpi)), QCP::ruDotsPerInch);
    } else if (ext == "pdf") {
        ok = plot->savePdf(path, w, h, QCP::epNoCosmetic, QStringLiteral("NormOut Lab"), plot->objectName());
    } else if (ext == "svg") {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(QSize(w, h));
        svg.setViewBox(QRect(0, 0, w, h));
        svg.setResolution(72);
        svg.setTitle(plot->objectName());
        svg.setDescription(QStringLiteral("Exported by NormOut Lab"));
        QCPPainter painter;
        if (painter.begin(&svg)) {
            plot->toPainter(&painter, w, h);
            ok = painter.end();
        }
    } else {
        return QStringLiteral("%1: unknown figure format '%2' (png, pdf, svg)").arg(path, ext);
    }
    ReplotQueue::instance().request(plot);  // back to its on-screen fonts
    return ok && QFileInfo(path).size() > 0 ? QString() : QStringLiteral("%1: could not write the figure").arg(path);
}

QString export_csv(QCustomPlot* plot, const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return QStringLiteral("%1: cannot write").arg(path);
    QTextStream out(&file);
    out << "series,x,y,error_or_low,high\n";
    auto quote = [](QString s) {
        if (s.contains(',') || s.contains('"')) s = '"' + s.replace('"', "\"\"") + '"';
        return s;
    };
    for (int i = 0; i < plot->plottableCount(); ++i) {
        QCPAbstractPlottable* p = plot->plottable(i);
        if (p->name().isEmpty()) continue;
        if (auto* g = qobject_cast<QCPGraph*>(p)) {
            // An error-bar plottable attached to this graph gives the error column.
            QCPErrorBars* errors = nullptr;
            for (int j = 0; j < plot->plottableCount(); ++j)
                if (auto* e = qobject_cast<QCPErrorBars*>(plot->plottable(j)); e && e->dataPlottable() == g) errors = e;
            int k = 0;
            for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it, ++k) {
                out << quote(g->name()) << ',' << it->key << ',' << it->value;
                if (errors && k < errors->dataCount()) out << ',' << errors->data()->at(k).errorMinus;
                out << '\n';
            }
        } else if (auto* b = qobject_cast<QCPBars*>(p)) {
            for (auto it = b->data()->constBegin(); it != b->data()->constEnd(); ++it)
                out << quote(b->name()) << ',' << it->key << ',' << it->value << '\n';
        }
    }
    file.close();
    return file.error() == QFile::NoError ? QString() : QStringLiteral("%1: write error").arg(path);
}

}  // namespace normout::plots
