#include "ui/dashboard.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSet>
#include <QSlider>
#include <QVBoxLayout>
#include <cmath>
#include <map>

#include "plots/live_plot.h"
#include "plots/plot_theme.h"
#include "plots/qcp.h"
#include "ui/run_extras.h"

namespace normout::ui {

namespace {

using plots::ewma;
using plots::faint;
using plots::series_color;

double stat_value(const ActivationStats& s, int which) {
    switch (which) {
        case 0:
            return s.mean;
        case 1:
            return s.max;
        case 2:
            return s.std;
        case 3:
            return s.var;
        default:
            return s.sparsity;
    }
}

}  // namespace

Dashboard::Dashboard(QWidget* parent)
    : QWidget(parent),
      loss_(new plots::LivePlot(tr("Loss"), tr("epoch"), tr("cross-entropy"), this)),
      accuracy_(new plots::LivePlot(tr("Accuracy"), tr("epoch"), tr("accuracy"), this)),
      layers_(new plots::LivePlot(tr("Layer activations"), tr("epoch"), tr("value"), this)),
      keep_(new plots::LivePlot(tr("Keep probabilities"), tr("epoch"), tr("fraction"), this)),
      attacks_(new plots::LivePlot(tr("Adversarial accuracy"), tr("epoch"), tr("robust accuracy"), this)),
      flatness_(new plots::LivePlot(tr("Fisher-Rao norm"), tr("epoch"), tr("||θ||_fr"), this)),
      schedule_(new plots::LivePlot(tr("Layer schedules"), tr("epoch"), tr("temperature T"), this)),
      penalties_(new plots::LivePlot(tr("Activation penalties"), tr("epoch"), tr("weighted penalty"), this)),
      stat_box_(new QComboBox(this)),
      side_box_(new QComboBox(this)),
      smoothing_slider_(new QSlider(Qt::Horizontal, this)),
      smoothing_label_(new QLabel(this)),
      raw_box_(new QCheckBox(tr("raw"), this)),
      verdict_(new QLabel(this)),
      empty_(new QLabel(this)) {
    auto* outer = new QVBoxLayout(this);
    controls_ = new QWidget(this);
    empty_->setAlignment(Qt::AlignCenter);
    empty_->setWordWrap(true);
    empty_->setText(
        tr("<h3>No run yet</h3>"
           "<p>Pick a preset on the left — <b>quick</b> trains a small VGG-16-BN with NormOut on "
           "Fashion-MNIST in a few minutes — and press <b>Start</b> (Ctrl+R).</p>"
           "<p>Or open a run file (Ctrl+O): finished runs, crashed ones, and runs that another "
           "process (<tt>normout train</tt>) is writing right now, which update live.</p>"));
    outer->addWidget(empty_);

    auto* controls = new QHBoxLayout(controls_);
    controls->setContentsMargins(0, 0, 0, 0);
    stat_box_->addItems({tr("mean"), tr("max"), tr("standard deviation"), tr("variance"), tr("sparsity")});
    stat_box_->setCurrentIndex(4);
    stat_box_->setToolTip(
        tr("Activation statistic of the instrumented layers (thesis tables 3.2/3.3, figures 3.3-3.10)"));
    side_box_->addItems({tr("output"), tr("input")});
    side_box_->setToolTip(tr("The layer's output (after dropping) or its input"));
    smoothing_slider_->setRange(0, 100);
    smoothing_slider_->setToolTip(
        tr("Smoothing of the curves (exponentially weighted moving average); the raw "
           "values are drawn faintly"));
    smoothing_slider_->setValue(45);
    raw_box_->setChecked(true);
    controls->addWidget(new QLabel(tr("Layer statistic:"), this));
    controls->addWidget(stat_box_);
    controls->addWidget(side_box_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Smoothing:"), this));
    controls->addWidget(smoothing_slider_, 1);
    controls->addWidget(smoothing_label_);
    controls->addWidget(raw_box_);
    outer->addWidget(controls_);

    auto* grid = new QGridLayout;
    // Flatness beside the loss: a user watches both evolve while the network trains.
    grid->addWidget(loss_, 0, 0);
    grid->addWidget(flatness_, 0, 1);
    grid->addWidget(layers_, 1, 0);
    grid->addWidget(keep_, 1, 1);
    auto* attack_box = new QVBoxLayout;  // the attacks with the gradient-masking verdict
    attack_box->addWidget(attacks_, 1);
    verdict_->setWordWrap(true);
    verdict_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    attack_box->addWidget(verdict_);
    grid->addLayout(attack_box, 2, 0);
    grid->addWidget(accuracy_, 2, 1);
    // Shown only for runs that record them (see rebuild_extras).
    grid->addWidget(schedule_, 3, 0);
    grid->addWidget(penalties_, 3, 1);
    outer->addLayout(grid, 1);

    loss_->set_placeholder(tr("The training loss appears here as steps are taken."));
    accuracy_->set_placeholder(tr("Train and test accuracy, per epoch."));
    layers_->set_placeholder(tr("Statistics of the instrumented layers (by default those placed by surgery)."));
    keep_->set_placeholder(tr("Keep probabilities of NormOut and Dropout layers: expected against realised drop."));
    attacks_->set_placeholder(
        tr("No attack results yet: set evaluate.attacks (the quick preset attacks after every epoch), or run "
           "`normout attack RUN.h5` on a finished run."));
    flatness_->set_placeholder(
        tr("No flatness results yet: the Fisher-Rao norm comes at the end of each epoch with "
           "evaluate.flatness_every=1 (the quick preset's default), after the last epoch otherwise "
           "(evaluate.fisher_rao), or from `normout flatness RUN.h5`."));

    schedule_->set_placeholder(tr("The layers' schedules appear here at the end of each epoch."));
    penalties_->set_placeholder(tr("The activation penalty terms appear here as steps are taken."));
    // Penalty terms of different layers and norms lie orders of magnitude apart.
    penalties_->set_log_y(true);

    refresh_timer_.setSingleShot(true);
    refresh_timer_.setInterval(100);
    connect(&refresh_timer_, &QTimer::timeout, this, &Dashboard::rebuild);
    for (auto* box : {stat_box_, side_box_})
        connect(box, &QComboBox::currentIndexChanged, this, &Dashboard::refresh_now);
    connect(smoothing_slider_, &QSlider::valueChanged, this, &Dashboard::refresh_now);
    connect(raw_box_, &QCheckBox::toggled, this, &Dashboard::refresh_now);
    show_run(nullptr);
}

double Dashboard::smoothing() const {
    // Slider 0..100 maps to a moving-average weight from 1 (no smoothing) down to 0.001.
    return std::pow(10.0, -3.0 * smoothing_slider_->value() / 100.0);
}

void Dashboard::show_run(const RunData* data) {
    data_ = data;
    const bool has = data_ != nullptr;
    empty_->setVisible(!has);
    controls_->setVisible(has);
    for (QWidget* w : {static_cast<QWidget*>(loss_), static_cast<QWidget*>(accuracy_), static_cast<QWidget*>(layers_),
                       static_cast<QWidget*>(keep_), static_cast<QWidget*>(attacks_), static_cast<QWidget*>(flatness_)})
        w->setVisible(has);
    refresh_now();
}

void Dashboard::data_changed() {
    if (!refresh_timer_.isActive()) refresh_timer_.start();
}

void Dashboard::refresh_now() {
    refresh_timer_.stop();
    rebuild();
}

void Dashboard::rebuild() {
    smoothing_label_->setText(QStringLiteral("α = %1").arg(smoothing(), 0, 'g', 2));
    for (plots::LivePlot* p : {loss_, accuracy_, layers_, keep_, attacks_, flatness_})
        p->clear_series();
    // Most runs never fill these: left alone, they cost no replots.
    for (plots::LivePlot* p : {schedule_, penalties_})
        if (p->series_count() > 0) p->clear_series();
    verdict_->clear();
    if (!data_) {
        schedule_->hide();
        penalties_->hide();
        return;
    }
    const RunData& d = *data_;
    const double alpha = smoothing();
    const bool raw = raw_box_->isChecked();
    // Steps are drawn on the epoch axis: step k of an epoch of n steps sits at epoch - 1 + k/n.
    const double per_epoch = d.steps_per_epoch > 0 ? static_cast<double>(d.steps_per_epoch)
                             : (!d.epochs.empty() && !d.steps.empty())
                                 ? static_cast<double>(d.steps.size()) / static_cast<double>(d.epochs.size())
                                 : 1.0;
    auto step_x = [&](int64_t step) { return static_cast<double>(step) / per_epoch; };

    // Loss and accuracy.
    QVector<double> sx, sloss, sacc;
    for (const auto& s : d.steps) {
        sx << step_x(s.global_step);
        sloss << s.loss;
        sacc << s.accuracy;
    }
    QVector<double> ex, tr_loss, te_loss, va_loss, tr_acc, te_acc, va_acc;
    for (const auto& e : d.epochs) {
        ex << e.epoch;
        tr_loss << e.train_loss;
        te_loss << e.test_loss;
        va_loss << e.val_loss;
        tr_acc << e.train_accuracy;
        te_acc << e.test_accuracy;
        va_acc << e.val_accuracy;
    }
    if (raw) loss_->set_data(loss_->add_series({}, faint(series_color(0), 50)), sx, sloss);
    loss_->set_data(loss_->add_series(tr("train (steps)"), series_color(0)), sx, ewma(sloss, alpha));
    loss_->set_data(loss_->add_series(tr("train (epoch)"), series_color(0), Qt::DashLine, true), ex, tr_loss);
    loss_->set_data(loss_->add_series(tr("test"), series_color(1), Qt::SolidLine, true), ex, te_loss);
    if (!d.epochs.empty() && std::isfinite(d.epochs.back().val_loss))
        loss_->set_data(loss_->add_series(tr("validation"), series_color(2), Qt::SolidLine, true), ex, va_loss);
    if (raw) accuracy_->set_data(accuracy_->add_series({}, faint(series_color(0), 50)), sx, sacc);
    accuracy_->set_data(accuracy_->add_series(tr("train (steps)"), series_color(0)), sx, ewma(sacc, alpha));
    accuracy_->set_data(accuracy_->add_series(tr("train (epoch)"), series_color(0), Qt::DashLine, true), ex, tr_acc);
    accuracy_->set_data(accuracy_->add_series(tr("test"), series_color(1), Qt::SolidLine, true), ex, te_acc);
    if (!d.epochs.empty() && std::isfinite(d.epochs.back().val_accuracy))
        accuracy_->set_data(accuracy_->add_series(tr("validation"), series_color(2), Qt::SolidLine, true), ex, va_acc);

    rebuild_extras(per_epoch, alpha, raw);

    // Layer statistics and keep probabilities.
    const int stat = stat_box_->currentIndex();
    const bool output = side_box_->currentIndex() == 0;
    layers_->plot()->yAxis->setLabel(stat_box_->currentText());
    int color = 0;
    for (const auto& l : d.layers) {
        const auto it = d.layer_steps.find(l.index);
        if (it == d.layer_steps.end()) continue;
        QVector<double> x, v, expected, realised, mean_p;
        for (const auto& s : it->second) {
            x << step_x(s.global_step);
            v << stat_value(output ? s.output : s.input, stat);
            if (s.has_keep) {
                expected << s.keep.expected_drop;
                realised << s.keep.realised_drop;
                mean_p << s.keep.mean_p;
            }
        }
        const QColor c = series_color(color++);
        const QString name = tr("layer %1").arg(l.index);
        if (raw) layers_->set_data(layers_->add_series({}, faint(c, 50)), x, v);
        layers_->set_data(layers_->add_series(QStringLiteral("%1 %2").arg(name, QString::fromStdString(l.kind)), c), x,
                          ewma(v, alpha));
        if (l.keep && !expected.isEmpty()) {
            keep_->set_data(keep_->add_series(tr("%1 expected drop").arg(name), c, Qt::DashLine), x,
                            ewma(expected, alpha));
            keep_->set_data(keep_->add_series(tr("%1 realised drop").arg(name), c), x, ewma(realised, alpha));
            keep_->set_data(keep_->add_series(tr("%1 mean p").arg(name), c, Qt::DotLine), x, ewma(mean_p, alpha));
        }
    }

    // Attack accuracies (table "attacks"): one curve per attack and norm over the epochs of the
    // weights, with the 95% confidence band.
    const auto qtext = [](const AnalysisRow& r, const char* k) { return QString::fromStdString(r.text(k)); };
    if (const auto at = d.analysis.tables.find("attacks"); at != d.analysis.tables.end()) {
        std::map<QString, std::vector<const AnalysisRow*>> groups;
        for (const auto& row : at->second.rows) {
            // eps sweeps and probes of the masking diagnosis are not the main results
            if (const std::string role = row.text("role"); !role.empty() && role != "main") continue;
            const QString key = QStringLiteral("%1 %2 ε=%3")
                                    .arg(qtext(row, "attack"), qtext(row, "norm"))
                                    .arg(row.number("eps"), 0, 'g', 3);
            groups[key].push_back(&row);
        }
        int c = 0;
        for (const auto& [name, rows] : groups) {
            QVector<double> x, y, lo, hi;
            for (const AnalysisRow* r : rows) {
                const double epoch = r->number("epoch");
                x << (std::isfinite(epoch) ? epoch : static_cast<double>(d.epochs.size()));
                y << r->number("accuracy");
                lo << r->number("ci_low");
                hi << r->number("ci_high");
            }
            const int s = attacks_->add_series(name, series_color(c++), Qt::SolidLine, true);
            attacks_->set_data(s, x, y);
            attacks_->set_band(s, x, lo, hi);
        }
    }
    if (const auto mt = d.analysis.tables.find("masking"); mt != d.analysis.tables.end() && !mt->second.rows.empty()) {
        // The newest evaluation: its verdict and the red flags it raised, with their evidence.
        double newest = -1;
        for (const auto& row : mt->second.rows)
            if (std::isfinite(row.number("evaluation"))) newest = std::max(newest, row.number("evaluation"));
        QString verdict;
        QStringList flags;
        for (const auto& row : mt->second.rows) {
            if (row.number("evaluation") != newest) continue;
            if (row.text("flag") == "verdict")
                verdict = qtext(row, "verdict").toHtmlEscaped();
            else if (row.number("raised") == 1.0)
                flags << QStringLiteral("⚑ %1: %2").arg(qtext(row, "title"), qtext(row, "evidence")).toHtmlEscaped();
        }
        verdict_->setText(tr("<b>Gradient masking (epoch %1):</b> %2")
                              .arg(mt->second.rows.back().number("epoch"))
                              .arg(QStringList(QStringList{verdict} + flags).join(QStringLiteral("<br>"))));
    }
    // Flatness (table "flatness"): each measure over the epochs of the weights, with a band of
    // ±1 standard error where the measure has one (Fisher-Rao: over the examples).
    if (const auto ft = d.analysis.tables.find("flatness"); ft != d.analysis.tables.end()) {
        struct Series {
            QVector<double> x, y, low, high;
            bool has_error = false;
        };
        std::map<QString, Series> series;
        for (const auto& row : ft->second.rows) {
            const std::string measure = row.text("measure");
            if (measure.empty() || !std::isfinite(row.number("value"))) continue;
            const double epoch = row.number("epoch"), value = row.number("value"), se = row.number("standard_error");
            auto& s = series[QString::fromStdString(measure)];
            s.x << (std::isfinite(epoch) ? epoch : static_cast<double>(d.epochs.size()));
            s.y << value;
            s.low << (std::isfinite(se) ? value - se : value);
            s.high << (std::isfinite(se) ? value + se : value);
            s.has_error = s.has_error || std::isfinite(se);
        }
        int c = 0;
        for (const auto& [name, s] : series) {
            const int k = flatness_->add_series(name, series_color(c++), Qt::SolidLine, true);
            flatness_->set_data(k, s.x, s.y);
            if (s.has_error) flatness_->set_band(k, s.x, s.low, s.high);
        }
    }
}

void Dashboard::rebuild_extras(double per_epoch, double alpha, bool raw) {
    const RunData& d = *data_;
    // The objective (cross-entropy + penalties) beside the cross-entropy it adds to.
    const XY objective = step_extra_series(d, "objective", per_epoch);
    const XY objective_epochs = epoch_extra_series(d, "objective");
    const QColor objective_color = series_color(3);
    if (!objective.empty())
        loss_->set_data(loss_->add_series(tr("objective (steps)"), objective_color), objective.x,
                        ewma(objective.y, alpha));
    if (!objective_epochs.empty())
        loss_->set_data(loss_->add_series(tr("objective (epoch)"), objective_color, Qt::DashLine, true),
                        objective_epochs.x, objective_epochs.y);
    const bool has_objective = d.step_extra_index("objective") >= 0 || d.epoch_extra_index("objective") >= 0;
    loss_->plot()->yAxis->setLabel(has_objective ? tr("cross-entropy, objective") : tr("cross-entropy"));

    // Robust training accuracy (on the batch's adversarial part) beside the training accuracy.
    const XY robust = step_extra_series(d, "robust_accuracy", per_epoch);
    const XY robust_epochs = epoch_extra_series(d, "robust_accuracy");
    const QColor robust_color = series_color(3);
    if (!robust.empty()) {
        if (raw) accuracy_->set_data(accuracy_->add_series({}, faint(robust_color, 50)), robust.x, robust.y);
        accuracy_->set_data(accuracy_->add_series(tr("robust train (steps)"), robust_color), robust.x,
                            ewma(robust.y, alpha));
    }
    if (!robust_epochs.empty())
        accuracy_->set_data(accuracy_->add_series(tr("robust train (epoch)"), robust_color, Qt::DashLine, true),
                            robust_epochs.x, robust_epochs.y);

    // Schedules: each scheduled layer's active epochs shaded, its temperature or p as a step line,
    // the configuration's plan for the epochs still to come dashed. Layers acting throughout with
    // a constant value get no plot: every NormOut/Dropout run records those columns.
    std::vector<LayerSchedule> schedules;
    QSet<QString> quantities;
    for (LayerSchedule& s : layer_schedules(d))
        if (s.scheduled) {
            if (!s.quantity.isEmpty()) quantities.insert(s.quantity);
            schedules.push_back(std::move(s));
        }
    // T and p together: p (in [0, 1]) on the right axis, T on the left.
    const bool p_right = quantities.size() == 2;
    int color = 0;
    for (const LayerSchedule& s : schedules) {
        const QColor c = series_color(color++);
        const QString layer = tr("layer %1").arg(s.layer);
        const XY active = held_per_epoch(s.epochs, s.active);
        schedule_->set_data(schedule_->add_span_series(tr("%1 active").arg(layer), c), active.x, active.y);
        if (s.quantity.isEmpty()) continue;
        const bool is_p = s.quantity == QLatin1String("p");
        auto add = [&](const QString& name, const QColor& pen, Qt::PenStyle style, const XY& xy) {
            const int k = schedule_->add_series(name, pen, style);
            schedule_->set_steps(k);
            schedule_->set_data(k, xy.x, xy.y);
            if (is_p && p_right) schedule_->use_right_axis(k, tr("drop probability p"));
            return k;
        };
        const QString symbol = is_p ? QStringLiteral("p") : QStringLiteral("T");
        add(QStringLiteral("%1 %2").arg(layer, symbol), c, Qt::SolidLine, held_per_epoch(s.epochs, s.value));
        const int done = s.epochs.isEmpty() ? 0 : static_cast<int>(s.epochs.back());
        if (done < s.planned.size()) {
            QVector<double> epochs, planned;
            for (int e = done + 1; e <= s.planned.size(); ++e) {
                epochs << e;
                planned << s.planned[e - 1];
            }
            // The dashed continuation explains itself: the legend stays short.
            schedule_->hide_from_legend(add(tr("%1 %2 planned").arg(layer, symbol), faint(c, 150), Qt::DashLine,
                                            held_per_epoch(epochs, planned)));
        }
    }
    schedule_->plot()->yAxis->setLabel(quantities.contains(QStringLiteral("temperature")) ? tr("temperature T")
                                       : quantities.isEmpty()                             ? QString()
                                                                                          : tr("drop probability p"));
    // Only active windows (max variants): the shading is the plot, the left axis has nothing to say.
    schedule_->plot()->yAxis->setTickLabels(!quantities.isEmpty());
    const bool any_schedule = !schedules.empty();
    schedule_->setVisible(any_schedule);

    // Activation penalties: each weighted term per step (smoothed, raw faint) and per epoch.
    color = 0;
    for (const PenaltyTerm& t : penalty_terms(d, per_epoch)) {
        const QColor c = series_color(color++);
        const QString name = tr("layer %1 %2").arg(t.layer).arg(t.kind.toUpper());
        if (!t.steps.empty()) {
            if (raw) penalties_->set_data(penalties_->add_series({}, faint(c, 50)), t.steps.x, t.steps.y);
            penalties_->set_data(penalties_->add_series(name, c), t.steps.x, ewma(t.steps.y, alpha));
        }
        if (!t.epochs.empty())
            penalties_->set_data(penalties_->add_series(tr("%1 (epoch)").arg(name), c, Qt::DashLine, true), t.epochs.x,
                                 t.epochs.y);
    }
    bool has_penalties = false;
    for (const auto* names : {&d.step_extra, &d.epoch_extra})
        for (const auto& n : *names)
            has_penalties |= n.rfind("penalty_", 0) == 0;
    penalties_->setVisible(has_penalties);
}

}  // namespace normout::ui
