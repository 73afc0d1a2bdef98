#include "engine/report/run_summary.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <stdexcept>

#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"

namespace normout {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
namespace fs = std::filesystem;

// The order of a result: newest weights first, then the newest evaluation of those weights.
double result_order(const AnalysisRow& row) {
    const double step = row.number("weights_step"), evaluation = row.number("evaluation");
    return (std::isfinite(step) ? step : 0) * 1e6 + (std::isfinite(evaluation) ? evaluation : 0);
}

bool main_role(const AnalysisRow& row) {
    const std::string role = row.text("role");
    return role.empty() || role == "main";
}

// The newest row of `table` whose texts match.
const AnalysisRow* newest(const AnalysisData& data, const char* table,
                          const std::vector<std::pair<std::string, std::string>>& match) {
    const auto t = data.tables.find(table);
    if (t == data.tables.end()) return nullptr;
    const AnalysisRow* best = nullptr;
    for (const auto& row : t->second.rows) {
        bool ok = main_role(row);
        for (const auto& [k, v] : match)
            ok = ok && row.text(k) == v;
        if (ok && (!best || result_order(row) >= result_order(*best))) best = &row;
    }
    return best;
}

}  // namespace

RunSummary read_run_summary(const std::string& path) {
    const RunInfo info = read_run(path);
    RunSummary s;
    s.path = path;
    const auto& h = info.header;
    s.name = h.name;
    s.preset = h.preset;
    s.config_json = h.config_json;
    s.code_version = h.code_version;
    s.device = h.device;
    s.torch_version = h.torch_version;
    s.created_utc = h.created_utc;
    s.status = info.status;
    s.dataset = h.dataset;
    s.train_count = h.train_count;
    s.test_count = h.test_count;
    const auto config = nlohmann::json::parse(h.config_json, nullptr, false);
    if (config.is_discarded() || !config.is_object())
        throw RunFileError(path +
                           ": attribute 'config' of /: expected a configuration in JSON, found text that is not JSON");
    try {
        s.seed = config.at("train").at("seed").get<uint64_t>();
        s.planned_epochs = config.at("train").at("epochs").get<int>();
    } catch (const std::exception&) {
        throw RunFileError(path + ": attribute 'config' of /: train.seed or train.epochs missing or not a number");
    }
    s.epochs = info.epochs.empty() ? 0 : info.epochs.back().epoch;
    s.train_accuracy = info.epochs.empty() ? kNaN : 100 * info.epochs.back().train_accuracy;
    s.test_accuracy = info.epochs.empty() ? kNaN : 100 * info.epochs.back().test_accuracy;

    const AnalysisData a = read_analysis(path);
    s.fisher_rao_empirical = s.fisher_rao_model = kNaN;
    if (const auto* r = newest(a, "flatness", {{"measure", "fisher_rao_empirical"}}))
        s.fisher_rao_empirical = r->number("value");
    if (const auto* r = newest(a, "flatness", {{"measure", "fisher_rao_model"}}))
        s.fisher_rao_model = r->number("value");
    s.masking_likely = kNaN;
    if (const auto* r = newest(a, "masking", {{"flag", "verdict"}})) {
        s.masking_likely = r->number("masking_likely");
        s.masking_verdict = r->text("verdict");
    }
    if (const auto t = a.tables.find("attacks"); t != a.tables.end()) {
        std::map<std::string, double> order;
        for (const auto& row : t->second.rows) {
            if (!main_role(row)) continue;
            const std::string attack = row.text("attack"), norm = row.text("norm");
            if (attack.empty()) continue;
            const std::string key = attack == "clean" ? "clean" : norm + "/" + attack;
            const double o = result_order(row);
            if (order.count(key) && order[key] > o) continue;
            order[key] = o;
            AttackFigure f;
            f.accuracy = 100 * row.number("accuracy");
            f.low = 100 * row.number("ci_low");
            f.high = 100 * row.number("ci_high");
            f.target_mode = row.text("target_mode");
            s.attacks[key] = f;
        }
    }
    if (!info.instrumented.empty()) {
        const InstrumentData d = read_instrumentation(path, false);
        for (const auto& [layer, steps] : d.steps) {
            if (steps.empty()) continue;
            const auto& e = steps.back().output_ewma;
            s.layers[layer] = {e.mean, e.max, e.std, e.var, 100 * e.sparsity};
        }
    }
    return s;
}

std::vector<std::string> collect_run_paths(const std::vector<std::string>& given) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    auto add = [&](const fs::path& p) {
        const std::string key = fs::weakly_canonical(p).string();
        if (seen.insert(key).second) out.push_back(p.string());
    };
    for (const auto& g : given) {
        std::error_code ec;
        if (fs::is_directory(g, ec)) {
            std::vector<fs::path> files;
            for (const auto& entry : fs::directory_iterator(g, ec))
                if (entry.is_regular_file() && entry.path().extension() == ".h5" &&
                    !is_segment_path(entry.path().string()))
                    files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files)
                add(f);
        } else if (fs::exists(g, ec)) {
            if (!is_segment_path(g)) add(g);
        } else {
            throw std::invalid_argument(g + ": no such file or folder");
        }
    }
    return out;
}

}  // namespace normout
