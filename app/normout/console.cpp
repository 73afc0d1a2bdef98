#include "console.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

namespace normout::cli {

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "--:--";
    const long t = std::lround(s);
    if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
    return fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string percent(double f, int decimals) {
    if (!std::isfinite(f)) return "-";
    return fmt::format("{:.{}f}%", 100.0 * f, decimals);
}

ConsoleObserver::ConsoleObserver(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

void ConsoleObserver::clear_bar() {
    if (bar_shown_) {
        std::fputs("\r\033[K", stderr);
        bar_shown_ = false;
    }
}

void ConsoleObserver::on_run_started(const RunStartInfo& info) {
    epochs_ = info.epochs;
    if (quiet_) return;
    fmt::print("Training on {} ({} thread{}), {} training / {} validation / {} test images from {}\n", info.device,
               info.threads, info.threads == 1 ? "" : "s", info.train_count, info.val_count, info.test_count,
               info.data_source);
    fmt::print("{} epochs of {} steps, {} parameters; run file {}\n", info.epochs, info.steps_per_epoch,
               info.parameter_count, info.out_path);
    std::fflush(stdout);
}

void ConsoleObserver::on_step(const StepProgress& p) {
    if (quiet_ || !tty_) return;
    constexpr int width = 24;
    const double frac = static_cast<double>(p.step) / static_cast<double>(std::max<int64_t>(p.steps_per_epoch, 1));
    const int filled = static_cast<int>(frac * width);
    std::string bar;
    for (int i = 0; i < width; ++i)
        bar += i < filled ? "\u2588" : "\u2591";
    fmt::print(stderr, "\r\033[Kepoch {}/{} {} {:3.0f}%  step {}/{}  loss {:.4f}  acc {}  {:.0f} img/s  ETA {}",
               p.epoch, p.epochs, bar, 100 * frac, p.step, p.steps_per_epoch, p.loss, percent(p.accuracy, 1),
               p.images_per_second, format_duration(p.eta_seconds));
    std::fflush(stderr);
    bar_shown_ = true;
}

void ConsoleObserver::on_epoch(const EpochRecord& r) {
    clear_bar();
    if (quiet_) return;
    std::string val;
    if (std::isfinite(r.val_accuracy))
        val = fmt::format("  val loss {:.4f} acc {}", r.val_loss, percent(r.val_accuracy));
    fmt::print("epoch {:>3}/{}  train loss {:.4f} acc {}{}  test loss {:.4f} acc {}  lr {:g}  {:.1f} s  {:.0f} img/s\n",
               r.epoch, epochs_, r.train_loss, percent(r.train_accuracy), val, r.test_loss, percent(r.test_accuracy),
               r.learning_rate, r.epoch_seconds, r.images_per_second);
    std::fflush(stdout);
}

void ConsoleObserver::on_run_finished(const RunOutcome& o) {
    clear_bar();
    const std::string status = to_string(o.status);
    if (o.status == RunStatus::Finished) {
        if (!quiet_) fmt::print("Finished in {}; run written to {}\n", format_duration(o.wall_seconds), o.out_path);
    } else {
        fmt::print(stderr, "Run {}: {} (after {}; run file {} is valid)\n", status, o.message,
                   format_duration(o.wall_seconds), o.out_path);
    }
    std::fflush(stdout);
}

void ConsoleObserver::on_message(const std::string& text) {
    clear_bar();
    if (!quiet_) fmt::print(stderr, "{}\n", text);
}

void ConsoleObserver::on_error(const std::string& text) {
    clear_bar();
    fmt::print(stderr, "normout: {}\n", text);
}

void ConsoleObserver::on_analysis(const std::string& table, const std::vector<AnalysisRow>& rows) {
    clear_bar();
    if (quiet_) return;
    for (const auto& r : rows) {
        if (table == "attacks") {
            fmt::print("  {:<7} {:<4} eps {:<8.4g} accuracy {} [{}, {}] of {:.0f}\n", r.text("attack"), r.text("norm"),
                       r.number("eps"), percent(r.number("accuracy"), 1), percent(r.number("ci_low"), 1),
                       percent(r.number("ci_high"), 1), r.number("n"));
        } else if (table == "masking" && r.text("flag") == "verdict") {
            fmt::print("  gradient masking: {}\n", r.text("verdict"));
        } else if (table == "flatness") {
            fmt::print("  {:<22} {:.6g} +- {:.2g} (n {:.0f}, {} parameters)\n", r.text("measure"), r.number("value"),
                       r.number("standard_error"), r.number("n"), r.text("params"));
        }
    }
    std::fflush(stdout);
}

}  // namespace normout::cli
