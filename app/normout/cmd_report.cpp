// `normout report RUNS_OR_FOLDERS... --out report.html [--pdf report.pdf]`: the thesis's tables
// with 95% intervals over seeds and its claims tested on the runs given (engine/report/).
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "command.h"
#include "config_args.h"
#include "engine/config/config.h"
#include "engine/report/report_build.h"
#include "engine/util/durable_file.h"

namespace normout::cli {

namespace {

struct ReportArgs {
    std::vector<std::string> runs;
    std::string out;
    std::string pdf;
    std::string title;
    std::string layers = "48,51";
    double alpha = 0.05;
};

int run_report(const ReportArgs& a, const std::vector<std::string>& argv) {
    if (a.out.empty() && a.pdf.empty()) throw ConfigError("out", "give --out report.html and/or --pdf report.pdf");
    if (!(a.alpha > 0 && a.alpha < 1)) throw ConfigError("alpha", "must lie in (0, 1)");
    ReportOptions options;
    if (!a.title.empty()) options.title = a.title;
    options.claims.alpha = a.alpha;
    options.layers = parse_index_list(a.layers, "layers");
    std::string command = "normout";
    for (const auto& s : argv)
        command += " " + (s.find(' ') == std::string::npos ? s : "'" + s + "'");
    options.command = command;
    const Report report = build_report(a.runs, options);
    if (!a.out.empty()) {
        try {
            replace_file_durably(a.out, to_html(report.document));
        } catch (const std::exception& e) {
            throw std::runtime_error(a.out + ": cannot write the report (" + e.what() + ")");
        }
    }
    if (!a.pdf.empty()) write_pdf(report.document, a.pdf);
    fmt::print("{} runs in {} configurations\n", report.runs.size(), report.groups.size());
    for (const auto& c : report.claims) {
        fmt::print("({}) {}: {}", c.id, c.statement, verdict_name(c.verdict));
        if (!c.effect_text.empty()) fmt::print("; {}", c.effect_text);
        if (std::isfinite(c.p_adjusted)) fmt::print("; p (Holm) {:.3g}", c.p_adjusted);
        if (c.seeds_needed > 0) fmt::print("; to settle: {}", c.seeds_needed);
        fmt::print("\n");
    }
    if (!a.out.empty()) fmt::print("HTML: {}\n", a.out);
    if (!a.pdf.empty()) fmt::print("PDF: {}\n", a.pdf);
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto args = std::make_shared<ReportArgs>();
    auto* cmd = app.add_subcommand(
        "report", "Test the thesis's claims on runs: tables with 95% intervals over seeds, verdicts, HTML and PDF");
    cmd->add_option("runs", args->runs, "Run files (.h5) and folders of runs (e.g. a sweep's --out folder)")
        ->required()
        ->check(CLI::ExistingPath);
    cmd->add_option("--out", args->out, "Write the report as one self-contained HTML file");
    cmd->add_option("--pdf", args->pdf, "Write the report as a PDF");
    cmd->add_option("--title", args->title, "Title of the report");
    cmd->add_option("--layers", args->layers, "Layers of Tables 3.2/3.3, comma-separated (default 48,51)");
    cmd->add_option("--alpha", args->alpha, "Family-wise error rate over the claims (Holm; default 0.05)");
    out.push_back({cmd, [args] {
                       std::vector<std::string> argv = {"report"};
                       for (const auto& r : args->runs)
                           argv.push_back(r);
                       if (!args->out.empty()) argv.insert(argv.end(), {"--out", args->out});
                       if (!args->pdf.empty()) argv.insert(argv.end(), {"--pdf", args->pdf});
                       if (!args->title.empty()) argv.insert(argv.end(), {"--title", args->title});
                       if (args->layers != "48,51") argv.insert(argv.end(), {"--layers", args->layers});
                       if (args->alpha != 0.05) argv.insert(argv.end(), {"--alpha", fmt::format("{:g}", args->alpha)});
                       return run_report(*args, argv);
                   }});
}

}  // namespace

const CommandRegistration registration{125, add_commands};

}  // namespace normout::cli
