// The model: VGG-16-BN in the torchvision layout with the thesis's indices, layer surgery by
// base index, shapes, initialisation and the normalising front.
#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include <QtTest/QtTest>
#include <cmath>

#include "engine/config/presets.h"
#include "engine/model/model.h"

using namespace normout;

namespace {
QString kind(const std::vector<LayerInfo>& t, int i) {
    return QString::fromStdString(t.at(static_cast<std::size_t>(i)).kind);
}
QString text(const std::vector<LayerInfo>& t, int i) {
    return QString::fromStdString(t.at(static_cast<std::size_t>(i)).describe());
}
}  // namespace

class TestModel : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    // Thesis section 2.3.1 lists the classifier of the Dropout model with these indices.
    void indicesMatchTheThesisTable() {
        const RunConfig c;
        const auto t = layer_table(c.model, 3, 10);
        QCOMPARE(t.size(), std::size_t(53));
        QCOMPARE(text(t, 46), QString("Linear(in_features=25088, out_features=4096, bias=True)"));
        QCOMPARE(text(t, 47), QString("ReLU(inplace=True)"));
        QCOMPARE(text(t, 48), QString("Dropout(p=0.5)"));
        QCOMPARE(text(t, 49), QString("Linear(in_features=4096, out_features=4096, bias=True)"));
        QCOMPARE(text(t, 50), QString("ReLU(inplace=True)"));
        QCOMPARE(text(t, 51), QString("Dropout(p=0.5)"));
        QCOMPARE(text(t, 52), QString("Linear(in_features=4096, out_features=10, bias=True)"));
        QCOMPARE(kind(t, 44), QString("AdaptiveAvgPool2d"));
        QCOMPARE(kind(t, 45), QString("Flatten"));
        // 13 conv + BN + ReLU blocks and 5 max-pools in the features part (0..43).
        int conv = 0, bn = 0, relu = 0, pool = 0;
        for (int i = 0; i < 44; ++i) {
            conv += kind(t, i) == "Conv2d";
            bn += kind(t, i) == "BatchNorm2d";
            relu += kind(t, i) == "ReLU";
            pool += kind(t, i) == "MaxPool2d";
        }
        QCOMPARE(conv, 13);
        QCOMPARE(bn, 13);
        QCOMPARE(relu, 13);
        QCOMPARE(pool, 5);
        for (int i : {6, 13, 23, 33, 43})
            QCOMPARE(kind(t, i), QString("MaxPool2d"));
        QCOMPARE(text(t, 0), QString("Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"));
        QCOMPARE(text(t, 1), QString("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True)"));
        QCOMPARE(text(t, 40), QString("Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"));
    }

    void fullModelHasTorchvisionParameterCount() {
        const RunConfig c;
        Net net = build_model(layer_table(c.model, 3, 10), {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
        // torchvision's vgg16_bn has 138,365,992 parameters with 1000 classes; with 10 classes
        // the last layer loses 990 * 4097.
        QCOMPARE(parameter_count(net), int64_t(138365992 - 990 * 4097));
    }

    void inputChannelsAndClassesFollowTheData() {
        ModelConfig m;
        m.width = 0.25;
        m.hidden = 64;
        const auto t = layer_table(m, 1, 7);
        QCOMPARE(t.front().in, 1);
        QCOMPARE(t.front().out, 16);
        QCOMPARE(t.back().out, 7);
        QCOMPARE(t[46].in, 128 * 49);
        QCOMPARE(t[46].out, 64);
    }

    void surgeryReplacesRemovesAndInserts() {
        ModelConfig m;
        LayerSpec n;
        n.type = "normout";
        n.variant = "spatial-max";
        LayerSpec id;
        id.type = "identity";
        m.surgery = {{"replace", {48}, n}, {"remove", {51}, {}}, {"insert", {0, 53}, id}};
        const auto t = layer_table(m, 3, 10);
        QCOMPARE(t.size(), std::size_t(53 - 1 + 2));
        QCOMPARE(kind(t, 0), QString("Identity"));  // inserted before base 0
        QCOMPARE(t[0].base_index, -1);
        QCOMPARE(kind(t, 1), QString("Conv2d"));
        QCOMPARE(t[1].base_index, 0);
        QCOMPARE(kind(t, 49), QString("NormOut"));  // base 48, shifted by the insertion
        QCOMPARE(t[49].base_index, 48);
        QCOMPARE(kind(t, 51), QString("ReLU"));      // base 50; base 51 was removed
        QCOMPARE(kind(t, 52), QString("Linear"));    // base 52
        QCOMPARE(kind(t, 53), QString("Identity"));  // appended
        const auto custom = custom_layer_indices(t);
        QCOMPARE(custom, (std::vector<int>{0, 49, 53}));
    }

    void layerShapesForCifarAndFashionMnist() {
        ModelConfig m;
        m.width = 0.125;
        m.hidden = 32;
        Net net = build_model(layer_table(m, 1, 10), {0.3f}, {0.35f});
        const auto shapes = layer_output_shapes(net, {1, 32, 32});
        QCOMPARE(shapes.size(), std::size_t(53));
        QCOMPARE(shapes[0], (std::vector<int64_t>{1, 8, 32, 32}));
        QCOMPARE(shapes[43], (std::vector<int64_t>{1, 64, 1, 1}));
        QCOMPARE(shapes[44], (std::vector<int64_t>{1, 64, 7, 7}));
        QCOMPARE(shapes[45], (std::vector<int64_t>{1, 64 * 49}));
        QCOMPARE(shapes[52], (std::vector<int64_t>{1, 10}));
    }

    void normalisationLivesInsideTheModel() {
        ModelConfig m;
        m.width = 0.0625;
        m.hidden = 16;
        Net net = build_model(layer_table(m, 3, 10), {0.1f, 0.2f, 0.3f}, {0.5f, 0.25f, 2.f});
        const at::Tensor x = at::rand({2, 3, 32, 32});
        const at::Tensor n = net->normalise(x);
        QVERIFY(at::allclose(n[1][0], (x[1][0] - 0.1) / 0.5));
        QVERIFY(at::allclose(n[0][2], (x[0][2] - 0.3) / 2.0));
        bool found = false;
        for (const auto& b : net->named_buffers(true))
            found |= b.key() == "input_mean";
        QVERIFY(found);  // saved with the weights
    }

    void torchvisionInitialisation() {
        ModelConfig m;
        m.width = 0.5;
        m.hidden = 1024;
        at::manual_seed(0);
        Net net = build_model(layer_table(m, 3, 10), {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f});
        for (const auto& p : net->named_parameters(true)) {
            const auto& name = p.key();
            const at::Tensor& v = p.value();
            if (name.find("bias") != std::string::npos && v.dim() == 1) {
                // BatchNorm biases and conv/linear biases start at zero.
                QVERIFY2(v.eq(0).all().item<bool>(), name.c_str());
            }
            if (v.dim() == 2) {  // Linear: N(0, 0.01)
                QVERIFY2(std::fabs(v.std().item<double>() - 0.01) < 0.001, name.c_str());
            }
            if (v.dim() == 4) {  // Conv: Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (out * 9))
                const double expected = std::sqrt(2.0 / (static_cast<double>(v.size(0)) * 9.0));
                QVERIFY2(std::fabs(v.std().item<double>() / expected - 1.0) < 0.1, name.c_str());
            }
        }
    }

    // The "torchvision" path draws exactly as before model.init existed: the modules'
    // constructors first, then the VGG initialisation in module order (same seed, same bits).
    void torchvisionInitialisationIsUnchanged() {
        ModelConfig m;
        m.width = 0.125;
        m.hidden = 64;
        const auto table = layer_table(m, 3, 10);
        at::manual_seed(11);
        Net built = build_model(table, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}, true, "torchvision");
        const at::Tensor after_built = at::rand({4});
        at::manual_seed(11);
        Net reference(table, std::vector<float>{0.f, 0.f, 0.f}, std::vector<float>{1.f, 1.f, 1.f});
        {
            torch::NoGradGuard no_grad;
            for (auto& module : reference->modules(false)) {
                if (auto* conv = module->as<torch::nn::Conv2d>()) {
                    torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
                    conv->bias.zero_();
                } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
                    bn->weight.fill_(1.0);
                    bn->bias.zero_();
                } else if (auto* lin = module->as<torch::nn::Linear>()) {
                    lin->weight.normal_(0.0, 0.01);
                    lin->bias.zero_();
                }
            }
        }
        QVERIFY(at::equal(at::rand({4}), after_built));  // the generator is where it was too
        const auto a = built->parameters(), b = reference->parameters();
        QCOMPARE(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i)
            QVERIFY(at::equal(a[i], b[i]));
        // The default argument is "torchvision".
        at::manual_seed(11);
        Net plain = build_model(table, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f});
        const auto c = plain->parameters();
        for (std::size_t i = 0; i < a.size(); ++i)
            QVERIFY(at::equal(a[i], c[i]));
        QVERIFY_THROWS_EXCEPTION(ConfigError, build_model(table, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}, true, "xavier"));
    }

    // model.init: "torchvision" (N(0, 0.01) linear layers, zero biases) against "pytorch" (the
    // modules' defaults: Kaiming-uniform a = sqrt(5), i.e. weights and biases uniform in
    // +-1/sqrt(fan_in)); BatchNorm weight 1, bias 0 in both.
    void initialisationChoices() {
        ModelConfig m;
        m.width = 0.25;
        m.hidden = 256;
        const auto table = layer_table(m, 3, 10);
        for (const char* init : {"torchvision", "pytorch"}) {
            const bool pytorch = std::string(init) == "pytorch";
            at::manual_seed(5);
            Net net = build_model(table, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}, true, init);
            int convs = 0, linears = 0, norms = 0;
            for (auto& module : net->modules(false)) {
                const QString what = QString("%1 %2").arg(init).arg(QString::fromStdString(module->name()));
                at::Tensor w, b;
                if (auto* conv = module->as<torch::nn::Conv2d>()) {
                    w = conv->weight, b = conv->bias;
                    ++convs;
                } else if (auto* lin = module->as<torch::nn::Linear>()) {
                    w = lin->weight, b = lin->bias;
                    ++linears;
                } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
                    QVERIFY2(bn->weight.eq(1).all().item<bool>() && bn->bias.eq(0).all().item<bool>(),
                             qPrintable(what));
                    ++norms;
                    continue;
                } else {
                    continue;
                }
                const double fan_in = static_cast<double>(w[0].numel());
                const double n = static_cast<double>(w.numel());
                const double std = w.std().item<double>();
                if (pytorch) {
                    // Kaiming-uniform with a = sqrt(5): gain sqrt(1/3), bound sqrt(3) * gain / sqrt(fan_in).
                    const double bound = 1.0 / std::sqrt(fan_in);
                    QVERIFY2(w.abs().max().item<double>() <= bound * (1 + 1e-6), qPrintable(what));
                    // A uniform's sample std: relative standard error about sqrt(0.8 / (4 n)); 6 of them.
                    QVERIFY2(std::fabs(std / (bound / std::sqrt(3.0)) - 1.0) < 6 * std::sqrt(0.2 / n) + 1e-3,
                             qPrintable(what + QString(": std %1, bound %2").arg(std).arg(bound)));
                    QVERIFY2(b.abs().max().item<double>() <= bound * (1 + 1e-6), qPrintable(what));
                    QVERIFY2(b.ne(0).all().item<bool>(), qPrintable(what));
                    if (b.numel() >= 64)  // spread over the interval, not a constant
                        QVERIFY2(b.abs().max().item<double>() > 0.5 * bound, qPrintable(what));
                } else {
                    QVERIFY2(b.eq(0).all().item<bool>(), qPrintable(what));
                    if (w.dim() == 2)  // N(0, 0.01): the sample std's standard error is 0.01 / sqrt(2 n)
                        QVERIFY2(std::fabs(std - 0.01) < 6 * 0.01 / std::sqrt(2 * n),
                                 qPrintable(what + QString(": std %1").arg(std)));
                    else  // Kaiming normal, fan-out, ReLU gain
                        QVERIFY2(std::fabs(std / std::sqrt(2.0 / (static_cast<double>(w.size(0)) * 9.0)) - 1.0) <
                                     6 / std::sqrt(2 * n) + 1e-3,
                                 qPrintable(what + QString(": std %1").arg(std)));
                }
            }
            QCOMPARE(convs, 13);
            QCOMPARE(linears, 3);
            QCOMPARE(norms, 13);
        }
    }

    // The fused classifier (1x1 map: pool + flatten + linear as one summed-weight linear) computes
    // the same outputs and the same gradients for every parameter as the layer-by-layer model.
    void fastClassifierIsExact() {
        ModelConfig m;
        m.width = 0.125;
        m.hidden = 48;
        const auto table = layer_table(m, 3, 10);
        at::manual_seed(3);
        Net fast = build_model(table, {0.4f, 0.5f, 0.6f}, {0.2f, 0.3f, 0.25f}, true);
        Net plain = build_model(table, {0.4f, 0.5f, 0.6f}, {0.2f, 0.3f, 0.25f}, false);
        {
            torch::NoGradGuard no_grad;
            auto fp = fast->parameters(), pp = plain->parameters();
            for (std::size_t i = 0; i < fp.size(); ++i)
                pp[i].copy_(fp[i]);
        }
        fast->to(at::kDouble);
        plain->to(at::kDouble);
        fast->eval();  // BatchNorm statistics of a batch, no randomness
        plain->eval();
        const at::Tensor x = at::rand({5, 3, 32, 32}, at::kDouble);
        const at::Tensor yf = fast->forward(x), yp = plain->forward(x);
        QVERIFY(at::allclose(yf, yp, 1e-10, 1e-12));
        yf.pow(2).sum().backward();
        yp.pow(2).sum().backward();
        auto fp = fast->named_parameters(), pp = plain->named_parameters();
        for (const auto& p : fp) {
            const at::Tensor& g = p.value().grad();
            const at::Tensor& h = pp[p.key()].grad();
            QVERIFY2(g.defined() && h.defined(), p.key().c_str());
            QVERIFY2(at::allclose(g, h, 1e-9, 1e-12), p.key().c_str());
        }
        // Larger inputs (2x2 before the pool) take the ordinary path and still work.
        QCOMPARE(fast->forward(at::rand({2, 3, 64, 64}, at::kDouble)).size(1), int64_t(10));
    }

    void everyPresetBuilds() {
        for (const auto& p : presets()) {
            ModelConfig m = p.config.model;
            m.width = 0.0625;  // small, the layer structure is what matters
            m.hidden = 8;
            Net net = build_model(layer_table(m, 3, 10), {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f});
            net->train();
            const at::Tensor out = net->forward(at::rand({4, 3, 32, 32}));
            QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{4, 10}));
            QVERIFY2(at::isfinite(out).all().item<bool>(), p.name.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestModel)
#include "test_model.moc"
