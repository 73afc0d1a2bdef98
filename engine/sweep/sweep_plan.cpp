#include "engine/sweep/sweep_plan.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/config/config.h"
#include "engine/config/presets.h"

namespace normout {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

// Long names are cut and made unique again by a hash of the whole name: file names stay well
// under the 255-byte limit with ".resume-N.h5" and ".ckpt-STEP.pt" appended.
constexpr std::size_t kMaxName = 120;

std::string hex_hash(const std::string& text) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return std::string(buf, 8);
}

std::string value_text(const std::string& value_json) {
    const json v = json::parse(value_json);
    return v.is_string() ? v.get<std::string>() : v.dump();
}

void apply_setting(RunConfig& c, const SweepSetting& s) {
    const json v = json::parse(s.value_json);
    apply_override(c, s.key + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
}

std::string base_label(const SweepSpec& spec) {
    if (!spec.name.empty()) return spec.name;
    if (!spec.preset.empty()) return spec.preset;
    if (!spec.config_file.empty()) return fs::path(spec.config_file).stem().string();
    return "";
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) throw ConfigError("sweep", path + ": cannot read the file");
    return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) throw ConfigError("out", tmp + ": cannot write the file");
    }
    fs::rename(tmp, path);  // readers (a Slurm task) never see half a file
}

}  // namespace

std::string safe_name_part(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        const bool ok = std::isalnum(c) || c == '.' || c == '_' || c == '=' || c == '+' || c == ',' || c == '-';
        const char r = ok ? static_cast<char>(c) : '-';
        if (r == '-' && !out.empty() && out.back() == '-' && !ok) continue;  // one '-' for a run of odd characters
        out += r;
    }
    while (!out.empty() && out.back() == '-')
        out.pop_back();
    while (!out.empty() && (out.front() == '-' || out.front() == '.'))
        out.erase(out.begin());
    return out.empty() ? "x" : out;
}

SweepPlan expand_sweep(const SweepSpec& spec, const std::vector<std::string>& overrides) {
    SweepPlan plan;
    plan.source = spec.source;
    plan.name = base_label(spec).empty() ? "sweep" : base_label(spec);
    plan.overrides = overrides;
    plan.slurm = spec.slurm;

    std::vector<SweepEntry> entries = spec.list;
    if (entries.empty()) entries.push_back({});
    // The number of runs before any is built: a grid of a few long axes multiplies up quickly.
    double runs =
        static_cast<double>(entries.size()) * static_cast<double>(std::max<std::size_t>(spec.seeds.size(), 1));
    for (const auto& axis : spec.grid)
        runs *= static_cast<double>(axis.values_json.size());
    if (runs > kMaxSweepRuns)
        throw ConfigError("grid", "the sweep " + spec.source + " would have " +
                                      std::to_string(static_cast<long long>(runs)) + " runs (at most " +
                                      std::to_string(kMaxSweepRuns) + ")");
    // Grid points as index vectors, first axis slowest.
    std::vector<std::vector<std::size_t>> points{{}};
    for (const auto& axis : spec.grid) {
        std::vector<std::vector<std::size_t>> next;
        for (const auto& p : points)
            for (std::size_t i = 0; i < axis.values_json.size(); ++i) {
                next.push_back(p);
                next.back().push_back(i);
            }
        points = std::move(next);
    }

    std::map<std::string, int> used;
    for (const auto& entry : entries) {
        for (const auto& point : points) {
            const std::string preset = entry.preset.empty() ? spec.preset : entry.preset;
            RunConfig base = preset.empty() ? RunConfig{} : preset_config(preset);
            if (!spec.config_file.empty()) {
                const fs::path p = fs::path(spec.config_file).is_absolute()
                                       ? fs::path(spec.config_file)
                                       : fs::path(spec.base_dir) / spec.config_file;
                std::error_code ec;
                if (!fs::exists(p, ec))
                    throw ConfigError("config", p.string() + ": " +
                                                    (ec ? ec.message() : std::string("file not found")) +
                                                    " (in sweep " + spec.source + ")");
                apply_config_file(base, p.string());
            }
            if (!spec.config_json.empty()) apply_json_overlay(base, spec.config_json);
            for (const auto& s : spec.settings)
                apply_setting(base, s);
            for (const auto& o : overrides)
                apply_override(base, o);

            std::vector<SweepSetting> varied = entry.settings;
            for (std::size_t a = 0; a < point.size(); ++a)
                varied.push_back({spec.grid[a].key, spec.grid[a].values_json[point[a]]});
            for (const auto& s : varied)
                apply_setting(base, s);

            // <preset of the entry, or the sweep's name>__<label>__<key=value>...; a label stands for
            // the entry's own settings.
            std::vector<std::string> parts;
            const std::string first = !entry.preset.empty() ? entry.preset : base_label(spec);
            if (!first.empty()) parts.push_back(first);
            if (!entry.label.empty()) parts.push_back(entry.label);
            for (std::size_t k = entry.label.empty() ? 0 : entry.settings.size(); k < varied.size(); ++k)
                parts.push_back(varied[k].key + "=" + value_text(varied[k].value_json));
            if (parts.empty()) parts.push_back("run");
            std::string stem;
            for (const auto& p : parts)
                stem += (stem.empty() ? "" : "__") + safe_name_part(p);
            if (!entry.preset.empty()) varied.insert(varied.begin(), {"preset", json(entry.preset).dump()});

            const std::vector<uint64_t> seeds =
                spec.seeds.empty() ? std::vector<uint64_t>{base.train.seed} : spec.seeds;
            for (uint64_t seed : seeds) {
                RunConfig c = base;
                c.train.seed = seed;
                SweepRun run;
                run.index = static_cast<int>(plan.runs.size());
                run.name = stem + "__seed" + std::to_string(seed);
                if (run.name.size() > kMaxName) run.name = run.name.substr(0, kMaxName - 9) + "-" + hex_hash(run.name);
                if (const int n = used[run.name]++; n > 0) run.name += "__" + std::to_string(n + 1);
                run.varied = varied;
                run.seed = seed;
                try {
                    validate(c);
                } catch (const ConfigError& e) {
                    throw ConfigError(e.field(),
                                      std::string(e.what()) + " (run " + run.name + " of sweep " + spec.source + ")");
                }
                run.config_json = config_to_json(c);
                plan.runs.push_back(std::move(run));
            }
        }
    }
    return plan;
}

std::string run_file_path(const std::string& dir, const SweepRun& run) {
    return (fs::path(dir) / (run.name + ".h5")).string();
}
std::string run_config_path(const std::string& dir, const SweepRun& run) {
    return (fs::path(dir) / "configs" / (run.name + ".json")).string();
}
std::string run_log_path(const std::string& dir, const SweepRun& run) {
    return (fs::path(dir) / "logs" / (run.name + ".log")).string();
}
std::string plan_path(const std::string& dir) {
    return (fs::path(dir) / "sweep.json").string();
}

std::string plan_to_json(const SweepPlan& plan) {
    ojson runs = ojson::array();
    for (const auto& r : plan.runs) {
        ojson varied = ojson::object();
        for (const auto& s : r.varied)
            varied[s.key] = ojson::parse(s.value_json);
        runs.push_back({{"index", r.index},
                        {"name", r.name},
                        {"file", r.name + ".h5"},
                        {"seed", r.seed},
                        {"varied", varied},
                        {"config", ojson::parse(r.config_json)}});
    }
    const auto& s = plan.slurm;
    return ojson{{"version", 1},
                 {"source", plan.source},
                 {"name", plan.name},
                 {"overrides", plan.overrides},
                 {"slurm",
                  {{"partition", s.partition},
                   {"time", s.time},
                   {"mem", s.mem},
                   {"gpus", s.gpus},
                   {"cpus", s.cpus},
                   {"max_parallel", s.max_parallel},
                   {"options", s.options}}},
                 {"runs", runs}}
               .dump(2) +
           "\n";
}

SweepPlan load_sweep_plan(const std::string& dir) {
    const std::string path = plan_path(dir);
    if (!fs::exists(path)) throw ConfigError("sweep", path + ": not found (is " + dir + " a sweep folder?)");
    SweepPlan plan;
    try {
        const ojson j = ojson::parse(read_text(path));
        if (j.at("version").get<int>() != 1) throw ConfigError("sweep", path + ": unknown version");
        plan.source = j.at("source").get<std::string>();
        plan.name = j.at("name").get<std::string>();
        plan.overrides = j.at("overrides").get<std::vector<std::string>>();
        const auto& s = j.at("slurm");
        plan.slurm.partition = s.at("partition").get<std::string>();
        plan.slurm.time = s.at("time").get<std::string>();
        plan.slurm.mem = s.at("mem").get<std::string>();
        plan.slurm.gpus = s.at("gpus").get<int>();
        plan.slurm.cpus = s.at("cpus").get<int>();
        plan.slurm.max_parallel = s.at("max_parallel").get<int>();
        plan.slurm.options = s.at("options").get<std::vector<std::string>>();
        for (const auto& r : j.at("runs")) {
            SweepRun run;
            run.index = r.at("index").get<int>();
            run.name = r.at("name").get<std::string>();
            run.seed = r.at("seed").get<uint64_t>();
            for (const auto& [k, v] : r.at("varied").items())
                run.varied.push_back({k, v.dump()});
            run.config_json = r.at("config").dump(2);
            if (run.index != static_cast<int>(plan.runs.size()) || run.name != safe_name_part(run.name))
                throw ConfigError("sweep", path + ": run " + std::to_string(plan.runs.size()) + " is malformed");
            plan.runs.push_back(std::move(run));
        }
    } catch (const ojson::exception& e) {
        throw ConfigError("sweep", path + ": malformed sweep file: " + e.what());
    }
    return plan;
}

void save_sweep_plan(const SweepPlan& plan, const std::string& dir) {
    if (fs::exists(plan_path(dir))) {
        const SweepPlan old = load_sweep_plan(dir);
        std::map<std::string, const SweepRun*> by_name;
        for (const auto& r : old.runs)
            by_name[r.name] = &r;
        for (const auto& r : plan.runs) {
            const auto it = by_name.find(r.name);
            if (it != by_name.end() && json::parse(it->second->config_json) != json::parse(r.config_json))
                throw ConfigError("sweep", dir + " already holds run " + r.name +
                                               " with other settings (use another --out folder, or the same spec "
                                               "and --set options)");
        }
    }
    fs::create_directories(fs::path(dir) / "configs");
    fs::create_directories(fs::path(dir) / "logs");
    for (const auto& r : plan.runs)
        write_text(run_config_path(dir, r), r.config_json + "\n");
    write_text(plan_path(dir), plan_to_json(plan));
}

}  // namespace normout
