#include "ui/compare_data.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "engine/runfile/tables.h"
#include "plots/plot_theme.h"

namespace normout::ui {

namespace {

const char* kLayerFields[] = {"mean", "max", "std", "var", "sparsity"};
const char* kKeepFields[] = {"mean_p", "expected_drop", "realised_drop", "frac_p_low", "frac_p_high"};
const char* kEpochFields[] = {"train_loss",    "test_loss",        "val_loss",           "train_accuracy",
                              "test_accuracy", "val_accuracy",     "generalisation_gap", "learning_rate",
                              "epoch_seconds", "images_per_second"};

double epoch_value(const EpochRecord& e, const QString& f) {
    if (f == "train_loss") return e.train_loss;
    if (f == "test_loss") return e.test_loss;
    if (f == "val_loss") return e.val_loss;
    if (f == "train_accuracy") return e.train_accuracy;
    if (f == "test_accuracy") return e.test_accuracy;
    if (f == "val_accuracy") return e.val_accuracy;
    if (f == "generalisation_gap") return e.generalisation_gap;
    if (f == "learning_rate") return e.learning_rate;
    if (f == "epoch_seconds") return e.epoch_seconds;
    return e.images_per_second;
}

double layer_value(const ActivationStats& s, const QString& f) {
    if (f == "mean") return s.mean;
    if (f == "max") return s.max;
    if (f == "std") return s.std;
    if (f == "var") return s.var;
    return s.sparsity;
}

double keep_value(const KeepStats& k, const QString& f) {
    if (f == "mean_p") return k.mean_p;
    if (f == "expected_drop") return k.expected_drop;
    if (f == "realised_drop") return k.realised_drop;
    if (f == "frac_p_low") return k.frac_p_low;
    return k.frac_p_high;
}

double per_epoch(const RunData& r) {
    if (r.steps_per_epoch > 0) return static_cast<double>(r.steps_per_epoch);
    if (!r.epochs.empty() && !r.steps.empty()) {
        // Steps of completed epochs: the last step row of epoch k.
        int64_t last = 0;
        for (const auto& s : r.steps)
            if (s.epoch == r.epochs.front().epoch) last = s.global_step;
        if (last > 0) return static_cast<double>(last);
    }
    return 1.0;
}

QString text(const AnalysisRow& row, const char* key) {
    return QString::fromStdString(row.text(key));
}

double number(const AnalysisRow& row, const char* key) {
    return row.number(key);
}

bool main_result(const AnalysisRow& row) {
    const QString role = text(row, "role");
    return role.isEmpty() || role == "main";
}

}  // namespace

QString Metric::title() const {
    switch (kind) {
        case Kind::Epoch:
            return QString(field).replace('_', ' ');
        case Kind::Step:
            return QStringLiteral("step %1").arg(field);
        case Kind::Layer:
            return QStringLiteral("layer %1 %2 %3").arg(layer).arg(input ? "input" : "output", field);
        case Kind::Keep:
            return QStringLiteral("layer %1 %2").arg(layer).arg(QString(field).replace('_', ' '));
        case Kind::Attack:
            return QStringLiteral("%1 %2 ε=%3 accuracy").arg(attack, norm).arg(eps, 0, 'g', 3);
        case Kind::Flatness:
            return QString(measure).replace('_', ' ');
    }
    return {};
}

QString Metric::y_label() const {
    if (kind == Kind::Layer) return field;
    if (kind == Kind::Attack) return QStringLiteral("robust accuracy");
    if (kind == Kind::Flatness)
        return measure.contains("fisher") ? QStringLiteral("||θ||_fr") : QStringLiteral("value");
    return QString(field).replace('_', ' ');
}

bool Metric::operator==(const Metric& o) const {
    return kind == o.kind && field == o.field && layer == o.layer && input == o.input && attack == o.attack &&
           norm == o.norm && eps == o.eps && measure == o.measure;
}

std::vector<Metric> available_metrics(const std::vector<const RunData*>& runs) {
    std::vector<Metric> out;
    auto add = [&](const Metric& m) {
        for (const auto& x : out)
            if (x == m) return;
        out.push_back(m);
    };
    for (const char* f : kEpochFields)
        add({Metric::Kind::Epoch, f});
    add({Metric::Kind::Step, "loss"});
    add({Metric::Kind::Step, "accuracy"});
    // The runs' extra series (robust accuracy, penalties, schedules) by their recorded names.
    auto extra = [](Metric::Kind kind, const std::string& name) {
        Metric m;
        m.kind = kind;
        m.field = QString::fromStdString(name);
        return m;
    };
    for (const RunData* r : runs) {
        for (const auto& n : r->epoch_extra)
            add(extra(Metric::Kind::Epoch, n));
        for (const auto& n : r->step_extra)
            add(extra(Metric::Kind::Step, n));
    }
    for (const RunData* r : runs) {
        for (const auto& l : r->layers) {
            for (bool input : {false, true})
                for (const char* f : kLayerFields)
                    add({Metric::Kind::Layer, f, l.index, input});
            if (l.keep)
                for (const char* f : kKeepFields)
                    add({Metric::Kind::Keep, f, l.index});
        }
        if (const auto t = r->analysis.tables.find("attacks"); t != r->analysis.tables.end())
            for (const auto& row : t->second.rows)
                if (main_result(row)) {
                    Metric m{Metric::Kind::Attack, "accuracy"};
                    m.attack = text(row, "attack");
                    m.norm = text(row, "norm");
                    m.eps = number(row, "eps");
                    add(m);
                }
        if (const auto t = r->analysis.tables.find("flatness"); t != r->analysis.tables.end())
            for (const auto& row : t->second.rows) {
                Metric m{Metric::Kind::Flatness, "value"};
                m.measure = text(row, "measure");
                add(m);
            }
    }
    return out;
}

Curve extract(const RunData& r, const Metric& m, double smoothing) {
    Curve c;
    c.label = QString::fromStdString(r.name.empty() ? r.path : r.name);
    const double steps = per_epoch(r);
    switch (m.kind) {
        case Metric::Kind::Epoch: {
            const int extra = r.epoch_extra_index(m.field.toStdString());
            if (extra < 0 && std::none_of(std::begin(kEpochFields), std::end(kEpochFields),
                                          [&](const char* f) { return m.field == QLatin1String(f); }))
                break;  // another run's extra series
            for (const auto& e : r.epochs) {
                c.x << e.epoch;
                c.y << (extra >= 0 ? extra_value(e.extra, extra) : epoch_value(e, m.field));
            }
            break;
        }
        case Metric::Kind::Step: {
            const int extra = r.step_extra_index(m.field.toStdString());
            if (extra < 0 && m.field != "loss" && m.field != "accuracy") break;  // another run's extra
            for (const auto& s : r.steps) {
                c.x << s.global_step / steps;
                c.y << (extra >= 0 ? extra_value(s.extra, extra) : m.field == "loss" ? s.loss : s.accuracy);
            }
            break;
        }
        case Metric::Kind::Layer:
        case Metric::Kind::Keep:
            if (const auto it = r.layer_steps.find(m.layer); it != r.layer_steps.end())
                for (const auto& s : it->second) {
                    if (m.kind == Metric::Kind::Keep && !s.has_keep) continue;
                    c.x << s.global_step / steps;
                    c.y << (m.kind == Metric::Kind::Layer ? layer_value(m.input ? s.input : s.output, m.field)
                                                          : keep_value(s.keep, m.field));
                }
            break;
        case Metric::Kind::Attack:
            if (const auto t = r.analysis.tables.find("attacks"); t != r.analysis.tables.end())
                for (const auto& row : t->second.rows) {
                    if (!main_result(row) || text(row, "attack") != m.attack || text(row, "norm") != m.norm ||
                        number(row, "eps") != m.eps)
                        continue;
                    const double epoch = number(row, "epoch");
                    c.x << (std::isfinite(epoch) ? epoch : static_cast<double>(r.epochs.size()));
                    c.y << number(row, "accuracy");
                    c.low << number(row, "ci_low");
                    c.high << number(row, "ci_high");
                }
            break;
        case Metric::Kind::Flatness:
            if (const auto t = r.analysis.tables.find("flatness"); t != r.analysis.tables.end())
                for (const auto& row : t->second.rows) {
                    if (text(row, "measure") != m.measure) continue;
                    const double epoch = number(row, "epoch");
                    c.x << (std::isfinite(epoch) ? epoch : static_cast<double>(r.epochs.size()));
                    c.y << number(row, "value");
                }
            break;
    }
    if (smoothing < 1.0 &&
        (m.kind == Metric::Kind::Step || m.kind == Metric::Kind::Layer || m.kind == Metric::Kind::Keep))
        c.y = plots::ewma(c.y, smoothing);
    return c;
}

std::vector<Curve> compare(const std::vector<const RunData*>& runs, const Metric& m, double smoothing,
                           bool group_seeds) {
    std::vector<std::string> configs, names;
    for (const RunData* r : runs) {
        configs.push_back(r->config_json.empty() ? std::string("{}") : r->config_json);
        names.push_back(r->name);
    }
    std::vector<std::vector<std::size_t>> groups;
    if (group_seeds) {
        groups = seed_groups(configs);
    } else {
        for (std::size_t i = 0; i < runs.size(); ++i)
            groups.push_back({i});
    }
    std::vector<std::string> group_configs, group_names;
    for (const auto& g : groups) {
        group_configs.push_back(configs[g.front()]);
        group_names.push_back(names[g.front()]);
    }
    const auto labels = run_labels(group_configs, group_names);
    std::vector<Curve> out;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        std::vector<Curve> members;
        for (std::size_t i : groups[g])
            members.push_back(extract(*runs[i], m, smoothing));
        Curve c = members.front();
        c.label = QString::fromStdString(labels[g]);
        if (members.size() > 1) {
            int n = c.x.size();
            for (const auto& x : members)
                n = std::min(n, static_cast<int>(x.x.size()));
            c.x.resize(n);
            c.y.fill(NAN, n);
            c.low.fill(NAN, n);
            c.high.fill(NAN, n);
            for (int k = 0; k < n; ++k) {
                double s = 0, s2 = 0;
                int count = 0;
                for (const auto& x : members)
                    if (std::isfinite(x.y[k])) {
                        s += x.y[k];
                        s2 += x.y[k] * x.y[k];
                        ++count;
                    }
                if (!count) continue;
                const double mean = s / count;
                const double sd = count > 1 ? std::sqrt(std::max(0.0, (s2 - count * mean * mean) / (count - 1))) : 0.0;
                c.y[k] = mean;
                c.low[k] = mean - sd;
                c.high[k] = mean + sd;
            }
            c.label += QStringLiteral(" (mean ± sd of %1 seeds)").arg(members.size());
        }
        out.push_back(c);
    }
    return out;
}

std::vector<std::pair<QString, QStringList>> differing_settings(const std::vector<const RunData*>& runs) {
    std::vector<std::map<QString, QString>> flats;
    std::set<QString> keys;
    for (const RunData* r : runs) {
        std::map<QString, QString> flat;
        std::function<void(const QJsonValue&, const QString&)> walk = [&](const QJsonValue& v, const QString& prefix) {
            if (v.isObject()) {
                const QJsonObject o = v.toObject();
                for (auto it = o.begin(); it != o.end(); ++it)
                    walk(it.value(), prefix.isEmpty() ? it.key() : prefix + "." + it.key());
            } else if (v.isArray()) {
                // Lists of objects (the surgery) by element, so that "temperature" shows by name.
                const QJsonArray a = v.toArray();
                const bool objects =
                    !a.isEmpty() && std::all_of(a.begin(), a.end(), [](const QJsonValue& e) { return e.isObject(); });
                if (objects)
                    for (int i = 0; i < a.size(); ++i)
                        walk(a[i], QStringLiteral("%1[%2]").arg(prefix).arg(i));
                else
                    flat[prefix] = QString::fromUtf8(QJsonDocument(a).toJson(QJsonDocument::Compact));
            } else {
                flat[prefix] = v.isString() ? v.toString()
                               : v.isBool() ? (v.toBool() ? "true" : "false")
                                            : QString::number(v.toDouble(), 'g', 10);
            }
        };
        walk(QJsonDocument::fromJson(QByteArray::fromStdString(r->config_json)).object(), {});
        for (const auto& [k, v] : flat)
            keys.insert(k);
        flats.push_back(std::move(flat));
    }
    std::vector<std::pair<QString, QStringList>> out;
    for (const QString& k : keys) {
        QStringList values;
        std::set<QString> distinct;
        for (const auto& f : flats) {
            const auto it = f.find(k);
            values << (it == f.end() ? QStringLiteral("–") : it->second);
            distinct.insert(values.back());
        }
        if (distinct.size() > 1) out.emplace_back(k, values);
    }
    return out;
}

std::vector<ScatterPoint> flatness_vs(const std::vector<const RunData*>& runs, const QString& measure,
                                      const Metric& robustness) {
    Metric flat{Metric::Kind::Flatness, "value"};
    flat.measure = measure;
    std::vector<ScatterPoint> out;
    for (const RunData* r : runs) {
        const Curve f = extract(*r, flat), y = extract(*r, robustness);
        if (f.y.isEmpty() || y.y.isEmpty() || !std::isfinite(f.y.back()) || !std::isfinite(y.y.back())) continue;
        out.push_back({QString::fromStdString(r->name.empty() ? r->path : r->name), f.y.back(), y.y.back()});
    }
    return out;
}

}  // namespace normout::ui
