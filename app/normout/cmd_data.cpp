// `normout data fetch`: download, verify (MD5) and unpack a data set.
#include <fmt/format.h>
#include <unistd.h>

#include <memory>

#include "command.h"
#include "engine/data/fetch.h"
#include "engine/data/locate.h"

namespace normout::cli {

namespace {

struct FetchArgs {
    std::string dataset;
    std::string data_root;
    std::string url;
    std::string md5;
    std::string archive;
    bool force = false;
    bool keep_archive = false;
};

int run_fetch(const FetchArgs& a) {
    FetchOptions o;
    o.dest_dir = a.data_root.empty() ? data_roots("").front() : a.data_root;
    if (!a.url.empty()) o.url = a.url;
    if (!a.md5.empty()) o.md5 = a.md5;
    o.archive = a.archive;
    o.force = a.force;
    o.keep_archive = a.keep_archive;
    o.show_progress = isatty(STDERR_FILENO) == 1;
    const FetchResult r = fetch_cifar10(o, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
    if (!r.already_present) fmt::print("CIFAR-10 is ready in {}\n", r.dataset_dir);
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<FetchArgs>();
    auto* data = app.add_subcommand("data", "Manage data sets");
    data->require_subcommand(1);
    auto* cmd = data->add_subcommand("fetch", "Download, verify and unpack a data set (cifar10)");
    cmd->add_option("dataset", a->dataset, "Data set to fetch")->required()->check(CLI::IsMember({"cifar10"}));
    cmd->add_option("--data", a->data_root, "Data directory to unpack into");
    cmd->add_option("--url", a->url, "Download from this address instead of the official one");
    cmd->add_option("--md5", a->md5, "Expected MD5 checksum (default: the official release's)");
    cmd->add_option("--archive", a->archive, "Unpack this already downloaded file instead")->check(CLI::ExistingFile);
    cmd->add_flag("--force", a->force, "Replace an existing copy");
    cmd->add_flag("--keep-archive", a->keep_archive, "Keep the downloaded .tar.gz");
    out.push_back({cmd, [a] { return run_fetch(*a); }});
}
}  // namespace

const CommandRegistration registration{80, add_commands};

}  // namespace normout::cli
