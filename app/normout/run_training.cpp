#include "run_training.h"

#include "command.h"
#include "console.h"
#include "engine/data/locate.h"
#include "engine/session/training.h"
#include "stop_signals.h"

namespace normout::cli {

namespace {

constexpr const char* kStopNotice = "\nStopping after the current batch (Ctrl-C again to abort)...\n";

int exit_code(const RunOutcome& outcome, bool stop_requested) {
    switch (outcome.status) {
        case RunStatus::Finished:
            return kExitOk;
        case RunStatus::Stopped:
            return stop_requested ? kExitStopped : kExitOk;
        case RunStatus::Diverged:
            return kExitDiverged;
        default:
            return kExitFailed;
    }
}

}  // namespace

int run_train(const TrainArgs& a) {
    RunConfig config = resolve_config(a.config);
    TrainOptions options;
    options.out_path = a.out;
    options.overwrite = a.force;
    options.data_roots = data_roots(a.config.data_root);
    options.max_steps = a.max_steps;
    ConsoleObserver console(a.quiet);
    const StopSignals stop(kStopNotice);
    const RunOutcome outcome = train(config, options, &console, &StopSignals::control());
    return exit_code(outcome, stop.requested());
}

int run_resume(const ResumeArgs& a) {
    TrainOptions options;
    options.data_roots = data_roots(a.data_root);
    options.max_steps = a.max_steps;
    ConsoleObserver console(a.quiet);
    const StopSignals stop(kStopNotice);
    const RunOutcome outcome = resume(a.run, options, &console, &StopSignals::control());
    return exit_code(outcome, stop.requested());
}

}  // namespace normout::cli
