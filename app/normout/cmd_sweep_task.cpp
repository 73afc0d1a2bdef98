// `normout sweep-task DIR INDEX`: train or resume one run of a sweep folder (what each Slurm array
// task runs).
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
#include "run_training.h"

namespace normout::cli {

namespace {

struct TaskArgs {
    std::string dir;
    int index = -1;
    std::string data_root;
};

int run_sweep_task(const TaskArgs& a) {
    const SweepPlan plan = load_sweep_plan(a.dir);
    if (a.index < 0 || a.index >= static_cast<int>(plan.runs.size()))
        throw ConfigError("index", fmt::format("{} is not a run of {} (0 to {})", a.index, plan_path(a.dir),
                                               static_cast<int>(plan.runs.size()) - 1));
    const SweepRun& run = plan.runs[a.index];
    RunState st = run_state(a.dir, run);
    // A previous attempt killed on another node leaves the run "running" until its heartbeat is stale.
    for (int waited = 0; st.status == "running" && waited < (kHeartbeatTimeoutMs + 5000) / 1000; ++waited) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        st = run_state(a.dir, run);
    }
    const RunDecision d = decide(st);
    fmt::print("sweep task {} ({}): {} ({})\n", a.index, run.name,
               d.action == RunAction::Resume   ? "resuming"
               : d.action == RunAction::Skip   ? "nothing to do"
               : d.action == RunAction::Refuse ? "cannot run"
                                               : "training",
               d.reason);
    std::fflush(stdout);
    switch (d.action) {
        case RunAction::Skip:
            return st.status == "running" ? kExitFailed : kExitOk;
        case RunAction::Refuse:
            fmt::print(stderr, "normout: {}: {}\n", run_file_path(a.dir, run), d.reason);
            return kExitError;
        case RunAction::Resume: {
            ResumeArgs r;
            r.run = run_file_path(a.dir, run);
            r.data_root = a.data_root;
            return run_resume(r);
        }
        default: {
            TrainArgs t;
            t.config.config_file = run_config_path(a.dir, run);
            t.config.data_root = a.data_root;
            t.out = run_file_path(a.dir, run);
            t.force = d.action == RunAction::TrainOver;
            return run_train(t);
        }
    }
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto ta = std::make_shared<TaskArgs>();
    auto* task = app.add_subcommand("sweep-task", "Train or resume one run of a sweep folder (a Slurm array task)");
    task->add_option("dir", ta->dir, "Sweep folder")->required();
    task->add_option("index", ta->index, "Run index (as in sweep.json; $SLURM_ARRAY_TASK_ID)")->required();
    task->add_option("--data", ta->data_root, "Data directory (as for train)");
    out.push_back({task, [ta] { return run_sweep_task(*ta); }});
}

}  // namespace

const CommandRegistration registration{150, add_commands};

}  // namespace normout::cli
