#include "engine/runfile/tables.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "engine/config/config.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"

namespace normout {

namespace {

using nlohmann::json;

void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (const auto& item : j.items())
            flatten(item.value(), prefix.empty() ? item.key() : prefix + "." + item.key(), out);
    } else if (j.is_array() && !j.empty() && (j.front().is_object() || j.front().is_array())) {
        for (std::size_t i = 0; i < j.size(); ++i)
            flatten(j[i], prefix + "[" + std::to_string(i) + "]", out);
    } else {
        out[prefix] = j.dump();
    }
}

std::map<std::string, std::string> flat_config(const std::string& config_json, bool drop_identity) {
    std::map<std::string, std::string> flat;
    flatten(json::parse(config_json), "", flat);
    if (drop_identity)
        for (const char* k : {"train.seed", "name", "preset"})
            flat.erase(k);
    return flat;
}

double mean(const std::vector<double>& v) {
    double s = 0;
    int n = 0;
    for (double x : v)
        if (std::isfinite(x)) s += x, ++n;
    return n ? s / n : NAN;
}

double stddev(const std::vector<double>& v) {
    const double m = mean(v);
    double s = 0;
    int n = 0;
    for (double x : v)
        if (std::isfinite(x)) s += (x - m) * (x - m), ++n;
    return n > 1 ? std::sqrt(s / (n - 1)) : NAN;  // sample standard deviation over seeds
}

std::string number(double v, int decimals) {
    if (!std::isfinite(v)) return "–";
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(decimals);
    s << v;
    return s.str();
}

std::string significant(double v, int digits) {
    if (!std::isfinite(v)) return "–";
    std::ostringstream s;
    s.precision(digits);
    s << v;
    return s.str();
}

// A cell over a group of seeds: the mean, and "± sd" when there are several.
std::string cell(const std::vector<double>& v, int decimals, bool sig = false) {
    const double m = mean(v);
    std::string text = sig ? significant(m, decimals) : number(m, decimals);
    int n = 0;
    for (double x : v)
        n += std::isfinite(x);
    if (n > 1) text += " ± " + (sig ? significant(stddev(v), 2) : number(stddev(v), decimals));
    return text;
}

struct RunFacts {
    std::string path;
    std::string name;
    std::string config;
    RunInfo info;
};

double latest(const AnalysisData& data, const char* table, const std::map<std::string, std::string>& match,
              const char* column) {
    const auto t = data.tables.find(table);
    if (t == data.tables.end()) return NAN;
    double best_step = -INFINITY, value = NAN;
    for (const auto& row : t->second.rows) {
        bool ok = true;
        for (const auto& [k, v] : match) {
            const auto it = row.texts.find(k);
            ok &= it != row.texts.end() && it->second == v;
        }
        if (!ok) continue;
        const auto role = row.texts.find("role");
        if (role != row.texts.end() && !role->second.empty() && role->second != "main") continue;
        const auto step = row.numbers.find("weights_step");
        const auto evaluation = row.numbers.find("evaluation");
        const double order =
            (step != row.numbers.end() && std::isfinite(step->second) ? step->second : 0) * 1e6 +
            (evaluation != row.numbers.end() && std::isfinite(evaluation->second) ? evaluation->second : 0);
        const auto v = row.numbers.find(column);
        if (v != row.numbers.end() && order >= best_step) {
            best_step = order;
            value = v->second;
        }
    }
    return value;
}

}  // namespace

TableKind table_kind(const std::string& name) {
    if (name == "accuracy") return TableKind::Accuracy;
    if (name == "activations") return TableKind::Activations;
    if (name == "attacks") return TableKind::Attacks;
    if (name == "flatness") return TableKind::Flatness;
    throw ConfigError("kind", "unknown table '" + name + "' (accuracy, activations, attacks, flatness)");
}

std::vector<std::vector<std::size_t>> seed_groups(const std::vector<std::string>& configs) {
    std::vector<std::vector<std::size_t>> groups;
    std::vector<std::map<std::string, std::string>> keys;
    for (std::size_t i = 0; i < configs.size(); ++i) {
        auto flat = flat_config(configs[i], false);
        flat.erase("train.seed");
        flat.erase("name");  // free text: "baseline seed 1" and "baseline seed 2" belong together
        bool placed = false;
        for (std::size_t g = 0; g < groups.size() && !placed; ++g)
            if (keys[g] == flat) {
                groups[g].push_back(i);
                placed = true;
            }
        if (!placed) {
            groups.push_back({i});
            keys.push_back(flat);
        }
    }
    return groups;
}

std::vector<std::string> run_labels(const std::vector<std::string>& configs, const std::vector<std::string>& names) {
    std::set<std::string> distinct(names.begin(), names.end());
    bool names_ok = distinct.size() == names.size();
    for (const auto& n : names)
        names_ok &= !n.empty();
    if (names_ok) return names;
    std::vector<std::map<std::string, std::string>> flats;
    for (const auto& c : configs)
        flats.push_back(flat_config(c, true));
    std::set<std::string> keys;
    for (const auto& f : flats)
        for (const auto& [k, v] : f)
            keys.insert(k);
    std::vector<std::string> differing;
    for (const auto& k : keys) {
        std::set<std::string> values;
        for (const auto& f : flats) {
            const auto it = f.find(k);
            values.insert(it == f.end() ? "" : it->second);
        }
        if (values.size() > 1) differing.push_back(k);
    }
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < flats.size(); ++i) {
        std::string label = names[i];
        for (const auto& k : differing) {
            const auto it = flats[i].find(k);
            std::string v = it == flats[i].end() ? "-" : it->second;
            if (v.size() > 1 && v.front() == '"') v = v.substr(1, v.size() - 2);
            label += (label.empty() ? "" : ", ") + k + "=" + v;
        }
        labels.push_back(label.empty() ? "run " + std::to_string(i + 1) : label);
    }
    // Labels still shared (runs differing only by seed, or not at all): the seed, then the run's
    // place in the list, tell them apart.
    auto shared = [&] {
        std::map<std::string, int> count;
        for (const auto& l : labels)
            ++count[l];
        std::vector<bool> out;
        for (const auto& l : labels)
            out.push_back(count[l] > 1);
        return out;
    };
    const auto by_seed = shared();
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (by_seed[i]) {
            const auto all = flat_config(configs[i], false);
            const auto it = all.find("train.seed");
            labels[i] += ", seed " + (it == all.end() ? std::string("-") : it->second);
        }
    const auto by_place = shared();
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (by_place[i]) labels[i] += " (run " + std::to_string(i + 1) + ")";
    return labels;
}

Table build_table(const std::vector<std::string>& paths, TableKind kind, const TableOptions& options) {
    if (paths.empty()) throw std::invalid_argument("no run files given");
    std::vector<RunFacts> runs;
    std::vector<std::string> configs, names;
    for (const auto& p : paths) {
        if (is_segment_path(p)) continue;  // `runs/*.h5` also matches segments: they join their run
        RunFacts f;
        f.path = p;
        f.info = read_run(p);
        f.name = f.info.header.name;
        f.config = f.info.header.config_json;
        // A run's configuration is compared as JSON: one that is not gets the file's name.
        if (!json::accept(f.config))
            throw RunFileError(
                p + ": attribute 'config' of /: expected a configuration in JSON, found text that is not JSON");
        configs.push_back(f.config);
        names.push_back(f.name);
        runs.push_back(std::move(f));
    }
    if (runs.empty()) throw std::invalid_argument("no run files given, only continuation segments (RUN.resume-N.h5)");
    const auto groups = seed_groups(configs);
    std::vector<std::string> group_configs, group_names;
    for (const auto& g : groups) {
        group_configs.push_back(configs[g.front()]);
        group_names.push_back(names[g.front()]);
    }
    const auto labels = run_labels(group_configs, group_names);
    auto seeds_note = [&](std::size_t g) {
        return groups[g].size() > 1 ? " (" + std::to_string(groups[g].size()) + " seeds)" : std::string();
    };

    Table t;
    if (kind == TableKind::Accuracy) {
        t.title = "Benign train and test accuracies (Table 3.1); overfitting = |train - test|";
        t.header = {"Model", "Train Accuracy (%)", "Test Accuracy (%)", "Overfitting", "Epochs"};
        for (std::size_t g = 0; g < groups.size(); ++g) {
            std::vector<double> train, test, over, epochs;
            for (std::size_t i : groups[g]) {
                const auto& e = runs[i].info.epochs;
                if (e.empty()) continue;
                train.push_back(100 * e.back().train_accuracy);
                test.push_back(100 * e.back().test_accuracy);
                over.push_back(std::fabs(train.back() - test.back()));
                epochs.push_back(e.back().epoch);
            }
            t.rows.push_back(
                {labels[g] + seeds_note(g), cell(train, 2), cell(test, 2), cell(over, 2), cell(epochs, 0)});
            t.values.push_back({NAN, mean(train), mean(test), mean(over), mean(epochs)});
        }
    } else if (kind == TableKind::Activations) {
        t.title = "Activation statistics at the end of training (moving averages, Tables 3.2/3.3)";
        t.header = {"Model", "Layer", "Mean", "Max", "Standard Deviation", "Variance", "Mean Sparsity (%)"};
        for (int layer : options.layers)
            for (std::size_t g = 0; g < groups.size(); ++g) {
                std::vector<double> m, mx, sd, var, sp;
                for (std::size_t i : groups[g]) {
                    const InstrumentData d = read_instrumentation(runs[i].path, false);
                    const auto it = d.steps.find(layer);
                    if (it == d.steps.end() || it->second.empty()) continue;
                    const auto& s = it->second.back().output_ewma;
                    m.push_back(s.mean);
                    mx.push_back(s.max);
                    sd.push_back(s.std);
                    var.push_back(s.var);
                    sp.push_back(100 * s.sparsity);
                }
                t.rows.push_back({labels[g] + seeds_note(g), std::to_string(layer), cell(m, 3, true), cell(mx, 3, true),
                                  cell(sd, 3, true), cell(var, 3, true), cell(sp, 1)});
                t.values.push_back({NAN, double(layer), mean(m), mean(mx), mean(sd), mean(var), mean(sp)});
            }
    } else if (kind == TableKind::Attacks) {
        const bool linf = options.norm == "linf";
        t.title = linf ? "Robust accuracies (%) against L-inf attacks with 95% confidence intervals (Table 3.4)"
                       : "Robust accuracies (%) against L2 attacks with 95% confidence intervals (Table 3.5)";
        const std::vector<std::pair<std::string, std::string>> columns =
            linf ? std::vector<std::pair<std::string, std::string>>{{"fgsm", "FGSM"},
                                                                    {"pgd-ce", "PGD-CE"},
                                                                    {"pgd-t", "PGD-T"},
                                                                    {"square", "SQUARE"}}
                 : std::vector<std::pair<std::string, std::string>>{
                       {"fgm", "FGM"}, {"pgd-ce", "PGD-CE"}, {"pgd-t", "PGD-T"}, {"square", "SQUARE"}};
        t.header = {"Model"};
        for (const auto& c : columns)
            t.header.push_back(c.second);
        for (std::size_t g = 0; g < groups.size(); ++g) {
            std::vector<std::string> row = {labels[g] + seeds_note(g)};
            std::vector<double> vals = {NAN};
            for (const auto& [attack, title] : columns) {
                std::vector<double> acc, lo, hi;
                for (std::size_t i : groups[g]) {
                    const AnalysisData a = read_analysis(runs[i].path);
                    const std::map<std::string, std::string> match = {{"attack", attack}, {"norm", options.norm}};
                    acc.push_back(100 * latest(a, "attacks", match, "accuracy"));
                    lo.push_back(100 * latest(a, "attacks", match, "ci_low"));
                    hi.push_back(100 * latest(a, "attacks", match, "ci_high"));
                }
                std::string text = cell(acc, 1);
                if (groups[g].size() == 1 && std::isfinite(lo[0]))
                    text += " [" + number(lo[0], 1) + ", " + number(hi[0], 1) + "]";
                row.push_back(text);
                vals.push_back(mean(acc));
            }
            t.rows.push_back(row);
            t.values.push_back(vals);
        }
    } else {
        t.title = "Fisher-Rao norm (Table 3.6)";
        t.header = {"Model", "Fisher-Rao Norm (empirical)", "Fisher-Rao Norm (model)"};
        for (std::size_t g = 0; g < groups.size(); ++g) {
            std::vector<double> emp, mod;
            for (std::size_t i : groups[g]) {
                const AnalysisData a = read_analysis(runs[i].path);
                emp.push_back(latest(a, "flatness", {{"measure", "fisher_rao_empirical"}}, "value"));
                mod.push_back(latest(a, "flatness", {{"measure", "fisher_rao_model"}}, "value"));
            }
            t.rows.push_back({labels[g] + seeds_note(g), cell(emp, 4, true), cell(mod, 4, true)});
            t.values.push_back({NAN, mean(emp), mean(mod)});
        }
    }
    return t;
}

std::string to_csv(const Table& t) {
    auto quote = [](const std::string& s) {
        if (s.find_first_of(",\"\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s)
            q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    std::ostringstream out;
    for (std::size_t i = 0; i < t.header.size(); ++i)
        out << (i ? "," : "") << quote(t.header[i]);
    out << "\n";
    for (const auto& row : t.rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
            out << (i ? "," : "") << quote(row[i]);
        out << "\n";
    }
    return out.str();
}

std::string to_markdown(const Table& t) {
    auto escape = [](const std::string& s) {
        std::string e;
        for (char c : s)
            e += c == '|' ? std::string("\\|") : std::string(1, c);
        return e;
    };
    std::ostringstream out;
    out << "**" << t.title << "**\n\n|";
    for (const auto& h : t.header)
        out << " " << escape(h) << " |";
    out << "\n|";
    for (std::size_t i = 0; i < t.header.size(); ++i)
        out << (i ? " ---: |" : " --- |");
    out << "\n";
    for (const auto& row : t.rows) {
        out << "|";
        for (const auto& c : row)
            out << " " << escape(c) << " |";
        out << "\n";
    }
    return out.str();
}

std::string to_latex(const Table& t) {
    auto escape = [](const std::string& s) {
        std::string e;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const char c = s[i];
            if (c == '%' || c == '&' || c == '_' || c == '#' || c == '$' || c == '{' || c == '}')
                e += std::string("\\") + c;
            else if (s.compare(i, 2, "±") == 0) {
                e += "$\\pm$";
                ++i;
            } else if (s.compare(i, 3, "–") == 0) {
                e += "--";
                i += 2;
            } else
                e += c;
        }
        return e;
    };
    std::ostringstream out;
    out << "\\begin{table}[t]\n\\centering\n\\caption{" << escape(t.title) << "}\n\\begin{tabular}{l";
    for (std::size_t i = 1; i < t.header.size(); ++i)
        out << "r";
    out << "}\n\\hline\n";
    for (std::size_t i = 0; i < t.header.size(); ++i)
        out << (i ? " & " : "") << escape(t.header[i]);
    out << " \\\\\n\\hline\n";
    for (const auto& row : t.rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
            out << (i ? " & " : "") << escape(row[i]);
        out << " \\\\\n";
    }
    out << "\\hline\n\\end{tabular}\n\\end{table}\n";
    return out.str();
}

}  // namespace normout
