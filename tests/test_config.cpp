// The configuration: strict JSON, --set overrides, validation naming the field, presets.
#include <QtTest/QtTest>
#include <cmath>

#include "engine/config/config.h"
#include "engine/config/model_spec.h"
#include "engine/config/presets.h"
#include "engine/config/schedule.h"

using namespace normout;

class TestConfig : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void defaultsFollowTheThesis() {
        const RunConfig c;
        QCOMPARE(c.train.lr, 0.01);
        QCOMPARE(c.train.momentum, 0.9);
        QCOMPARE(c.train.weight_decay, 1e-4);
        QCOMPARE(c.train.batch_size, 256);
        QCOMPARE(c.train.epochs, 100);
        QCOMPARE(c.model.width, 1.0);
        QCOMPARE(c.model.hidden, 4096);
        QVERIFY(c.data.augment.enabled);
        validate(c);
    }

    void jsonRoundTrip() {
        RunConfig c = preset_config("thesis/temporal-softmax-48-51-T100");
        c.train.seed = 12345678901ull;
        c.data.val_fraction = 0.1;
        c.train.lr_milestones = {30, 60};
        const RunConfig back = config_from_json(config_to_json(c));
        QCOMPARE(config_to_json(back), config_to_json(c));
        QCOMPARE(back.train.seed, 12345678901ull);
        QCOMPARE(back.model.surgery.size(), c.model.surgery.size());
        QCOMPARE(back.model.surgery[0].layer.temperature, 100.0);
    }

    void partialJsonKeepsDefaults() {
        const RunConfig c = config_from_json(R"({"train": {"lr": 0.05}})");
        QCOMPARE(c.train.lr, 0.05);
        QCOMPARE(c.train.batch_size, 256);
    }

    void modelInitDefaultsAndValidation() {
        // New configurations and files written before the key existed both mean "torchvision".
        QCOMPARE(QString::fromStdString(RunConfig{}.model.init), QString("torchvision"));
        const RunConfig old = config_from_json(R"({"model": {"width": 0.5, "hidden": 64, "surgery": []}})");
        QCOMPARE(QString::fromStdString(old.model.init), QString("torchvision"));
        RunConfig c;
        apply_override(c, "model.init=pytorch");
        QCOMPARE(QString::fromStdString(c.model.init), QString("pytorch"));
        validate(c);
        QCOMPARE(QString::fromStdString(config_from_json(config_to_json(c)).model.init), QString("pytorch"));
        apply_override(c, "model.init=xavier");
        try {
            validate(c);
            QFAIL("accepted model.init=xavier");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("model.init"));
        }
        bool described = false;
        for (const auto& s : describe_settings())
            if (s.key == "model.init") {
                described = true;
                QCOMPARE(QString::fromStdString(s.type), QString("string"));
                QVERIFY(QString::fromStdString(s.help).contains("pytorch"));
            } else if (s.key == "data.val_fraction") {
                QVERIFY2(!QString::fromStdString(s.help).contains("thesis: 0.1"), s.help.c_str());
            }
        QVERIFY(described);
    }

    void unknownKeysAreRejectedWithTheirPath() {
        try {
            config_from_json(R"({"train": {"lrr": 0.05}})");
            QFAIL("accepted an unknown key");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("train.lrr"));
        }
        try {
            config_from_json(
                R"({"model": {"surgery": [{"op": "replace", "at": [48], "layer": {"tpye": "dropout"}}]}})");
            QFAIL("accepted an unknown key inside surgery");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("model.surgery[0].layer.tpye"));
        }
    }

    void wrongTypesNameTheField() {
        try {
            config_from_json(R"({"train": {"epochs": "ten"}})");
            QFAIL("accepted a string for an integer");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("train.epochs"));
            QVERIFY(QString(e.what()).contains("integer"));
        }
        QVERIFY_THROWS_EXCEPTION(ConfigError, config_from_json("{not json"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, config_from_json(R"({"train": {"epochs": 2.5}})"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, config_from_json(R"({"train": {"seed": -1}})"));
    }

    void overridesParseValues() {
        RunConfig c;
        apply_override(c, "train.lr=0.05");
        apply_override(c, "data.dataset=fashion-mnist");
        apply_override(c, "data.augment.enabled=false");
        apply_override(c, "model.width=0.25");
        apply_override(c, "data.path=/tmp/some dir");
        apply_override(c, R"(model.surgery=[{"op":"replace","at":[48,51],"layer":{"type":"dropout","p":0.3}}])");
        QCOMPARE(c.train.lr, 0.05);
        QCOMPARE(QString::fromStdString(c.data.dataset), QString("fashion-mnist"));
        QVERIFY(!c.data.augment.enabled);
        QCOMPARE(c.model.width, 0.25);
        QCOMPARE(QString::fromStdString(c.data.path), QString("/tmp/some dir"));
        QCOMPARE(c.model.surgery.at(0).layer.p, 0.3);
        QCOMPARE(c.model.surgery.at(0).at, (std::vector<int>{48, 51}));
    }

    void overrideErrors() {
        RunConfig c;
        const RunConfig before = c;
        QVERIFY_THROWS_EXCEPTION(ConfigError, apply_override(c, "train.lr"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, apply_override(c, "train.nope=1"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, apply_override(c, "train.lr=fast"));
        QCOMPARE(config_to_json(c), config_to_json(before));  // failed overrides change nothing
    }

    void invalidValuesAreRejected_data() {
        QTest::addColumn<QString>("assignment");
        QTest::addColumn<QString>("field");
        QTest::newRow("negative lr") << "train.lr=-0.1"
                                     << "train.lr";
        QTest::newRow("zero lr") << "train.lr=0"
                                 << "train.lr";
        QTest::newRow("momentum 1") << "train.momentum=1"
                                    << "train.momentum";
        QTest::newRow("negative wd") << "train.weight_decay=-1"
                                     << "train.weight_decay";
        QTest::newRow("zero epochs") << "train.epochs=0"
                                     << "train.epochs";
        QTest::newRow("zero batch") << "train.batch_size=0"
                                    << "train.batch_size";
        QTest::newRow("optimizer") << "train.optimizer=rmsprop"
                                   << "train.optimizer";
        QTest::newRow("schedule") << "train.lr_schedule=cyclic"
                                  << "train.lr_schedule";
        QTest::newRow("milestones") << "train.lr_milestones=[30,10]"
                                    << "train.lr_milestones";
        QTest::newRow("device") << "train.device=tpu"
                                << "train.device";
        QTest::newRow("dataset") << "data.dataset=imagenet"
                                 << "data.dataset";
        QTest::newRow("val fraction") << "data.val_fraction=0.9"
                                      << "data.val_fraction";
        QTest::newRow("pad") << "data.pad_to=16"
                             << "data.pad_to";
        QTest::newRow("interpolation") << "data.augment.interpolation=cubic"
                                       << "data.augment.interpolation";
        QTest::newRow("scale range") << "data.augment.scale_min=1.2"
                                     << "data.augment.scale_max";
        QTest::newRow("width") << "model.width=0"
                               << "model.width";
        QTest::newRow("arch") << "model.arch=alexnet"
                              << "model.arch";
        QTest::newRow("vit heads") << "model.vit_heads=3"
                                   << "model.vit_heads";
        QTest::newRow("vit patch") << "model.vit_patch=5"
                                   << "model.vit_patch";
        QTest::newRow("active window")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"active_from":5,"active_until":5}}])"
            << "model.surgery[0].layer.active_until";
        QTest::newRow("schedule shape")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"variant":"temporal-softmax","schedule":"step"}}])"
            << "model.surgery[0].layer.schedule";
        QTest::newRow("schedule without quantity")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"variant":"temporal-max","schedule":"linear","schedule_to":2,"schedule_until":9}}])"
            << "model.surgery[0].layer.schedule";
        QTest::newRow("schedule empty span")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"variant":"temporal-softmax","schedule":"cosine","schedule_to":2,"schedule_from":4,"schedule_until":4}}])"
            << "model.surgery[0].layer.schedule_until";
        QTest::newRow("final T")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"variant":"temporal-softmax","schedule":"linear","schedule_to":0,"schedule_until":4}}])"
            << "model.surgery[0].layer.schedule_to";
        QTest::newRow("final p")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"dropout","schedule":"linear","schedule_to":1,"schedule_until":4}}])"
            << "model.surgery[0].layer.schedule_to";
        QTest::newRow("penalty layer") << R"(train.penalties=[{"layer":99,"l1":0.1}])"
                                       << "train.penalties[0].layer";
        QTest::newRow("penalty twice") << R"(train.penalties=[{"layer":47,"l1":0.1},{"layer":47,"l2":0.1}])"
                                       << "train.penalties[1].layer";
        QTest::newRow("penalty weights") << R"(train.penalties=[{"layer":47,"l1":-1}])"
                                         << "train.penalties[0]";
        QTest::newRow("penalty nothing") << R"(train.penalties=[{"layer":47}])"
                                         << "train.penalties[0]";
        QTest::newRow("penalty key") << R"(train.penalties=[{"layer":47,"l3":1}])"
                                     << "train.penalties[0].l3";
        QTest::newRow("adversarial") << "train.adversarial=trades"
                                     << "train.adversarial";
        QTest::newRow("adv norm") << "train.adv_norm=l1"
                                  << "train.adv_norm";
        QTest::newRow("adv eps linf") << "train.adv_eps=2"
                                      << "train.adv_eps";
        QTest::newRow("adv fraction") << "train.adv_fraction=0"
                                      << "train.adv_fraction";
        QTest::newRow("adv bn") << "train.adv_bn=running"
                                << "train.adv_bn";
        QTest::newRow("adv iterations") << "train.adv_iterations=0"
                                        << "train.adv_iterations";
        QTest::newRow("T <= 0")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"normout","variant":"temporal-softmax","temperature":0}}])"
            << "model.surgery[0].layer.temperature";
        QTest::newRow("unknown variant")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"normout","variant":"temporalmax"}}])"
            << "model.surgery[0].layer.variant";
        QTest::newRow("unknown layer type") << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"maxout"}}])"
                                            << "model.surgery[0].layer.type";
        QTest::newRow("dropout p = 1")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"dropout","p":1}}])"
            << "model.surgery[0].layer.p";
        QTest::newRow("index not in model")
            << R"(model.surgery=[{"op":"replace","at":[53],"layer":{"type":"dropout"}}])"
            << "model.surgery[0].at";
        QTest::newRow("negative index") << R"(model.surgery=[{"op":"remove","at":[-1]}])"
                                        << "model.surgery[0].at";
        QTest::newRow("index twice")
            << R"(model.surgery=[{"op":"replace","at":[48],"layer":{"type":"dropout"}},{"op":"remove","at":[48]}])"
            << "model.surgery[1].at";
        QTest::newRow("unknown op") << R"(model.surgery=[{"op":"swap","at":[48]}])"
                                    << "model.surgery[0].op";
        QTest::newRow("map_4d")
            << R"(model.surgery=[{"op":"insert","at":[3],"layer":{"type":"normout","map_4d":"row"}}])"
            << "model.surgery[0].layer.map_4d";
    }
    void invalidValuesAreRejected() {
        QFETCH(QString, assignment);
        QFETCH(QString, field);
        RunConfig c;
        try {
            apply_override(c, assignment.toStdString());
            validate(c);
            QFAIL("invalid value accepted");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), field);
            QVERIFY2(QString(e.what()).startsWith(field), e.what());
        }
    }

    void insertMayAppend() {
        RunConfig c;
        const int n = static_cast<int>(base_layer_table(c.model, 3, 10).size());
        apply_override(
            c, R"(model.surgery=[{"op":"insert","at":[)" + std::to_string(n) + R"(],"layer":{"type":"identity"}}])");
        validate(c);
    }

    void everyPresetIsValid() {
        QVERIFY(presets().size() >= 26);
        for (const auto& p : presets()) {
            validate(p.config);
            QCOMPARE(QString::fromStdString(p.config.preset), QString::fromStdString(p.name));
            QVERIFY(find_preset(p.name) == &p);
        }
        QVERIFY_THROWS_EXCEPTION(ConfigError, preset_config("thesis/nope"));
    }

    void thesisPresetsStateTheirChoices() {
        int rows = 0;
        for (const auto& p : presets()) {
            const QString name = QString::fromStdString(p.name), text = QString::fromStdString(p.description);
            if (name.startsWith("future/")) {
                // VGG as the thesis rows it is compared with; the other architectures their reference.
                QCOMPARE(QString::fromStdString(p.config.model.init),
                         QString(p.config.model.arch == "vgg16_bn" ? "pytorch" : "torchvision"));
                continue;
            }
            if (!name.startsWith("thesis/")) {
                QCOMPARE(QString::fromStdString(p.config.model.init), QString("torchvision"));
                continue;
            }
            ++rows;
            // The authors' code: PyTorch's default initialisation, all 50,000 training images.
            QCOMPARE(QString::fromStdString(p.config.model.init), QString("pytorch"));
            QVERIFY2(text.contains("model.init=pytorch"), qPrintable(text));
            QCOMPARE(p.config.data.val_fraction, 0.0);
            // A layer at one of 48 and 51 only: the other holds the identity, where the authors'
            // base model keeps Dropout(0.5).
            const auto table = layer_table(p.config.model, 3, 10);
            const bool single = (table[48].kind == "Identity") != (table[51].kind == "Identity");
            QVERIFY2(single == text.contains("keeps Dropout(0.5)"), qPrintable(name + ": " + text));
        }
        QVERIFY(rows >= 25);
        const QString one_four =
            QString::fromStdString(find_preset("thesis/spatiotemporal-softmax-1-4-T80")->description);
        QVERIFY2(one_four.contains("Interpretation") && one_four.contains("BatchNorms") &&
                     one_four.contains("no classifier dropout"),
                 qPrintable(one_four));
        QVERIFY(
            QString::fromStdString(find_preset("thesis/spatialmax-48")->description).contains("identity sits at 51"));
        QVERIFY(QString::fromStdString(find_preset("thesis/dropout-51")->description).contains("identity sits at 48"));
    }

    void thesisRowsPlaceTheirLayers() {
        auto kinds = [](const std::string& name) {
            const RunConfig c = preset_config(name);
            const auto t = layer_table(c.model, 3, 10);
            return std::make_pair(t, c);
        };
        {
            const auto [t, c] = kinds("thesis/baseline");
            QCOMPARE(t.size(), std::size_t(53));
            QCOMPARE(QString::fromStdString(t[48].kind), QString("Identity"));
            QCOMPARE(QString::fromStdString(t[51].kind), QString("Identity"));
        }
        {
            const auto [t, c] = kinds("thesis/baseline-no-aug");
            QVERIFY(!c.data.augment.enabled);
        }
        {
            const auto [t, c] = kinds("thesis/dropout-48");
            QCOMPARE(QString::fromStdString(t[48].kind), QString("Dropout"));
            QCOMPARE(t[48].custom.p, 0.5);
            QCOMPARE(QString::fromStdString(t[51].kind), QString("Identity"));
        }
        {
            const auto [t, c] = kinds("thesis/spatiotemporalmax-51");
            QCOMPARE(QString::fromStdString(t[51].custom.variant), QString("spatiotemporal-max"));
            QCOMPARE(QString::fromStdString(t[48].kind), QString("Identity"));
        }
        {
            const auto [t, c] = kinds("thesis/temporal-softmax-48-51-T100");
            for (int i : {48, 51}) {
                QCOMPARE(QString::fromStdString(t[i].kind), QString("NormOut"));
                QCOMPARE(QString::fromStdString(t[i].custom.variant), QString("temporal-softmax"));
                QCOMPARE(t[i].custom.temperature, 100.0);
                QVERIFY(t[i].custom.use_abs);
                QVERIFY(!t[i].custom.rescale);
                QVERIFY(!t[i].custom.at_inference);
            }
        }
        {
            const auto [t, c] = kinds("thesis/spatiotemporal-softmax-1-4-T80");
            QCOMPARE(QString::fromStdString(t[1].custom.variant), QString("spatiotemporal-softmax"));
            QCOMPARE(QString::fromStdString(t[4].kind), QString("NormOut"));
            QCOMPARE(t[4].custom.temperature, 80.0);
        }
        {
            const auto [t, c] = kinds("quick");
            QCOMPARE(QString::fromStdString(c.data.dataset), QString("fashion-mnist"));
        }
    }

    // Schedules: the window [active_from, active_until) and the value along its curve.
    void schedulesFollowTheirCurves() {
        LayerSpec s;
        s.variant = "temporal-softmax";
        s.temperature = 100;
        s.active_from = 2;
        s.active_until = 5;
        for (int e = 0; e < 8; ++e)
            QCOMPARE(layer_active(s, e), e >= 2 && e < 5);
        s.active_until = 0;
        QVERIFY(layer_active(s, 1000));
        QCOMPARE(scheduled_value(s, 7), 100.0);  // constant
        s.schedule = "linear";
        s.schedule_to = 10;
        s.schedule_from = 10;
        s.schedule_until = 50;
        QCOMPARE(scheduled_value(s, 0), 100.0);
        QCOMPARE(scheduled_value(s, 10), 100.0);
        QCOMPARE(scheduled_value(s, 20), 77.5);
        QCOMPARE(scheduled_value(s, 50), 10.0);
        QCOMPARE(scheduled_value(s, 99), 10.0);
        s.schedule = "cosine";
        QCOMPARE(scheduled_value(s, 30), 55.0);  // halfway: the mean of both ends
        QVERIFY(std::fabs(scheduled_value(s, 20) - (10 + 90 * 0.5 * (1 + std::cos(M_PI * 0.25)))) < 1e-12);
        QCOMPARE(layer_at_epoch(s, 30).temperature, 55.0);
        LayerSpec d;
        d.type = "dropout";
        d.p = 0.5;
        d.schedule = "linear";
        d.schedule_to = 0;
        d.schedule_until = 4;
        QCOMPARE(scheduled_value(d, 1), 0.375);
        QCOMPARE(scheduled_quantity(d), std::string("p"));
        LayerSpec m;  // temporal-max: nothing to schedule
        QVERIFY(std::isnan(scheduled_value(m, 3)));
        QVERIFY(!has_schedule(m));
        QVERIFY(has_schedule(d));
    }

    void penaltiesRoundTrip() {
        RunConfig c;
        apply_override(c, R"(train.penalties=[{"layer":47,"l1":0.01},{"layer":50,"l2":0.5,"l1":0.25}])");
        validate(c);
        QCOMPARE(c.train.penalties.size(), std::size_t(2));
        QCOMPARE(c.train.penalties[1].l1, 0.25);
        const RunConfig back = config_from_json(config_to_json(c));
        QCOMPARE(back.train.penalties.size(), std::size_t(2));
        QCOMPARE(back.train.penalties[1].layer, 50);
        QCOMPARE(back.train.penalties[1].l2, 0.5);
        QCOMPARE(config_to_json(back), config_to_json(c));
    }

    // The future/* presets: each names its thesis section and carries its experiment.
    void futurePresetsCarryTheirExperiments() {
        int future = 0;
        for (const auto& p : presets()) {
            if (p.name.rfind("future/", 0) != 0) continue;
            ++future;
            QVERIFY2(p.thesis_section.rfind("4.3.", 0) == 0, p.name.c_str());
            QVERIFY2(p.description.find("Thesis " + p.thesis_section) == 0, p.name.c_str());
        }
        QVERIFY(future >= 10);
        const auto surgery_of = [](const char* name) { return layer_table(preset_config(name).model, 3, 10); };
        {
            const auto t = surgery_of("future/temporal-softmax-first-20-epochs");
            QCOMPARE(t[48].custom.active_until, 20);
            QCOMPARE(t[51].custom.active_until, 20);
        }
        QCOMPARE(preset_config("future/pgd-at-temporal-softmax-48-51").train.adversarial, std::string("pgd"));
        QCOMPARE(preset_config("future/fgsm-rs-temporal-softmax-48-51").train.adversarial, std::string("fgsm-rs"));
        QCOMPARE(preset_config("future/temporal-softmax-48-51-T100-l1").train.penalties.size(), std::size_t(2));
        {
            const RunConfig c = preset_config("future/resnet18-temporal-softmax");
            const auto t = layer_table(c.model, 3, 10);
            QCOMPARE(QString::fromStdString(c.model.arch), QString("resnet18"));
            const auto custom = custom_layer_indices(t);
            QCOMPARE(custom.size(), std::size_t(1));
            QCOMPARE(QString::fromStdString(t[custom[0]].kind), QString("NormOut"));
            QCOMPARE(QString::fromStdString(t.back().kind), QString("Linear"));
            QCOMPARE(custom[0], static_cast<int>(t.size()) - 2);  // on the pooled features
        }
        {
            const RunConfig c = preset_config("future/vit-small-temporal-softmax");
            const auto t = layer_table(c.model, 3, 10);
            const auto custom = custom_layer_indices(t);
            QCOMPARE(custom.size(), static_cast<std::size_t>(c.model.vit_depth));
            for (int i : custom)
                QCOMPARE(QString::fromStdString(t[static_cast<std::size_t>(i - 1)].kind), QString("GELU"));
        }
    }

    void settingsAreDescribed() {
        const auto settings = describe_settings();
        QVERIFY(settings.size() > 40);
        for (const auto& s : settings) {
            QVERIFY2(!s.help.empty(), s.key.c_str());
            RunConfig c;
            // Every described key is accepted by --set with a value of its own type.
            const std::string value = s.type == "bool"     ? "true"
                                      : s.type == "int"    ? "1"
                                      : s.type == "number" ? "0.5"
                                      : s.type == "string" ? "x"
                                      : s.type == "list"   ? "[1]"
                                                           : "[]";  // surgery, penalties
            apply_override(c, s.key + "=" + value);
        }
    }
};

QTEST_APPLESS_MAIN(TestConfig)
#include "test_config.moc"
