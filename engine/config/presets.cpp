#include "engine/config/presets.h"

#include <sstream>

namespace normout {

namespace {

LayerSpec identity() {
    LayerSpec s;
    s.type = "identity";
    return s;
}

LayerSpec dropout(double p) {
    LayerSpec s;
    s.type = "dropout";
    s.p = p;
    return s;
}

LayerSpec normout(const std::string& variant, double temperature = 1.0) {
    LayerSpec s;
    s.type = "normout";
    s.variant = variant;
    s.temperature = temperature;
    return s;
}

// Puts `layer` at each index of `at` and the identity at the other thesis positions 48 and 51
// (the thesis's baseline has no Dropout; identities keep the indices of the table).
std::vector<SurgeryOp> place(const LayerSpec& layer, std::vector<int> at) {
    std::vector<SurgeryOp> ops;
    ops.push_back({"replace", at, layer});
    std::vector<int> rest;
    for (int i : {48, 51}) {
        bool used = false;
        for (int a : at)
            used |= a == i;
        if (!used) rest.push_back(i);
    }
    if (!rest.empty()) ops.push_back({"replace", rest, identity()});
    return ops;
}

std::string indices_text(const std::vector<int>& at, char sep) {
    std::ostringstream s;
    for (std::size_t i = 0; i < at.size(); ++i)
        s << (i ? std::string(1, sep) : "") << at[i];
    return s.str();
}

std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

Preset thesis_row(const std::string& slug, const std::string& title, std::vector<SurgeryOp> surgery, double train_acc,
                  double test_acc) {
    Preset p;
    p.name = "thesis/" + slug;
    p.title = title;
    p.description = "Thesis Table 3.1 row '" + title +
                    "': VGG-16-BN on CIFAR-10, 100 epochs, SGD lr 0.01, trained on all 50,000 images; "
                    "PyTorch's default initialisation (model.init=pytorch), as the authors' code.";
    p.config.preset = p.name;
    p.config.name = title;
    p.config.model.init = "pytorch";
    p.config.model.surgery = std::move(surgery);
    p.thesis_train_accuracy = train_acc;
    p.thesis_test_accuracy = test_acc;
    p.thesis_section = "3.1";
    return p;
}

// A row that places its layer at one of 48 and 51 puts the identity at the other, where the
// authors' base model keeps its Dropout(0.5): an interpretation, stated in the description.
Preset single_position(Preset p, const std::vector<int>& at) {
    if (at.size() != 1) return p;
    const int other = at.front() == 48 ? 51 : 48;
    p.description += " Interpretation: the identity sits at " + std::to_string(other) +
                     ", where the authors' base model keeps Dropout(0.5).";
    return p;
}

std::vector<Preset> make_presets() {
    std::vector<Preset> all;

    Preset quick;
    quick.name = "quick";
    quick.title = "Quick demo";
    quick.description =
        "Fashion-MNIST, VGG-16-BN at 1/8 width with a 512-wide classifier, Temporal Softmax NormOut "
        "(T=100) at 48 and 51; 3 epochs, a few minutes on two cores.";
    quick.config.preset = "quick";
    quick.config.name = "Quick demo";
    quick.config.data.dataset = "fashion-mnist";
    quick.config.data.augment.enabled = false;
    quick.config.model.width = 0.125;
    quick.config.model.hidden = 512;
    quick.config.model.surgery = place(normout("temporal-softmax", 100.0), {48, 51});
    quick.config.train.epochs = 3;
    quick.config.train.batch_size = 128;
    quick.config.train.lr = 0.02;
    // Robustness after every epoch on a small subset, so the lab shows it land.
    quick.config.evaluate.attacks = "fgsm,pgd-ce,pgd-t,noise";
    quick.config.evaluate.attack_every = 1;
    quick.config.evaluate.attack_n = 500;
    // The Fisher-Rao norm after every epoch too, so that its stream has one row per epoch.
    quick.config.evaluate.flatness_every = 1;
    all.push_back(quick);

    Preset no_aug = thesis_row("baseline-no-aug", "Baseline-no-data-aug", place(identity(), {48, 51}), 100, 86.7);
    no_aug.config.data.augment.enabled = false;
    all.push_back(no_aug);
    all.push_back(thesis_row("baseline", "Baseline", place(identity(), {48, 51}), 96.9, 90.1));

    struct Row {
        std::vector<int> at;
        double train, test;
    };
    const std::vector<Row> dropout_rows = {{{48}, 96.6, 91.2}, {{51}, 96.8, 91.3}, {{48, 51}, 96.6, 91.3}};
    for (const auto& r : dropout_rows)
        all.push_back(
            single_position(thesis_row("dropout-" + indices_text(r.at, '-'), "Dropout " + indices_text(r.at, ' '),
                                       place(dropout(0.5), r.at), r.train, r.test),
                            r.at));

    struct MaxFamily {
        const char* slug;
        const char* title;
        const char* variant;
        std::vector<Row> rows;
    };
    const std::vector<MaxFamily> max_families = {
        {"spatialmax", "SpatialMax", "spatial-max", {{{48}, 96.2, 90.6}, {{51}, 96, 90.2}, {{48, 51}, 94.2, 90.1}}},
        {"temporalmax", "TemporalMax", "temporal-max", {{{48}, 96, 90.9}, {{51}, 96.1, 90.1}, {{48, 51}, 95.6, 90.2}}},
        {"spatiotemporalmax",
         "SpatiotemporalMax",
         "spatiotemporal-max",
         {{{48}, 95.4, 90.6}, {{51}, 95.8, 91.2}, {{48, 51}, 93.5, 91.1}}},
    };
    for (const auto& f : max_families)
        for (const auto& r : f.rows)
            all.push_back(single_position(thesis_row(std::string(f.slug) + "-" + indices_text(r.at, '-'),
                                                     std::string(f.title) + " " + indices_text(r.at, ' '),
                                                     place(normout(f.variant), r.at), r.train, r.test),
                                          r.at));

    struct SoftRow {
        double t, train, test;
    };
    for (const auto& r :
         std::vector<SoftRow>{{5, 10.5, 17.2}, {10, 10.8, 18.9}, {50, 96.6, 91.3}, {80, 96.6, 91.1}, {100, 96.8, 91.1}})
        all.push_back(thesis_row("spatiotemporal-softmax-48-51-T" + number_text(r.t),
                                 "Spatiotemporal Softmax 48 51 T=" + number_text(r.t),
                                 place(normout("spatiotemporal-softmax", r.t), {48, 51}), r.train, r.test));
    {
        // The thesis's "1 4" row swaps the layers at base indices 1 and 4 (the first two
        // BatchNorms), the authors' default surgery, and has no classifier dropout.
        std::vector<SurgeryOp> ops = place(identity(), {48, 51});
        ops.insert(ops.begin(), SurgeryOp{"replace", {1, 4}, normout("spatiotemporal-softmax", 80)});
        Preset row = thesis_row("spatiotemporal-softmax-1-4-T80", "Spatiotemporal Softmax 1 4 T=80", ops, 98, 91.1);
        row.description +=
            " Interpretation: the layers at base indices 1 and 4 (the first two BatchNorms) are replaced, the "
            "authors' default surgery, and there is no classifier dropout (identities at 48 and 51).";
        all.push_back(row);
    }
    for (const auto& r : std::vector<SoftRow>{
             {10, 96.67, 90.95}, {25, 96.49, 91.19}, {50, 96.94, 90.98}, {100, 97.13, 92.58}, {150, 96.65, 91.01}})
        all.push_back(thesis_row("temporal-softmax-48-51-T" + number_text(r.t),
                                 "Temporal Softmax 48 51 (T=" + number_text(r.t) + ")",
                                 place(normout("temporal-softmax", r.t), {48, 51}), r.train, r.test));
    for (auto& p : future_presets())
        all.push_back(std::move(p));
    return all;
}

}  // namespace

const std::vector<Preset>& presets() {
    static const std::vector<Preset> all = make_presets();
    return all;
}

const Preset* find_preset(const std::string& name) {
    for (const auto& p : presets())
        if (p.name == name) return &p;
    return nullptr;
}

RunConfig preset_config(const std::string& name) {
    if (const Preset* p = find_preset(name)) return p->config;
    throw ConfigError("preset", "unknown preset '" + name + "' (see `normout presets`)");
}

}  // namespace normout
