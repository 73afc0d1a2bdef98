#include "engine/config/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "engine/config/model_spec.h"
#include "engine/config/schedule.h"

namespace normout {

ConfigError::ConfigError(std::string field, const std::string& message)
    : std::runtime_error(field.empty() ? message : field + ": " + message), field_(std::move(field)) {}

namespace {

using nlohmann::json;

// Every setting is listed once, here, with its help text. The visitors below use these lists to
// write JSON, read JSON strictly, and describe the settings.
template <class V>
void visit(V& v, LayerSpec& s) {
    v("type", s.type, "Custom layer: normout, dropout or identity.");
    v("p", s.p, "Dropout: probability of dropping a unit (inverted dropout, kept units scaled by 1/(1-p)).");
    v("variant", s.variant,
      "NormOut: temporal-max (max over the batch), spatial-max (max over the layer), spatiotemporal-max "
      "(both), or the -softmax form of each, p = exp((|x| - max) / T) (thesis 2.2).");
    v("temperature", s.temperature, "NormOut softmax variants: temperature T > 0 (thesis 2.2.4).");
    v("use_abs", s.use_abs, "NormOut: use |x| (thesis) rather than x to compute keep probabilities.");
    v("map_4d", s.map_4d,
      "NormOut's layer max on 4-D inputs [N, C, H, W] and tokens [N, T, D]: 'channel' over the channels at each "
      "position (the D features of each token), as the authors' code; 'map' over the whole C x H x W map (all T x D "
      "of an example).");
    v("rescale", s.rescale, "NormOut: divide kept units by their keep probability (thesis: no).");
    v("at_inference", s.at_inference, "Stay stochastic in evaluation mode (default: identity).");
    v("active_from", s.active_from,
      "Schedule: first epoch (counted from 0) in which the layer acts; before it the layer is the identity "
      "(thesis 4.3: NormOut only for some epochs).");
    v("active_until", s.active_until,
      "Schedule: epoch (counted from 0) from which the layer is the identity again; 0: acts to the end. The layer "
      "acts in epochs [active_from, active_until).");
    v("schedule", s.schedule,
      "Schedule of the softmax variants' temperature T or of Dropout's p: constant, linear or cosine, from its "
      "value (temperature or p) at epoch schedule_from to schedule_to at epoch schedule_until.");
    v("schedule_to", s.schedule_to, "Schedule: the value T or p reaches at epoch schedule_until.");
    v("schedule_from", s.schedule_from, "Schedule: epoch (from 0) at which the value starts to move.");
    v("schedule_until", s.schedule_until, "Schedule: epoch (from 0) at which the value reaches schedule_to.");
}

template <class V>
void visit(V& v, PenaltySpec& s) {
    v("layer", s.layer, "Index of the layer (final table, see `normout layers`) whose output is penalised.");
    v("l1", s.l1, "Weight of the L1 penalty: l1 * mean |a| over the batch and the layer's units.");
    v("l2", s.l2, "Weight of the L2 penalty: l2 * mean a^2 over the batch and the layer's units.");
}

template <class V>
void visit(V& v, SurgeryOp& s) {
    v("op", s.op, "replace, remove or insert (insert puts the layer before base index 'at').");
    v("at", s.at, "Base-table indices (see `normout layers`).");
    v.group("layer", s.layer, "The custom layer placed by replace or insert.");
}

template <class V>
void visit(V& v, AugmentConfig& a) {
    v("enabled", a.enabled, "Data augmentation on the training set (thesis: on, except baseline-no-aug).");
    v("crop_padding", a.crop_padding, "Random crop after zero padding by this many pixels.");
    v("hflip", a.hflip, "Random horizontal flip with probability 1/2.");
    v("rotation_deg", a.rotation_deg, "Random rotation, uniform in [-r, r] degrees.");
    v("translate", a.translate, "Random affine: maximal shift as a fraction of the image size.");
    v("scale_min", a.scale_min, "Random affine: smallest scale factor.");
    v("scale_max", a.scale_max, "Random affine: largest scale factor.");
    v("affine_prob", a.affine_prob, "Probability of applying each random affine.");
    v("affine_repeats", a.affine_repeats, "Number of independent random affines (thesis code: 2).");
    v("interpolation", a.interpolation, "Resampling: nearest (torchvision default) or bilinear.");
}

template <class V>
void visit(V& v, DataConfig& d) {
    v("dataset", d.dataset, "cifar10 (binary release), fashion-mnist (IDX files) or image-folder.");
    v("path", d.path,
      "Path of the data set; empty: searched under --data, $NORMOUT_DATA and the default data "
      "directory, in that order.");
    v("val_fraction", d.val_fraction,
      "Fraction of the training set held out for validation (thesis presets: 0, as the authors' code trains on "
      "all 50,000 images; their text's 90-10 split would be 0.1).");
    v("train_limit", d.train_limit, "Use at most this many training images (0 = all).");
    v("test_limit", d.test_limit, "Use at most this many test images (0 = all).");
    v("pad_to", d.pad_to, "Zero-pad smaller images to this size (VGG's five poolings need 32).");
    v("prefetch", d.prefetch, "Batches prepared ahead of the training step by the loader thread.");
    v.group("augment", d.augment, "Training-set augmentation.");
}

template <class V>
void visit(V& v, ModelConfig& m) {
    v("arch", m.arch,
      "Model architecture: vgg16_bn (torchvision layout, thesis figure 2.1), resnet18 (CIFAR form: 3x3 stem, no "
      "max-pool) or vit-small (Vision Transformer for 32x32 images; thesis 4.3.3). Each has an index-addressed "
      "layer table (`normout layers --set model.arch=...`).");
    v("width", m.width, "Channel multiplier of the convolutional stack of vgg16_bn and resnet18 (1 = thesis).");
    v("hidden", m.hidden, "vgg16_bn: width of the two hidden classifier layers (4096 = thesis).");
    v("vit_patch", m.vit_patch, "vit-small: patch size in pixels; must divide 32 (inputs must be 32x32, data.pad_to).");
    v("vit_dim", m.vit_dim, "vit-small: token width (embedding dimension).");
    v("vit_depth", m.vit_depth, "vit-small: number of transformer blocks.");
    v("vit_heads", m.vit_heads, "vit-small: attention heads (must divide vit_dim).");
    v("vit_mlp", m.vit_mlp, "vit-small: hidden width of each block's MLP.");
    v("fast_classifier", m.fast_classifier,
      "Compute AdaptiveAvgPool2d(7) + Flatten + Linear on a 1x1 map as one Linear with the weight "
      "summed over its 49 copies: the same function and gradients, 49x less arithmetic.");
    v("init", m.init,
      "Weight initialisation: torchvision (each architecture's reference: VGG Kaiming-normal fan-out convolutions "
      "with zero bias and N(0, 0.01) linear layers with zero bias; ResNet Kaiming-normal fan-out convolutions, "
      "Linear as constructed; ViT truncated-normal std 0.02 linear layers with zero bias, class token and position "
      "embedding N(0, 0.02)) or pytorch (PyTorch's module defaults, as the authors' code and the thesis presets: "
      "Kaiming-uniform with a = sqrt(5), biases uniform in +-1/sqrt(fan_in)). BatchNorm and LayerNorm: weight 1, "
      "bias 0.");
    v("surgery", m.surgery,
      "Layer surgery: list of {op, at, layer} (thesis 2.3.1). The residual markers (Fork, Add) of resnet18 and "
      "vit-small cannot be replaced or removed; insert around them (docs/architectures.md).");
}

template <class V>
void visit(V& v, TrainConfig& t) {
    v("epochs", t.epochs, "Training epochs (thesis: 100).");
    v("batch_size", t.batch_size, "Training batch size (thesis: 256).");
    v("eval_batch_size", t.eval_batch_size, "Batch size for evaluation.");
    v("optimizer", t.optimizer, "sgd (SGD with momentum, thesis) or adam.");
    v("lr", t.lr, "Learning rate (thesis: 0.01).");
    v("momentum", t.momentum, "SGD momentum (thesis: 0.9).");
    v("weight_decay", t.weight_decay, "L2 weight decay (thesis: 1e-4).");
    v("nesterov", t.nesterov, "Nesterov momentum for SGD.");
    v("adam_beta1", t.adam_beta1, "Adam beta1.");
    v("adam_beta2", t.adam_beta2, "Adam beta2.");
    v("adam_eps", t.adam_eps, "Adam epsilon.");
    v("lr_schedule", t.lr_schedule, "constant (thesis), step (times lr_gamma at each milestone) or cosine.");
    v("lr_milestones", t.lr_milestones, "Step schedule: epochs at which the learning rate is multiplied by lr_gamma.");
    v("lr_gamma", t.lr_gamma, "Step schedule: multiplier at each milestone.");
    v("warmup_epochs", t.warmup_epochs, "Linear learning-rate warm-up over this many epochs.");
    v("seed", t.seed, "Seed of initialisation, data order, augmentation and NormOut draws.");
    v("device", t.device, "auto (CUDA when available), cpu, cuda or cuda:N.");
    v("threads", t.threads, "CPU threads for LibTorch (0 = all cores).");
    v("check_gradients", t.check_gradients,
      "Also check every gradient for NaN/inf at each step (a pass over all gradients, ~10% of a CPU step of the "
      "thesis model). The loss is always checked: without this, a non-finite gradient stops the run one step "
      "later, when it has reached the loss.");
    v("precision", t.precision,
      "fp32; tf32 (TensorFloat-32 products on CUDA GPUs); bf16 (autocast: products in bfloat16, weights, "
      "optimiser and loss in float32; CUDA, or the CPU with LibTorch 2.x). Training and per-epoch evaluation; "
      "attacks and flatness always run in fp32.");
    v("channels_last", t.channels_last,
      "Keep 4-D weights and inputs in channels-last (NHWC) memory order, faster for convolutions on recent GPUs.");
    v("penalties", t.penalties,
      "Activation penalties (thesis 4.3.2): list of {layer, l1, l2}; l1 * mean|a| + l2 * mean a^2 of the layer's "
      "output is added to the loss and recorded per step and per epoch (penalty_l1_LAYER, penalty_l2_LAYER).");
    v("adversarial", t.adversarial,
      "Adversarial training (thesis 4.3.1): none, pgd (Madry et al. 2018) or fgsm-rs (FGSM from a random start, "
      "Wong et al. 2020). Robust training accuracy is recorded per step and per epoch.");
    v("adv_norm", t.adv_norm, "Adversarial training threat model: linf or l2.");
    v("adv_eps", t.adv_eps, "Adversarial training budget in pixel units [0, 1]; 0: 8/255 (linf) or 0.5 (l2).");
    v("adv_step", t.adv_step, "Adversarial training step size; 0: 2.5 eps / iterations (pgd) or 1.25 eps (fgsm-rs).");
    v("adv_iterations", t.adv_iterations, "pgd: attack iterations per batch (fgsm-rs takes one step).");
    v("adv_random_start", t.adv_random_start,
      "pgd: start from a uniform random point of the eps-ball (fgsm-rs always does).");
    v("adv_fraction", t.adv_fraction,
      "Share of each training batch replaced by its adversarial examples (1: all; the rest stays clean).");
    v("adv_bn", t.adv_bn,
      "BatchNorm while the attack is crafted: frozen (training mode, batch statistics, running statistics not "
      "updated by the attack's passes), train (the attack's passes also update the running statistics) or eval "
      "(evaluation mode: running statistics, NormOut and Dropout off unless at_inference).");
}

template <class V>
void visit(V& v, RecordConfig& r) {
    v("flush_seconds", r.flush_seconds, "The run file is flushed (visible to readers) at least this often.");
    v("checkpoint_every", r.checkpoint_every,
      "Epochs between checkpoints (0: only when the run is stopped); checkpoints make runs resumable.");
    v("keep_checkpoints", r.keep_checkpoints, "How many of the newest checkpoints are kept next to the run file.");
}

template <class V>
void visit(V& v, InstrumentConfig& i) {
    v("enabled", i.enabled, "Record activation statistics of the instrumented layers (thesis section 3.2).");
    v("layers", i.layers,
      "Layer indices (final table) to instrument; empty: every layer placed by surgery (48 and 51 in the "
      "thesis presets).");
    v("every", i.every, "Record layer statistics every k training steps.");
    v("ewma_alpha", i.ewma_alpha,
      "Weight of the newest value in the exponentially weighted moving averages (the thesis's tables are "
      "EWMAs).");
    v("histogram_bins", i.histogram_bins,
      "Bins of the activation histograms: the layer's histogram (range adapted each epoch) and every unit's "
      "(range fixed per layer for the whole run at the first recorded step).");
    v("per_neuron", i.per_neuron, "Per-unit mean, standard deviation and firing rate every epoch (figures 3.1/3.2).");
    v("neurons", i.neurons,
      "Units whose histograms are also recorded with the layer's per-epoch bins (neuron_hists; every unit's "
      "histogram with bins fixed for the run is recorded anyway). For token layers the units are the D features.");
}

template <class V>
void visit(V& v, EvaluateConfig& e) {
    v("attacks", e.attacks,
      "Attacks run during training, comma-separated: fgsm, pgd-ce, pgd-t, square, noise (empty: none). Clean "
      "accuracy and the gradient-masking diagnosis come with them.");
    v("attack_norms", e.attack_norms, "Threat models: linf, l2 or linf,l2 (L-inf eps 8/255, L2 eps 0.5).");
    v("attack_every", e.attack_every, "Epochs between attack evaluations (0: only after the last epoch).");
    v("attack_n", e.attack_n, "Images of the fixed, seeded test subset the attacks use (0: the whole test set).");
    v("square_queries", e.square_queries, "Query budget per image of the Square attack.");
    v("eps_sweep", e.eps_sweep, "Masking probe: PGD-CE over growing eps up to an unbounded budget.");
    v("fisher_rao", e.fisher_rao, "Fisher-Rao norm (empirical and model) after the last epoch (thesis table 3.6).");
    v("hessian", e.hessian, "Hessian trace (Hutchinson) and top eigenvalue after the last epoch.");
    v("flatness_every", e.flatness_every, "Also measure flatness every k epochs (0: only after the last epoch).");
    v("flatness_n", e.flatness_n, "Examples of the fixed, seeded test subset for flatness (0: the whole test set).");
    v("flatness_params", e.flatness_params,
      "Parameters in theta: all (trainable) or weights (no BatchNorm, no biases).");
}

template <class V>
void visit(V& v, RunConfig& c) {
    v("name", c.name, "Free-text name of the run.");
    v("preset", c.preset, "Preset the configuration started from.");
    v.group("data", c.data, "Data set and augmentation.");
    v.group("model", c.model, "Model and layer surgery.");
    v.group("train", c.train, "Optimisation.");
    v.group("record", c.record, "Run file and checkpoints.");
    v.group("instrument", c.instrument, "Activation statistics.");
    v.group("evaluate", c.evaluate, "Robustness and flatness measured during training.");
}

// ---- writing ----
struct Writer {
    json& out;
    template <class T>
    void operator()(const char* key, T& value, const char*) {
        out[key] = value;
    }
    template <class S>
    void objects(const char* key, std::vector<S>& items) {
        json list = json::array();
        for (auto& item : items) {
            json element = json::object();
            Writer w{element};
            visit(w, item);
            list.push_back(element);
        }
        out[key] = list;
    }
    void operator()(const char* key, std::vector<SurgeryOp>& ops, const char*) { objects(key, ops); }
    void operator()(const char* key, std::vector<PenaltySpec>& ps, const char*) { objects(key, ps); }
    template <class S>
    void group(const char* key, S& s, const char*) {
        json sub = json::object();
        Writer w{sub};
        visit(w, s);
        out[key] = sub;
    }
};

// ---- reading (strict) ----
// A value as JSON text for an error message; bytes that are not UTF-8 (a damaged file, a stray
// --set) become U+FFFD instead of an exception while the message is being written.
std::string json_text(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string type_name(const json& j) {
    if (j.is_string()) return "the string " + json_text(j);
    return json_text(j);
}

[[noreturn]] void type_error(const std::string& field, const char* expected, const json& got) {
    throw ConfigError(field, std::string("expected ") + expected + ", got " + type_name(got));
}

void read_value(const json& j, bool& v, const std::string& f) {
    if (!j.is_boolean()) type_error(f, "true or false", j);
    v = j.get<bool>();
}
void read_value(const json& j, double& v, const std::string& f) {
    if (!j.is_number()) type_error(f, "a number", j);
    v = j.get<double>();
    if (!std::isfinite(v)) throw ConfigError(f, "must be finite");
}
template <class I>
void read_integer(const json& j, I& v, const std::string& f) {
    if (!j.is_number_integer() && !(j.is_number_float() && std::floor(j.get<double>()) == j.get<double>()))
        type_error(f, "an integer", j);
    if (j.is_number_unsigned()) {
        const auto u = j.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<I>::max()))
            throw ConfigError(f, "value " + json_text(j) + " is too large");
        v = static_cast<I>(u);
        return;
    }
    const double d = j.get<double>();
    // I's range is [min, 2^digits): max itself rounds up to 2^digits as a double, so the upper
    // bound is exclusive (a float equal to 2^63 must not reach the cast, which would be undefined).
    if (d < static_cast<double>(std::numeric_limits<I>::min()) || d >= std::ldexp(1.0, std::numeric_limits<I>::digits))
        throw ConfigError(f, "value " + json_text(j) + " is out of range");
    v = j.is_number_integer() ? static_cast<I>(j.get<std::int64_t>()) : static_cast<I>(d);
}
void read_value(const json& j, int& v, const std::string& f) {
    read_integer(j, v, f);
}
void read_value(const json& j, std::int64_t& v, const std::string& f) {
    read_integer(j, v, f);
}
void read_value(const json& j, std::uint64_t& v, const std::string& f) {
    if (j.is_number_integer() && !j.is_number_unsigned() && j.get<std::int64_t>() < 0)
        throw ConfigError(f, "must not be negative");
    read_integer(j, v, f);
}
// Whether `s` is well-formed UTF-8 (JSON text and HDF5 attributes of run files must be).
bool is_utf8(const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
        if (extra < 0 || (extra > 0 && i + static_cast<std::size_t>(extra) >= s.size())) return false;
        for (int k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]) >> 6) != 0x2) return false;
        i += static_cast<std::size_t>(extra) + 1;
    }
    return true;
}

void read_value(const json& j, std::string& v, const std::string& f) {
    if (!j.is_string()) type_error(f, "a string", j);
    v = j.get<std::string>();
    if (!is_utf8(v)) throw ConfigError(f, "must be UTF-8 text");
}
void read_value(const json& j, std::vector<int>& v, const std::string& f) {
    std::vector<int> out;
    if (j.is_number()) {  // a single index is accepted for convenience
        int x = 0;
        read_value(j, x, f);
        out.push_back(x);
    } else {
        if (!j.is_array()) type_error(f, "a list of integers", j);
        for (std::size_t i = 0; i < j.size(); ++i) {
            int x = 0;
            read_value(j[i], x, f + "[" + std::to_string(i) + "]");
            out.push_back(x);
        }
    }
    v = std::move(out);
}

struct Reader;
void read_value(const json& j, std::vector<SurgeryOp>& v, const std::string& f);
void read_value(const json& j, std::vector<PenaltySpec>& v, const std::string& f);

struct Reader {
    const json& in;
    std::string prefix;  // "train." etc.
    std::set<std::string> known;

    Reader(const json& j, std::string p) : in(j), prefix(std::move(p)) {
        if (!in.is_object())
            type_error(prefix.empty() ? std::string("configuration") : prefix.substr(0, prefix.size() - 1), "an object",
                       in);
    }
    template <class T>
    void operator()(const char* key, T& value, const char*) {
        known.insert(key);
        const auto it = in.find(key);
        if (it != in.end()) read_value(*it, value, prefix + key);
    }
    template <class S>
    void group(const char* key, S& s, const char*) {
        known.insert(key);
        const auto it = in.find(key);
        if (it == in.end()) return;
        Reader sub(*it, prefix + key + ".");
        visit(sub, s);
        sub.finish();
    }
    void finish() const {
        for (const auto& item : in.items())
            if (!known.count(item.key())) throw ConfigError(prefix + item.key(), "unknown setting");
    }
};

template <class S>
void read_objects(const json& j, std::vector<S>& v, const std::string& f, const char* expected) {
    if (!j.is_array()) type_error(f, expected, j);
    std::vector<S> out;
    for (std::size_t i = 0; i < j.size(); ++i) {
        S item;
        Reader r(j[i], f + "[" + std::to_string(i) + "].");
        visit(r, item);
        r.finish();
        out.push_back(std::move(item));
    }
    v = std::move(out);
}

void read_value(const json& j, std::vector<SurgeryOp>& v, const std::string& f) {
    read_objects(j, v, f, "a list of {op, at, layer} objects");
}

void read_value(const json& j, std::vector<PenaltySpec>& v, const std::string& f) {
    read_objects(j, v, f, "a list of {layer, l1, l2} objects");
}

// ---- describing ----
template <class T>
const char* type_of() {
    if constexpr (std::is_same_v<T, bool>)
        return "bool";
    else if constexpr (std::is_integral_v<T>)
        return "int";
    else if constexpr (std::is_floating_point_v<T>)
        return "number";
    else if constexpr (std::is_same_v<T, std::string>)
        return "string";
    else if constexpr (std::is_same_v<T, std::vector<int>>)
        return "list";
    else if constexpr (std::is_same_v<T, std::vector<PenaltySpec>>)
        return "penalties";
    else
        return "surgery";
}

struct Describer {
    std::vector<SettingInfo>& out;
    std::string prefix;
    template <class T>
    void operator()(const char* key, T&, const char* help) {
        out.push_back({prefix + key, type_of<T>(), help});
    }
    template <class S>
    void group(const char* key, S& s, const char*) {
        Describer d{out, prefix + key + "."};
        visit(d, s);
    }
};

json to_json_value(const RunConfig& config) {
    json j = json::object();
    Writer w{j};
    visit(w, const_cast<RunConfig&>(config));  // Writer only reads
    return j;
}

void overlay(RunConfig& config, const json& j) {
    RunConfig copy = config;  // leave the input untouched on error
    Reader r(j, "");
    visit(r, copy);
    r.finish();
    config = std::move(copy);
}

json parse_json(std::string_view text, const std::string& what) {
    try {
        return json::parse(text.begin(), text.end());
    } catch (const json::exception& e) {  // syntax, and numbers beyond double's range
        throw ConfigError("", what + " is not valid JSON: " + e.what());
    }
}

const std::set<std::string>& normout_variants() {
    static const std::set<std::string> v = {"temporal-max",     "spatial-max",     "spatiotemporal-max",
                                            "temporal-softmax", "spatial-softmax", "spatiotemporal-softmax"};
    return v;
}

template <class T>
void require(bool ok, const std::string& field, const T& message) {
    if (!ok) throw ConfigError(field, message);
}

}  // namespace

std::string config_to_json(const RunConfig& config, int indent) {
    // Strings were checked to be UTF-8 when read; a configuration built in code is written anyway.
    return to_json_value(config).dump(indent, ' ', false, json::error_handler_t::replace);
}

RunConfig config_from_json(std::string_view text) {
    RunConfig config;
    overlay(config, parse_json(text, "the configuration"));
    return config;
}

void apply_config_file(RunConfig& config, const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ConfigError("", "cannot open configuration file '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        apply_json_overlay(config, ss.str());
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        throw ConfigError(e.field(), what.substr(e.field().empty() ? 0 : e.field().size() + 2) + " (in " + path + ")");
    }
}

RunConfig load_config_file(const std::string& path) {
    RunConfig config;
    apply_config_file(config, path);
    return config;
}

void save_config_file(const RunConfig& config, const std::string& path) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write configuration file '" + path + "'");
    out << config_to_json(config) << "\n";
    if (!out) throw std::runtime_error("error while writing configuration file '" + path + "'");
}

void apply_json_overlay(RunConfig& config, std::string_view json_object) {
    overlay(config, parse_json(json_object, "the settings"));
}

void apply_override(RunConfig& config, std::string_view assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string_view::npos || eq == 0)
        throw ConfigError("", "expected key=value, got '" + std::string(assignment) + "'");
    const std::string key(assignment.substr(0, eq));
    const std::string raw(assignment.substr(eq + 1));

    std::string type;
    for (const auto& s : describe_settings())
        if (s.key == key) type = s.type;
    if (type.empty()) throw ConfigError(key, "unknown setting (see `normout settings`)");

    json value;
    if (type == "string") {
        value = raw;  // strings need no quotes on the command line
    } else {
        try {
            value = json::parse(raw);
        } catch (const json::exception&) {
            value = raw;  // reported below as a type error naming the field
        }
    }
    // Build {"a": {"b": value}} from "a.b".
    json root = json::object();
    json* node = &root;
    std::size_t start = 0;
    while (true) {
        const auto dot = key.find('.', start);
        const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (dot == std::string::npos) {
            (*node)[part] = value;
            break;
        }
        node = &(*node)[part];
        start = dot + 1;
    }
    overlay(config, root);
}

std::vector<SettingInfo> describe_settings() {
    std::vector<SettingInfo> out;
    RunConfig dummy;
    Describer d{out, ""};
    visit(d, dummy);
    return out;
}

void validate(const LayerSpec& s, const std::string& f) {
    if (s.type == "dropout") {
        require(s.p >= 0.0 && s.p < 1.0, f + ".p", "must be in [0, 1)");
    } else if (s.type == "normout") {
        require(normout_variants().count(s.variant) == 1, f + ".variant",
                "unknown variant '" + s.variant +
                    "' (temporal-max, spatial-max, spatiotemporal-max, temporal-softmax, "
                    "spatial-softmax, spatiotemporal-softmax)");
        require(s.temperature > 0.0, f + ".temperature", "must be > 0");
        require(s.map_4d == "channel" || s.map_4d == "map", f + ".map_4d", "must be 'channel' or 'map'");
    } else if (s.type != "identity") {
        throw ConfigError(f + ".type", "unknown layer type '" + s.type + "' (normout, dropout, identity)");
    }
    require(s.active_from >= 0, f + ".active_from", "must be >= 0");
    require(s.active_until == 0 || s.active_until > s.active_from, f + ".active_until",
            "must be 0 (to the end) or greater than active_from");
    require(s.schedule == "constant" || s.schedule == "linear" || s.schedule == "cosine", f + ".schedule",
            "unknown schedule '" + s.schedule + "' (constant, linear, cosine)");
    if (s.schedule != "constant") {
        const std::string q = scheduled_quantity(s);
        require(!q.empty(), f + ".schedule",
                "moves the temperature of a NormOut softmax variant or Dropout's p; this layer has neither");
        require(s.schedule_from >= 0, f + ".schedule_from", "must be >= 0");
        require(s.schedule_until > s.schedule_from, f + ".schedule_until", "must be greater than schedule_from");
        if (q == "temperature")
            require(s.schedule_to > 0.0, f + ".schedule_to", "the final temperature must be > 0");
        else
            require(s.schedule_to >= 0.0 && s.schedule_to < 1.0, f + ".schedule_to", "the final p must be in [0, 1)");
    }
}

void validate(const RunConfig& c) {
    const auto& d = c.data;
    require(d.dataset == "cifar10" || d.dataset == "fashion-mnist" || d.dataset == "image-folder", "data.dataset",
            "unknown data set '" + d.dataset + "' (cifar10, fashion-mnist, image-folder)");
    require(d.val_fraction >= 0.0 && d.val_fraction <= 0.5, "data.val_fraction", "must be in [0, 0.5]");
    require(d.train_limit >= 0, "data.train_limit", "must be >= 0");
    require(d.test_limit >= 0, "data.test_limit", "must be >= 0");
    require(d.pad_to >= 32 && d.pad_to <= 1024, "data.pad_to", "must be in [32, 1024]");
    require(d.prefetch >= 1 && d.prefetch <= 64, "data.prefetch", "must be in [1, 64]");
    const auto& a = d.augment;
    require(a.crop_padding >= 0 && a.crop_padding <= 64, "data.augment.crop_padding", "must be in [0, 64]");
    require(a.rotation_deg >= 0.0 && a.rotation_deg <= 180.0, "data.augment.rotation_deg", "must be in [0, 180]");
    require(a.translate >= 0.0 && a.translate <= 0.5, "data.augment.translate", "must be in [0, 0.5]");
    require(a.scale_min > 0.0, "data.augment.scale_min", "must be > 0");
    require(a.scale_max >= a.scale_min, "data.augment.scale_max", "must be >= scale_min");
    require(a.affine_prob >= 0.0 && a.affine_prob <= 1.0, "data.augment.affine_prob", "must be in [0, 1]");
    require(a.affine_repeats >= 0 && a.affine_repeats <= 8, "data.augment.affine_repeats", "must be in [0, 8]");
    require(a.interpolation == "nearest" || a.interpolation == "bilinear", "data.augment.interpolation",
            "must be 'nearest' or 'bilinear'");

    const auto& m = c.model;
    require(m.arch == "vgg16_bn" || m.arch == "resnet18" || m.arch == "vit-small", "model.arch",
            "unknown architecture '" + m.arch + "' (vgg16_bn, resnet18, vit-small)");
    require(m.vit_patch >= 1 && m.vit_patch <= 32 && 32 % m.vit_patch == 0, "model.vit_patch",
            "must divide 32 (1, 2, 4, 8, 16 or 32)");
    require(m.vit_dim >= 1 && m.vit_dim <= 4096, "model.vit_dim", "must be in [1, 4096]");
    require(m.vit_depth >= 1 && m.vit_depth <= 48, "model.vit_depth", "must be in [1, 48]");
    require(m.vit_heads >= 1 && m.vit_dim % m.vit_heads == 0, "model.vit_heads", "must be >= 1 and divide vit_dim");
    require(m.vit_mlp >= 1 && m.vit_mlp <= 16384, "model.vit_mlp", "must be in [1, 16384]");
    require(m.width > 0.0 && m.width <= 8.0, "model.width", "must be in (0, 8]");
    require(m.hidden >= 1 && m.hidden <= 65536, "model.hidden", "must be in [1, 65536]");
    require(m.init == "torchvision" || m.init == "pytorch", "model.init",
            "unknown initialisation '" + m.init + "' (torchvision, pytorch)");
    const int base_size = static_cast<int>(base_layer_table(m, 3, 10).size());
    std::set<int> touched;
    for (std::size_t i = 0; i < m.surgery.size(); ++i) {
        const auto& op = m.surgery[i];
        const std::string f = "model.surgery[" + std::to_string(i) + "]";
        require(op.op == "replace" || op.op == "remove" || op.op == "insert", f + ".op",
                "unknown operation '" + op.op + "' (replace, remove, insert)");
        require(!op.at.empty(), f + ".at", "needs at least one index");
        const int limit = op.op == "insert" ? base_size : base_size - 1;
        for (int index : op.at) {
            require(index >= 0 && index <= limit, f + ".at",
                    "index " + std::to_string(index) + " is not in the model (base indices 0.." +
                        std::to_string(limit) + ", see `normout layers`)");
            if (op.op != "insert")
                require(touched.insert(index).second, f + ".at",
                        "index " + std::to_string(index) + " is replaced or removed twice");
        }
        if (op.op != "remove") validate(op.layer, f + ".layer");
    }

    const auto& t = c.train;
    require(t.epochs >= 1 && t.epochs <= 100000, "train.epochs", "must be in [1, 100000]");
    require(t.batch_size >= 1 && t.batch_size <= 65536, "train.batch_size", "must be in [1, 65536]");
    require(t.eval_batch_size >= 1 && t.eval_batch_size <= 65536, "train.eval_batch_size", "must be in [1, 65536]");
    require(t.optimizer == "sgd" || t.optimizer == "adam", "train.optimizer",
            "unknown optimizer '" + t.optimizer + "' (sgd, adam)");
    require(t.lr > 0.0, "train.lr", "must be > 0");
    require(t.momentum >= 0.0 && t.momentum < 1.0, "train.momentum", "must be in [0, 1)");
    require(t.weight_decay >= 0.0, "train.weight_decay", "must be >= 0");
    require(!t.nesterov || t.momentum > 0.0, "train.nesterov", "needs momentum > 0");
    require(t.adam_beta1 >= 0.0 && t.adam_beta1 < 1.0, "train.adam_beta1", "must be in [0, 1)");
    require(t.adam_beta2 >= 0.0 && t.adam_beta2 < 1.0, "train.adam_beta2", "must be in [0, 1)");
    require(t.adam_eps > 0.0, "train.adam_eps", "must be > 0");
    require(t.lr_schedule == "constant" || t.lr_schedule == "step" || t.lr_schedule == "cosine", "train.lr_schedule",
            "unknown schedule '" + t.lr_schedule + "' (constant, step, cosine)");
    for (std::size_t i = 0; i < t.lr_milestones.size(); ++i) {
        require(t.lr_milestones[i] >= 1, "train.lr_milestones", "epochs must be >= 1");
        require(i == 0 || t.lr_milestones[i] > t.lr_milestones[i - 1], "train.lr_milestones",
                "must be strictly increasing");
    }
    require(t.lr_gamma > 0.0, "train.lr_gamma", "must be > 0");
    require(t.warmup_epochs >= 0 && t.warmup_epochs < t.epochs, "train.warmup_epochs", "must be in [0, epochs)");
    static const std::regex device_re("auto|cpu|cuda(:[0-9]+)?");
    require(t.precision == "fp32" || t.precision == "tf32" || t.precision == "bf16", "train.precision",
            "unknown value '" + t.precision + "' (fp32, tf32, bf16)");
    require(std::regex_match(t.device, device_re), "train.device",
            "unknown device '" + t.device + "' (auto, cpu, cuda, cuda:N)");
    require(t.threads >= 0 && t.threads <= 1024, "train.threads", "must be in [0, 1024]");
    {
        const int n = static_cast<int>(layer_table(c.model, 3, 10).size());
        std::set<int> penalised;
        for (std::size_t i = 0; i < t.penalties.size(); ++i) {
            const auto& p = t.penalties[i];
            const std::string f = "train.penalties[" + std::to_string(i) + "]";
            require(p.layer >= 0 && p.layer < n, f + ".layer",
                    "index " + std::to_string(p.layer) + " is not in the model (0.." + std::to_string(n - 1) +
                        ", see `normout layers`)");
            require(penalised.insert(p.layer).second, f + ".layer",
                    "layer " + std::to_string(p.layer) + " is penalised twice (give l1 and l2 in one entry)");
            require(p.l1 >= 0.0 && p.l2 >= 0.0, f, "weights l1 and l2 must be >= 0");
            require(p.l1 > 0.0 || p.l2 > 0.0, f, "needs l1 > 0 or l2 > 0");
        }
    }
    require(t.adversarial == "none" || t.adversarial == "pgd" || t.adversarial == "fgsm-rs", "train.adversarial",
            "unknown value '" + t.adversarial + "' (none, pgd, fgsm-rs)");
    require(t.adv_norm == "linf" || t.adv_norm == "l2", "train.adv_norm",
            "unknown norm '" + t.adv_norm + "' (linf, l2)");
    require(t.adv_eps >= 0.0 && t.adv_eps <= 64.0, "train.adv_eps", "must be in [0, 64] (0: the norm's default)");
    require(t.adv_norm != "linf" || t.adv_eps <= 1.0, "train.adv_eps", "an L-inf budget must be in [0, 1]");
    require(t.adv_step >= 0.0 && t.adv_step <= 64.0, "train.adv_step", "must be in [0, 64] (0: the default)");
    require(t.adv_iterations >= 1 && t.adv_iterations <= 1000, "train.adv_iterations", "must be in [1, 1000]");
    require(t.adv_fraction > 0.0 && t.adv_fraction <= 1.0, "train.adv_fraction", "must be in (0, 1]");
    require(t.adv_bn == "frozen" || t.adv_bn == "train" || t.adv_bn == "eval", "train.adv_bn",
            "unknown value '" + t.adv_bn + "' (frozen, train, eval)");
    const auto& r = c.record;
    require(r.flush_seconds >= 0.05 && r.flush_seconds <= 60, "record.flush_seconds", "must be in [0.05, 60]");
    require(r.checkpoint_every >= 0, "record.checkpoint_every", "must be >= 0");
    require(r.keep_checkpoints >= 1 && r.keep_checkpoints <= 1000, "record.keep_checkpoints", "must be in [1, 1000]");
    const auto& ev = c.evaluate;
    {
        static const std::set<std::string> attacks = {"fgsm", "pgd-ce", "pgd-t", "square", "noise"};
        static const std::set<std::string> norms = {"linf", "l2"};
        const auto check_list = [&](const std::string& text, const std::set<std::string>& allowed,
                                    const std::string& field, const std::string& names) {
            std::string item;
            std::istringstream in(text);
            while (std::getline(in, item, ','))
                require(allowed.count(item) > 0, field, "unknown entry '" + item + "' (" + names + ")");
        };
        check_list(ev.attacks, attacks, "evaluate.attacks", "fgsm, pgd-ce, pgd-t, square, noise");
        require(!ev.attack_norms.empty(), "evaluate.attack_norms", "must name linf, l2 or both");
        check_list(ev.attack_norms, norms, "evaluate.attack_norms", "linf, l2");
    }
    require(ev.attack_every >= 0, "evaluate.attack_every", "must be >= 0");
    require(ev.attack_n >= 0, "evaluate.attack_n", "must be >= 0");
    require(ev.square_queries >= 1 && ev.square_queries <= 1000000, "evaluate.square_queries",
            "must be in [1, 1000000]");
    require(ev.flatness_every >= 0, "evaluate.flatness_every", "must be >= 0");
    require(ev.flatness_n >= 0, "evaluate.flatness_n", "must be >= 0");
    require(ev.flatness_params == "all" || ev.flatness_params == "weights", "evaluate.flatness_params",
            "unknown value '" + ev.flatness_params + "' (all, weights)");
    const auto& in = c.instrument;
    require(in.every >= 1, "instrument.every", "must be >= 1");
    require(in.ewma_alpha > 0.0 && in.ewma_alpha <= 1.0, "instrument.ewma_alpha", "must be in (0, 1]");
    require(in.histogram_bins >= 2 && in.histogram_bins <= 4096, "instrument.histogram_bins", "must be in [2, 4096]");
    require(in.neurons.size() <= 64, "instrument.neurons", "at most 64 neurons");
    {
        const int n = static_cast<int>(layer_table(c.model, 3, 10).size());
        for (int i : in.layers)
            require(i >= 0 && i < n, "instrument.layers",
                    "index " + std::to_string(i) + " is not in the model (0.." + std::to_string(n - 1) + ")");
        for (int u : in.neurons)
            require(u >= 0, "instrument.neurons", "indices must be >= 0");
    }
}

}  // namespace normout
