#include "engine/flatness/flatness.h"

#include <cstdio>
#include <sstream>

namespace normout {

namespace {

std::string number_list(const std::vector<double>& v) {
    std::string s;
    char buf[32];
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%.17g", v[i]);
        s += (i ? "," : "") + std::string(buf);
    }
    return s;
}

AnalysisRow row(const std::string& measure, double value, double se, int64_t n, const std::string& params,
                int64_t param_count, double seconds, uint64_t seed, const WeightsPosition& at) {
    AnalysisRow r;
    r.texts["measure"] = measure;
    r.texts["params"] = params;
    r.numbers["value"] = value;
    r.numbers["standard_error"] = se;
    r.numbers["n"] = static_cast<double>(n);
    r.numbers["param_count"] = static_cast<double>(param_count);
    r.numbers["seconds"] = seconds;
    r.numbers["seed"] = static_cast<double>(seed);
    r.numbers["epoch"] = static_cast<double>(at.epoch);
    r.numbers["step"] = static_cast<double>(at.step);
    return r;
}

}  // namespace

FlatnessReport compute_flatness(Net& net, const ImageSet& test, const FlatnessConfig& config,
                                const c10::Device& device) {
    validate(config);
    FlatnessReport report;
    if (config.fisher_rao) report.fisher_rao = fisher_rao(net, test, config, device);
    if (config.hessian) report.hessian = hessian_measures(net, test, config, device);
    if (!config.landscape.empty())
        report.grids.push_back(landscape_slice(net, test, config, config.landscape == "2d" ? 2 : 1, device));
    return report;
}

std::vector<AnalysisRow> flatness_rows(const FlatnessReport& report, const WeightsPosition& at) {
    std::vector<AnalysisRow> rows;
    if (const auto& f = report.fisher_rao) {
        // Both versions come from the same passes, so both rows carry their time.
        rows.push_back(row("fisher_rao_empirical", f->empirical, f->empirical_se, f->n, f->params, f->param_count,
                           f->seconds, f->seed, at));
        rows.push_back(
            row("fisher_rao_model", f->model, f->model_se, f->n, f->params, f->param_count, f->seconds, f->seed, at));
    }
    if (const auto& h = report.hessian) {
        AnalysisRow trace = row("hessian_trace", h->trace.trace, h->trace.standard_error, h->n, h->params,
                                h->param_count, h->trace_seconds, h->seed, at);
        trace.numbers["samples"] = h->trace.samples;
        trace.numbers["batch_loss"] = h->loss;
        AnalysisRow top = row("hessian_top_eigenvalue", h->top.value, NAN, h->n, h->params, h->param_count,
                              h->top_seconds, h->seed, at);
        top.numbers["samples"] = h->top.iterations;
        top.numbers["converged"] = h->top.converged ? 1.0 : 0.0;
        top.numbers["batch_loss"] = h->loss;
        rows.push_back(trace);
        rows.push_back(top);
    }
    return rows;
}

std::map<std::string, AnalysisArray> landscape_arrays(const LandscapeGrid& g, const WeightsPosition& at) {
    std::map<std::string, std::string> attrs;
    attrs["kind"] = g.kind;
    attrs["x"] = number_list(g.x);
    attrs["n"] = std::to_string(g.n);
    attrs["seed"] = std::to_string(g.seed);
    attrs["epoch"] = std::to_string(at.epoch);
    attrs["step"] = std::to_string(at.step);
    attrs["seconds"] = std::to_string(g.seconds);
    std::vector<int64_t> shape = {static_cast<int64_t>(g.x.size())};
    if (g.kind == "interpolation") {
        attrs["axes"] = "alpha";
        attrs["x_meaning"] = "weights (1 - alpha) * from + alpha * to (parameters and BatchNorm running statistics)";
        attrs["from"] = g.from;
        attrs["to"] = g.to;
    } else {
        attrs["directions"] =
            "Gaussian, filter-normalised (Li et al. 2018): each filter scaled to the norm of its weight filter; "
            "BatchNorm and bias directions zero";
        attrs["x_meaning"] = "step along direction 1 (seed derive_seed(seed, 0xd1))";
        if (g.y.empty()) {
            attrs["axes"] = "x";
        } else {
            attrs["axes"] = "x,y";
            attrs["y"] = number_list(g.y);
            attrs["y_meaning"] = "step along direction 2 (seed derive_seed(seed, 0xd2))";
            shape.push_back(static_cast<int64_t>(g.y.size()));
        }
    }
    std::map<std::string, AnalysisArray> out;
    const std::string base = "flatness_" + (g.kind == "interpolation" ? g.kind : "landscape_" + g.kind);
    AnalysisArray loss{shape, g.loss, attrs}, accuracy{shape, g.accuracy, attrs};
    loss.attributes["values"] = "loss (mean cross-entropy over the n examples)";
    accuracy.attributes["values"] = "accuracy (fraction of the n examples classified correctly)";
    out[base + "_loss"] = std::move(loss);
    out[base + "_accuracy"] = std::move(accuracy);
    return out;
}

// Stores all of the report (store_analysis: never lost; AnalysisNotStored says where it is kept
// when the run's analysis file cannot take it).
void append_flatness(const std::string& run_path, const FlatnessReport& report, const WeightsPosition& at) {
    AnalysisBatch batch;
    batch.tables[kFlatnessTable] = flatness_rows(report, at);
    for (const auto& g : report.grids)
        for (auto& [name, array] : landscape_arrays(g, at))
            batch.arrays[name] = std::move(array);
    store_analysis(run_path, [&](const AnalysisData&) { return batch; });
}

}  // namespace normout
