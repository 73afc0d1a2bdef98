#pragma once
// Child processes of a sweep: runs spawned with their output in a log file, and commands whose
// output is read (sbatch, squeue, sacct). POSIX only; no torch.
#include <string>
#include <vector>

namespace normout {

// The running program's own executable (/proc/self/exe), so children run the same `normout`.
std::string self_executable();

struct ChildProcess {
    int pid = -1;
};

// Starts argv[0] with the arguments, stdin from /dev/null, stdout and stderr appended to
// `log_path`, in a process group of its own (the sweep forwards Ctrl-C itself) and told to stop
// (SIGTERM) when the sweep process dies. Throws std::runtime_error when it cannot start.
ChildProcess spawn_logged(const std::vector<std::string>& argv, const std::string& log_path);

struct ChildExit {
    int pid = -1;
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;
};
// Reaps one finished child without blocking; pid -1 when none has finished.
ChildExit reap_any();
void signal_child(const ChildProcess& child, int sig);

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};
// Runs a command (no shell) and collects its output. exit_code 127 when it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv);

// Quotes a word for a POSIX shell script.
std::string shell_quote(const std::string& word);

}  // namespace normout
