#include "engine/flatness/flatness_config.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/config/config.h"
#include "engine/rng.h"

namespace normout {

void validate(const FlatnessConfig& c) {
    auto fail = [](const char* field, const std::string& why) { throw ConfigError(field, why); };
    if (c.landscape != "" && c.landscape != "1d" && c.landscape != "2d")
        fail("flatness.landscape", "must be empty, \"1d\" or \"2d\", not \"" + c.landscape + "\"");
    if (c.n < 0) fail("flatness.n", "must be >= 0 (0 = the whole test set)");
    if (c.batch_size < 1) fail("flatness.batch_size", "must be >= 1");
    if (c.params != "all" && c.params != "weights")
        fail("flatness.params", "must be \"all\" or \"weights\", not \"" + c.params + "\"");
    if (c.every_epochs < 0) fail("flatness.every_epochs", "must be >= 0 (0 = only at the end)");
    if (c.hessian_batch < 1) fail("flatness.hessian_batch", "must be >= 1");
    if (c.hutchinson_samples < 2) fail("flatness.hutchinson_samples", "must be >= 2 (for a standard error)");
    if (c.power_iterations < 1) fail("flatness.power_iterations", "must be >= 1");
    if (!(c.power_tolerance > 0)) fail("flatness.power_tolerance", "must be > 0");
    if (c.grid < 2 || c.grid > 1001) fail("flatness.grid", "must be between 2 and 1001");
    if (!std::isfinite(c.range_min) || !std::isfinite(c.range_max) || !(c.range_min < c.range_max))
        fail("flatness.range_min", "the landscape range needs finite range_min < range_max");
    if (!std::isfinite(c.interpolate_min) || !std::isfinite(c.interpolate_max) ||
        !(c.interpolate_min < c.interpolate_max))
        fail("flatness.interpolate_min", "the interpolation range needs finite interpolate_min < interpolate_max");
}

std::vector<int64_t> flatness_subset(int64_t count, int64_t n, uint64_t seed) {
    return seeded_subset(count, n, seed, 0x5ab5e7);
}

}  // namespace normout
