#include "ui/surgery_editor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include "ui/exact_spin_box.h"
#include "ui/layer_schedule_edit.h"

namespace normout::ui {

namespace {

enum Column {
    kOp,
    kAt,
    kType,
    kVariant,
    kTemperature,
    kP,
    kActiveFrom,
    kActiveUntil,
    kSchedule,
    kAbs,
    kMap,
    kRescale,
    kInference,
    kColumns
};

const QStringList kVariants = {"temporal-max",     "spatial-max",     "spatiotemporal-max",
                               "temporal-softmax", "spatial-softmax", "spatiotemporal-softmax"};

QComboBox* combo(const QStringList& items, const QString& current) {
    auto* c = new QComboBox;
    c->addItems(items);
    if (!items.contains(current)) c->addItem(current);  // kept, so that validation names it
    c->setCurrentText(current);
    return c;
}

ExactSpinBox* spin(double lo, double hi, double step, int decimals, double value) {
    auto* s = new ExactSpinBox(lo, hi, step, decimals);
    s->set_exact(value);
    return s;
}

QSpinBox* epoch_spin(int value, const QString& zero_text) {
    auto* s = new QSpinBox;
    s->setRange(0, 99999);
    s->setSpecialValueText(zero_text);
    s->setValue(value);
    return s;
}

// What a schedule moves in this layer (engine/config/schedule.h: scheduled_quantity).
QString scheduled_quantity(const QString& type, const QString& variant) {
    if (type == "normout" && variant.contains("softmax")) return "temperature";
    if (type == "dropout") return "p";
    return {};
}

}  // namespace

SurgeryEditor::SurgeryEditor(QWidget* parent) : QWidget(parent), table_(new QTableWidget(0, kColumns, this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    table_->setHorizontalHeaderLabels({tr("op"), tr("at"), tr("layer"), tr("variant"), tr("T"), tr("p"), tr("from"),
                                       tr("until"), tr("schedule of T or p"), tr("|x|"), tr("4-D max"), tr("rescale"),
                                       tr("at inference")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->verticalHeader()->setVisible(false);
    table_->setMinimumHeight(140);
    const QStringList tips = {
        tr("replace the layers at these base indices, remove them, or insert before them"),
        tr("base-table indices (see the layer table below), separated by spaces"),
        tr("normout (thesis 2.2), dropout (inverted) or identity"),
        tr("TemporalMax: max over the batch; SpatialMax: over the layer; Spatiotemporal: both; "
           "-softmax: p = exp((|x| - max)/T) (thesis 2.2.1-2.2.4)"),
        tr("softmax temperature T > 0 (thesis 2.2.4)"),
        tr("dropout: probability of dropping a unit"),
        tr("first epoch (counted from 0) in which the layer acts; before it, it is the identity (thesis 4.3)"),
        tr("epoch (from 0) from which the layer is the identity again; \"end\": it acts to the end"),
        tr("softmax NormOut's temperature or Dropout's p: constant, or moving linearly or along half a cosine "
           "from the value in T or p to the one given here, between two epochs (counted from 0)"),
        tr("use |x| (thesis) rather than x"),
        tr("4-D inputs: max over channels at each position (authors' code) or over the whole map"),
        tr("divide kept units by p (thesis: no)"),
        tr("stay stochastic in evaluation mode (thesis: no, identity at inference)")};
    for (int c = 0; c < kColumns; ++c)
        table_->horizontalHeaderItem(c)->setToolTip(tips[c]);
    layout->addWidget(table_);
    auto* buttons = new QHBoxLayout;
    auto* add = new QPushButton(tr("Add step"), this);
    auto* remove = new QPushButton(tr("Remove step"), this);
    buttons->addWidget(add);
    buttons->addWidget(remove);
    buttons->addStretch();
    layout->addLayout(buttons);
    connect(add, &QPushButton::clicked, this, [this] {
        add_row(
            QJsonObject{{"op", "replace"}, {"at", QJsonArray{48, 51}}, {"layer", QJsonObject{{"type", "normout"}}}});
        Q_EMIT changed();
    });
    connect(remove, &QPushButton::clicked, this, [this] {
        const int row = table_->currentRow() >= 0 ? table_->currentRow() : table_->rowCount() - 1;
        if (row >= 0) table_->removeRow(row);
        Q_EMIT changed();
    });
}

void SurgeryEditor::add_row(const QJsonObject& op) {
    const QJsonObject layer = op["layer"].toObject();
    const int row = table_->rowCount();
    table_->insertRow(row);
    QStringList at;
    for (const auto& v : op["at"].toArray())
        at << QString::number(v.toInt());
    auto notify = [this] {
        if (!loading_) Q_EMIT changed();
    };
    auto* op_box = combo({"replace", "remove", "insert"}, op["op"].toString("replace"));
    auto* at_edit = new QLineEdit(at.join(' '));
    auto* type_box = combo({"normout", "dropout", "identity"}, layer["type"].toString("normout"));
    auto* variant_box = combo(kVariants, layer["variant"].toString("temporal-max"));
    auto* t_spin = spin(1e-3, 1e6, 1, 3, layer["temperature"].toDouble(1.0));
    auto* p_spin = spin(0, 0.999, 0.05, 3, layer["p"].toDouble(0.5));
    auto* from_spin = epoch_spin(layer["active_from"].toInt(0), {});
    auto* until_spin = epoch_spin(layer["active_until"].toInt(0), tr("end"));
    auto* schedule = new LayerScheduleEdit(layer);
    auto* abs_box = new QCheckBox;
    abs_box->setChecked(layer["use_abs"].toBool(true));
    auto* map_box = combo({"channel", "map"}, layer["map_4d"].toString("channel"));
    auto* rescale_box = new QCheckBox;
    rescale_box->setChecked(layer["rescale"].toBool(false));
    auto* inference_box = new QCheckBox;
    inference_box->setChecked(layer["at_inference"].toBool(false));
    table_->setCellWidget(row, kOp, op_box);
    table_->setCellWidget(row, kAt, at_edit);
    table_->setCellWidget(row, kType, type_box);
    table_->setCellWidget(row, kVariant, variant_box);
    table_->setCellWidget(row, kTemperature, t_spin);
    table_->setCellWidget(row, kP, p_spin);
    table_->setCellWidget(row, kActiveFrom, from_spin);
    table_->setCellWidget(row, kActiveUntil, until_spin);
    table_->setCellWidget(row, kSchedule, schedule);
    table_->setCellWidget(row, kAbs, abs_box);
    table_->setCellWidget(row, kMap, map_box);
    table_->setCellWidget(row, kRescale, rescale_box);
    table_->setCellWidget(row, kInference, inference_box);
    for (auto* c : {op_box, type_box, variant_box, map_box})
        connect(c, &QComboBox::currentTextChanged, this, notify);
    connect(at_edit, &QLineEdit::textChanged, this, notify);
    for (auto* s : {t_spin, p_spin})
        connect(s, &QDoubleSpinBox::valueChanged, this, notify);
    for (auto* b : {abs_box, rescale_box, inference_box})
        connect(b, &QCheckBox::toggled, this, notify);
    for (auto* s : {from_spin, until_spin})
        connect(s, &QSpinBox::valueChanged, this, notify);
    connect(schedule, &LayerScheduleEdit::changed, this, notify);
    // Each setting editable only where the layer type uses it (values kept while disabled).
    auto update_enabled = [=] {
        const QString type = type_box->currentText(), variant = variant_box->currentText();
        const bool normout = type == "normout", dropout = type == "dropout";
        for (QWidget* w : std::initializer_list<QWidget*>{variant_box, abs_box, map_box, rescale_box})
            w->setEnabled(normout);
        t_spin->setEnabled(normout && variant.contains("softmax"));
        p_spin->setEnabled(dropout);
        from_spin->setEnabled(normout || dropout);
        until_spin->setEnabled(normout || dropout);
        inference_box->setEnabled(normout || dropout);
        schedule->set_quantity(scheduled_quantity(type, variant));
    };
    for (auto* c : {type_box, variant_box})
        connect(c, &QComboBox::currentTextChanged, this, update_enabled);
    update_enabled();
}

QString SurgeryEditor::to_json() const {
    QJsonArray ops;
    for (int r = 0; r < table_->rowCount(); ++r) {
        auto text = [&](int c) { return qobject_cast<QComboBox*>(table_->cellWidget(r, c))->currentText(); };
        auto value = [&](int c) { return static_cast<ExactSpinBox*>(table_->cellWidget(r, c))->exact(); };
        auto epoch = [&](int c) { return qobject_cast<QSpinBox*>(table_->cellWidget(r, c))->value(); };
        auto checked = [&](int c) { return qobject_cast<QCheckBox*>(table_->cellWidget(r, c))->isChecked(); };
        QJsonArray at;
        bool numbers_ok = true;
        for (const auto& part : qobject_cast<QLineEdit*>(table_->cellWidget(r, kAt))
                                    ->text()
                                    .split(QRegularExpression("[\\s,]+"), Qt::SkipEmptyParts)) {
            bool ok = false;
            const int index = part.toInt(&ok);
            numbers_ok &= ok;
            at.append(ok ? QJsonValue(index) : QJsonValue(part));  // validation names the bad entry
        }
        (void)numbers_ok;
        QJsonObject layer{{"type", text(kType)},
                          {"variant", text(kVariant)},
                          {"temperature", value(kTemperature)},
                          {"p", value(kP)},
                          {"use_abs", checked(kAbs)},
                          {"map_4d", text(kMap)},
                          {"rescale", checked(kRescale)},
                          {"at_inference", checked(kInference)},
                          {"active_from", epoch(kActiveFrom)},
                          {"active_until", epoch(kActiveUntil)}};
        qobject_cast<LayerScheduleEdit*>(table_->cellWidget(r, kSchedule))->write(layer);
        ops.append(QJsonObject{{"op", text(kOp)}, {"at", at}, {"layer", layer}});
    }
    return QString::fromUtf8(QJsonDocument(ops).toJson(QJsonDocument::Compact));
}

void SurgeryEditor::from_json(const QString& json) {
    loading_ = true;
    table_->setRowCount(0);
    for (const auto& v : QJsonDocument::fromJson(json.toUtf8()).array())
        add_row(v.toObject());
    loading_ = false;
}

}  // namespace normout::ui
