// `normout sweep SPEC --out DIR`: many runs from one specification (a grid or list of settings
// and seeds), on this machine or as a Slurm job array (cmd_sweep_status.cpp and cmd_sweep_task.cpp
// hold the commands that read a sweep folder and run one of its runs).
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "command.h"
#include "console.h"
#include "engine/config/config.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/tables.h"
#include "engine/sweep/local_backend.h"
#include "engine/sweep/process.h"
#include "engine/sweep/run_state.h"
#include "engine/sweep/slurm.h"
#include "engine/sweep/sweep_plan.h"
#include "engine/sweep/sweep_spec.h"
#include "engine/util/clock.h"
#include "run_training.h"
#include "stop_signals.h"

namespace normout::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct SweepArgs {
    std::string spec;
    std::string out;
    std::string backend = "local";
    int parallel = 1;
    int retries = -1;  // -1: the backend's default
    bool dry_run = false;
    std::vector<std::string> sets;
    std::string data_root;
    // Slurm settings (override the spec's "slurm" object)
    std::string partition, time, mem;
    int gpus = -1, cpus = -1;
    std::vector<std::string> sbatch_options;
    bool no_wait = false;
    double poll = 10;
};

// Events on stdout; a redrawn progress line on stderr when it is a terminal.
class SweepConsole {
  public:
    SweepConsole() : tty_(isatty(STDERR_FILENO) == 1) {}
    void event(const std::string& line) {
        clear();
        fmt::print("{}\n", line);
        std::fflush(stdout);
    }
    void progress(const std::string& line) {
        if (!tty_) return;
        const auto width = std::size_t{150};
        fmt::print(stderr, "\r\033[K{}", line.size() > width ? line.substr(0, width - 3) + "..." : line);
        std::fflush(stderr);
        shown_ = true;
    }
    void clear() {
        if (!shown_) return;
        fmt::print(stderr, "\r\033[K");
        shown_ = false;
    }

  private:
    bool tty_;
    bool shown_ = false;
};

std::string varied_text(const SweepRun& r) {
    std::string out;
    for (const auto& s : r.varied) {
        const json v = json::parse(s.value_json);
        out += (out.empty() ? "" : " ") + s.key + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    return out + (out.empty() ? "" : " ") + "train.seed=" + std::to_string(r.seed);
}

int exit_code_for(const SweepTally& t) {
    if (t.stopped > 0) return kExitStopped;
    if (t.failed > 0) return kExitFailed;
    return kExitOk;
}

int run_sweep(const SweepArgs& a) {
    SweepSpec spec = load_sweep_spec(a.spec);
    SlurmSettings& s = spec.slurm;
    if (!a.partition.empty()) s.partition = a.partition;
    if (!a.time.empty()) s.time = a.time;
    if (!a.mem.empty()) s.mem = a.mem;
    if (a.gpus >= 0) s.gpus = a.gpus;
    if (a.cpus >= 0) s.cpus = a.cpus;
    if (a.parallel > 1 && a.backend == "slurm") s.max_parallel = a.parallel;
    s.options.insert(s.options.end(), a.sbatch_options.begin(), a.sbatch_options.end());
    const SweepPlan plan = expand_sweep(spec, a.sets);
    const std::string dir = fs::absolute(a.out).lexically_normal().string();

    if (a.dry_run) {
        fmt::print("Sweep '{}' ({}): {} run{} into {}\n", plan.name, plan.source, plan.runs.size(),
                   plan.runs.size() == 1 ? "" : "s", dir);
        for (const auto& r : plan.runs) {
            const std::string state = fs::exists(plan_path(dir)) ? run_state(dir, r).status : "pending";
            fmt::print("{:>4}  {:<60}  {:<11}  {}\n", r.index, r.name + ".h5", state, varied_text(r));
        }
        if (a.backend == "slurm") {
            SlurmJob job{self_executable(), dir, a.data_root, {}};
            for (const auto& r : plan.runs)
                job.indices.push_back(r.index);
            fmt::print("\nJob script (sbatch):\n{}", slurm_script(plan, job));
        }
        fmt::print("(dry run: nothing written)\n");
        return kExitOk;
    }

    save_sweep_plan(plan, dir);
    SweepConsole console;
    const StopSignals stop("\nStopping the sweep: runs stop after their current batch (Ctrl-C again to abort)...\n");
    const auto started = std::chrono::steady_clock::now();
    console.event(fmt::format("Sweep '{}': {} run{} in {} ({} backend)", plan.name, plan.runs.size(),
                              plan.runs.size() == 1 ? "" : "s", dir, a.backend));

    SweepTally tally;
    if (a.backend == "slurm") {
        SlurmJob job{self_executable(), dir, a.data_root, {}};
        if (a.no_wait) {
            for (const auto& r : plan.runs)
                if (const auto d = decide(run_state(dir, r)).action;
                    d == RunAction::Train || d == RunAction::TrainOver || d == RunAction::Resume)
                    job.indices.push_back(r.index);
            if (job.indices.empty()) {
                console.event("Every run is done already.");
                return kExitOk;
            }
            const std::string id = submit_slurm(plan, job);
            console.event(
                fmt::format("Submitted job {} ({} tasks). `normout sweep-status {}` shows progress; "
                            "run this command again to resubmit unfinished runs.",
                            id, job.indices.size(), dir));
            return kExitOk;
        }
        SlurmOptions o;
        if (a.retries >= 0) o.retries = a.retries;
        o.poll_seconds = a.poll;
        o.cancel = &StopSignals::control();
        o.event = [&](const std::string& l) { console.event(l); };
        o.progress = [&](const std::string& l) { console.progress(l); };
        tally = run_slurm(plan, job, o);
    } else {
        if (a.parallel > 1)
            for (const auto& r : plan.runs)
                if (config_from_json(r.config_json).train.threads == 0) {
                    console.event(
                        fmt::format("Note: each run uses every core (train.threads=0); with --parallel {} "
                                    "consider --set train.threads=K",
                                    a.parallel));
                    break;
                }
        LocalOptions o;
        o.parallel = a.parallel;
        if (a.retries >= 0) o.retries = a.retries;
        o.executable = self_executable();
        o.data_root = a.data_root;
        o.cancel = &StopSignals::control();
        o.event = [&](const std::string& l) { console.event(l); };
        o.progress = [&](const std::string& l) { console.progress(l); };
        tally = run_local(plan, dir, o);
    }
    console.clear();
    const double secs = seconds_since(started);
    console.event(fmt::format(
        "Sweep done in {}: {} finished now, {} already finished, {} diverged, {} failed, {} stopped. "
        "`normout sweep-status {}` summarises it.",
        format_duration(secs), tally.finished, tally.skipped, tally.diverged, tally.failed, tally.stopped, dir));
    return exit_code_for(tally);
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto sa = std::make_shared<SweepArgs>();
    std::string builtins;
    for (const auto& [name, what] : builtin_sweeps())
        builtins += fmt::format("{}{} ({})", builtins.empty() ? "" : ", ", name, what);
    auto* sweep =
        app.add_subcommand("sweep", "Run many runs from a sweep specification (grid/list of settings, seeds)");
    sweep->add_option("spec", sa->spec, "Sweep specification (JSON file) or a built-in sweep: " + builtins)->required();
    sweep->add_option("--out", sa->out, "Sweep folder: run files, sweep.json, configs/, logs/")->required();
    sweep->add_option("--backend", sa->backend, "local (this machine) or slurm (an sbatch job array)")
        ->check(CLI::IsMember({"local", "slurm"}));
    sweep->add_option("--parallel", sa->parallel, "Runs at a time (local), or the job array's throttle (slurm)")
        ->check(CLI::Range(1, 1024));
    sweep->add_flag("--dry-run", sa->dry_run, "List the runs (and the Slurm script) without writing anything");
    sweep->add_option("--set", sa->sets, "Override a setting in every run, key=value; repeatable")->take_all();
    sweep->add_option("--data", sa->data_root, "Data directory (as for train)");
    sweep
        ->add_option("--retries", sa->retries,
                     "Further attempts, resuming from the checkpoint, for a run whose process dies "
                     "(local default 1, slurm default 2)")
        ->check(CLI::Range(0, 100));
    sweep->add_option("--partition", sa->partition, "Slurm partition");
    sweep->add_option("--time", sa->time, "Slurm time limit per run (e.g. 04:00:00)");
    sweep->add_option("--mem", sa->mem, "Slurm memory per run (e.g. 16G)");
    sweep->add_option("--gpus", sa->gpus, "Slurm GPUs per run")->check(CLI::Range(0, 64));
    sweep->add_option("--cpus", sa->cpus, "Slurm CPUs per run (set train.threads to match)")
        ->check(CLI::Range(0, 1024));
    sweep->add_option("--sbatch-option", sa->sbatch_options, "Extra sbatch option, e.g. --qos=long; repeatable");
    sweep->add_flag("--no-wait", sa->no_wait, "Slurm: submit and return instead of following the job");
    sweep->add_option("--poll", sa->poll, "Slurm: seconds between squeue checks")->check(CLI::Range(0.2, 3600.0));
    out.push_back({sweep, [sa] { return run_sweep(*sa); }});
}

}  // namespace

const CommandRegistration registration{130, add_commands};

}  // namespace normout::cli
