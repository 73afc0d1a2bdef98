// Sweep specifications and plans (engine/sweep): parse_sweep_spec, expand_sweep (every list
// entry x grid point x seed, each configuration validated), plan_to_json, save_sweep_plan and
// load_sweep_plan (DIR/sweep.json, also as written by someone else), run_state and decide. Each
// documents ConfigError for bad input; anything else escaping, a crash, a sanitizer report, a
// hang or an allocation beyond the limit is a finding. A plan that was saved must load back with
// the same runs.
//
// Input: mode:u8, then up to three parts separated by NUL bytes:
//   mode % 2 == 0: SPEC \0 OVERRIDES \0 BASE
//     SPEC is the specification's JSON, OVERRIDES lines of key=value (the command's --set), BASE
//     the content of base.json next to the specification. A "config" file name with a '/' is
//     replaced by base.json: the target reads no other files. Sweeps of more than kMaxRuns runs
//     are parsed but not expanded (legitimate, and slow).
//   mode % 2 == 1: PLAN
//     PLAN is a sweep folder's sweep.json.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/sweep/run_state.h"
#include "engine/sweep/sweep_plan.h"
#include "engine/sweep/sweep_spec.h"
#include "fuzz/fuzz_common.h"

namespace {

constexpr uint64_t kMaxRuns = 2000;

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "FINDING: %s\n", what.c_str());
    std::abort();
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    size_t begin = 0;
    while (true) {
        const size_t end = text.find(sep, begin);
        out.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
        if (end == std::string::npos) break;
        begin = end + 1;
    }
    return out;
}

// What `normout sweep-status` and the local backend do with a sweep folder.
void states(const std::string& dir, const normout::SweepPlan& plan) {
    for (size_t i = 0; i < plan.runs.size() && i < 4; ++i) {
        try {
            normout::decide(normout::run_state(dir, plan.runs[i]));
        } catch (const normout::ConfigError&) {  // a planned configuration that is not valid
        }
    }
}

void same_runs(const normout::SweepPlan& a, const normout::SweepPlan& b) {
    if (a.runs.size() != b.runs.size()) finding("a saved plan loads back with another number of runs");
    for (size_t i = 0; i < a.runs.size(); ++i)
        if (a.runs[i].name != b.runs[i].name || a.runs[i].seed != b.runs[i].seed ||
            normout::config_to_json(normout::config_from_json(a.runs[i].config_json)) !=
                normout::config_to_json(normout::config_from_json(b.runs[i].config_json)))
            finding("run " + a.runs[i].name + " of a saved plan loads back differently");
}

}  // namespace

namespace {
void one_input(const uint8_t* data, size_t size) {
    static const std::string root = fuzz::scratch("sweep");
    const std::string spec_dir = root + "/spec", out = root + "/out";
    fuzz::clear(spec_dir);
    fuzz::clear(out);
    fuzz::Cursor in{data, size};
    const int mode = in.byte() % 2;
    const std::vector<std::string> parts = split(in.rest(), '\0');
    if (mode == 1) {
        fuzz::write_file(out + "/sweep.json", parts[0]);
        normout::SweepPlan plan;
        try {
            plan = normout::load_sweep_plan(out);
        } catch (const normout::ConfigError&) {
            return;
        }
        try {
            normout::plan_to_json(plan);
            normout::save_sweep_plan(plan, out);  // over itself: the runs agree
            same_runs(plan, normout::load_sweep_plan(out));
        } catch (const normout::ConfigError&) {
        }
        states(out, plan);
        return;
    }
    std::vector<std::string> overrides;
    if (parts.size() > 1)
        for (const auto& line : split(parts[1], '\n'))
            if (!line.empty()) overrides.push_back(line);
    if (parts.size() > 2) fuzz::write_file(spec_dir + "/base.json", parts[2]);
    normout::SweepPlan plan;
    try {
        normout::SweepSpec spec = normout::parse_sweep_spec(parts[0], spec_dir + "/fuzz.json", spec_dir);
        if (spec.config_file.find('/') != std::string::npos) spec.config_file = "base.json";
        // A sweep of many runs is legitimate, and slow to expand (every run is validated): the
        // target expands at most kMaxRuns.
        uint64_t runs = std::max<size_t>(spec.list.size(), 1) * std::max<size_t>(spec.seeds.size(), 1);
        for (const auto& axis : spec.grid) {
            if (runs > kMaxRuns) break;
            runs *= axis.values_json.size();
        }
        if (runs > kMaxRuns) return;
        plan = normout::expand_sweep(spec, overrides);
    } catch (const normout::ConfigError&) {
        return;
    }
    normout::plan_to_json(plan);
    if (plan.runs.size() > 16) return;  // writing the files of many runs is slow
    try {
        normout::save_sweep_plan(plan, out);
    } catch (const normout::ConfigError& e) {
        finding(std::string("a freshly expanded plan cannot be saved: ") + e.what());
    }
    try {
        same_runs(plan, normout::load_sweep_plan(out));
    } catch (const normout::ConfigError& e) {
        finding(std::string("a saved plan does not load: ") + e.what());
    }
    states(out, plan);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    one_input(data, size);
    return 0;
}
