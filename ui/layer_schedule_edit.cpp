#include "ui/layer_schedule_edit.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

#include "ui/exact_spin_box.h"

namespace normout::ui {

namespace {

QSpinBox* epoch_spin(int value) {
    auto* s = new QSpinBox;
    s->setRange(0, 99999);
    s->setValue(value);
    return s;
}

}  // namespace

LayerScheduleEdit::LayerScheduleEdit(const QJsonObject& layer, QWidget* parent)
    : QWidget(parent),
      shape_(new QComboBox(this)),
      to_(new ExactSpinBox(0, 1e6, 1, 3)),
      from_(epoch_spin(layer["schedule_from"].toInt(0))),
      until_(epoch_spin(layer["schedule_until"].toInt(0))) {
    const QStringList shapes = {"constant", "linear", "cosine"};
    shape_->addItems(shapes);
    const QString shape = layer["schedule"].toString("constant");
    if (!shapes.contains(shape)) shape_->addItem(shape);  // kept, so that validation names it
    shape_->setCurrentText(shape);
    to_->set_exact(layer["schedule_to"].toDouble(0));
    shape_->setObjectName("schedule");
    to_->setObjectName("schedule_to");
    from_->setObjectName("schedule_from");
    until_->setObjectName("schedule_until");
    shape_->setToolTip(tr("constant, or moving linearly or along half a cosine"));
    from_->setToolTip(tr("epoch (from 0) at which the value starts to move"));
    until_->setToolTip(tr("epoch (from 0) at which it reaches the final value"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(3);
    layout->addWidget(shape_);
    layout->addWidget(new QLabel(QStringLiteral("→"), this));
    layout->addWidget(to_);
    layout->addWidget(new QLabel(tr("in epochs"), this));
    layout->addWidget(from_);
    layout->addWidget(new QLabel(QStringLiteral("–"), this));
    layout->addWidget(until_);
    connect(shape_, &QComboBox::currentTextChanged, this, [this] {
        update_enabled();
        Q_EMIT changed();
    });
    connect(to_, &QDoubleSpinBox::valueChanged, this, &LayerScheduleEdit::changed);
    for (auto* s : {from_, until_})
        connect(s, &QSpinBox::valueChanged, this, &LayerScheduleEdit::changed);
    update_enabled();
}

void LayerScheduleEdit::write(QJsonObject& layer) const {
    layer["schedule"] = shape_->currentText();
    layer["schedule_to"] = to_->exact();
    layer["schedule_from"] = from_->value();
    layer["schedule_until"] = until_->value();
}

void LayerScheduleEdit::set_quantity(const QString& quantity) {
    quantity_ = quantity;
    to_->setSingleStep(quantity == QLatin1String("p") ? 0.05 : 1.0);
    to_->setToolTip(quantity == QLatin1String("p") ? tr("final drop probability p, in [0, 1)")
                                                   : tr("final softmax temperature T > 0"));
    update_enabled();
}

void LayerScheduleEdit::update_enabled() {
    // Only the softmax variants' temperature and Dropout's p move; the values stay (and are
    // saved) while disabled, so that switching the layer type back loses nothing.
    const bool movable = !quantity_.isEmpty();
    shape_->setEnabled(movable);
    const bool moving = movable && shape_->currentText() != QLatin1String("constant");
    for (QWidget* w : std::initializer_list<QWidget*>{to_, from_, until_})
        w->setEnabled(moving);
}

}  // namespace normout::ui
