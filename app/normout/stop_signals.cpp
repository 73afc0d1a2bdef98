#include "stop_signals.h"

#include <unistd.h>

#include <csignal>
#include <cstring>

namespace normout::cli {

namespace {

RunControl g_control;
const char* g_notice = "";

extern "C" void on_stop_signal(int sig) {
    if (g_control.cancelled()) {  // second signal: give up at once
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    g_control.cancel();  // async-signal-safe: an atomic store
    (void)!write(STDERR_FILENO, g_notice, std::strlen(g_notice));
}

}  // namespace

StopSignals::StopSignals(const char* notice) {
    g_control.reset();
    g_notice = notice;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
}

StopSignals::~StopSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

const RunControl& StopSignals::control() {
    return g_control;
}

}  // namespace normout::cli
