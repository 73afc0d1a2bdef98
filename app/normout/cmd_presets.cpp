// `normout presets`: the presets (quick and one per row of the thesis's Table 3.1).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "engine/config/presets.h"

namespace normout::cli {

namespace {

using nlohmann::json;

int run_presets(bool as_json) {
    if (as_json) {
        json out = json::array();
        for (const auto& p : presets())
            out.push_back({{"name", p.name},
                           {"title", p.title},
                           {"description", p.description},
                           {"thesis_train_accuracy", p.thesis_train_accuracy},
                           {"thesis_test_accuracy", p.thesis_test_accuracy},
                           {"thesis_section", p.thesis_section},
                           {"config", json::parse(config_to_json(p.config))}});
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    std::size_t width = 6, title_width = 5;  // the longest name and title, so the columns line up
    for (const auto& p : presets()) {
        width = std::max(width, p.name.size());
        title_width = std::max(title_width, p.title.size());
    }
    fmt::print("{:<{}}  {:<8}  {:<{}}  {}\n", "preset", width, "section", "title", title_width,
               "thesis train / test %");
    for (const auto& p : presets()) {
        const std::string acc = p.thesis_test_accuracy < 0
                                    ? std::string("-")
                                    : fmt::format("{:g} / {:g}", p.thesis_train_accuracy, p.thesis_test_accuracy);
        fmt::print("{:<{}}  {:<8}  {:<{}}  {}\n", p.name, width, p.thesis_section.empty() ? "-" : p.thesis_section,
                   p.title, title_width, acc);
        // Where a row's surgery is the lab's reading of the thesis, say so under it.
        const auto interpretation = p.description.find("Interpretation");
        if (interpretation != std::string::npos) fmt::print("    {}\n", p.description.substr(interpretation));
    }
    fmt::print(
        "\nThe thesis/* presets use PyTorch's default initialisation (model.init=pytorch), as the authors' code, "
        "and train on all 50,000 images (data.val_fraction=0). Section 3.1 is the thesis's Table 3.1; the future/* "
        "presets are the experiments of its future work (4.3.1 adversarial training, 4.3.2 schedules and penalties, "
        "4.3.3 other architectures).\nUse with `normout train --preset NAME --out RUN.h5`; "
        "`normout config --preset NAME` prints its settings; --json adds each preset's description.\n");
    return kExitOk;
}

int export_presets(const std::string& folder) {
    std::filesystem::create_directories(folder);
    for (const auto& p : presets()) {
        std::string file = p.name;
        std::replace(file.begin(), file.end(), '/', '-');
        save_config_file(p.config, (std::filesystem::path(folder) / (file + ".json")).string());
    }
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    struct Args {
        bool json = false;
        std::string export_folder;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("presets", "List the presets (quick, the thesis's Table 3.1 rows, its future work)");
    cmd->add_flag("--json", a->json, "Machine-readable output");
    cmd->add_option("--export", a->export_folder,
                    "Write each preset as a configuration file (NAME.json, '/' as '-') into this folder");
    out.push_back(
        {cmd, [a] { return a->export_folder.empty() ? run_presets(a->json) : export_presets(a->export_folder); }});
}
}  // namespace

const CommandRegistration registration{40, add_commands};

}  // namespace normout::cli
