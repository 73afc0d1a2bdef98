// `normout sweep-status DIR`: each run of a sweep folder with its status, epochs and accuracy,
// its run files, or a thesis table of its runs.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "command.h"
#include "console.h"
#include "engine/config/config.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/tables.h"
#include "engine/sweep/run_state.h"
#include "engine/sweep/sweep_plan.h"

namespace normout::cli {

namespace {

using nlohmann::json;

struct StatusArgs {
    std::string dir;
    bool json = false;
    bool files = false;
    std::string table;
    std::string format = "md";
};

std::string accuracy_text(double a) {
    return a < 0 || !std::isfinite(a) ? "-" : percent(a);
}

int run_sweep_status(const StatusArgs& a) {
    const SweepPlan plan = load_sweep_plan(a.dir);
    std::vector<RunState> states;
    for (const auto& r : plan.runs)
        states.push_back(run_state(a.dir, r));
    std::vector<std::string> files;
    for (std::size_t i = 0; i < plan.runs.size(); ++i)
        if (states[i].status != "pending" && states[i].status != "unreadable")
            files.push_back(run_file_path(a.dir, plan.runs[i]));

    if (a.files) {
        for (const auto& f : files)
            fmt::print("{}\n", f);
        return kExitOk;
    }
    if (!a.table.empty()) {
        if (files.empty()) throw ConfigError("table", a.dir + ": no run files yet");
        const Table t = build_table(files, table_kind(a.table));
        fmt::print("{}", a.format == "csv" ? to_csv(t) : a.format == "tex" ? to_latex(t) : to_markdown(t));
        return kExitOk;
    }
    std::map<std::string, int> counts;
    double acc_sum = 0;
    int acc_n = 0;
    for (const auto& st : states) {
        ++counts[st.status];
        if (st.status == "finished" && st.test_accuracy >= 0) {
            acc_sum += st.test_accuracy;
            ++acc_n;
        }
    }
    if (a.json) {
        json runs = json::array();
        for (std::size_t i = 0; i < plan.runs.size(); ++i) {
            const auto& st = states[i];
            const auto num = [](double v) { return v < 0 || !std::isfinite(v) ? json(nullptr) : json(v); };
            runs.push_back({{"index", plan.runs[i].index},
                            {"name", plan.runs[i].name},
                            {"file", run_file_path(a.dir, plan.runs[i])},
                            {"status", st.status},
                            {"message", st.message},
                            {"epochs", st.epochs_done},
                            {"epochs_total", st.epochs_total},
                            {"steps", st.steps},
                            {"segments", st.segments},
                            {"test_accuracy", num(st.test_accuracy)},
                            {"train_accuracy", num(st.train_accuracy)},
                            {"seconds", st.wall_seconds}});
        }
        fmt::print("{}\n", json{{"name", plan.name},
                                {"source", plan.source},
                                {"runs", runs},
                                {"totals", counts},
                                {"mean_test_accuracy", acc_n ? json(acc_sum / acc_n) : json(nullptr)}}
                               .dump(2));
        return kExitOk;
    }
    fmt::print("Sweep '{}' ({}), {} run{} in {}\n", plan.name, plan.source, plan.runs.size(),
               plan.runs.size() == 1 ? "" : "s", a.dir);
    fmt::print("{:>4}  {:<60}  {:<11}  {:>7}  {:>9}  {:>9}\n", "#", "run", "status", "epochs", "test acc", "time");
    for (std::size_t i = 0; i < plan.runs.size(); ++i) {
        const auto& st = states[i];
        fmt::print("{:>4}  {:<60}  {:<11}  {:>7}  {:>9}  {:>9}\n", plan.runs[i].index, plan.runs[i].name, st.status,
                   fmt::format("{}/{}", st.epochs_done, st.epochs_total), accuracy_text(st.test_accuracy),
                   st.status == "pending" ? "-" : format_duration(st.wall_seconds));
    }
    std::string totals;
    for (const auto& [status, n] : counts)
        totals += fmt::format("{}{} {}", totals.empty() ? "" : ", ", n, status);
    fmt::print("\n{} run{}: {}", plan.runs.size(), plan.runs.size() == 1 ? "" : "s", totals);
    if (acc_n) fmt::print("; mean test accuracy of finished runs {}", percent(acc_sum / acc_n));
    fmt::print("\n");
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto st = std::make_shared<StatusArgs>();
    auto* status = app.add_subcommand("sweep-status", "Summarise a sweep folder: each run's status, epochs, accuracy");
    status->add_option("dir", st->dir, "Sweep folder")->required();
    status->add_flag("--json", st->json, "Machine-readable output");
    status->add_flag("--files", st->files, "Print the run files (for `normout table $(...)`)");
    status
        ->add_option("--table", st->table, "Print a thesis table of the runs: accuracy, activations, attacks, flatness")
        ->check(CLI::IsMember({"accuracy", "activations", "attacks", "flatness"}));
    status->add_option("--format", st->format, "Table format: csv, md or tex")
        ->check(CLI::IsMember({"csv", "md", "tex"}));
    out.push_back({status, [st] { return run_sweep_status(*st); }});
}

}  // namespace

const CommandRegistration registration{140, add_commands};

}  // namespace normout::cli
