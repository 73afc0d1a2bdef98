#pragma once
// The one configuration structure of a run: plain C++ values, no torch, so the GUI can edit it.
// It loads from and saves to JSON; every key has a help text (see describe_settings()).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace normout {

// Error in a configuration value; field() is the dotted key ("train.lr").
class ConfigError : public std::runtime_error {
  public:
    ConfigError(std::string field, const std::string& message);
    const std::string& field() const { return field_; }

  private:
    std::string field_;
};

// A custom layer placed into the model by surgery.
struct LayerSpec {
    std::string type = "normout";  // normout | dropout | identity
    // dropout
    double p = 0.5;  // probability of dropping a unit
    // normout
    std::string variant = "temporal-max";  // {temporal,spatial,spatiotemporal}-{max,softmax}
    double temperature = 1.0;              // softmax variants: p = exp((|x| - max) / T)
    bool use_abs = true;                   // |x| (thesis) or x
    std::string map_4d = "channel";        // 4-D input: "channel" = max over channels per position,
                                           // "map" = max over the whole C x H x W map; tokens
                                           // [N, T, D]: over each token's D features, or all T x D
    bool rescale = false;                  // divide kept units by p
    bool at_inference = false;             // stay stochastic in evaluation mode
    // Schedules (engine/config/schedule.h). Epochs are counted from 0 (epoch e of the run file
    // is e - 1 here). The layer acts in epochs [active_from, active_until) and is the identity
    // outside them (active_until 0: to the end of training).
    int active_from = 0;
    int active_until = 0;
    // The softmax variants' temperature, or Dropout's p, moves from its value above to
    // schedule_to between epochs schedule_from and schedule_until: constant | linear | cosine.
    std::string schedule = "constant";
    double schedule_to = 0;
    int schedule_from = 0;
    int schedule_until = 0;
};

// One surgery step. Indices refer to the base table printed by `normout layers`.
struct SurgeryOp {
    std::string op = "replace";  // replace | remove | insert (insert places the layer before `at`)
    std::vector<int> at;
    LayerSpec layer;
};

// An activation penalty on the output of one layer (index in the final table), added to the
// loss: l1 * mean|a| + l2 * mean(a^2), the means over the batch and all units of the layer.
struct PenaltySpec {
    int layer = 0;
    double l1 = 0;
    double l2 = 0;
};

struct AugmentConfig {
    bool enabled = true;
    int crop_padding = 4;      // random crop of the original size after zero padding
    bool hflip = true;         // horizontal flip with probability 1/2
    double rotation_deg = 15;  // uniform rotation in [-r, r]
    double translate = 0.1;    // random affine: shift up to this fraction of the size
    double scale_min = 0.9;    // random affine: scale range
    double scale_max = 1.1;
    double affine_prob = 0.5;               // each random affine is applied with this probability
    int affine_repeats = 2;                 // the thesis code applies two independent random affines
    std::string interpolation = "nearest";  // nearest | bilinear
};

struct DataConfig {
    std::string dataset = "cifar10";  // cifar10 | fashion-mnist | image-folder
    std::string path;                 // explicit data set path; empty = search the data roots
    double val_fraction = 0.0;        // held out from the training set (the authors' code: none)
    int64_t train_limit = 0;          // 0 = all
    int64_t test_limit = 0;           // 0 = all
    int pad_to = 32;                  // zero-pad smaller images (VGG needs >= 32 pixels)
    int prefetch = 4;                 // batches prepared ahead by the loader thread
    AugmentConfig augment;
};

struct ModelConfig {
    std::string arch = "vgg16_bn";  // vgg16_bn | resnet18 | vit-small
    double width = 1.0;             // channel multiplier of the convolutional stack (VGG, ResNet)
    int hidden = 4096;              // VGG's classifier width
    // vit-small: patch size, embedding width, blocks, attention heads, MLP width
    int vit_patch = 4;
    int vit_dim = 256;
    int vit_depth = 6;
    int vit_heads = 4;
    int vit_mlp = 512;
    bool fast_classifier = true;  // see NetImpl::set_fast_classifier
    // Weight initialisation: "torchvision" (each architecture's reference) or "pytorch" (the
    // modules' defaults, as the authors' code); see the setting's help text. A configuration
    // without the key reads as "torchvision".
    std::string init = "torchvision";
    std::vector<SurgeryOp> surgery;
};

struct TrainConfig {
    int epochs = 100;
    int batch_size = 256;
    int eval_batch_size = 512;
    std::string optimizer = "sgd";  // sgd | adam
    double lr = 0.01;
    double momentum = 0.9;
    double weight_decay = 1e-4;
    bool nesterov = false;
    double adam_beta1 = 0.9;
    double adam_beta2 = 0.999;
    double adam_eps = 1e-8;
    std::string lr_schedule = "constant";  // constant | step | cosine
    std::vector<int> lr_milestones;        // step schedule: epochs where lr *= lr_gamma
    double lr_gamma = 0.1;
    int warmup_epochs = 0;
    uint64_t seed = 0;
    std::string device = "auto";         // auto | cpu | cuda | cuda:N
    int threads = 0;                     // CPU threads; 0 = all cores
    bool check_gradients = false;        // also check every gradient for NaN/inf at each step
    std::string precision = "fp32";      // fp32 | tf32 | bf16
    bool channels_last = false;          // 4-D weights and inputs in NHWC memory order
    std::vector<PenaltySpec> penalties;  // activation penalties added to the loss
    // Adversarial training (engine/train/adversarial.h): none | pgd (Madry et al. 2018) |
    // fgsm-rs (Wong et al. 2020). eps 0 = the norm's standard budget (8/255 L-inf, 0.5 L2);
    // step 0 = 2.5 eps / iterations for pgd, 1.25 eps for fgsm-rs.
    std::string adversarial = "none";
    std::string adv_norm = "linf";
    double adv_eps = 0;
    double adv_step = 0;
    int adv_iterations = 10;
    bool adv_random_start = true;
    double adv_fraction = 1.0;      // share of each batch replaced by adversarial examples
    std::string adv_bn = "frozen";  // frozen | train | eval: BatchNorm while the attack runs
};

struct RecordConfig {
    double flush_seconds = 1.0;  // the run file is flushed at least this often
    int checkpoint_every = 1;    // epochs between checkpoints (0 = only when stopped)
    int keep_checkpoints = 2;    // newest checkpoints kept next to the run file
};

struct InstrumentConfig {
    bool enabled = true;
    std::vector<int> layers;   // indices in the final table; empty = the layers placed by surgery
    int every = 1;             // record layer statistics every k training steps
    double ewma_alpha = 0.02;  // weight of the newest value in the moving averages
    int histogram_bins = 64;   // activation histograms: per layer (adapted each epoch) and per unit (fixed)
    bool per_neuron = true;    // per-unit mean, std and firing rate every epoch
    std::vector<int> neurons;  // units also histogrammed with the layer's per-epoch bins (neuron_hists)
};

// Robustness and flatness measured while a run trains (engine/attacks, engine/flatness); the
// command-line `attack` and `flatness` subcommands take the full settings for finished runs.
struct EvaluateConfig {
    std::string attacks;                  // comma-separated: fgsm, pgd-ce, pgd-t, square, noise; "" = none
    std::string attack_norms = "linf";    // linf, l2 or "linf,l2"
    int attack_every = 10;                // epochs between attack evaluations; the last epoch always
    int64_t attack_n = 1000;              // images of the fixed seeded test subset (0 = all)
    int square_queries = 5000;            // Square's query budget per image
    bool eps_sweep = false;               // masking probe: PGD-CE over growing eps up to unbounded
    bool fisher_rao = true;               // Fisher-Rao norm (both versions) at the end of training
    bool hessian = false;                 // Hessian trace and top eigenvalue at the end of training
    int flatness_every = 0;               // also every k epochs (0 = only at the end)
    int64_t flatness_n = 1000;            // examples of the fixed seeded test subset (0 = all)
    std::string flatness_params = "all";  // all | weights
};

struct RunConfig {
    std::string name;    // free text shown in the lab
    std::string preset;  // preset it came from, if any
    DataConfig data;
    ModelConfig model;
    TrainConfig train;
    RecordConfig record;
    InstrumentConfig instrument;
    EvaluateConfig evaluate;
};

// JSON (de)serialisation. Parsing is strict: unknown keys and wrong types are errors.
std::string config_to_json(const RunConfig& config, int indent = 2);
RunConfig config_from_json(std::string_view text);
RunConfig load_config_file(const std::string& path);
// Overlays a (possibly partial) configuration file onto `config`.
void apply_config_file(RunConfig& config, const std::string& path);
void save_config_file(const RunConfig& config, const std::string& path);

// Applies "key=value" (dotted key; value as JSON, or a bare string). Throws ConfigError.
void apply_override(RunConfig& config, std::string_view assignment);
// Merges a JSON object of settings into the configuration (used by presets).
void apply_json_overlay(RunConfig& config, std::string_view json_object);

// Rejects every invalid value, naming the field. Called before any training starts.
void validate(const RunConfig& config);
void validate(const LayerSpec& spec, const std::string& field);

struct SettingInfo {
    std::string key;   // dotted key
    std::string type;  // bool | int | number | string | list | surgery | penalties (JSON list of objects)
    std::string help;
};
std::vector<SettingInfo> describe_settings();

}  // namespace normout
