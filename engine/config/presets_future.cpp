// The future/* presets: the experiments of the thesis's future work (section 4.3), on the thesis's
// setting (CIFAR-10, 100 epochs, SGD lr 0.01) unless stated.
#include <algorithm>
#include <sstream>

#include "engine/config/model_spec.h"
#include "engine/config/presets.h"

namespace normout {

namespace {

LayerSpec custom(const std::string& type, const std::string& variant = "temporal-max", double temperature = 1.0) {
    LayerSpec s;
    s.type = type;
    s.variant = variant;
    s.temperature = temperature;
    return s;
}

LayerSpec temporal_softmax_t100() {
    return custom("normout", "temporal-softmax", 100.0);
}

// The classifier positions 48 and 51 of VGG-16-BN, where the thesis puts its layers.
std::vector<SurgeryOp> at_48_51(const LayerSpec& layer) {
    return {{"replace", {48, 51}, layer}};
}

Preset base(const std::string& slug, const std::string& title, const std::string& section, std::string description) {
    Preset p;
    p.name = "future/" + slug;
    p.title = title;
    p.thesis_section = section;
    p.description = "Thesis " + section + " (future work): " + std::move(description);
    p.config.preset = p.name;
    p.config.name = title;
    p.config.model.init = "pytorch";  // as the thesis presets
    return p;
}

// Robustness measured along the way: the masking diagnosis is what 4.3.1 asks about.
void with_attacks(RunConfig& c) {
    c.evaluate.attacks = "fgsm,pgd-ce,pgd-t,square";
    c.evaluate.attack_every = 10;
    c.evaluate.eps_sweep = true;
}

void adversarial(RunConfig& c, const std::string& kind) {
    c.train.adversarial = kind;
    c.train.adv_norm = "linf";
    c.train.adv_eps = 8.0 / 255.0;
    if (kind == "pgd") {  // Madry et al.'s CIFAR-10 setting: 7 steps of 2/255 from a random start
        c.train.adv_iterations = 7;
        c.train.adv_step = 2.0 / 255.0;
    }
    with_attacks(c);
}

std::vector<int> base_indices_of(const ModelConfig& model, const std::string& kind) {
    std::vector<int> out;
    const auto table = base_layer_table(model, 3, 10);
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table[i].kind == kind) out.push_back(static_cast<int>(i));
    return out;
}

Preset resnet18(const std::string& slug, const std::string& title, bool normout) {
    Preset p = base(slug, title, "4.3.3",
                    "ResNet-18 in its CIFAR form (3x3 stem, no max-pool), torchvision's initialisation, the thesis's "
                    "optimiser. ");
    p.config.model.arch = "resnet18";
    p.config.model.init = "torchvision";
    if (normout) {
        // ResNet-18 has no Dropout to swap: NormOut goes where VGG's classifier Dropout acts, on the
        // pooled 512 features before the final Linear.
        const auto linears = base_indices_of(p.config.model, "Linear");
        if (!linears.empty()) p.config.model.surgery = {{"insert", {linears.back()}, temporal_softmax_t100()}};
        p.description += "Temporal Softmax NormOut (T=100) inserted before the final Linear, on the pooled features.";
    } else {
        p.description += "No NormOut: the reference for future/resnet18-temporal-softmax.";
    }
    return p;
}

Preset vit_small(const std::string& slug, const std::string& title, bool normout) {
    Preset p = base(slug, title, "4.3.3",
                    "a small Vision Transformer for 32x32 images (patch 4, 6 blocks, width 256, 4 heads, MLP 512), "
                    "trained with Adam (lr 1e-3, 5 warm-up epochs, cosine schedule, no weight decay) since SGD at lr "
                    "0.01 trains transformers poorly. ");
    p.config.model.arch = "vit-small";
    p.config.model.init = "torchvision";
    p.config.train.optimizer = "adam";
    p.config.train.lr = 1e-3;
    p.config.train.weight_decay = 0;
    p.config.train.warmup_epochs = 5;
    p.config.train.lr_schedule = "cosine";
    if (normout) {
        // As Liu et al. (2023) place Dropout in the transformer's MLPs: after each GELU, on tokens.
        std::vector<int> after;
        for (int i : base_indices_of(p.config.model, "GELU"))
            after.push_back(i + 1);
        if (!after.empty()) p.config.model.surgery = {{"insert", after, temporal_softmax_t100()}};
        p.description +=
            "Temporal Softmax NormOut (T=100) after the GELU of every block's MLP, on token inputs [N, T, D] "
            "(docs/architectures.md).";
    } else {
        p.description += "No NormOut: the reference for future/vit-small-temporal-softmax.";
    }
    return p;
}

}  // namespace

std::vector<Preset> future_presets() {
    std::vector<Preset> all;
    {
        Preset p = base("spatialmax-48-51-first-5-epochs", "SpatialMax 48 51, first 5 epochs", "4.3.2",
                        "\"introducing SpatialMax for the first 5 epochs and then removing it can be beneficial for "
                        "test accuracy whilst avoiding gradient masking\". SpatialMax at 48 and 51 in epochs 1-5, the "
                        "identity after.");
        LayerSpec l = custom("normout", "spatial-max");
        l.active_until = 5;
        p.config.model.surgery = at_48_51(l);
        with_attacks(p.config);
        all.push_back(p);
    }
    {
        Preset p = base("temporal-softmax-first-20-epochs", "Temporal Softmax 48 51 (T=100), first 20 epochs", "4.3.2",
                        "NormOut only early in training (after Liu et al. 2023's early dropout): Temporal Softmax "
                        "(T=100) at 48 and 51 in epochs 1-20, the identity after.");
        LayerSpec l = temporal_softmax_t100();
        l.active_until = 20;
        p.config.model.surgery = at_48_51(l);
        all.push_back(p);
    }
    {
        Preset p =
            base("temporal-softmax-48-51-T-cosine-100-to-10", "Temporal Softmax 48 51, T cosine 100 to 10", "4.3.2",
                 "a temperature schedule: Temporal Softmax at 48 and 51 with T annealed from 100 to 10 along "
                 "half a cosine over the 100 epochs (both ends are rows of Table 3.1). Interpretation: the "
                 "thesis names schedules as future work without fixing one; this is one to start from.");
        LayerSpec l = temporal_softmax_t100();
        l.schedule = "cosine";
        l.schedule_to = 10;
        l.schedule_until = 100;
        p.config.model.surgery = at_48_51(l);
        all.push_back(p);
    }
    {
        Preset p = base("dropout-48-51-p-linear-0.5-to-0", "Dropout 48 51, p linear 0.5 to 0", "4.3.2",
                        "the Dropout reference for the schedules: p falls linearly from 0.5 to 0 over the first 50 "
                        "epochs (Liu et al. 2023's early dropout, to which 4.3.2 refers).");
        LayerSpec l = custom("dropout");
        l.p = 0.5;
        l.schedule = "linear";
        l.schedule_to = 0;
        l.schedule_until = 50;
        p.config.model.surgery = at_48_51(l);
        all.push_back(p);
    }
    {
        Preset p =
            base("temporal-softmax-48-51-T100-l1", "Temporal Softmax 48 51 (T=100) + L1", "4.3.2",
                 "\"Perhaps L1 regularization could increase the relatively low sparsity of the Temporal Softmax "
                 "(T=100) model\". Interpretation: the penalty acts on activations (the thesis speaks of "
                 "weights; their L2 is train.weight_decay): 0.01 * mean|a| of the ReLU outputs 47 and 50 that "
                 "feed the NormOut layers, a weight to start a sweep from.");
        p.config.model.surgery = at_48_51(temporal_softmax_t100());
        p.config.train.penalties = {{47, 0.01, 0}, {50, 0.01, 0}};
        all.push_back(p);
    }
    {
        Preset p = base("spatialmax-48-51-l2", "SpatialMax 48 51 + L2", "4.3.2",
                        "\"see how a SpatialMax model changes its maximal activation if large weights are heavily "
                        "penalized\". Interpretation: an L2 penalty on the activations that SpatialMax normalises, "
                        "0.01 * mean a^2 of the ReLU outputs 47 and 50 (for weights, raise train.weight_decay).");
        p.config.model.surgery = at_48_51(custom("normout", "spatial-max"));
        p.config.train.penalties = {{47, 0, 0.01}, {50, 0, 0.01}};
        all.push_back(p);
    }
    {
        Preset p = base("pgd-at-baseline", "PGD adversarial training, baseline", "4.3.1",
                        "the reference for the adversarially trained NormOut models: no layer at 48 and 51 (the "
                        "thesis baseline), PGD training (L-inf 8/255, 7 steps of 2/255 from a random start).");
        p.config.model.surgery = at_48_51(custom("identity"));
        adversarial(p.config, "pgd");
        all.push_back(p);
    }
    {
        Preset p =
            base("pgd-at-temporal-softmax-48-51", "PGD adversarial training, Temporal Softmax 48 51 (T=100)", "4.3.1",
                 "\"the combination of adversarial training ... with NormOut\": Temporal Softmax (T=100) at 48 "
                 "and 51, PGD training (L-inf 8/255, 7 steps of 2/255 from a random start), attacks every 10 "
                 "epochs with the masking probe.");
        p.config.model.surgery = at_48_51(temporal_softmax_t100());
        adversarial(p.config, "pgd");
        all.push_back(p);
    }
    {
        Preset p = base("pgd-at-spatiotemporalmax-48-51", "PGD adversarial training, SpatiotemporalMax 48 51", "4.3.1",
                        "\"exactly what the SpatiotemporalMax model is doing to introduce such strong gradient "
                        "masking\": SpatiotemporalMax at 48 and 51 under PGD training (L-inf 8/255, 7 steps of 2/255), "
                        "to see whether the masking is dampened.");
        p.config.model.surgery = at_48_51(custom("normout", "spatiotemporal-max"));
        adversarial(p.config, "pgd");
        all.push_back(p);
    }
    {
        Preset p =
            base("fgsm-rs-temporal-softmax-48-51", "FGSM-RS adversarial training, Temporal Softmax 48 51", "4.3.1",
                 "the cheap variant of future/pgd-at-temporal-softmax-48-51: FGSM from a random start (Wong et "
                 "al. 2020; L-inf 8/255, step 1.25 eps), one extra forward-backward pass per step.");
        p.config.model.surgery = at_48_51(temporal_softmax_t100());
        adversarial(p.config, "fgsm-rs");
        all.push_back(p);
    }
    all.push_back(resnet18("resnet18-baseline", "ResNet-18 baseline", false));
    all.push_back(resnet18("resnet18-temporal-softmax", "ResNet-18, Temporal Softmax (T=100)", true));
    all.push_back(vit_small("vit-small-baseline", "ViT-small baseline", false));
    all.push_back(vit_small("vit-small-temporal-softmax", "ViT-small, Temporal Softmax (T=100) in the MLPs", true));
    return all;
}

}  // namespace normout
