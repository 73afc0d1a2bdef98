#pragma once
// The subcommands of `normout`. Each returns the process exit code; errors are reported by
// main() from the exceptions they throw.
#include <string>
#include <vector>

namespace normout::cli {

// Settings that select a configuration: a preset, a file, then --set overrides, in that order.
struct ConfigArgs {
    std::string preset;
    std::string config_file;
    std::vector<std::string> sets;
    std::string data_root;  // --data
};

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

struct BenchArgs {
    ConfigArgs config;
    int steps = 20;
    int warmup = 3;
    bool json = false;
};

struct FetchArgs {
    std::string dataset;
    std::string data_root;
    std::string url;
    std::string md5;
    std::string archive;
    bool force = false;
    bool keep_archive = false;
};

int run_train(const TrainArgs& args);
int run_resume(const ResumeArgs& args);
int run_layers(const ConfigArgs& args, bool json);
int run_presets(bool json);
int export_presets(const std::string& folder);
int run_settings();
int run_config(const ConfigArgs& args);
int run_info(const std::string& path, bool json);
int run_info_layers(const std::string& path, bool json);
int run_fetch(const FetchArgs& args);
int run_bench(const BenchArgs& args);

// Exit codes.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;      // bad input: configuration, data, files
constexpr int kExitFailed = 3;     // the run failed while training
constexpr int kExitDiverged = 4;   // the loss became NaN or infinite
constexpr int kExitStopped = 130;  // stopped by Ctrl-C (the file is valid)

}  // namespace normout::cli
