// `normout attack RUN.h5`: the adversarial robustness suite on a finished run's weights with the
// gradient-masking diagnosis, printed and stored with the run (its analysis file).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <csignal>
#include <memory>

#include "command.h"
#include "console.h"
#include "engine/attacks/attack_bench.h"
#include "engine/attacks/attack_store.h"
#include "engine/attacks/masking.h"
#include "engine/attacks/suite.h"
#include "engine/config/model_spec.h"
#include "engine/config/presets.h"
#include "engine/data/locate.h"
#include "engine/model/device.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/train/load_run.h"
#include "stop_signals.h"

namespace normout::cli {

namespace {

struct AttackArgs {
    std::string run;
    std::string data_root;
    std::string device;
    int threads = 0;
    std::vector<std::string> attacks;
    std::vector<std::string> norms;
    std::vector<std::string> eps;
    std::vector<std::string> sweep_eps;
    bool no_random_start = false;
    bool no_probe = false;
    bool no_save = false;
    AttackConfig config;
};

std::string ci_text(const Interval& ci) {
    return fmt::format("[{:.1f}, {:.1f}]", 100 * ci.low, 100 * ci.high);
}

void print_header() {
    fmt::print("{:<7} {:<5} {:<9} {:>6} {:>8}  {:<13}  {:<22}  {:<16}  {:>9}\n", "attack", "norm", "eps", "n",
               "accuracy", "95% CI", "target hit (95% CI)", "queries mean/med", "s/1000im");
}

void print_row(const AttackResult& r) {
    const std::string eps = r.attack == "clean" ? "0" : format_eps(r.unbounded ? kUnboundedEps : r.eps, r.norm);
    std::string target, queries;
    if (r.attack == "pgd-t")
        target = fmt::format("{} {} {}", percent(r.target_success, 1), ci_text(r.target_ci), r.target_mode);
    if (r.attack == "square")
        queries = std::isfinite(r.queries_mean) ? fmt::format("{:.0f} / {:.0f}", r.queries_mean, r.queries_median)
                                                : std::string("none fooled");
    const std::string label = attack_label(r.attack, r.norm) + (r.role == "sweep" ? "*" : "");
    fmt::print("{:<7} {:<5} {:<9} {:>6} {:>8}  {:<13}  {:<22}  {:<16}  {:>9.1f}\n", label,
               r.norm.empty() ? "-" : r.norm, eps, r.n, percent(r.accuracy, 1), ci_text(r.ci), target, queries,
               r.n > 0 ? r.seconds * 1000.0 / static_cast<double>(r.n) : 0.0);
    std::fflush(stdout);
}

void print_diagnosis(const MaskingDiagnosis& d) {
    fmt::print(
        "\nGradient-masking red flags (Athalye et al. 2018). A flag is raised when the whole {:.3g}% interval of its "
        "gap "
        "lies above {:.1f} points (family-wise alpha {:.3g} over {} tests):\n",
        100 * d.level, 100 * d.min_gap, d.alpha, d.tested);
    for (const auto& f : d.flags) {
        const std::string where =
            f.norm +
            (f.name.rfind("eps_", 0) == 0 || f.name == "unbounded_not_zero" ? "" : " " + format_eps(f.eps, f.norm));
        fmt::print("  [{}] {:<32} {:<11} {}\n", !f.tested ? "-" : f.raised ? "!" : " ", f.name, where, f.evidence);
    }
    fmt::print("Verdict: {}\n", d.verdict);
}

int run_attack(AttackArgs& a) {
    AttackConfig& c = a.config;
    if (!a.attacks.empty()) c.attacks = a.attacks;
    if (!a.norms.empty()) c.norms = a.norms;
    if (!a.eps.empty()) {
        std::vector<double> list;
        for (const auto& e : a.eps) {
            const double v = parse_eps(e, "attack.eps");
            if (std::isinf(v)) throw ConfigError("attack.eps", "the attacks need a finite eps (inf is for the sweep)");
            list.push_back(v);
        }
        for (const auto& n : c.norms)
            (n == "l2" ? c.eps_l2 : c.eps_linf) = list;
    }
    if (!a.sweep_eps.empty()) {
        std::vector<double> list;
        for (const auto& e : a.sweep_eps)
            list.push_back(parse_eps(e, "attack.sweep_eps"));
        for (const auto& n : c.norms)
            (n == "l2" ? c.sweep_l2 : c.sweep_linf) = list;
        c.eps_sweep = true;
    }
    c.random_start = !a.no_random_start;
    c.gradient_probe = !a.no_probe;
    validate(c);

    const RunInfo info = read_run(a.run);
    if (info.weights_step < 0)
        throw RunFileError(a.run + ": the run holds no final weights (still running, or diverged)");
    LoadedRun run = load_run(a.run, data_roots(a.data_root), a.device);
    if (a.threads > 0) configure_threads(a.threads);
    const c10::Device device(run.device.name);
    const ImageSet& test = run.data->test;
    fmt::print("{}: weights of step {} (epoch {}), device {}{}\n", a.run, run.info.weights_step, run.info.epochs.size(),
               run.device.name,
               stochastic_at_inference(run.net->table())
                   ? fmt::format(", stochastic at inference: gradients averaged over {} samples (EOT)", c.eot_samples)
                   : "");
    fmt::print("Subset: {} of {} test images (seed {}); pixels in [0, 1], adversarial images clipped to [0, 1]\n",
               c.n == 0 || c.n >= test.count ? test.count : c.n, test.count, c.seed);
    fmt::print("PGD: {} steps of {} x eps, {}{} restart(s); Square: {} queries, p_init {}; noise: {} draws\n\n",
               c.steps, c.step_ratio, c.random_start ? "random start, " : "", c.restarts, c.square_queries,
               c.square_p_init, c.noise_samples);
    print_header();

    const StopSignals stop("\nStopping the attacks (nothing is saved; Ctrl-C again to abort)...\n");
    const AttackReport report = run_attack_suite(
        run.net, test, c, device, [&stop] { return stop.requested(); }, print_row);
    if (report.cancelled) return kExitStopped;
    fmt::print("(* = eps sweep of PGD-CE; {} in {:.1f} s; subset fingerprint {})\n", report.results.size(),
               report.seconds, report.subset_fingerprint);
    for (const auto& p : report.probes)
        fmt::print(
            "Input gradients ({} {}): {} of {} correctly classified images vanish ({} zero CE gradient, {} with "
            "eps * ||grad margin|| < {:.3g}); median ||grad CE||_2 {:.3g}, median ||grad margin||_dual {:.3g}\n",
            p.norm, format_eps(p.eps, p.norm), p.vanishing, p.n, p.ce_zero, p.flat_margin, p.grad_tol, p.median_ce_l2,
            p.median_margin_dual);
    const MaskingDiagnosis diagnosis = diagnose(report);
    print_diagnosis(diagnosis);
    if (a.no_save) return kExitOk;
    const int64_t evaluation = write_attack_report(a.run, report, diagnosis,
                                                   {run.info.weights_step, static_cast<int>(run.info.epochs.size())});
    fmt::print("Stored in {} as evaluation {} (/analysis/attacks, /analysis/masking)\n", analysis_path(a.run),
               evaluation);
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto args = std::make_shared<AttackArgs>();
    AttackConfig& c = args->config;
    auto* cmd = app.add_subcommand("attack",
                                   "Adversarial robustness of a finished run (FGSM, PGD-CE, PGD-T, Square, noise) with "
                                   "95% intervals and a gradient-masking diagnosis; appended to the run file");
    cmd->add_option("run", args->run, "Run file (.h5)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--attacks", args->attacks, "Attacks, comma-separated (default: all)")
        ->delimiter(',')
        ->check(CLI::IsMember({"fgsm", "pgd-ce", "pgd-t", "square", "noise"}));
    cmd->add_option("--norm", args->norms, "Threat model: linf (default) or l2, or both comma-separated")
        ->delimiter(',')
        ->check(CLI::IsMember({"linf", "l2"}));
    cmd->add_option("--eps", args->eps,
                    "Budget(s) for the chosen norm(s), comma-separated, e.g. 8/255 or 0.5 (default 8/255 in L-inf, "
                    "0.5 in L2)")
        ->delimiter(',');
    cmd->add_option("--n", c.n, "Test images in the seeded subset (default 1000; 0 = the whole test set)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--seed", c.seed, "Seed of the subset and of the attacks' randomness");
    cmd->add_option("--steps", c.steps, "PGD steps (default 10)");
    cmd->add_option("--step-ratio", c.step_ratio, "PGD step as a fraction of eps (default 3/8: 3/255 at 8/255)");
    cmd->add_option("--restarts", c.restarts, "PGD restarts (default 1)");
    cmd->add_flag("--no-random-start", args->no_random_start, "Start PGD at the clean image");
    cmd->add_option("--targets", c.targets,
                    "PGD-T targets: random (default; one random wrong class per image), all (every wrong class), "
                    "or thesis (every class, the true one included, accuracy averaged over images and targets "
                    "without requiring a correct clean image: reproduces the thesis's 10-16% PGD-T numbers, about "
                    "9 points of which come from the true-class target; random and all do not)")
        ->check(CLI::IsMember({"random", "all", "thesis"}));
    cmd->add_option("--queries", c.square_queries, "Square query budget per image (default 5000)");
    cmd->add_option("--p-init", c.square_p_init, "Square's initial fraction of pixels changed (default 0.8)");
    cmd->add_option("--noise-samples", c.noise_samples, "Random-noise draws per image (default 10)");
    cmd->add_option("--eot", c.eot_samples,
                    "Samples averaged per gradient when the model stays stochastic at inference (default 8)");
    cmd->add_flag("--eps-sweep", c.eps_sweep,
                  "Masking probe: PGD-CE over growing eps up to the unbounded budget (1 in L-inf)");
    cmd->add_option("--sweep-eps", args->sweep_eps, "The sweep's eps values, comma-separated; inf = unbounded")
        ->delimiter(',');
    cmd->add_flag("--no-gradient-probe", args->no_probe, "Skip the vanishing-gradient probe");
    cmd->add_option("--alpha", c.masking.alpha, "Family-wise error rate of the red flags (default 0.05)");
    cmd->add_option("--min-gap", c.masking.min_gap, "Smallest gap a flag must clear (default 0.02 = 2 points)");
    cmd->add_option("--grad-tol", c.masking.grad_tol, "Vanishing-gradient tolerance in logits (default 1e-3)");
    cmd->add_option("--batch-size", c.batch_size, "Images per batch (default 128)");
    cmd->add_option("--device", args->device, "Device (cpu, cuda, cuda:N; default: the run's setting)");
    cmd->add_option("--threads", args->threads, "CPU threads (default: the run's setting)");
    cmd->add_option("--data", args->data_root, "Data directory (as for train)");
    cmd->add_flag("--no-save", args->no_save, "Print only; leave the run file as it is");
    out.push_back({cmd, [args] { return run_attack(*args); }});
}

}  // namespace

const CommandRegistration registration{100, add_commands};

}  // namespace normout::cli
