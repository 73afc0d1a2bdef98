#pragma once
// Runs the `normout` command line ($NORMOUT_CLI, set by CTest) as a child process in a sandbox:
// HOME and XDG_DATA_HOME in a temporary folder of its own and NORMOUT_DATA removed, so that no
// test reads or writes the user's data directory or settings.
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace normout::test {

struct ProcessResult {
    int code = -1;  // the exit code; -1 when the process crashed, was killed or timed out
    QString out, err;
    bool timed_out = false;  // killed after the time limit
};

class CliRunner {
  public:
    explicit CliRunner(int timeout_ms = 120000)
        : program_(qEnvironmentVariable("NORMOUT_CLI")), timeout_ms_(timeout_ms) {}

    const QString& program() const { return program_; }
    bool exists() const { return !program_.isEmpty() && QFile::exists(program_); }
    QString home() const { return home_.path(); }

    QProcessEnvironment environment() const {
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert("HOME", home_.path());  // sandbox the default data directory
        e.insert("XDG_DATA_HOME", home_.path() + "/share");
        e.remove("NORMOUT_DATA");
        return e;
    }

    // Runs `normout args...` to the end, or kills it after the time limit (the runner's by default).
    ProcessResult run(const QStringList& args, int timeout_ms = 0) const {
        QProcess p;
        start(p, args);
        ProcessResult r;
        const bool finished = p.waitForFinished(timeout_ms > 0 ? timeout_ms : timeout_ms_);
        if (!finished && p.state() != QProcess::NotRunning) {
            r.timed_out = true;
            p.kill();
            p.waitForFinished();
        }
        // Not started, killed or crashed: -1.
        r.code = finished && p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        r.out = QString::fromUtf8(p.readAllStandardOutput());
        r.err = QString::fromUtf8(p.readAllStandardError());
        return r;
    }

    // Starts `normout args...` in `p` and returns at once (for tests that read its output as it
    // comes, signal or kill it).
    void start(QProcess& p, const QStringList& args) const {
        p.setProcessEnvironment(environment());
        p.start(program_, args);
    }

  private:
    QString program_;
    int timeout_ms_;
    QTemporaryDir home_;
};

}  // namespace normout::test
