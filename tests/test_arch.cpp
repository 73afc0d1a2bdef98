// The two other architectures, ResNet-18 (CIFAR form) and a small ViT, as index-addressed layer
// tables: their entries and sizes, shapes, surgery inside residual blocks and on tokens, NormOut
// on token inputs, initialisation, state export, instrumentation of a token layer and training.
#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <QtTest/QtTest>
#include <algorithm>
#include <cmath>

#include "engine/config/presets.h"
#include "engine/flatness/parameters.h"
#include "engine/model/layers.h"
#include "engine/model/model.h"
#include "engine/model/state.h"
#include "engine/train/instrumentation.h"
#include "support/tiny_nets.h"

using namespace normout;

namespace {

using test::layer;

ModelConfig resnet(double width = 0.125) {
    ModelConfig m;
    m.arch = "resnet18";
    m.width = width;
    return m;
}

ModelConfig vit() {
    ModelConfig m;
    m.arch = "vit-small";
    m.vit_dim = 32;
    m.vit_depth = 2;
    m.vit_heads = 2;
    m.vit_mlp = 64;
    return m;
}

QString text(const std::vector<LayerInfo>& t, int i) {
    return QString::fromStdString(t.at(static_cast<std::size_t>(i)).describe());
}

int count(const std::vector<LayerInfo>& t, const std::string& kind) {
    int n = 0;
    for (const auto& l : t)
        n += l.kind == kind;
    return n;
}

std::vector<int> base_indices(const std::vector<LayerInfo>& t, const std::string& kind) {
    std::vector<int> out;
    for (const auto& l : t)
        if (l.kind == kind) out.push_back(l.base_index);
    return out;
}

LayerSpec normout_spec(const std::string& variant, const std::string& map = "channel") {
    LayerSpec s;
    s.type = "normout";
    s.variant = variant;
    s.map_4d = map;
    if (variant.find("softmax") != std::string::npos) s.temperature = 100;
    return s;
}

Net build(const ModelConfig& m, const std::string& init = "torchvision") {
    return build_model(layer_table(m, 3, 10), {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}, true, init);
}

// ViT parameters: patch embedding C p^2 D + D, class token D, position embedding (T + 1) D; per
// block two LayerNorms 4D, attention (qkv 3D^2 + 3D, projection D^2 + D) and MLP (2 D M + M + D);
// final LayerNorm 2D and head D K + K.
int64_t vit_parameters(int64_t c, int64_t p, int64_t d, int64_t depth, int64_t mlp, int64_t k) {
    const int64_t tokens = (32 / p) * (32 / p) + 1;
    const int64_t block = 4 * d + (4 * d * d + 4 * d) + (2 * d * mlp + mlp + d);
    return c * p * p * d + d + d + tokens * d + depth * block + 2 * d + d * k + k;
}

// A fixed small batch a model can fit in a few steps.
struct Batch {
    at::Tensor x, y;
};
Batch fixed_batch(int n) {
    at::manual_seed(42);
    return {at::rand({n, 3, 32, 32}), at::randint(0, 10, {n}, at::kLong)};
}

std::vector<at::Tensor> copies(Net& net) {
    std::vector<at::Tensor> out;
    for (const auto& p : net->parameters())
        out.push_back(p.detach().clone());
    return out;
}

}  // namespace

class TestArch : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void resnetTable() {
        const auto t = base_layer_table(resnet(1.0), 3, 10);
        // Stem (3), 8 blocks of Fork conv BN ReLU conv BN Add ReLU (64), pool, flatten, head.
        QCOMPARE(t.size(), std::size_t(70));
        QCOMPARE(text(t, 0), QString("Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"));
        QCOMPARE(text(t, 1), QString("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True)"));
        QCOMPARE(text(t, 2), QString("ReLU()"));  // out of place: a Fork may hold its input
        const std::vector<std::string> block = {"Fork",   "Conv2d",      "BatchNorm2d", "ReLU",
                                                "Conv2d", "BatchNorm2d", "Add",         "ReLU"};
        for (int b = 0; b < 8; ++b)
            for (int j = 0; j < 8; ++j)
                QCOMPARE(t[static_cast<std::size_t>(3 + 8 * b + j)].kind, block[static_cast<std::size_t>(j)]);
        QCOMPARE(count(t, "Conv2d"), 17);
        QCOMPARE(count(t, "BatchNorm2d"), 17);
        QCOMPARE(count(t, "ReLU"), 17);
        // Stage 2 opens at block 2 (base 19): stride 2 and a projection shortcut.
        QCOMPARE(text(t, 20),
                 QString("Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)"));
        QCOMPARE(text(t, 23),
                 QString("Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"));
        QCOMPARE(
            text(t, 25),
            QString("Add(shortcut=Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False) + BatchNorm2d(128))"));
        QCOMPARE(text(t, 9), QString("Add(shortcut=identity)"));
        QCOMPARE(text(t, 19), QString("Fork(saves its input for the next Add)"));
        int projections = 0;
        for (const auto& l : t)
            projections += l.projects();
        QCOMPARE(projections, 3);
        QCOMPARE(text(t, 67), QString("AdaptiveAvgPool2d(output_size=(1, 1))"));
        QCOMPARE(text(t, 68), QString("Flatten(start_dim=1, end_dim=-1)"));
        QCOMPARE(text(t, 69), QString("Linear(in_features=512, out_features=10, bias=True)"));
        // The standard CIFAR ResNet-18.
        Net net = build(resnet(1.0));
        QCOMPARE(parameter_count(net), int64_t(11173962));
        // width scales every stage.
        const auto small = base_layer_table(resnet(0.125), 1, 7);
        QCOMPARE(small[0].in, 1);
        QCOMPARE(small[0].out, 8);
        QCOMPARE(small[69].in, 64);
        QCOMPARE(small[69].out, 7);
    }

    void resnetShapes() {
        Net net = build(resnet());
        const auto s = layer_output_shapes(net, {3, 32, 32});
        QCOMPARE(s.size(), std::size_t(70));
        QCOMPARE(s[2], (std::vector<int64_t>{1, 8, 32, 32}));
        QCOMPARE(s[3], (std::vector<int64_t>{1, 8, 32, 32}));    // Fork: its input
        QCOMPARE(s[20], (std::vector<int64_t>{1, 16, 16, 16}));  // strided conv
        QCOMPARE(s[25], (std::vector<int64_t>{1, 16, 16, 16}));  // Add with projection
        QCOMPARE(s[66], (std::vector<int64_t>{1, 64, 4, 4}));
        QCOMPARE(s[67], (std::vector<int64_t>{1, 64, 1, 1}));
        QCOMPARE(s[69], (std::vector<int64_t>{1, 10}));
        net->train();
        QCOMPARE(net->forward(at::rand({3, 3, 32, 32})).sizes().vec(), (std::vector<int64_t>{3, 10}));
    }

    void vitTable() {
        ModelConfig m;
        m.arch = "vit-small";  // defaults: patch 4, dim 256, 6 blocks, 4 heads, MLP 512
        const auto t = base_layer_table(m, 3, 10);
        QCOMPARE(t.size(), std::size_t(2 + 10 * 6 + 3));
        QCOMPARE(text(t, 0), QString("Conv2d(3, 256, kernel_size=(4, 4), stride=(4, 4))"));
        QCOMPARE(text(t, 1),
                 QString("Tokens(patches=8x8 of 4x4, dim=256, class_token=True, position_embedding=(65, 256))"));
        const std::vector<std::string> block = {"Fork",      "LayerNorm", "Attention", "Add",    "Fork",
                                                "LayerNorm", "Linear",    "GELU",      "Linear", "Add"};
        for (int b = 0; b < 6; ++b)
            for (int j = 0; j < 10; ++j)
                QCOMPARE(t[static_cast<std::size_t>(2 + 10 * b + j)].kind, block[static_cast<std::size_t>(j)]);
        QCOMPARE(text(t, 3), QString("LayerNorm((256,), eps=1e-05, elementwise_affine=True)"));
        QCOMPARE(text(t, 4), QString("Attention(dim=256, heads=4, head_dim=64, qkv=Linear(256, 768), "
                                     "proj=Linear(256, 256))"));
        QCOMPARE(text(t, 5), QString("Add(shortcut=identity)"));
        QCOMPARE(text(t, 8), QString("Linear(in_features=256, out_features=512, bias=True)"));
        QCOMPARE(text(t, 9), QString("GELU(approximate='none')"));
        QCOMPARE(text(t, 10), QString("Linear(in_features=512, out_features=256, bias=True)"));
        QCOMPARE(t[62].kind, std::string("LayerNorm"));
        QCOMPARE(text(t, 63), QString("ClassSelect(token=0)"));
        QCOMPARE(text(t, 64), QString("Linear(in_features=256, out_features=10, bias=True)"));
        Net net = build(m);
        QCOMPARE(parameter_count(net), vit_parameters(3, 4, 256, 6, 512, 10));
        QCOMPARE(parameter_count(net), int64_t(3195146));
        Net small = build_model(layer_table(vit(), 1, 7), {0.5f}, {0.25f});
        QCOMPARE(parameter_count(small), vit_parameters(1, 4, 32, 2, 64, 7));
    }

    void vitShapesAndInputSize() {
        Net net = build(vit());
        const auto s = layer_output_shapes(net, {3, 32, 32});
        QCOMPARE(s.size(), std::size_t(25));
        QCOMPARE(s[0], (std::vector<int64_t>{1, 32, 8, 8}));
        QCOMPARE(s[1], (std::vector<int64_t>{1, 65, 32}));
        QCOMPARE(s[4], (std::vector<int64_t>{1, 65, 32}));  // attention
        QCOMPARE(s[8], (std::vector<int64_t>{1, 65, 64}));  // MLP hidden
        QCOMPARE(s[9], (std::vector<int64_t>{1, 65, 64}));  // GELU
        QCOMPARE(s[22], (std::vector<int64_t>{1, 65, 32}));
        QCOMPARE(s[23], (std::vector<int64_t>{1, 32}));  // class token
        QCOMPARE(s[24], (std::vector<int64_t>{1, 10}));
        // Another input size is a clear error, not a crash.
        try {
            net->forward(at::rand({2, 3, 28, 28}));
            QFAIL("a 28x28 input was accepted");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString(e.what()).contains("32x32"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, layer_output_shapes(net, {3, 64, 64}));
    }

    // Every head sees softmax(q k^T / sqrt(d)) v of its own slice of the features.
    void attentionMatchesItsDefinition() {
        Net net = build(vit());
        net->eval();
        at::manual_seed(1);
        const at::Tensor x = at::randn({2, 5, 32});
        auto& module = net->module(4);
        const at::Tensor y = module.forward(x);
        auto* qkv = net->named_modules()["layers.4.qkv"]->as<torch::nn::Linear>();
        auto* proj = net->named_modules()["layers.4.proj"]->as<torch::nn::Linear>();
        QVERIFY(qkv && proj);
        const at::Tensor all = qkv->forward(x);  // [2, 5, 96]: q, k, v, each two heads of 16
        std::vector<at::Tensor> heads;
        for (int h = 0; h < 2; ++h) {
            const at::Tensor q = all.narrow(2, h * 16, 16), k = all.narrow(2, 32 + h * 16, 16),
                             v = all.narrow(2, 64 + h * 16, 16);
            heads.push_back(at::softmax(at::bmm(q, k.transpose(1, 2)) / 4.0, -1).bmm(v));
        }
        QVERIFY(at::allclose(y, proj->forward(at::cat(heads, 2)), 1e-5, 1e-6));
    }

    void surgeryInsideResidualBlocks() {
        ModelConfig m = resnet();
        // After the first ReLU of block 0 (before its second conv, base 7), and in place of the
        // first BatchNorm of block 1 (base 13).
        m.surgery = {{"insert", {7}, normout_spec("spatial-max")}, {"replace", {13}, normout_spec("temporal-max")}};
        const auto t = layer_table(m, 3, 10);
        QCOMPARE(t.size(), std::size_t(71));
        QCOMPARE(custom_layer_indices(t), (std::vector<int>{7, 14}));
        QCOMPARE(t[6].kind, std::string("ReLU"));
        QCOMPARE(t[8].kind, std::string("Conv2d"));
        QCOMPARE(t[14].base_index, 13);
        Net net = build_model(t, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
        net->train();
        const at::Tensor out = net->forward(at::rand({4, 3, 32, 32}));
        QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{4, 10}));
        out.sum().backward();
        for (const auto& p : net->named_parameters())
            QVERIFY2(p.value().grad().defined(), p.key().c_str());
        // The residual markers themselves are not editable: a clear configuration error.
        ModelConfig bad = resnet();
        bad.surgery = {{"replace", {3}, normout_spec("temporal-max")}};
        try {
            layer_table(bad, 3, 10);
            QFAIL("a Fork was replaced");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("model.surgery[0].at"));
            QVERIFY2(QString(e.what()).contains("Fork"), e.what());
        }
        // The quick preset's VGG indices: 51 is a Fork of ResNet-18 and an Add of the ViT.
        for (const char* arch : {"resnet18", "vit-small"}) {
            RunConfig c = preset_config("quick");
            c.model.arch = arch;
            QVERIFY_THROWS_EXCEPTION(ConfigError, validate(c));
        }
    }

    void surgeryAfterTheGelu() {
        ModelConfig m = vit();
        const auto base = base_layer_table(m, 3, 10);
        std::vector<int> after;
        for (int i : base_indices(base, "GELU"))
            after.push_back(i + 1);
        QCOMPARE(after, (std::vector<int>{10, 20}));
        m.surgery = {{"insert", after, normout_spec("temporal-softmax")}};
        const auto t = layer_table(m, 3, 10);
        QCOMPARE(custom_layer_indices(t), (std::vector<int>{10, 21}));
        QCOMPARE(t[9].kind, std::string("GELU"));
        QCOMPARE(t[11].kind, std::string("Linear"));
        Net net = build_model(t, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
        net->train();
        const auto shapes = layer_output_shapes(net, {3, 32, 32});
        QCOMPARE(shapes[10], (std::vector<int64_t>{1, 65, 64}));
        const at::Tensor out = net->forward(at::rand({4, 3, 32, 32}));
        QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{4, 10}));
        const auto& p = net->module(10).ptr<NormOutImpl>();
        p->capture = true;
        net->forward(at::rand({4, 3, 32, 32}));
        QCOMPARE(p->last_p.sizes().vec(), (std::vector<int64_t>{4, 65, 64}));
    }

    // [N, T, D]: temporal = max over the batch per token and feature; spatial "channel" = over
    // the D features of each token; spatial "map" = over all T x D of an example.
    void normOutOnTokens() {
        at::manual_seed(3);
        at::Tensor x = at::randn({3, 5, 4}, at::kDouble);
        x[1][2].zero_();  // a token without any nonzero value
        const at::Tensor a = x.abs();
        {
            NormOut layer(normout_spec("spatial-max"));
            const at::Tensor p = layer->keep_probability(x);
            const at::Tensor top = std::get<0>(p.max(2));  // [3, 5]
            for (int n = 0; n < 3; ++n)
                for (int t = 0; t < 5; ++t)
                    QCOMPARE(top[n][t].item<double>(), n == 1 && t == 2 ? 0.0 : 1.0);
            QVERIFY(at::allclose(p, a / std::get<0>(a.max(2, true)).clamp_min(1e-300)));
        }
        {
            NormOut layer(normout_spec("spatial-max", "map"));
            const at::Tensor p = layer->keep_probability(x);
            for (int n = 0; n < 3; ++n)
                QCOMPARE(p[n].eq(1).sum().item<int64_t>(), int64_t(1));  // one max per example
            QVERIFY(at::allclose(p, a / a.amax({1, 2}, true)));
        }
        {
            NormOut layer(normout_spec("temporal-max"));
            const at::Tensor p = layer->keep_probability(x);
            QVERIFY(at::allclose(p, a / a.amax({0}, true)));
            QVERIFY(p.amax({0}).eq(1).all().item<bool>());  // every (token, feature) has its max
        }
        {
            NormOut layer(normout_spec("spatiotemporal-softmax"));
            const at::Tensor p = layer->keep_probability(x);
            QVERIFY(at::allclose(p, at::exp((a - a.amax({0, 2}, true)) / 100.0)));
        }
        // 4-D and 2-D unchanged: channels at each position, all features.
        NormOut spatial(normout_spec("spatial-max"));
        const at::Tensor x4 = at::rand({2, 3, 4, 4}, at::kDouble) + 0.1;
        QVERIFY(at::allclose(spatial->keep_probability(x4), x4 / x4.amax({1}, true)));
        const at::Tensor x2 = at::rand({2, 7}, at::kDouble) + 0.1;
        QVERIFY(at::allclose(spatial->keep_probability(x2), x2 / x2.amax({1}, true)));
    }

    void initialisation() {
        {  // ResNet: Kaiming-normal fan-out convolutions (the shortcuts' too), BN 1/0, Linear default
            at::manual_seed(4);
            Net net = build(resnet(0.5));
            int convs = 0, norms = 0, linears = 0;
            for (auto& module : net->modules(false)) {
                if (auto* conv = module->as<torch::nn::Conv2d>()) {
                    ++convs;
                    QVERIFY(!conv->bias.defined());
                    const at::Tensor& w = conv->weight;
                    const double expected = std::sqrt(2.0 / static_cast<double>(w.size(0) * w.size(2) * w.size(3)));
                    QVERIFY2(std::fabs(w.std().item<double>() / expected - 1.0) < 6 / std::sqrt(2.0 * w.numel()) + 0.01,
                             module->name().c_str());
                } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
                    ++norms;
                    QVERIFY(bn->weight.eq(1).all().item<bool>() && bn->bias.eq(0).all().item<bool>());
                } else if (auto* lin = module->as<torch::nn::Linear>()) {
                    ++linears;
                    const double bound = 1.0 / std::sqrt(static_cast<double>(lin->weight.size(1)));
                    QVERIFY(lin->weight.abs().max().item<double>() <= bound * (1 + 1e-6));
                    QVERIFY(lin->bias.ne(0).all().item<bool>());
                }
            }
            QCOMPARE(convs, 20);  // 17 in the table, 3 projections
            QCOMPARE(norms, 20);
            QCOMPARE(linears, 1);
        }
        {  // ViT: Linear trunc-normal 0.02 with zero bias, LayerNorm 1/0, tokens N(0, 0.02)
            ModelConfig m = vit();
            m.vit_dim = 64;
            m.vit_mlp = 128;
            at::manual_seed(5);
            Net net = build(m);
            int linears = 0, norms = 0;
            for (auto& module : net->modules(false)) {
                if (auto* lin = module->as<torch::nn::Linear>()) {
                    ++linears;
                    const double n = static_cast<double>(lin->weight.numel());
                    QVERIFY2(std::fabs(lin->weight.std().item<double>() / 0.02 - 1) < 6 / std::sqrt(2 * n),
                             module->name().c_str());
                    QVERIFY(lin->bias.eq(0).all().item<bool>());
                } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
                    ++norms;
                    QVERIFY(norm->weight.eq(1).all().item<bool>() && norm->bias.eq(0).all().item<bool>());
                }
            }
            QCOMPARE(linears, 2 * 4 + 1);  // per block qkv, proj and two MLP layers; the head
            QCOMPARE(norms, 2 * 2 + 1);
            auto params = net->named_parameters();
            const at::Tensor pos = params["layers.1.position_embedding"];
            const at::Tensor cls = params["layers.1.class_token"];
            QCOMPARE(pos.sizes().vec(), (std::vector<int64_t>{1, 65, 64}));
            QVERIFY(std::fabs(pos.std().item<double>() / 0.02 - 1) < 6 / std::sqrt(2.0 * pos.numel()));
            QVERIFY(cls.ne(0).all().item<bool>());
            // "pytorch": the modules as constructed (class token 0).
            Net plain = build(m, "pytorch");
            QVERIFY(plain->named_parameters()["layers.1.class_token"].eq(0).all().item<bool>());
            QVERIFY(plain->named_parameters()["layers.4.qkv.bias"].ne(0).all().item<bool>());
        }
    }

    // Names follow the registration (layers.<index>[.<part>].<tensor>); export and import
    // round-trip exactly, and the imported model computes the same function.
    void stateRoundTrip() {
        for (const ModelConfig& m : {resnet(), vit()}) {
            at::manual_seed(6);
            Net a = build(m);
            at::manual_seed(7);
            Net b = build(m);
            a->train();
            a->forward(at::rand({4, 3, 32, 32}));  // running statistics that differ from b's
            const auto state = export_state(*a);
            std::set<std::string> names;
            for (const auto& s : state)
                names.insert(s.name);
            if (m.arch == "resnet18") {
                QVERIFY(names.count("layers.25.conv.weight") && names.count("layers.25.bn.running_var"));
                QVERIFY(names.count("layers.25.bn.num_batches_tracked"));
            } else {
                QVERIFY(names.count("layers.1.class_token") && names.count("layers.1.position_embedding"));
                QVERIFY(names.count("layers.4.qkv.weight") && names.count("layers.4.proj.bias"));
            }
            import_state(*b, state);
            const auto sa = export_state(*a), sb = export_state(*b);
            QCOMPARE(sa.size(), sb.size());
            for (std::size_t i = 0; i < sa.size(); ++i) {
                QCOMPARE(sa[i].name, sb[i].name);
                QVERIFY2(sa[i].values == sb[i].values && sa[i].integers == sb[i].integers, sa[i].name.c_str());
            }
            a->eval();
            b->eval();
            const at::Tensor x = at::rand({2, 3, 32, 32});
            QVERIFY(at::equal(a->forward(x), b->forward(x)));
        }
    }

    // A token layer's units are its D features, with statistics over batch and tokens; the CPU
    // passes and the device operations agree.
    void instrumentationOnTokens() {
        ModelConfig m = vit();
        m.surgery = {{"insert", {10}, normout_spec("temporal-max")}};  // after block 0's GELU
        const auto table = layer_table(m, 3, 10);
        const at::Tensor x = fixed_batch(4).x;
        std::vector<LayerEpochSnapshot> snaps[2];
        for (int device_ops = 0; device_ops < 2; ++device_ops) {
            at::manual_seed(8);
            Net net = build_model(table, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
            net->train();
            InstrumentConfig cfg;
            cfg.neurons = {0, 63};
            Instrumentation instr(net, cfg, {3, 32, 32});
            instr.use_device_ops_on_cpu(device_ops == 1);
            QCOMPARE(instr.layers().size(), std::size_t(1));
            QCOMPARE(instr.layers()[0].index, 10);
            QCOMPARE(instr.layers()[0].units, int64_t(64));
            QVERIFY(instr.layers()[0].keep);
            net->set_kept_outputs({10});
            instr.set_active(true, 1);
            at::manual_seed(9);
            net->forward(x);
            const at::Tensor out = net->kept_outputs()[0].detach().to(at::kDouble);  // [4, 65, 64]
            const auto rows = instr.drain();
            QCOMPARE(rows.size(), std::size_t(1));
            QVERIFY(std::fabs(rows[0].output.mean - out.mean().item<double>()) < 1e-6);
            const at::Tensor keep = net->module(10).ptr<NormOutImpl>()->last_keep;
            QVERIFY(std::fabs(rows[0].keep.realised_drop - (1 - keep.to(at::kDouble).mean().item<double>())) < 1e-6);
            snaps[device_ops] = instr.end_epoch(1);
            const auto& s = snaps[device_ops][0];
            QCOMPARE(s.neuron_mean.size(), std::size_t(64));
            const at::Tensor mean = out.mean(at::IntArrayRef{0, 1}),
                             rate = out.ne(0).to(at::kDouble).mean(at::IntArrayRef{0, 1});
            for (int d = 0; d < 64; ++d) {
                QVERIFY(std::fabs(s.neuron_mean[static_cast<std::size_t>(d)] - mean[d].item<double>()) < 1e-5);
                QVERIFY(std::fabs(s.neuron_rate[static_cast<std::size_t>(d)] - rate[d].item<double>()) < 1e-6);
            }
            QCOMPARE(s.unit_hists.size(), std::size_t(64 * (cfg.histogram_bins + 3)));
            double total = 0;  // each unit histograms its batch x tokens values
            for (int b = 0; b < cfg.histogram_bins + 3; ++b)
                total += s.unit_hists[static_cast<std::size_t>(b)];
            QCOMPARE(total, 4.0 * 65);
            QCOMPARE(s.neuron_hists.size(), std::size_t(2));
            net->set_kept_outputs({});
        }
        const auto &c = snaps[0][0], &d = snaps[1][0];
        QCOMPARE(c.unit_hists, d.unit_hists);
        QCOMPARE(c.unit_keep_hists, d.unit_keep_hists);
        QCOMPARE(c.neuron_hists, d.neuron_hists);
        QCOMPARE(c.hist_counts, d.hist_counts);
    }

    // The flatness measures' "weights": every Conv2d and Linear weight, those inside an entry
    // (shortcut projections, attention) included; for VGG the table's Conv2d and Linear rows.
    void flatnessWeights() {
        ModelConfig v;
        v.width = 0.0625;
        v.hidden = 16;
        Net vgg = build(v);
        std::vector<std::string> expected;
        for (std::size_t i = 0; i < vgg->table().size(); ++i)
            if (vgg->table()[i].kind == "Conv2d" || vgg->table()[i].kind == "Linear")
                expected.push_back("layers." + std::to_string(i) + ".weight");
        QCOMPARE(select_parameters(vgg, "weights").names, expected);
        Net res = build(resnet());
        const auto r = select_parameters(res, "weights").names;
        QCOMPARE(r.size(), std::size_t(17 + 3 + 1));
        QVERIFY(std::count(r.begin(), r.end(), "layers.25.conv.weight") == 1);
        QVERIFY(std::count(r.begin(), r.end(), "layers.25.bn.weight") == 0);
        Net vi = build(vit());
        const auto w = select_parameters(vi, "weights").names;
        QCOMPARE(w.size(), std::size_t(1 + 2 * 4 + 1));  // patch conv, per block 4 Linears, head
        QVERIFY(std::count(w.begin(), w.end(), "layers.4.qkv.weight") == 1);
        QVERIFY(std::count(w.begin(), w.end(), "layers.1.class_token") == 0);
        QVERIFY(std::count(w.begin(), w.end(), "layers.3.weight") == 0);  // LayerNorm
        QCOMPARE(select_parameters(vi, "all").names.size(), vi->parameters().size());
    }

    // A Fork whose input an in-place ReLU would overwrite saves a copy: relu(x) + x, with the
    // right gradient (1 + [x > 0]).
    void forkSurvivesAnInPlaceRelu() {
        LayerInfo fork = layer("Fork"), add = layer("Add", 1, 1);
        Net net = build_model({fork, layer("ReLU"), add}, {0.f}, {1.f});
        const at::Tensor x = at::randn({2, 1, 3, 3}, at::kDouble).requires_grad_(true);
        net->to(at::kDouble);
        const at::Tensor y = net->forward(x);
        QVERIFY(at::allclose(y, at::relu(x) + x));
        y.sum().backward();
        QVERIFY(at::allclose(x.grad(), 1 + x.gt(0).to(at::kDouble)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, build_model({add}, {0.f}, {1.f}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, build_model({fork}, {0.f}, {1.f}));
    }

    // Gradients reach the pixels through every layer (what the attacks need), in evaluation mode.
    void inputGradients() {
        for (const ModelConfig& m : {resnet(), vit()}) {
            Net net = build(m);
            net->eval();
            const Batch b = fixed_batch(3);
            const at::Tensor x = b.x.clone().requires_grad_(true);
            at::cross_entropy_loss(net->forward(x), b.y).backward();
            QVERIFY(x.grad().defined());
            QVERIFY(at::isfinite(x.grad()).all().item<bool>());
            QVERIFY(x.grad().abs().sum().item<double>() > 0);
        }
    }

    // Twenty optimiser steps on one fixed batch: finite losses, parameters move, the loss falls.
    void trainingSteps() {
        for (const ModelConfig& m : {resnet(), vit()}) {
            const bool is_vit = m.arch == "vit-small";
            at::manual_seed(10);
            Net net = build(m);
            net->train();
            std::unique_ptr<torch::optim::Optimizer> opt;
            if (is_vit)
                opt = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(2e-3));
            else
                opt = std::make_unique<torch::optim::SGD>(net->parameters(),
                                                          torch::optim::SGDOptions(0.05).momentum(0.9));
            const Batch b = fixed_batch(16);
            const auto before = copies(net);
            std::vector<double> losses;
            for (int step = 0; step < 20; ++step) {
                opt->zero_grad();
                const at::Tensor loss = at::cross_entropy_loss(net->forward(b.x), b.y);
                loss.backward();
                opt->step();
                losses.push_back(loss.item<double>());
                QVERIFY2(std::isfinite(losses.back()), m.arch.c_str());
            }
            const auto after = copies(net);
            for (std::size_t i = 0; i < before.size(); ++i)
                QVERIFY2(!at::equal(before[i], after[i]), (m.arch + " parameter " + std::to_string(i)).c_str());
            QVERIFY2(losses.back() < 0.7 * losses.front(), qPrintable(QString("%1: %2 -> %3")
                                                                          .arg(QString::fromStdString(m.arch))
                                                                          .arg(losses.front())
                                                                          .arg(losses.back())));
        }
    }
};

QTEST_APPLESS_MAIN(TestArch)
#include "test_arch.moc"
