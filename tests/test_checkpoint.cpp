// Checkpoints: never non-finite weights, a failed load leaves model, optimiser and generator as
// they were, temporaries of killed writers are cleaned up.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include <QtTest/QtTest>
#include <filesystem>
#include <fstream>

#include "engine/config/config.h"
#include "engine/model/model.h"
#include "engine/model/optim.h"
#include "engine/model/state.h"
#include "engine/train/checkpoint.h"
#include "support/tiny_nets.h"

using namespace normout;
namespace fs = std::filesystem;

namespace {

using test::layer;

Net small_net() {
    return build_model({layer("Flatten"), layer("Linear", 16, 8), layer("ReLU"), layer("Linear", 8, 4)}, {0.5f},
                       {0.25f});
}

// One SGD step with momentum, so the optimiser has state worth checking.
void train_once(Net& net, torch::optim::Optimizer& opt) {
    const at::Tensor x = at::rand({6, 1, 4, 4});
    const at::Tensor y = at::randint(0, 4, {6}, at::kLong);
    opt.zero_grad();
    at::cross_entropy_loss(net->forward(x), y).backward();
    opt.step();
}

std::vector<at::Tensor> snapshot(const Net& net) {
    std::vector<at::Tensor> out;
    for (const auto& p : net->named_parameters(true))
        out.push_back(p.value().detach().clone());
    return out;
}

bool same(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!at::equal(a[i], b[i])) return false;
    return true;
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    std::string run_path(const char* name) const { return (fs::path(dir_.path().toStdString()) / name).string(); }

  private Q_SLOTS:
    void nonFiniteWeightsAreNeverSaved() {
        torch::manual_seed(1);
        Net net = small_net();
        TrainConfig t;
        auto opt = make_optimizer(net, t);
        const std::string run = run_path("nan.h5");
        QVERIFY(state_is_finite(*net));
        {
            torch::NoGradGuard no_grad;
            net->named_parameters(true)[0].value().view(-1)[3] = std::nan("");
        }
        QVERIFY(!state_is_finite(*net));
        const std::string path = checkpoint_path(run, 7);
        bool refused = false;
        try {
            save_checkpoint(path, "run-a", net, *opt, TrainingPosition{});
        } catch (const std::runtime_error& e) {
            refused = QString(e.what()).contains("not finite");
        }
        QVERIFY(refused);
        QVERIFY(!fs::exists(path));
        QVERIFY(!fs::exists(path + ".tmp"));
    }

    // An SGD checkpoint loaded into an Adam optimiser fails only when the optimiser state is
    // loaded, after the model tensors were read: the model must be restored.
    void failedLoadLeavesEverythingAsItWas() {
        torch::manual_seed(2);
        Net net = small_net();
        TrainConfig sgd;
        auto opt = make_optimizer(net, sgd);
        train_once(net, *opt);
        const std::string path = checkpoint_path(run_path("mismatch.h5"), 1);
        save_checkpoint(path, "run-b", net, *opt, TrainingPosition{});

        torch::manual_seed(3);
        Net other = small_net();
        TrainConfig adam;
        adam.optimizer = "adam";
        auto adam_opt = make_optimizer(other, adam);
        train_once(other, *adam_opt);
        const auto before = snapshot(other);
        const at::Tensor rng_before = at::detail::getDefaultCPUGenerator().get_state();
        bool failed = false;
        try {
            load_checkpoint(path, "run-b", other, *adam_opt, nullptr);
        } catch (const std::runtime_error& e) {
            failed = QString(e.what()).contains("unusable checkpoint");
        }
        QVERIFY2(failed, "loading an SGD checkpoint into Adam must fail");
        QVERIFY(same(before, snapshot(other)));
        QVERIFY(at::equal(rng_before, at::detail::getDefaultCPUGenerator().get_state()));
        // The optimiser still works and its state is Adam's.
        train_once(other, *adam_opt);

        // A checkpoint of another run is refused before anything is read.
        bool refused = false;
        try {
            load_checkpoint(path, "run-c", net, *opt, nullptr);
        } catch (const std::runtime_error& e) {
            refused = QString(e.what()).contains("another run");
        }
        QVERIFY(refused);
    }

    void loadRestoresWeightsExactly() {
        torch::manual_seed(4);
        Net net = small_net();
        TrainConfig t;
        auto opt = make_optimizer(net, t);
        train_once(net, *opt);
        const std::string path = checkpoint_path(run_path("exact.h5"), 2);
        TrainingPosition pos;
        pos.epoch = 3;
        pos.global_step = 2;
        pos.loss_sum = 1.25;
        save_checkpoint(path, "run-d", net, *opt, pos);
        const auto saved = snapshot(net);
        train_once(net, *opt);
        QVERIFY(!same(saved, snapshot(net)));
        const TrainingPosition back = load_checkpoint(path, "run-d", net, *opt, nullptr);
        QVERIFY(same(saved, snapshot(net)));
        QCOMPARE(back.epoch, 3);
        QCOMPARE(back.global_step, int64_t(2));
        QCOMPARE(back.loss_sum, 1.25);
    }

    // A killed writer leaves RUN.ckpt-N.pt.tmp; the next prune removes it, and nothing else.
    void temporariesOfKilledWritersAreRemoved() {
        torch::manual_seed(5);
        Net net = small_net();
        TrainConfig t;
        auto opt = make_optimizer(net, t);
        const std::string run = run_path("tmp.h5");
        const std::string stale = checkpoint_path(run, 40) + ".tmp";
        const std::string other_run = checkpoint_path(run_path("tmp-other.h5"), 40) + ".tmp";
        for (const auto& f : {stale, other_run})
            std::ofstream(f) << "partial";
        save_checkpoint(checkpoint_path(run, 50), "run-e", net, *opt, TrainingPosition{});
        prune_checkpoints(run, 2);
        QVERIFY(!fs::exists(stale));
        QVERIFY(fs::exists(other_run));  // another run's file is not ours to remove
        QCOMPARE(list_checkpoints(run).size(), std::size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
