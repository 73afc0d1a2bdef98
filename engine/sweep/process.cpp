#include "engine/sweep/process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace normout {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
    std::vector<char*> out;
    for (const auto& a : argv)
        out.push_back(const_cast<char*>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

// The program a name runs: itself when it holds a '/', else its first executable match on $PATH
// (resolved before fork, since execvp is not async-signal-safe).
std::string resolve_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path = std::getenv("PATH");
    std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::string dir = end > start ? dirs.substr(start, end - start) : ".";
        const std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return name;  // execv fails with ENOENT and the child says so
}

// In a forked child only async-signal-safe calls are allowed: the message after a failed exec is
// assembled from parts prepared before fork() and written with write(2) alone.
[[noreturn]] void exec_or_exit(const char* program, char* const* argv, const char* failure_prefix) {
    ::execv(program, argv);
    const int err = errno;
    char digits[16];
    int n = 0;
    for (int e = err > 0 ? err : 0; n == 0 || e > 0; e /= 10)
        digits[n++] = static_cast<char>('0' + e % 10);
    char number[16];
    for (int i = 0; i < n; ++i)
        number[i] = digits[n - 1 - i];
    const char* reason = err == ENOENT ? "no such file" : err == EACCES ? "permission denied" : "exec failed";
    (void)!::write(STDERR_FILENO, failure_prefix, std::strlen(failure_prefix));
    (void)!::write(STDERR_FILENO, reason, std::strlen(reason));
    (void)!::write(STDERR_FILENO, " (errno ", 8);
    (void)!::write(STDERR_FILENO, number, static_cast<std::size_t>(n));
    (void)!::write(STDERR_FILENO, ")\n", 2);
    ::_exit(127);
}

}  // namespace

std::string self_executable() {
    std::error_code ec;
    const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find the normout executable (/proc/self/exe): " + ec.message());
    return p.string();
}

ChildProcess spawn_logged(const std::vector<std::string>& argv, const std::string& log_path) {
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) throw std::runtime_error(log_path + ": cannot open the log file: " + std::strerror(errno));
    const int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    auto args = c_argv(argv);
    const std::string failure = "cannot run " + argv.at(0) + ": ";
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log);
        if (null_in >= 0) ::close(null_in);
        throw std::runtime_error(std::string("cannot start a run process: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(125);  // the sweep died before prctl took effect
        if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
        ::dup2(log, STDOUT_FILENO);
        ::dup2(log, STDERR_FILENO);
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        exec_or_exit(args[0], args.data(), failure.c_str());
    }
    ::close(log);
    if (null_in >= 0) ::close(null_in);
    return {pid};
}

ChildExit reap_any() {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    ChildExit e;
    if (pid <= 0) return e;
    e.pid = pid;
    if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
    return e;
}

void signal_child(const ChildProcess& child, int sig) {
    if (child.pid > 0) ::kill(child.pid, sig);
}

CommandResult run_command(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return {127, std::string("pipe: ") + std::strerror(errno)};
    auto args = c_argv(argv);
    const std::string program = resolve_program(argv.at(0));
    const std::string failure = "cannot run " + argv.at(0) + ": ";
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return {127, std::string("fork: ") + std::strerror(errno)};
    }
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        exec_or_exit(program.c_str(), args.data(), failure.c_str());
    }
    ::close(fds[1]);
    CommandResult r;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        r.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

std::string shell_quote(const std::string& word) {
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace normout
