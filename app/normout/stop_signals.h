#pragma once
// Ctrl-C and SIGTERM as a clean stop request for the command running now: the first signal sets
// the stop flag and prints `notice`; a second one ends the process at once.
#include "engine/session/observer.h"

namespace normout::cli {

class StopSignals {
  public:
    explicit StopSignals(const char* notice);  // installs the handlers and clears the flag
    ~StopSignals();                            // restores the default handlers
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    bool requested() const { return control().cancelled(); }
    // The flag as the engine's stop/pause control.
    static const RunControl& control();
};

}  // namespace normout::cli
