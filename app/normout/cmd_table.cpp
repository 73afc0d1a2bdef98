// `normout table RUNS... --kind accuracy|activations|attacks|flatness --format csv|md|tex`: the
// thesis's tables rebuilt from run files.
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "command.h"
#include "config_args.h"
#include "engine/config/config.h"
#include "engine/runfile/tables.h"

namespace normout::cli {

namespace {

struct TableArgs {
    std::vector<std::string> runs;
    std::string kind = "accuracy";
    std::string format = "md";
    std::string layers = "48,51";
    std::string norm = "linf";
    std::string out;
};

int run_table(const TableArgs& a) {
    TableOptions options;
    options.norm = a.norm;
    options.layers = parse_index_list(a.layers, "layers");
    const Table table = build_table(a.runs, table_kind(a.kind), options);
    const std::string text = a.format == "csv"   ? to_csv(table)
                             : a.format == "tex" ? to_latex(table)
                                                 : to_markdown(table);
    if (a.out.empty()) {
        fmt::print("{}", text);
    } else {
        std::ofstream file(a.out);
        file << text;
        if (!file) throw std::runtime_error(a.out + ": cannot write the table");
    }
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto args = std::make_shared<TableArgs>();
    auto* cmd = app.add_subcommand("table", "Rebuild the thesis's tables (3.1-3.6) from run files");
    cmd->add_option("runs", args->runs, "Run files (.h5); runs differing only by seed become mean ± sd")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--kind", args->kind, "accuracy (3.1), activations (3.2/3.3), attacks (3.4/3.5), flatness (3.6)")
        ->check(CLI::IsMember({"accuracy", "activations", "attacks", "flatness"}));
    cmd->add_option("--format", args->format, "csv, md (Markdown) or tex (LaTeX)")
        ->check(CLI::IsMember({"csv", "md", "tex"}));
    cmd->add_option("--layers", args->layers, "Activations: layer indices, comma-separated (default 48,51)");
    cmd->add_option("--norm", args->norm, "Attacks: linf (Table 3.4) or l2 (Table 3.5)")
        ->check(CLI::IsMember({"linf", "l2"}));
    cmd->add_option("--out", args->out, "Write to this file instead of the terminal");
    out.push_back({cmd, [args] { return run_table(*args); }});
}

}  // namespace

const CommandRegistration registration{120, add_commands};

}  // namespace normout::cli
