#include "engine/sweep/run_state.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/config/config.h"
#include "engine/runfile/run_file.h"

namespace normout {

namespace {

// Compared as configurations, not texts: a file written before a setting existed holds no key
// for it and reads as its default, so it still matches a plan that states the default.
bool same_configuration(const std::string& recorded, const std::string& planned) {
    try {
        return nlohmann::json::parse(config_to_json(config_from_json(recorded))) ==
               nlohmann::json::parse(config_to_json(config_from_json(planned)));
    } catch (const std::exception&) {
        return nlohmann::json::parse(recorded) == nlohmann::json::parse(planned);
    }
}

}  // namespace


namespace {

namespace fs = std::filesystem;

// Checkpoint files next to the run file (RUN.ckpt-<step>.pt); listed here without torch.
int count_checkpoints(const std::string& run_path) {
    const fs::path p(run_path);
    const std::string prefix = p.stem().string() + ".ckpt-";
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p.parent_path(), ec)) {
        const std::string f = e.path().filename().string();
        if (f.rfind(prefix, 0) != 0 || f.size() <= prefix.size() + 3 || f.compare(f.size() - 3, 3, ".pt") != 0)
            continue;
        const std::string step = f.substr(prefix.size(), f.size() - prefix.size() - 3);
        if (std::all_of(step.begin(), step.end(), [](unsigned char c) { return std::isdigit(c); })) ++n;
    }
    return n;
}

}  // namespace

RunState run_state(const std::string& dir, const SweepRun& run) {
    RunState s;
    const RunConfig planned = config_from_json(run.config_json);
    s.epochs_total = planned.train.epochs;
    const std::string path = run_file_path(dir, run);
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        s.status = "pending";
        return s;
    }
    s.checkpoints = count_checkpoints(path);
    try {
        const RunInfo info = read_run(path);
        s.status = info.status;
        s.message = info.status_message;
        s.epochs_done = static_cast<int>(info.epochs.size());
        s.steps = info.status_step;
        s.segments = static_cast<int>(info.segments.size());
        if (!info.epochs.empty()) {
            s.test_accuracy = info.epochs.back().test_accuracy;
            s.train_accuracy = info.epochs.back().train_accuracy;
            s.wall_seconds = info.epochs.back().wall_seconds;
        }
        s.config_matches = same_configuration(info.header.config_json, run.config_json);
    } catch (const std::exception& e) {
        s.status = "unreadable";
        s.message = e.what();
    }
    return s;
}

RunDecision decide(const RunState& s) {
    if (!s.config_matches)
        return {RunAction::Refuse, "the run file holds another configuration than the sweep plans; move it away"};
    if (s.status == "pending") return {RunAction::Train, "new"};
    if (s.status == "finished") return {RunAction::Skip, "finished"};
    if (s.status == "diverged") return {RunAction::Skip, "diverged (a result; resuming would diverge again)"};
    if (s.status == "running") return {RunAction::Skip, "being written by another process"};
    if (s.status == "unreadable") return {RunAction::Refuse, s.message};
    // stopped, interrupted, failed
    if (s.checkpoints > 0) return {RunAction::Resume, s.status};
    return {RunAction::TrainOver, s.status + " before its first checkpoint"};
}

bool is_done(const std::string& status) {
    return status == "finished" || status == "diverged";
}

}  // namespace normout
