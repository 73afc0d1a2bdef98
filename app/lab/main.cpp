// `normout-lab`: the Qt lab. Without a display it says so and trains the quick preset headless.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>
#include <cstdlib>

#include "console.h"
#include "engine/config/presets.h"
#include "engine/data/locate.h"
#include "engine/runfile/hdf5_handle.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/util/user_dirs.h"
#include "engine/version.h"
#include "ui/config_panel.h"
#include "ui/dashboard.h"
#include "ui/figure_set.h"
#include "ui/main_window.h"
#include "ui/screenshots.h"
#include "ui/training_controller.h"

namespace {

bool have_display() {
    for (const char* var : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) {
        const char* v = std::getenv(var);
        if (v && *v) return true;
    }
    return false;
}

std::string version_text() {
    return std::string("normout-lab ") + normout::project_version() + " (" + normout::code_version() + ")\nLibTorch " +
           normout::torch_version() + ", CUDA " + normout::cuda_version() + ", Qt " + QT_VERSION_STR + ", HDF5 " +
           normout::hdf5_version();
}

// The embedded default without a window: the quick preset, as `normout train --preset quick`.
int headless_quick_run() {
    std::fprintf(stderr,
                 "normout-lab: no display found (DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM are unset): running "
                 "the quick preset headless instead.\n");
    // The lab's Runs tab shows this folder by default, so the headless run appears there too.
    const std::string out =
        normout::default_runs_dir() + "/quick-headless-" + normout::new_run_id().substr(0, 8) + ".h5";
    normout::TrainOptions options;
    options.out_path = out;
    options.data_roots = normout::data_roots("");
    normout::cli::ConsoleObserver console(false);
    const auto outcome = normout::train(normout::preset_config("quick"), options, &console);
    return outcome.status == normout::RunStatus::Finished ? 0 : 3;
}

// `normout-lab export RUNS... --figures DIR`: the figure set without a window.
int export_figures(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setApplicationName("normout-lab");
    QCommandLineParser parser;
    parser.setApplicationDescription("Export the thesis-style figure set of runs (PDF, SVG, PNG and CSV)");
    parser.addHelpOption();
    parser.addPositionalArgument("export", "The command.");
    parser.addPositionalArgument("runs", "Run files (.h5).", "RUN.h5...");
    const QCommandLineOption figures("figures", "Folder to write the figures into.", "folder");
    const QCommandLineOption formats("formats", "Comma-separated: pdf, svg, png (default all).", "list", "pdf,svg,png");
    const QCommandLineOption size("size", "Figure size in millimetres, WxH (default 160x100).", "WxH", "160x100");
    const QCommandLineOption dpi("dpi", "Resolution of PNG files (default 300).", "dpi", "300");
    const QCommandLineOption font("font", "Font family (default: the system's).", "family");
    const QCommandLineOption font_size("font-size", "Font size in points (default 9).", "points", "9");
    const QCommandLineOption raw("no-seed-groups", "Draw every run, not the mean of runs differing only by seed.");
    const QCommandLineOption unit("unit",
                                  "Also a unit's figures (repeatable): its histogram and keep probabilities across the "
                                  "runs, and its histograms over the epochs.",
                                  "LAYER:UNIT");
    parser.addOptions({figures, formats, size, dpi, font, font_size, raw, unit});
    parser.process(app);
    const QStringList positional = parser.positionalArguments();
    if (!parser.isSet(figures) || positional.size() < 2) {
        std::fprintf(stderr, "normout-lab export: give run files and --figures DIR\n");
        return 1;
    }
    normout::ui::FigureSetOptions options;
    options.kinds = parser.value(formats).split(',', Qt::SkipEmptyParts);
    const QStringList wh = parser.value(size).toLower().split('x');
    bool ok_w = false, ok_h = false, ok_dpi = false, ok_font = false;
    if (wh.size() == 2) {
        options.format.width_mm = wh[0].toDouble(&ok_w);
        options.format.height_mm = wh[1].toDouble(&ok_h);
    }
    options.format.dpi = parser.value(dpi).toDouble(&ok_dpi);
    options.format.font_points = parser.value(font_size).toDouble(&ok_font);
    options.format.font_family = parser.value(font);
    options.group_seeds = !parser.isSet(raw);
    if (!ok_w || !ok_h || !ok_dpi || !ok_font || options.format.width_mm <= 0 || options.format.height_mm <= 0 ||
        options.format.dpi <= 0 || options.format.font_points <= 0) {
        std::fprintf(stderr, "normout-lab export: bad --size, --dpi or --font-size\n");
        return 1;
    }
    for (const QString& u : parser.values(unit)) {
        const QStringList parts = u.split(':');
        bool ok_l = false, ok_u = false;
        const int l = parts.size() == 2 ? parts[0].toInt(&ok_l) : -1;
        const qlonglong n = parts.size() == 2 ? parts[1].toLongLong(&ok_u) : -1;
        if (!ok_l || !ok_u || l < 0 || n < 0) {
            std::fprintf(stderr, "normout-lab export: --unit takes LAYER:UNIT (numbers), not '%s'\n", qPrintable(u));
            return 1;
        }
        options.units.emplace_back(l, n);
    }
    for (const QString& k : options.kinds)
        if (k != "pdf" && k != "svg" && k != "png") {
            std::fprintf(stderr, "normout-lab export: unknown format '%s' (pdf, svg, png)\n", qPrintable(k));
            return 1;
        }
    try {
        std::vector<normout::ui::RunData> runs;
        for (int i = 1; i < positional.size(); ++i)
            if (!normout::is_segment_path(positional[i].toStdString()))  // segments join their run
                runs.push_back(normout::ui::load_run_data(positional[i].toStdString()));
        std::vector<const normout::ui::RunData*> pointers;
        for (const auto& r : runs)
            pointers.push_back(&r);
        const QStringList files = normout::ui::export_figure_set(pointers, parser.value(figures), options);
        for (const QString& f : files)
            std::printf("%s\n", qPrintable(f));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "normout-lab export: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    normout::silence_hdf5_errors();
    if (argc > 1 && std::string(argv[1]) == "export") return export_figures(argc, argv);
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--version") {
            std::printf("%s\n", version_text().c_str());
            return 0;
        }
    if (!have_display()) {
        try {
            return headless_quick_run();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "normout-lab: %s\n", e.what());
            return 1;
        }
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName("normout-lab");
    QApplication::setOrganizationName("NormOut");
    QApplication::setApplicationVersion(normout::project_version());
    QCommandLineParser parser;
    parser.setApplicationDescription("NormOut Lab: configure, run and watch synaptic-failure dropout experiments");
    parser.addHelpOption();
    parser.addPositionalArgument("run", "A run file to open (.h5)", "[RUN.h5]");
    const QCommandLineOption preset("preset", "Preset to show in the configuration panel.", "name");
    const QCommandLineOption set("set", "Override a setting, key=value (repeatable).", "key=value");
    const QCommandLineOption start("start", "Start training the configuration at once.");
    const QCommandLineOption out("out", "Run file for --start.", "path");
    const QCommandLineOption shots("screenshots",
                                   "Save screenshots of the window, dashboard and inspector into "
                                   "this folder after --screenshot-delay seconds, then quit.",
                                   "folder");
    const QCommandLineOption compare("compare", "Open these runs side by side in the Compare tab (repeatable).",
                                     "RUN.h5");
    const QCommandLineOption delay("screenshot-delay", "Seconds before the screenshots (default 30).", "seconds", "30");
    parser.addOptions({preset, set, start, out, shots, delay, compare});
    parser.process(app);

    normout::ui::MainWindow window;
    window.resize(1600, 1000);
    window.show();
    if (parser.isSet(preset)) window.config_panel()->select_preset(parser.value(preset));
    for (const QString& assignment : parser.values(set)) {
        const int eq = assignment.indexOf('=');
        if (eq > 0) window.config_panel()->set_text(assignment.left(eq), assignment.mid(eq + 1));
    }
    if (parser.isSet(out)) window.config_panel()->set_run_path(parser.value(out));
    if (!parser.positionalArguments().isEmpty()) window.open_run(parser.positionalArguments().front());
    if (parser.isSet(compare)) {
        window.compare_runs(parser.values(compare));
        if (parser.isSet(shots)) window.show_tab(window.dashboard());  // the window shot shows the live run
    }
    if (parser.isSet(start)) QTimer::singleShot(0, &window, [&window] { window.start_training(); });
    if (parser.isSet(shots)) {
        const QString folder = parser.value(shots);
        QTimer::singleShot(static_cast<int>(parser.value(delay).toDouble() * 1000), &window, [&window, folder] {
            normout::ui::save_screenshots(window, folder);
            window.stop_training();
            window.controller()->wait(60000);
            QApplication::quit();
        });
    }
    return app.exec();
}
