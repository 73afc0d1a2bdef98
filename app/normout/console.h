#pragma once
// Terminal output of the command line: a progress bar and per-epoch summary lines.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/session/observer.h"

namespace normout::cli {

std::string format_duration(double seconds);  // 1:02:03 / 4:05
std::string percent(double fraction, int decimals = 2);

// Prints progress to stderr (a redrawn bar when it is a terminal) and epoch lines to stdout.
class ConsoleObserver : public TrainingObserver {
  public:
    explicit ConsoleObserver(bool quiet);
    void on_run_started(const RunStartInfo& info) override;
    void on_step(const StepProgress& p) override;
    void on_epoch(const EpochRecord& r) override;
    void on_run_finished(const RunOutcome& outcome) override;
    void on_message(const std::string& text) override;
    void on_error(const std::string& text) override;  // printed even with --quiet
    void on_analysis(const std::string& table, const std::vector<AnalysisRow>& rows) override;

  private:
    void clear_bar();
    bool quiet_;
    bool tty_;
    bool bar_shown_ = false;
    int epochs_ = 0;
};

}  // namespace normout::cli
