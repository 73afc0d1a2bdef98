#include "engine/train/instrumentation.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "engine/model/layers.h"
#include "engine/train/instrumentation_cpu.h"

namespace normout {

namespace {

// mean, variance (population), max and fraction of exact zeros of a tensor, on its device.
at::Tensor tensor_stats(const at::Tensor& t) {
    const at::Tensor f = t.detach().flatten();
    const auto var_mean = at::var_mean(f, /*unbiased=*/false);
    return at::stack({std::get<1>(var_mean).to(at::kDouble), std::get<0>(var_mean).to(at::kDouble),
                      f.max().to(at::kDouble), f.eq(0).sum().to(at::kDouble) / static_cast<double>(f.numel())});
}

ActivationStats activation(const double* v) {
    ActivationStats s;
    s.mean = v[0];
    s.var = v[1];
    s.std = std::sqrt(std::max(0.0, v[1]));
    s.max = v[2];
    s.sparsity = v[3];
    return s;
}

// Reduction dimensions that leave one value per unit: features of 2-D tensors, channels of
// 4-D ones, features of token tensors (already as [N, D, T], see tokens_as_units).
std::vector<int64_t> unit_dims(int64_t dim) {
    if (dim == 4) return {0, 2, 3};
    if (dim == 3) return {0, 2};
    return {0};
}

at::Tensor as_units(const at::Tensor& t) {
    return (t.dim() >= 2 && t.dim() <= 4) ? t : t.flatten(1);
}

// Tokens [N, T, D] -> [N, D, T]: the units are the D features, their statistics over batch and
// tokens, laid out as the CPU passes and the device path expect ([batch, units, positions]).
at::Tensor tokens_as_units(const at::Tensor& t) {
    return t.defined() && t.dim() == 3 ? t.transpose(1, 2) : t;
}

}  // namespace

struct Instrumentation::Probe {
    InstrumentedLayer info;
    std::shared_ptr<NormOutImpl> normout;
    std::shared_ptr<DropoutLayerImpl> dropout;
    std::vector<Ewma> ewma;  // input (5), output (5), keep (5)
    // epoch accumulators, on the device, created at the first observation
    at::Tensor n_sum, n_sumsq, n_nonzero, hist, zero_count, keep_hist, neuron_hist, neuron_idx;
    double n_count = 0;
    double lo = 0, hi = 1;
    bool range_set = false;
    // Per-unit histograms, bins fixed for the whole run: [units * (bins + 3)] counts laid out
    // [zero, under, bins..., over] per unit, and [units * 20] keep-probability counts.
    at::Tensor u_hist, u_keep_hist, u_offsets, u_keep_offsets;
    double ulo = 0, uhi = 1;
    bool unit_range_set = false;
};

Instrumentation::Instrumentation(Net& net, const InstrumentConfig& config, const std::vector<int64_t>& input_chw)
    : net_(net), config_(config) {
    const auto& table = net->table();
    std::vector<int> indices = config.layers;
    if (indices.empty()) indices = custom_layer_indices(table);
    const auto shapes = layer_output_shapes(net, input_chw);
    std::vector<bool> watched(table.size(), false);
    for (int index : indices) {
        if (index < 0 || index >= static_cast<int>(table.size()))
            throw ConfigError("instrument.layers", "index " + std::to_string(index) + " is not in the model");
        if (by_index_.count(index)) continue;
        auto probe = std::make_unique<Probe>();
        const auto& shape = shapes[static_cast<std::size_t>(index)];
        int64_t units = 1;
        if (shape.size() == 2 || shape.size() == 4)
            units = shape[1];
        else if (shape.size() == 3)  // tokens [N, T, D]: the D features
            units = shape[2];
        else
            for (std::size_t d = 1; d < shape.size(); ++d)
                units *= shape[d];
        probe->info.index = index;
        probe->info.kind = table[static_cast<std::size_t>(index)].kind;
        probe->info.description = table[static_cast<std::size_t>(index)].describe();
        probe->info.units = units;
        for (int n : config.neurons) {
            if (n >= units)
                throw ConfigError("instrument.neurons", "neuron " + std::to_string(n) + " is not in layer " +
                                                            std::to_string(index) + " (" + std::to_string(units) +
                                                            " units)");
            probe->info.neurons.push_back(n);
        }
        auto& module = net->module(static_cast<std::size_t>(index));
        if (probe->info.kind == "NormOut") probe->normout = module.ptr<NormOutImpl>();
        if (probe->info.kind == "Dropout") probe->dropout = module.ptr<DropoutLayerImpl>();
        if (probe->normout) probe->normout->capture = true;
        if (probe->dropout) probe->dropout->capture = true;
        probe->info.keep = probe->normout || probe->dropout;
        probe->ewma.assign(15, Ewma(config.ewma_alpha));
        by_index_[index] = probes_.size();
        layers_.push_back(probe->info);
        probes_.push_back(std::move(probe));
        watched[static_cast<std::size_t>(index)] = true;
    }
    net->set_probe([this](int i, const at::Tensor& in, const at::Tensor& out) { observe(i, in, out); }, watched);
}

Instrumentation::~Instrumentation() {
    net_->set_probe(nullptr, {});
    for (auto& p : probes_) {
        if (p->normout) p->normout->capture = false;
        if (p->dropout) p->dropout->capture = false;
    }
}

void Instrumentation::set_active(bool active, int64_t global_step) {
    active_ = active && config_.enabled && !probes_.empty();
    step_ = global_step;
}

void Instrumentation::observe(int index, const at::Tensor& input, const at::Tensor& output) {
    if (!active_ || !net_->is_training()) return;
    torch::NoGradGuard no_grad;
    Probe& p = *probes_[by_index_.at(index)];
    const at::Tensor out = tokens_as_units(output.detach());
    at::Tensor p_full, keep;
    if (p.info.keep) {
        const at::Tensor& last_p = p.normout ? p.normout->last_p : p.dropout->last_p;
        const at::Tensor& last_keep = p.normout ? p.normout->last_keep : p.dropout->last_keep;
        if (last_p.defined() && last_keep.defined()) {
            p_full = tokens_as_units(last_p.expand_as(last_keep).to(at::kFloat));
            keep = tokens_as_units(last_keep);
        }
    }
    prepare_accumulators(p, out);
    if (out.device().is_cpu() && !device_ops_on_cpu_ && (!p_full.defined() || p_full.sizes() == out.sizes()))
        observe_on_cpu(p, input, out, p_full, keep);
    else
        observe_on_device(p, input, out, p_full, keep);
}

void Instrumentation::prepare_accumulators(Probe& p, const at::Tensor& out) {
    const auto dopt = out.options().dtype(at::kDouble);
    const auto lopt = out.options().dtype(at::kLong);
    const int bins = config_.histogram_bins;
    if (p.n_sum.defined() && p.n_sum.device() != out.device()) {  // restored from a checkpoint
        for (at::Tensor* t : {&p.n_sum, &p.n_sumsq, &p.n_nonzero, &p.hist, &p.zero_count, &p.keep_hist, &p.neuron_hist,
                              &p.neuron_idx, &p.u_hist, &p.u_keep_hist})
            if (t->defined()) *t = t->to(out.device());
    }
    if (!p.n_sum.defined()) {
        p.n_sum = at::zeros({p.info.units}, dopt);
        p.n_sumsq = at::zeros({p.info.units}, dopt);
        p.n_nonzero = at::zeros({p.info.units}, dopt);
        p.hist = at::zeros({bins + 2}, dopt);
        p.zero_count = at::zeros({}, dopt);
        p.keep_hist = at::zeros({kKeepHistogramBins}, dopt);
        p.neuron_idx = at::tensor(std::vector<int64_t>(p.info.neurons.begin(), p.info.neurons.end()),
                                  out.options().dtype(at::kLong));
        p.neuron_hist = at::zeros({static_cast<int64_t>(p.info.neurons.size()) * (bins + 2)}, dopt);
    }
    if (!p.u_hist.defined()) p.u_hist = at::zeros({p.info.units * (bins + 3)}, lopt);
    if (p.info.keep && !p.u_keep_hist.defined()) p.u_keep_hist = at::zeros({p.info.units * kKeepHistogramBins}, lopt);
    if (!p.range_set || !p.unit_range_set) {
        // The bins of this epoch (one read-back per layer and epoch) and, at the first recorded
        // step of the run, the per-unit bins fixed for the whole run.
        const at::Tensor r = at::stack({out.min(), out.max(), out.abs().max()}).to(at::kDouble).to(at::kCPU);
        const double mn = r[0].item<double>(), mx = r[1].item<double>(), amax = r[2].item<double>();
        if (!p.range_set) {
            p.lo = mn;
            p.hi = mx > mn ? mx + 0.5 * (mx - mn) : mn + 1.0;
            p.range_set = true;
        }
        if (!p.unit_range_set) {
            if (!(mn < 0)) {  // non-negative outputs (ReLU and the like): [0, 2 max]
                p.ulo = 0;
                p.uhi = std::isfinite(mx) && mx > 0 ? 2 * mx : 1.0;
            } else {  // signed: symmetric [-2 max|x|, 2 max|x|]
                p.uhi = std::isfinite(amax) && amax > 0 ? 2 * amax : 1.0;
                p.ulo = -p.uhi;
            }
            p.unit_range_set = true;
        }
    }
}

void Instrumentation::observe_on_cpu(Probe& p, const at::Tensor& input, const at::Tensor& out, const at::Tensor& p_full,
                                     const at::Tensor& keep) {
    const at::Tensor in = input.detach().to(at::kFloat).contiguous();
    const at::Tensor x = out.to(at::kFloat).contiguous();
    const at::Tensor pv = p_full.defined() ? p_full.contiguous() : at::Tensor();
    const at::Tensor kv = keep.defined() ? keep.to(at::kBool).contiguous() : at::Tensor();
    cpu_instrument::LayerValues v;
    v.x = x.data_ptr<float>();
    v.p = pv.defined() ? pv.data_ptr<float>() : nullptr;
    v.keep = kv.defined() ? kv.data_ptr<bool>() : nullptr;
    v.batch = x.dim() > 0 ? x.size(0) : 1;
    v.units = p.info.units;
    v.positions = x.numel() / std::max<int64_t>(1, v.batch * v.units);
    cpu_instrument::Accumulators acc;
    acc.bins = config_.histogram_bins;
    acc.lo = p.lo;
    acc.hi = p.hi;
    acc.ulo = p.ulo;
    acc.uhi = p.uhi;
    acc.keep_bins = kKeepHistogramBins;
    if (config_.per_neuron) {
        acc.n_sum = p.n_sum.data_ptr<double>();
        acc.n_sumsq = p.n_sumsq.data_ptr<double>();
        acc.n_nonzero = p.n_nonzero.data_ptr<double>();
        p.n_count += static_cast<double>(v.batch * v.positions);
    }
    acc.hist = p.hist.data_ptr<double>();
    acc.u_hist = p.u_hist.data_ptr<int64_t>();
    if (v.p) {
        acc.keep_hist = p.keep_hist.data_ptr<double>();
        acc.u_keep_hist = p.u_keep_hist.data_ptr<int64_t>();
    }
    acc.neuron_hist = p.neuron_hist.data_ptr<double>();
    acc.neurons = p.info.neurons;
    const cpu_instrument::Moments mi = cpu_instrument::moments(in.data_ptr<float>(), in.numel());
    const cpu_instrument::StepRow r = cpu_instrument::accumulate(v, acc);
    p.zero_count += r.out.zero_fraction * static_cast<double>(x.numel());
    pending_.push_back(
        at::tensor(std::vector<double>{mi.mean, mi.var, mi.max, mi.zero_fraction, r.out.mean, r.out.var, r.out.max,
                                       r.out.zero_fraction, r.mean_p, r.kept, r.p_low, r.p_high},
                   at::kDouble));
    pending_ids_.emplace_back(step_, by_index_.at(p.info.index));
}

void Instrumentation::observe_on_device(Probe& p, const at::Tensor& input, const at::Tensor& out,
                                        const at::Tensor& p_full, const at::Tensor& keep) {
    const auto dopt = out.options().dtype(at::kDouble);
    const int bins = config_.histogram_bins;

    // Per-step statistics: one queued row, read back at the next drain.
    at::Tensor keep_row = at::full({4}, NAN, dopt);
    if (p_full.defined()) {
        const double n = static_cast<double>(keep.numel());
        keep_row = at::stack({p_full.mean().to(at::kDouble), keep.sum().to(at::kDouble) / n,
                              p_full.lt(0.05).sum().to(at::kDouble) / n, p_full.gt(0.95).sum().to(at::kDouble) / n});
    }
    const at::Tensor out_stats = tensor_stats(out);
    pending_.push_back(at::cat({tensor_stats(input), out_stats, keep_row}));
    pending_ids_.emplace_back(step_, by_index_.at(p.info.index));

    // Epoch accumulators.
    const at::Tensor u = as_units(out);
    if (config_.per_neuron) {
        const auto dims = unit_dims(u.dim());
        p.n_sum += u.sum(dims, false, at::kDouble);
        p.n_sumsq += (u * u).sum(dims, false, at::kDouble);
        p.n_nonzero += u.ne(0).sum(dims, false, at::kDouble);
        p.n_count += static_cast<double>(u.numel() / p.info.units);
    }
    // Per-unit histograms: one bin index per value, offset by its unit's slot, counted with
    // bincount (CPU) or index_add_ (GPU; bincount would synchronise there).
    {
        const int64_t units = p.info.units, slots = bins + 3;
        const at::Tensor x = u.to(at::kFloat);
        std::vector<int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
        shape[1] = units;
        if (!p.u_offsets.defined() || p.u_offsets.device() != x.device()) {
            const auto fopt = x.options().dtype(at::kFloat);
            p.u_offsets = (at::arange(units, fopt) * static_cast<double>(slots)).view(shape);
            p.u_keep_offsets = (at::arange(units, fopt) * static_cast<double>(kKeepHistogramBins)).view(shape);
        }
        const auto lopt = x.options().dtype(at::kLong);
        auto count = [&](at::Tensor& acc, const at::Tensor& flat_index) {
            const at::Tensor idx = flat_index.to(at::kLong).flatten();
            if (idx.is_cuda())
                acc.index_add_(0, idx, at::ones({idx.numel()}, lopt));
            else
                acc.add_(at::bincount(idx, {}, acc.numel()));
        };
        at::Tensor b = (x - p.ulo) * (bins / (p.uhi - p.ulo));
        b.nan_to_num_(bins, bins, -1).floor_().clamp_(-1, bins).add_(2);  // under 1, bins 2.., over bins+2
        b.masked_fill_(x.eq(0), 0);
        count(p.u_hist, b.add_(p.u_offsets));
        if (p_full.defined()) {
            at::Tensor kb = as_units(p_full) * static_cast<double>(kKeepHistogramBins);
            // A non-finite p (a diverging step) lands in bin 0 rather than at an undefined index.
            kb.nan_to_num_(0, kKeepHistogramBins - 1, 0).floor_().clamp_(0, kKeepHistogramBins - 1);
            count(p.u_keep_hist, kb.add_(p.u_keep_offsets));
        }
    }
    // Histograms with at::histc (parallel on the CPU, no synchronisation on a GPU): values on
    // the top edge fall in the last bin; values outside [lo, hi] are counted apart.
    const at::Tensor f = out.to(at::kFloat);
    // at::histc bins NaN and infinities on the CPU (bin 0): they are moved out of its range first,
    // and the infinities counted as under and over like any value outside it.
    const double outside = p.lo - (p.hi - p.lo);
    auto finite = [&](const at::Tensor& v) { return at::nan_to_num(v, outside, outside, outside); };
    auto add_hist = [&](at::Tensor&& slot, const at::Tensor& v) {
        slot.narrow(0, 1, bins).add_(at::histc(finite(v), bins, p.lo, p.hi).to(at::kDouble));
        slot.narrow(0, 0, 1).add_(v.lt(p.lo).sum().to(at::kDouble));
        slot.narrow(0, bins + 1, 1).add_(v.gt(p.hi).sum().to(at::kDouble));
    };
    add_hist(p.hist.view({bins + 2}), f);
    p.zero_count += out_stats[3] * static_cast<double>(out.numel());
    if (p_full.defined())
        p.keep_hist += at::histc(at::nan_to_num(p_full, -1, -1, -1), kKeepHistogramBins, 0.0, 1.0).to(at::kDouble);
    for (std::size_t j = 0; j < p.info.neurons.size(); ++j)
        add_hist(p.neuron_hist.narrow(0, static_cast<int64_t>(j) * (bins + 2), bins + 2),
                 as_units(f).select(1, p.info.neurons[j]));
}

std::vector<LayerStepStats> Instrumentation::drain() {
    std::vector<LayerStepStats> out;
    if (pending_.empty()) return out;
    const at::Tensor rows = at::stack(pending_).to(at::kCPU).contiguous();
    const double* v = rows.data_ptr<double>();
    for (std::size_t r = 0; r < pending_ids_.size(); ++r, v += 12) {
        Probe& p = *probes_[pending_ids_[r].second];
        LayerStepStats s;
        s.global_step = pending_ids_[r].first;
        s.layer = p.info.index;
        s.input = activation(v);
        s.output = activation(v + 4);
        double* in_fields[5] = {&s.input_ewma.mean, &s.input_ewma.max, &s.input_ewma.std, &s.input_ewma.var,
                                &s.input_ewma.sparsity};
        const double in_values[5] = {s.input.mean, s.input.max, s.input.std, s.input.var, s.input.sparsity};
        double* out_fields[5] = {&s.output_ewma.mean, &s.output_ewma.max, &s.output_ewma.std, &s.output_ewma.var,
                                 &s.output_ewma.sparsity};
        const double out_values[5] = {s.output.mean, s.output.max, s.output.std, s.output.var, s.output.sparsity};
        for (int f = 0; f < 5; ++f) {
            *in_fields[f] = p.ewma[f].add(in_values[f]);
            *out_fields[f] = p.ewma[5 + f].add(out_values[f]);
        }
        s.has_keep = p.info.keep;
        if (s.has_keep) {
            s.keep.mean_p = v[8];
            s.keep.expected_drop = 1.0 - v[8];
            s.keep.realised_drop = 1.0 - v[9];
            s.keep.frac_p_low = v[10];
            s.keep.frac_p_high = v[11];
            s.keep_ewma.mean_p = p.ewma[10].add(s.keep.mean_p);
            s.keep_ewma.expected_drop = p.ewma[11].add(s.keep.expected_drop);
            s.keep_ewma.realised_drop = p.ewma[12].add(s.keep.realised_drop);
            s.keep_ewma.frac_p_low = p.ewma[13].add(s.keep.frac_p_low);
            s.keep_ewma.frac_p_high = p.ewma[14].add(s.keep.frac_p_high);
        }
        out.push_back(s);
    }
    pending_.clear();
    pending_ids_.clear();
    return out;
}

std::vector<LayerEpochSnapshot> Instrumentation::end_epoch(int epoch) {
    return snapshot(epoch, true);
}

std::vector<LayerEpochSnapshot> Instrumentation::epoch_so_far(int epoch) {
    return snapshot(epoch, false);
}

std::vector<LayerEpochSnapshot> Instrumentation::snapshot(int epoch, bool reset) {
    std::vector<LayerEpochSnapshot> out;
    const int bins = config_.histogram_bins;
    for (auto& pp : probes_) {
        Probe& p = *pp;
        LayerEpochSnapshot s;
        s.epoch = epoch;
        s.layer = p.info.index;
        if (!p.n_sum.defined()) {  // not observed this epoch
            out.push_back(s);
            continue;
        }
        if (config_.per_neuron && p.n_count > 0) {
            const at::Tensor mean = (p.n_sum / p.n_count).to(at::kCPU);
            const at::Tensor var = (p.n_sumsq / p.n_count).to(at::kCPU) - mean * mean;
            const at::Tensor stdv = var.clamp_min(0).sqrt().to(at::kFloat).contiguous();
            const at::Tensor rate = (p.n_nonzero / p.n_count).to(at::kCPU).to(at::kFloat).contiguous();
            const at::Tensor m = mean.to(at::kFloat).contiguous();
            s.neuron_mean.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
            s.neuron_std.assign(stdv.data_ptr<float>(), stdv.data_ptr<float>() + stdv.numel());
            s.neuron_rate.assign(rate.data_ptr<float>(), rate.data_ptr<float>() + rate.numel());
        }
        const at::Tensor h = p.hist.to(at::kCPU).contiguous();
        const double* hv = h.data_ptr<double>();
        s.hist_under = hv[0];
        s.hist_over = hv[bins + 1];
        s.hist_counts.assign(hv + 1, hv + 1 + bins);
        s.hist_zero = p.zero_count.item<double>();
        if (p.range_set && p.lo <= 0 && 0 < p.hi) {  // the zeros were binned too: count them apart
            const int z = std::min(bins - 1, static_cast<int>(std::floor(-p.lo * bins / (p.hi - p.lo))));
            s.hist_counts[static_cast<std::size_t>(z)] -= s.hist_zero;
        }
        for (int b = 0; b <= bins; ++b)
            s.hist_edges.push_back(p.lo + (p.hi - p.lo) * b / bins);
        if (p.info.keep) {
            const at::Tensor kh = p.keep_hist.to(at::kCPU).contiguous();
            s.keep_hist.assign(kh.data_ptr<double>(), kh.data_ptr<double>() + kh.numel());
        }
        if (p.u_hist.defined() && p.unit_range_set) {
            for (int b = 0; b <= bins; ++b)
                s.unit_edges.push_back(p.ulo + (p.uhi - p.ulo) * b / bins);
            const at::Tensor uh = p.u_hist.to(at::kCPU).to(at::kDouble).contiguous();
            s.unit_hists.assign(uh.data_ptr<double>(), uh.data_ptr<double>() + uh.numel());
            if (reset) p.u_hist.zero_();
        }
        if (p.u_keep_hist.defined()) {
            const at::Tensor uk = p.u_keep_hist.to(at::kCPU).to(at::kDouble).contiguous();
            s.unit_keep_hists.assign(uk.data_ptr<double>(), uk.data_ptr<double>() + uk.numel());
            if (reset) p.u_keep_hist.zero_();
        }
        if (!p.info.neurons.empty()) {
            const at::Tensor nh = p.neuron_hist.to(at::kCPU).contiguous();
            for (std::size_t j = 0; j < p.info.neurons.size(); ++j)
                s.neuron_hists.emplace_back(nh.data_ptr<double>() + j * (bins + 2),
                                            nh.data_ptr<double>() + (j + 1) * (bins + 2));
        }
        out.push_back(std::move(s));
        if (!reset) continue;
        // Reset for the next epoch.
        p.n_sum.zero_();
        p.n_sumsq.zero_();
        p.n_nonzero.zero_();
        p.hist.zero_();
        p.zero_count.zero_();
        p.keep_hist.zero_();
        p.neuron_hist.zero_();
        p.n_count = 0;
        p.range_set = false;
    }
    return out;
}

std::vector<std::pair<std::string, at::Tensor>> Instrumentation::state() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& pp : probes_) {
        const Probe& p = *pp;
        const std::string key = "instrument/" + std::to_string(p.info.index) + "/";
        std::vector<double> scalars;
        for (const auto& e : p.ewma)
            scalars.push_back(e.value());
        scalars.push_back(p.n_count);
        scalars.push_back(p.lo);
        scalars.push_back(p.hi);
        scalars.push_back(p.range_set ? 1.0 : 0.0);
        scalars.push_back(p.ulo);
        scalars.push_back(p.uhi);
        scalars.push_back(p.unit_range_set ? 1.0 : 0.0);
        out.emplace_back(key + "scalars", at::tensor(scalars, at::kDouble));
        if (p.n_sum.defined()) {
            out.emplace_back(key + "n_sum", p.n_sum.to(at::kCPU));
            out.emplace_back(key + "n_sumsq", p.n_sumsq.to(at::kCPU));
            out.emplace_back(key + "n_nonzero", p.n_nonzero.to(at::kCPU));
            out.emplace_back(key + "hist", p.hist.to(at::kCPU));
            out.emplace_back(key + "zero_count", p.zero_count.to(at::kCPU));
            out.emplace_back(key + "keep_hist", p.keep_hist.to(at::kCPU));
            out.emplace_back(key + "neuron_hist", p.neuron_hist.to(at::kCPU));
        }
        if (p.u_hist.defined()) out.emplace_back(key + "u_hist", p.u_hist.to(at::kCPU));
        if (p.u_keep_hist.defined()) out.emplace_back(key + "u_keep_hist", p.u_keep_hist.to(at::kCPU));
    }
    return out;
}

void Instrumentation::load_state(const std::map<std::string, at::Tensor>& state) {
    for (auto& pp : probes_) {
        Probe& p = *pp;
        const std::string key = "instrument/" + std::to_string(p.info.index) + "/";
        const auto s = state.find(key + "scalars");
        if (s == state.end()) continue;
        const at::Tensor v = s->second.to(at::kDouble).contiguous();
        if (v.numel() != 19 && v.numel() != 22) continue;  // 19: checkpoints without per-unit bins
        const double* d = v.data_ptr<double>();
        for (std::size_t i = 0; i < 15; ++i)
            p.ewma[i].set(d[i]);
        p.n_count = d[15];
        p.lo = d[16];
        p.hi = d[17];
        p.range_set = d[18] != 0;
        if (v.numel() == 22) {
            p.ulo = d[19];
            p.uhi = d[20];
            p.unit_range_set = d[21] != 0;
        }
        auto get = [&](const char* name, at::Tensor& target) {
            const auto it = state.find(key + name);
            if (it != state.end()) target = it->second.clone();
        };
        get("n_sum", p.n_sum);
        get("n_sumsq", p.n_sumsq);
        get("n_nonzero", p.n_nonzero);
        get("hist", p.hist);
        get("zero_count", p.zero_count);
        get("keep_hist", p.keep_hist);
        get("neuron_hist", p.neuron_hist);
        get("u_hist", p.u_hist);
        get("u_keep_hist", p.u_keep_hist);
        if (p.n_sum.defined() && !p.neuron_idx.defined())
            p.neuron_idx = at::tensor(std::vector<int64_t>(p.info.neurons.begin(), p.info.neurons.end()), at::kLong);
    }
}

}  // namespace normout
