// The lab's memory with many finished runs open in Compare (issue 18's budget: 25 thesis-scale
// runs under 1 GB resident). Writes N run files of the thesis's scale through the engine's own
// recorder (100 epochs of 391 steps, layers 48 and 51 with 4096 units each, a row of layer
// statistics every step, per-epoch snapshots; per-unit histograms too with --unit-histograms),
// then opens them all in a MainWindow's Compare tab and prints the resident memory.
//
//   compare_memory TEMPLATE.h5 FOLDER [--runs 25] [--epochs 100] [--steps 391] [--units 4096]
//                  [--unit-histograms] [--reuse]
//
// TEMPLATE.h5 is any run file (its configuration and header are reused). --reuse opens the files
// already in FOLDER instead of writing them.
#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QTabWidget>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "engine/runfile/run_file.h"
#include "engine/runfile/run_recorder.h"
#include "ui/compare_view.h"
#include "ui/main_window.h"

using namespace normout;

namespace {

long status_kb(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
    return -1;
}

void write_run(const std::string& path, RunHeader h, int epochs, int steps, int64_t units, bool unit_hists,
               unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u01(0, 1);
    const int bins = h.histogram_bins;
    RunRecorder rec(path, h, 5.0);
    int64_t g = 0;
    for (int e = 1; e <= epochs; ++e) {
        for (int s = 0; s < steps; ++s) {
            ++g;
            rec.add_step({g, e, 2.3 * std::exp(-g / 5000.0) + 0.1 * u01(rng), u01(rng), 0.01, g * 0.05});
            std::vector<LayerStepStats> rows;
            for (const auto& l : h.instrumented) {
                LayerStepStats r;
                r.global_step = g;
                r.layer = l.index;
                r.input = r.output = r.input_ewma = r.output_ewma = {u01(rng), 1 + u01(rng), u01(rng), u01(rng), u01(rng)};
                r.has_keep = l.keep;
                r.keep = r.keep_ewma = {u01(rng), u01(rng), u01(rng), u01(rng), u01(rng)};
                rows.push_back(r);
            }
            rec.add_layer_steps(rows);
        }
        EpochRecord er;
        er.epoch = e;
        er.train_loss = er.test_loss = 1.0 / e;
        er.train_accuracy = er.test_accuracy = 1 - 1.0 / (e + 1);
        er.val_loss = er.val_accuracy = NAN;
        er.epoch_seconds = 60;
        er.wall_seconds = 60.0 * e;
        rec.add_epoch(er);
        std::vector<LayerEpochSnapshot> snaps;
        for (const auto& l : h.instrumented) {
            LayerEpochSnapshot sn;
            sn.epoch = e;
            sn.layer = l.index;
            for (int64_t k = 0; k < units; ++k) {
                sn.neuron_mean.push_back(static_cast<float>(u01(rng)));
                sn.neuron_std.push_back(static_cast<float>(u01(rng)));
                sn.neuron_rate.push_back(static_cast<float>(u01(rng)));
            }
            for (int b = 0; b <= bins; ++b)
                sn.hist_edges.push_back(b / double(bins));
            sn.hist_counts.assign(static_cast<std::size_t>(bins), 100.0);
            if (l.keep) sn.keep_hist.assign(kKeepHistogramBins, 1000.0);
            for (std::size_t j = 0; j < l.neurons.size(); ++j)
                sn.neuron_hists.emplace_back(static_cast<std::size_t>(bins) + 2, 10.0);
            if (unit_hists) {
                sn.unit_edges = sn.hist_edges;
                sn.unit_hists.assign(static_cast<std::size_t>(units * (bins + 3)), 0.0);
                for (auto& c : sn.unit_hists)
                    c = std::floor(u01(rng) * u01(rng) * 2000);
                if (l.keep) sn.unit_keep_hists.assign(static_cast<std::size_t>(units * kKeepHistogramBins), 0.0);
            }
            snaps.push_back(std::move(sn));
        }
        rec.add_layer_epochs(snaps);
    }
    const std::string error = rec.finish(RunStatus::Finished, "", g);
    if (!error.empty()) throw std::runtime_error(error);
}

}  // namespace

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() < 3) {
        std::fprintf(stderr, "usage: compare_memory TEMPLATE.h5 FOLDER [--runs N] [--epochs E] [--steps S] "
                             "[--units U] [--unit-histograms] [--reuse]\n");
        return 1;
    }
    auto number = [&](const char* name, int fallback) {
        const int i = args.indexOf(name);
        return i > 0 && i + 1 < args.size() ? args[i + 1].toInt() : fallback;
    };
    const int runs = number("--runs", 25), epochs = number("--epochs", 100), steps = number("--steps", 391);
    const int64_t units = number("--units", 4096);
    const bool unit_hists = args.contains("--unit-histograms"), reuse = args.contains("--reuse");
    const QString folder = args[2];
    QDir().mkpath(folder);
    QStringList paths;
    try {
        RunHeader h = read_run(args[1].toStdString()).header;
        const InstrumentData inst = read_instrumentation(args[1].toStdString(), false);
        h.instrumented = inst.layers;
        h.histogram_bins = inst.histogram_bins;
        h.instrument_every = inst.every;
        h.ewma_alpha = inst.ewma_alpha;
        if (h.instrumented.empty()) throw std::runtime_error("the template run has no instrumented layers");
        h.weights.clear();
        for (auto& l : h.instrumented)
            l.units = units;
        QElapsedTimer clock;
        clock.start();
        for (int r = 0; r < runs; ++r) {
            const QString path = QDir(folder).filePath(QStringLiteral("run-%1.h5").arg(r, 2, 10, QLatin1Char('0')));
            if (!reuse) {
                h.run_id = "memory-bench-" + std::to_string(r);
                write_run(path.toStdString(), h, epochs, steps, units, unit_hists, static_cast<unsigned>(r));
            }
            paths << path;
        }
        if (!reuse)
            std::printf("wrote %d runs (%d epochs x %d steps, %lld units) in %.1f s; first file %.1f MB\n", runs,
                        epochs, steps, static_cast<long long>(units), clock.elapsed() / 1000.0,
                        QFileInfo(paths.front()).size() / 1e6);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "compare_memory: %s\n", e.what());
        return 1;
    }
    const long before = status_kb("VmRSS:");
    normout::ui::MainWindow w;
    w.resize(1400, 900);
    w.show();
    QElapsedTimer clock;
    clock.start();
    w.compare_runs(paths);
    while (w.compare_view()->run_count() < runs && clock.elapsed() < 600000)
        QApplication::processEvents(QEventLoop::AllEvents, 50);
    const double load_s = clock.elapsed() / 1000.0;
    w.tabs()->setCurrentWidget(w.compare_view());
    for (int i = 0; i < w.compare_view()->metrics().size() && i < 40; ++i) {  // draw many curves
        w.compare_view()->select_metric(i);
        QApplication::processEvents(QEventLoop::AllEvents, 20);
    }
    QElapsedTimer settle;
    settle.start();
    while (settle.elapsed() < 1000)
        QApplication::processEvents(QEventLoop::AllEvents, 20);
    std::printf("%d runs in Compare after %.1f s: resident %.0f MB (%.0f MB before the window; peak %.0f MB)\n",
                w.compare_view()->run_count(), load_s, status_kb("VmRSS:") / 1024.0, before / 1024.0,
                status_kb("VmHWM:") / 1024.0);
    return w.compare_view()->run_count() == runs ? 0 : 1;
}
