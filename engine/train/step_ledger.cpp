#include "engine/train/step_ledger.h"

#include <ATen/ATen.h>

namespace normout {

namespace {

// 1 when every gradient is finite, as a device scalar (no read-back).
at::Tensor gradients_finite(const std::vector<at::Tensor>& params) {
    at::Tensor total = at::zeros({}, params.front().options().dtype(at::kDouble));
    for (const auto& p : params)
        if (p.grad().defined()) total += p.grad().sum(at::kDouble);
    return at::isfinite(total);
}

}  // namespace

void StepLedger::add(int64_t global_step, double wall_seconds, const at::Tensor& loss, const at::Tensor& correct,
                     int64_t batch_size, const std::vector<at::Tensor>* params, const std::vector<at::Tensor>& extra) {
    const at::Tensor loss64 = loss.to(at::kDouble);
    const at::Tensor finite = params && !params->empty() ? gradients_finite(*params) : at::ones_like(loss64);
    std::vector<at::Tensor> values = {loss64, correct.to(at::kDouble), finite.to(at::kDouble)};
    for (const auto& e : extra)
        values.push_back(e.to(loss64.device(), at::kDouble).reshape({}));
    pending_.push_back({global_step, batch_size, wall_seconds, at::stack(values)});
}

std::vector<LedgerRow> StepLedger::read_back() {
    std::vector<LedgerRow> rows;
    if (pending_.empty()) return rows;
    std::vector<at::Tensor> values;
    values.reserve(pending_.size());
    for (const auto& p : pending_)
        values.push_back(p.values);
    // Every step of a run queues the same number of values.
    const at::Tensor host = at::stack(values).to(at::kCPU).contiguous();
    const double* v = host.data_ptr<double>();
    const auto width = static_cast<std::size_t>(host.size(1));
    rows.reserve(pending_.size());
    for (std::size_t i = 0; i < pending_.size(); ++i) {
        const Pending& p = pending_[i];
        const double* r = v + width * i;
        rows.push_back({p.global_step, p.batch_size, p.wall_seconds, r[0], r[1], r[2] != 0.0,
                        std::vector<double>(r + 3, r + width)});
    }
    pending_.clear();
    return rows;
}

}  // namespace normout
