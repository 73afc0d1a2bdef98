#include "engine/sweep/local_backend.h"

#include <chrono>
#include <csignal>
#include <deque>
#include <map>
#include <sstream>
#include <thread>

#include "engine/sweep/process.h"
#include "engine/sweep/run_state.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

struct Active {
    ChildProcess child;
    int run = 0;
    std::chrono::steady_clock::time_point started;
};

std::string accuracy_text(double a) {
    if (a < 0) return "-";
    std::ostringstream s;
    s.precision(2);
    s << std::fixed << 100 * a << "%";
    return s.str();
}

std::string seconds_text(double s) {
    std::ostringstream o;
    o.precision(1);
    o << std::fixed << s << " s";
    return o.str();
}

std::vector<std::string> command_for(const SweepRun& run, RunAction action, const std::string& dir,
                                     const LocalOptions& o) {
    std::vector<std::string> argv{o.executable};
    if (action == RunAction::Resume) {
        argv.insert(argv.end(), {"resume", run_file_path(dir, run)});
    } else {
        argv.insert(argv.end(), {"train", "--config", run_config_path(dir, run), "--out", run_file_path(dir, run)});
        if (action == RunAction::TrainOver) argv.push_back("--force");
    }
    if (!o.data_root.empty()) argv.insert(argv.end(), {"--data", o.data_root});
    return argv;
}

}  // namespace

std::string progress_line(const SweepPlan& plan, const std::string& dir, const std::vector<int>& active, int done) {
    std::ostringstream s;
    s << done << "/" << plan.runs.size() << " done";
    if (!active.empty()) s << ", " << active.size() << " running:";
    for (int i : active) {
        const RunState st = run_state(dir, plan.runs[i]);
        s << " " << plan.runs[i].name << " epoch " << std::min(st.epochs_done + 1, st.epochs_total) << "/"
          << st.epochs_total << " (step " << st.steps << ")";
    }
    return s.str();
}

SweepTally run_local(const SweepPlan& plan, const std::string& dir, const LocalOptions& o) {
    SweepTally tally;
    const auto say = [&](const std::string& line) {
        if (o.event) o.event(line);
    };
    const int total = static_cast<int>(plan.runs.size());
    const auto tag = [&](int i) { return "[" + std::to_string(i + 1) + "/" + std::to_string(total) + "] "; };
    std::deque<int> queue;
    std::map<int, int> attempts;
    for (const auto& r : plan.runs)
        queue.push_back(r.index);
    std::map<int, Active> active;  // by pid
    bool stopping = false;
    auto last_progress = std::chrono::steady_clock::now();

    while (!queue.empty() || !active.empty()) {
        if (o.cancel && o.cancel->cancelled() && !stopping) {
            stopping = true;  // runs stop after their current batch, with a checkpoint: resumable
            for (auto& [pid, a] : active)
                signal_child(a.child, SIGINT);
            tally.stopped += static_cast<int>(queue.size());
            queue.clear();
        }
        while (!stopping && !queue.empty() && static_cast<int>(active.size()) < std::max(1, o.parallel)) {
            const int i = queue.front();
            queue.pop_front();
            const SweepRun& run = plan.runs[i];
            const RunState st = run_state(dir, run);
            const RunDecision d = decide(st);
            if (d.action == RunAction::Skip) {
                if (st.status == "finished")
                    ++tally.skipped;
                else if (st.status == "diverged")
                    ++tally.diverged;
                else
                    ++tally.failed;
                say(tag(i) + "skip " + run.name + ": " + d.reason);
                continue;
            }
            if (d.action == RunAction::Refuse) {
                ++tally.failed;
                say(tag(i) + "cannot run " + run.name + ": " + d.reason);
                continue;
            }
            ++attempts[i];
            const ChildProcess child = spawn_logged(command_for(run, d.action, dir, o), run_log_path(dir, run));
            active[child.pid] = {child, i, std::chrono::steady_clock::now()};
            say(tag(i) + (d.action == RunAction::Resume ? "resume " : "train ") + run.name +
                (d.action == RunAction::Train ? "" : " (" + d.reason + ")"));
        }
        for (ChildExit e = reap_any(); e.pid > 0; e = reap_any()) {
            const auto it = active.find(e.pid);
            if (it == active.end()) continue;
            const int i = it->second.run;
            const double secs =
                seconds_since(it->second.started);
            active.erase(it);
            const SweepRun& run = plan.runs[i];
            const RunState st = run_state(dir, run);
            const std::string how =
                e.signal ? "killed by signal " + std::to_string(e.signal) : "exit code " + std::to_string(e.exit_code);
            if (st.status == "finished") {
                ++tally.finished;
                say(tag(i) + "finished " + run.name + ": test accuracy " + accuracy_text(st.test_accuracy) + ", " +
                    std::to_string(st.epochs_done) + " epochs, " + seconds_text(secs));
            } else if (st.status == "diverged") {
                ++tally.diverged;
                say(tag(i) + "diverged " + run.name + " (" + st.message + ")");
            } else if (stopping) {
                ++tally.stopped;
                say(tag(i) + "stopped " + run.name + " at step " + std::to_string(st.steps) + " (resumable)");
            } else {
                const RunDecision d = decide(st);
                const bool retry = e.exit_code != 1 && attempts[i] <= o.retries &&
                                   (d.action == RunAction::Resume || d.action == RunAction::TrainOver);
                say(tag(i) + run.name + " ended " + st.status + " (" + how +
                    (st.message.empty() ? "" : ": " + st.message) + "); " +
                    (retry ? "trying again" : "see " + run_log_path(dir, run)));
                if (retry)
                    queue.push_front(i);
                else
                    ++tally.failed;
            }
        }
        if (active.empty() && queue.empty()) break;
        const auto now = std::chrono::steady_clock::now();
        if (o.progress && !active.empty() &&
            std::chrono::duration<double>(now - last_progress).count() >= o.progress_seconds) {
            last_progress = now;
            std::vector<int> runs;
            for (const auto& [pid, a] : active)
                runs.push_back(a.run);
            o.progress(progress_line(plan, dir, runs, tally.finished + tally.skipped + tally.diverged));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return tally;
}

}  // namespace normout
