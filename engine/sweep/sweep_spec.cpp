#include "engine/sweep/sweep_spec.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/config/config.h"
#include "engine/config/presets.h"

namespace normout {

namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr const char* kTable31 = "thesis/table-3.1";
constexpr const char* kClaims = "thesis/claims";

[[noreturn]] void fail(const SweepSpec& s, const std::string& field, const std::string& message) {
    throw ConfigError(field, message + " (in sweep " + s.source + ")");
}

bool is_setting_key(const std::string& key) {
    static const std::set<std::string> keys = [] {
        std::set<std::string> k;
        for (const auto& s : describe_settings())
            k.insert(s.key);
        return k;
    }();
    return keys.count(key) > 0;
}

SweepSetting setting(const SweepSpec& s, const std::string& field, const std::string& key, const ojson& value) {
    if (!is_setting_key(key)) fail(s, field + "." + key, "unknown setting (see `normout settings`)");
    if (value.is_null()) fail(s, field + "." + key, "a value is required");
    return {key, value.dump()};
}

std::string text(const SweepSpec& s, const ojson& v, const std::string& field) {
    if (!v.is_string()) fail(s, field, "must be a string");
    return v.get<std::string>();
}

int integer(const SweepSpec& s, const ojson& v, const std::string& field) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) fail(s, field, "must be a non-negative integer");
    return v.get<int>();
}

void check_preset(const SweepSpec& s, const std::string& name, const std::string& field) {
    if (!find_preset(name)) fail(s, field, "unknown preset '" + name + "' (see `normout presets`)");
}

SlurmSettings parse_slurm(const SweepSpec& s, const ojson& j) {
    if (!j.is_object()) fail(s, "slurm", "must be an object");
    SlurmSettings out;
    for (const auto& [k, v] : j.items()) {
        const std::string f = "slurm." + k;
        if (k == "partition")
            out.partition = text(s, v, f);
        else if (k == "time")
            out.time = text(s, v, f);
        else if (k == "mem")
            out.mem = text(s, v, f);
        else if (k == "gpus")
            out.gpus = integer(s, v, f);
        else if (k == "cpus")
            out.cpus = integer(s, v, f);
        else if (k == "max_parallel")
            out.max_parallel = integer(s, v, f);
        else if (k == "options") {
            if (!v.is_array()) fail(s, f, "must be a list of sbatch options");
            for (const auto& o : v)
                out.options.push_back(text(s, o, f));
        } else {
            fail(s, f, "unknown key (partition, time, mem, gpus, cpus, max_parallel, options)");
        }
    }
    return out;
}

}  // namespace

SweepSpec parse_sweep_spec(const std::string& json_text, const std::string& source, const std::string& base_dir) {
    SweepSpec s;
    s.source = source;
    s.base_dir = base_dir;
    ojson j;
    try {
        j = ojson::parse(json_text);
    } catch (const ojson::exception& e) {  // syntax, and numbers beyond double's range
        throw ConfigError("", "sweep " + source + " is not valid JSON: " + e.what());
    }
    if (!j.is_object()) fail(s, "", "a sweep specification must be a JSON object");
    for (const auto& [k, v] : j.items()) {
        if (k == "name") {
            s.name = text(s, v, k);
        } else if (k == "description") {
            text(s, v, k);
        } else if (k == "preset") {
            s.preset = text(s, v, k);
            check_preset(s, s.preset, k);
        } else if (k == "config") {
            if (v.is_string())
                s.config_file = v.get<std::string>();
            else if (v.is_object())
                s.config_json = v.dump();
            else
                fail(s, k, "must be a configuration file name or an object of settings");
        } else if (k == "set") {
            if (!v.is_object()) fail(s, k, "must be an object of dotted settings, e.g. {\"train.epochs\": 10}");
            for (const auto& [key, value] : v.items())
                s.settings.push_back(setting(s, k, key, value));
        } else if (k == "list") {
            if (!v.is_array()) fail(s, k, "must be a list of objects");
            for (std::size_t i = 0; i < v.size(); ++i) {
                const std::string f = "list[" + std::to_string(i) + "]";
                if (!v[i].is_object()) fail(s, f, "must be an object of settings");
                SweepEntry e;
                for (const auto& [key, value] : v[i].items()) {
                    if (key == "preset") {
                        e.preset = text(s, value, f + ".preset");
                        check_preset(s, e.preset, f + ".preset");
                    } else if (key == "label") {
                        e.label = text(s, value, f + ".label");
                    } else {
                        e.settings.push_back(setting(s, f, key, value));
                    }
                }
                s.list.push_back(std::move(e));
            }
        } else if (k == "grid") {
            if (!v.is_object()) fail(s, k, "must be an object mapping settings to lists of values");
            for (const auto& [key, values] : v.items()) {
                if (!values.is_array() || values.empty()) fail(s, "grid." + key, "must be a non-empty list of values");
                SweepAxis axis;
                axis.key = key;
                for (const auto& value : values)
                    axis.values_json.push_back(setting(s, k, key, value).value_json);
                s.grid.push_back(std::move(axis));
            }
        } else if (k == "seeds") {
            if (v.is_number_integer()) {
                const int n = integer(s, v, k);
                if (n < 1 || n > kMaxSweepRuns) fail(s, k, "must be between 1 and " + std::to_string(kMaxSweepRuns));
                for (int i = 0; i < n; ++i)
                    s.seeds.push_back(static_cast<uint64_t>(i));
            } else if (v.is_array() && !v.empty()) {
                std::set<uint64_t> seen;
                for (const auto& seed : v) {
                    if (!seed.is_number_unsigned()) fail(s, k, "seeds must be non-negative integers");
                    if (!seen.insert(seed.get<uint64_t>()).second) fail(s, k, "seed " + seed.dump() + " is repeated");
                    s.seeds.push_back(seed.get<uint64_t>());
                }
            } else {
                fail(s, k, "must be a count or a non-empty list of seeds");
            }
        } else if (k == "slurm") {
            s.slurm = parse_slurm(s, v);
        } else {
            fail(s, k, "unknown key (name, description, preset, config, set, list, grid, seeds, slurm)");
        }
    }
    return s;
}

std::vector<std::pair<std::string, std::string>> builtin_sweeps() {
    return {{kTable31, "every row of the thesis's Table 3.1 (the thesis/* presets), one seed"},
            {kClaims,
             "the configurations `normout report` tests the thesis's claims on (baseline, Dropout, Temporal Softmax "
             "T=100, SpatialMax and SpatiotemporalMax at 48 51), seeds 0-2, with attacks, the masking probes and "
             "the Fisher-Rao norm after the last epoch"}};
}

std::string builtin_sweep_json(const std::string& name) {
    if (name == kTable31) {
        ojson list = ojson::array();
        for (const auto& p : presets())
            if (p.name.rfind("thesis/", 0) == 0) list.push_back({{"preset", p.name}});
        return ojson{{"name", "table-3.1"},
                     {"description", "Thesis Table 3.1: every row, seed 0"},
                     {"list", list},
                     {"seeds", ojson::array({0})}}
            .dump(2);
    }
    if (name == kClaims) {
        ojson list = ojson::array();
        for (const char* p : {"thesis/baseline", "thesis/dropout-48-51", "thesis/temporal-softmax-48-51-T100",
                              "thesis/spatialmax-48-51", "thesis/spatiotemporalmax-48-51"})
            list.push_back({{"preset", p}});
        // What the claims rest on, measured once after the last epoch: robust accuracies with the
        // masking diagnosis (its eps sweep included) and the Fisher-Rao norm.
        const ojson set = {{"evaluate.attacks", "fgsm,pgd-ce,pgd-t,square,noise"},
                           {"evaluate.attack_every", 0},
                           {"evaluate.eps_sweep", true},
                           {"evaluate.fisher_rao", true}};
        return ojson{{"name", "claims"},
                     {"description", "The thesis's claims (normout report): five configurations, seeds 0, 1 and 2"},
                     {"set", set},
                     {"list", list},
                     {"seeds", ojson::array({0, 1, 2})}}
            .dump(2);
    }
    std::string names;
    for (const auto& [n, d] : builtin_sweeps())
        names += (names.empty() ? "" : ", ") + n;
    throw ConfigError("sweep", "'" + name + "' is neither a file nor a built-in sweep (" + names + ")");
}

SweepSpec load_sweep_spec(const std::string& spec) {
    std::error_code ec;
    if (fs::is_regular_file(spec, ec)) {
        std::ifstream in(spec);
        std::stringstream ss;
        ss << in.rdbuf();
        if (!in) throw ConfigError("sweep", spec + ": cannot read the file");
        const std::string dir = fs::absolute(spec).parent_path().string();
        return parse_sweep_spec(ss.str(), spec, dir);
    }
    if (fs::exists(spec, ec)) throw ConfigError("sweep", spec + ": not a regular file");
    return parse_sweep_spec(builtin_sweep_json(spec), "builtin:" + spec, fs::current_path().string());
}

}  // namespace normout
