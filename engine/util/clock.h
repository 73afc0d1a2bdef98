#pragma once
// Elapsed wall time on the monotonic clock, for timings reported to users.
#include <chrono>

namespace normout {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace normout
