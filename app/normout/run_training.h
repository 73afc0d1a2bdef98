#pragma once
// Training and resuming from the command line, shared by `train`, `resume` and `sweep-task`:
// console progress, Ctrl-C as a clean stop, the exit code from the outcome (command.h).
#include <string>

#include "config_args.h"

namespace normout::cli {

struct TrainArgs {
    ConfigArgs config;
    std::string out;
    bool force = false;
    long long max_steps = 0;
    bool quiet = false;
};

struct ResumeArgs {
    std::string run;
    std::string data_root;
    long long max_steps = 0;
    bool quiet = false;
};

int run_train(const TrainArgs& args);
int run_resume(const ResumeArgs& args);

}  // namespace normout::cli
