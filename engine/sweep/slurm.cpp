#include "engine/sweep/slurm.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "engine/runfile/run_file.h"
#include "engine/sweep/process.h"
#include "engine/sweep/run_state.h"

namespace normout {

namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<int> unfinished(const SweepPlan& plan, const std::string& dir, const std::vector<int>& indices) {
    std::vector<int> out;
    for (int i : indices) {
        const RunDecision d = decide(run_state(dir, plan.runs[i]));
        if (d.action == RunAction::Train || d.action == RunAction::TrainOver || d.action == RunAction::Resume)
            out.push_back(i);
    }
    return out;
}

}  // namespace

std::string array_ranges(const std::vector<int>& indices) {
    std::ostringstream s;
    for (std::size_t i = 0; i < indices.size();) {
        std::size_t j = i;
        while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1)
            ++j;
        s << (i ? "," : "") << indices[i];
        if (j > i) s << "-" << indices[j];
        i = j + 1;
    }
    return s.str();
}

std::string slurm_script(const SweepPlan& plan, const SlurmJob& job) {
    const SlurmSettings& o = plan.slurm;
    std::ostringstream s;
    s << "#!/bin/bash\n"
      << "# NormOut Lab sweep '" << plan.name << "' (" << plan.source << "): one array task per run.\n"
      << "# Each task trains its run, or resumes it from its newest checkpoint when it was stopped,\n"
      << "# pre-empted or killed; a finished run is left alone.\n"
      << "#SBATCH --job-name="
      << "normout-" << safe_name_part(plan.name) << "\n"
      << "#SBATCH --array=" << array_ranges(job.indices)
      << (o.max_parallel > 0 ? "%" + std::to_string(o.max_parallel) : "") << "\n"
      << "#SBATCH --output=" << (fs::path(job.dir) / "slurm" / "%A_%a.out").string() << "\n"
      << "#SBATCH --open-mode=append\n"
      << "#SBATCH --requeue\n"
      // Before the time limit, normout gets SIGTERM: it stops after the current batch with a checkpoint.
      << "#SBATCH --signal=B:TERM@120\n";
    if (!o.partition.empty()) s << "#SBATCH --partition=" << o.partition << "\n";
    if (!o.time.empty()) s << "#SBATCH --time=" << o.time << "\n";
    if (!o.mem.empty()) s << "#SBATCH --mem=" << o.mem << "\n";
    if (o.cpus > 0) s << "#SBATCH --cpus-per-task=" << o.cpus << "\n";
    if (o.gpus > 0) s << "#SBATCH --gres=gpu:" << o.gpus << "\n";
    for (const auto& extra : o.options)
        s << "#SBATCH " << extra << "\n";
    s << "\nexec " << shell_quote(job.executable) << " sweep-task " << shell_quote(job.dir)
      << " \"$SLURM_ARRAY_TASK_ID\"";
    if (!job.data_root.empty()) s << " --data " << shell_quote(job.data_root);
    s << "\n";
    return s.str();
}

std::string submit_slurm(const SweepPlan& plan, const SlurmJob& job) {
    const fs::path folder = fs::path(job.dir) / "slurm";
    fs::create_directories(folder);
    fs::path script;
    for (int n = 1;; ++n) {
        script = folder / ("sweep-" + std::to_string(n) + ".sbatch");
        if (!fs::exists(script)) break;
    }
    {
        std::ofstream out(script);
        out << slurm_script(plan, job);
        if (!out) throw std::runtime_error(script.string() + ": cannot write the job script");
    }
    fs::permissions(script, fs::perms::owner_exec, fs::perm_options::add);
    const CommandResult r = run_command({"sbatch", "--parsable", script.string()});
    if (r.exit_code != 0)
        throw std::runtime_error("sbatch " + script.string() + " failed (exit " + std::to_string(r.exit_code) +
                                 "): " + trim(r.output));
    // --parsable prints "JOBID" or "JOBID;CLUSTER", possibly after warnings.
    std::istringstream lines(r.output);
    std::string id;
    for (std::string line; std::getline(lines, line);) {
        line = trim(line.substr(0, line.find(';')));
        if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos) id = line;
    }
    if (id.empty()) throw std::runtime_error("sbatch gave no job id: " + trim(r.output));
    return id;
}

QueueState slurm_queue(const std::string& job_id) {
    QueueState q;
    const CommandResult r = run_command({"squeue", "-h", "-r", "-j", job_id, "-o", "%K|%T"});
    if (r.exit_code != 0) {
        // A job that has left the queue can be unknown to squeue: that is an empty queue.
        if (r.output.find("Invalid job id") != std::string::npos) return q;
        q.known = false;
        q.error = trim(r.output);
        return q;
    }
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
        const auto bar = line.find('|');
        if (bar == std::string::npos) continue;
        try {
            const int index = std::stoi(line.substr(0, bar));
            const std::string state = trim(line.substr(bar + 1));
            (state == "RUNNING" || state == "COMPLETING" ? q.running : q.pending).push_back(index);
        } catch (const std::exception&) {
        }
    }
    return q;
}

SweepTally run_slurm(const SweepPlan& plan, SlurmJob job, const SlurmOptions& o) {
    const auto say = [&](const std::string& line) {
        if (o.event) o.event(line);
    };
    std::vector<int> all;
    for (const auto& r : plan.runs)
        all.push_back(r.index);
    SweepTally tally;
    for (int submission = 0; submission <= o.retries; ++submission) {
        job.indices = unfinished(plan, job.dir, all);
        if (job.indices.empty()) break;
        const std::string id = submit_slurm(plan, job);
        say("submitted job " + id + " (" + std::to_string(job.indices.size()) + " task" +
            (job.indices.size() == 1 ? "" : "s") + ", array " + array_ranges(job.indices) + ")");
        int unknown = 0;
        while (true) {
            if (o.cancel && o.cancel->cancelled()) {
                say("stopped following job " + id + "; it keeps running (scancel " + id +
                    " stops it; `normout sweep-status " + job.dir + "` shows where it stands)");
                tally.stopped = static_cast<int>(unfinished(plan, job.dir, all).size());
                return tally;
            }
            const QueueState q = slurm_queue(id);
            if (!q.known) {
                if (++unknown >= 6) throw std::runtime_error("squeue keeps failing: " + q.error);
            } else {
                unknown = 0;
                if (q.pending.empty() && q.running.empty()) break;
                if (o.progress) {
                    int done = 0;
                    for (const auto& r : plan.runs)
                        done += is_done(run_state(job.dir, r).status) ? 1 : 0;
                    o.progress(progress_line(plan, job.dir, q.running, done) + ", " + std::to_string(q.pending.size()) +
                               " queued (job " + id + ")");
                }
            }
            const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.poll_seconds);
            while (std::chrono::steady_clock::now() < until && !(o.cancel && o.cancel->cancelled()))
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        // A task killed on another node leaves its run "running" until the heartbeat goes stale.
        const auto stale_by = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHeartbeatTimeoutMs + 5000);
        for (bool any = true; any && std::chrono::steady_clock::now() < stale_by;) {
            any = false;
            for (int i : job.indices)
                any |= run_state(job.dir, plan.runs[i]).status == "running";
            if (any) std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        const auto left = unfinished(plan, job.dir, job.indices);
        for (int i : job.indices) {
            const RunState st = run_state(job.dir, plan.runs[i]);
            say("[" + std::to_string(i + 1) + "/" + std::to_string(plan.runs.size()) + "] " + plan.runs[i].name + ": " +
                st.status + (st.message.empty() ? "" : " (" + st.message + ")"));
        }
        if (!left.empty() && submission < o.retries)
            say(std::to_string(left.size()) + " run(s) did not finish; submitting them again to resume");
    }
    for (const auto& r : plan.runs) {
        const std::string st = run_state(job.dir, r).status;
        if (st == "finished")
            ++tally.finished;
        else if (st == "diverged")
            ++tally.diverged;
        else
            ++tally.failed;
    }
    return tally;
}

}  // namespace normout
