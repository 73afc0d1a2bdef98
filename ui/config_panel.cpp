#include "ui/config_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "engine/config/model_spec.h"
#include "engine/config/presets.h"
#include "ui/surgery_editor.h"

namespace normout::ui {

namespace {

// Settings whose values come from a fixed list.
const QMap<QString, QStringList>& choices() {
    static const QMap<QString, QStringList> c = {
        {"data.dataset", {"cifar10", "fashion-mnist", "image-folder"}},
        {"data.augment.interpolation", {"nearest", "bilinear"}},
        {"model.arch", {"vgg16_bn", "resnet18", "vit-small"}},
        {"train.optimizer", {"sgd", "adam"}},
        {"train.adversarial", {"none", "pgd", "fgsm-rs"}},
        {"train.adv_norm", {"linf", "l2"}},
        {"train.adv_bn", {"frozen", "train", "eval"}},
        {"train.lr_schedule", {"constant", "step", "cosine"}},
        {"train.device", {"auto", "cpu", "cuda", "cuda:0", "cuda:1"}},
    };
    return c;
}

QString section_title(const QString& section) {
    static const QMap<QString, QString> titles = {{"", QObject::tr("Run")},
                                                  {"data", QObject::tr("Data")},
                                                  {"data.augment", QObject::tr("Augmentation")},
                                                  {"model", QObject::tr("Model")},
                                                  {"train", QObject::tr("Training")},
                                                  {"record", QObject::tr("Run file and checkpoints")},
                                                  {"instrument", QObject::tr("Instrumentation")}};
    return titles.value(section, section);
}

// The value of a dotted key in a JSON object.
QJsonValue lookup(const QJsonObject& root, const QString& key) {
    QJsonValue v = root;
    for (const auto& part : key.split('.'))
        v = v.toObject().value(part);
    return v;
}

// Penalties as one reads them: {"layer": 48, "l1": 1e-05, "l2": 0}, the layer first (a
// QJsonObject would sort the keys); numbers as JSON writes them, so that they round-trip.
QString penalties_text(const QJsonArray& list) {
    auto number = [](const QJsonValue& v) {
        return QString::fromUtf8(QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact)).mid(1).chopped(1);
    };
    QStringList items;
    for (const auto& item : list) {
        const QJsonObject o = item.toObject();
        QStringList fields;
        for (const char* key : {"layer", "l1", "l2"})
            if (o.contains(key)) fields << QStringLiteral("\"%1\": %2").arg(key, number(o[key]));
        items << "{" + fields.join(", ") + "}";
    }
    return "[" + items.join(", ") + "]";
}

QString json_text(const QJsonValue& v) {
    if (v.isBool()) return v.toBool() ? "true" : "false";
    if (v.isDouble()) return QString::number(v.toDouble(), 'g', 12);
    if (v.isString()) return v.toString();
    if (v.isArray()) return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    return {};
}

}  // namespace

ConfigPanel::ConfigPanel(QWidget* parent)
    : QWidget(parent),
      preset_box_(new QComboBox(this)),
      run_path_edit_(new QLineEdit(this)),
      data_root_edit_(new QLineEdit(this)),
      message_(new QLabel(this)),
      layer_table_(new QTableWidget(0, 4, this)),
      surgery_(new SurgeryEditor(this)) {
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(4, 4, 4, 4);

    auto* top = new QFormLayout;
    for (const auto& p : presets())
        preset_box_->addItem(QString::fromStdString(p.name), QString::fromStdString(p.description));
    preset_box_->setToolTip(
        tr("Start from a preset: `quick` (Fashion-MNIST, minutes on a laptop) or a row of the "
           "thesis's Table 3.1 (VGG-16-BN on CIFAR-10, 100 epochs)"));
    top->addRow(tr("Preset"), preset_box_);
    run_path_edit_->setPlaceholderText(tr("chosen at Start, in the runs folder"));
    run_path_edit_->setToolTip(tr("The HDF5 file this run writes (never overwritten)"));
    auto* browse = new QToolButton(this);
    browse->setText("…");
    auto* run_row = new QHBoxLayout;
    run_row->addWidget(run_path_edit_);
    run_row->addWidget(browse);
    top->addRow(tr("Run file"), run_row);
    data_root_edit_->setPlaceholderText(tr("$NORMOUT_DATA or ~/.local/share/normout/data"));
    data_root_edit_->setToolTip(
        tr("Folder searched for the data set before $NORMOUT_DATA and the default data "
           "folder (Fashion-MNIST is also found in Debian's package)"));
    top->addRow(tr("Data folder"), data_root_edit_);
    outer->addLayout(top);

    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    outer->addWidget(message_);

    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    auto* content = new QWidget;
    auto* form_layout = new QVBoxLayout(content);
    scroll->setWidget(content);
    outer->addWidget(scroll, 1);

    // One group box per section, an editor per setting.
    QMap<QString, QFormLayout*> forms;
    auto form_for = [&](const QString& section) {
        if (!forms.contains(section)) {
            auto* box = new QGroupBox(section_title(section), content);
            auto* form = new QFormLayout(box);
            form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
            form_layout->addWidget(box);
            forms[section] = form;
        }
        return forms[section];
    };
    for (const auto& s : describe_settings()) {
        const QString key = QString::fromStdString(s.key), type = QString::fromStdString(s.type);
        if (key == "preset") continue;
        const QString section = key.contains('.') ? key.left(key.lastIndexOf('.')) : QString();
        const QString label = key.mid(key.lastIndexOf('.') + 1);
        QWidget* editor = nullptr;
        if (type == "surgery") {
            editor = surgery_;
            connect(surgery_, &SurgeryEditor::changed, this, &ConfigPanel::revalidate);
            auto* box = new QGroupBox(tr("Layer surgery (thesis 2.3.1)"), content);
            auto* box_layout = new QVBoxLayout(box);
            box_layout->addWidget(surgery_);
            box_layout->addWidget(new QLabel(tr("Layer table after surgery (custom layers highlighted):"), box));
            layer_table_->setHorizontalHeaderLabels({tr("index"), tr("base"), tr("kind"), tr("layer")});
            layer_table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
            layer_table_->horizontalHeader()->setStretchLastSection(true);
            layer_table_->verticalHeader()->setVisible(false);
            layer_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
            layer_table_->setMinimumHeight(200);
            box_layout->addWidget(layer_table_);
            form_layout->addWidget(box);
        } else if (type == "bool") {
            auto* check = new QCheckBox(content);
            connect(check, &QCheckBox::toggled, this, &ConfigPanel::revalidate);
            editor = check;
        } else if (choices().contains(key)) {
            auto* combo = new QComboBox(content);
            combo->addItems(choices()[key]);
            combo->setEditable(key == "train.device");
            connect(combo, &QComboBox::currentTextChanged, this, &ConfigPanel::revalidate);
            editor = combo;
        } else {
            auto* line = new QLineEdit(content);
            connect(line, &QLineEdit::textChanged, this, &ConfigPanel::revalidate);
            editor = line;
        }
        editor->setObjectName(key);
        QString help = QString::fromStdString(s.help).toHtmlEscaped();
        if (type == "penalties") {
            // A JSON list; left empty for none, the example shows the form.
            const QString example = QStringLiteral(R"([{"layer": 48, "l1": 1e-5, "l2": 0}])");
            qobject_cast<QLineEdit*>(editor)->setPlaceholderText(example);
            help += tr("<br>A JSON list, e.g. <tt>%1</tt>; empty: no penalties. Layer indices as in the layer "
                       "table under the surgery.")
                        .arg(example.toHtmlEscaped());
        }
        editor->setToolTip(QStringLiteral("<b>%1</b><br>%2").arg(key, help));
        editors_[key] = editor;
        types_[key] = type;
        if (type != "surgery") {
            auto* label_widget = new QLabel(label, content);
            label_widget->setToolTip(editor->toolTip());
            form_for(section)->addRow(label_widget, editor);
        }
    }
    form_layout->addStretch();

    connect(preset_box_, &QComboBox::currentTextChanged, this, [this](const QString& name) { select_preset(name); });
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString path =
            QFileDialog::getSaveFileName(this, tr("Run file"), run_path_edit_->text(), tr("Run files (*.h5)"));
        if (!path.isEmpty()) run_path_edit_->setText(path);
    });
    select_preset("quick");
}

void ConfigPanel::select_preset(const QString& name) {
    const Preset* p = find_preset(name.toStdString());
    if (!p) return;
    if (preset_box_->currentText() != name) {
        const QSignalBlocker block(preset_box_);
        preset_box_->setCurrentText(name);
    }
    load(p->config);
}

void ConfigPanel::set_config(const RunConfig& config) {
    if (find_preset(config.preset)) {
        const QSignalBlocker block(preset_box_);
        preset_box_->setCurrentText(QString::fromStdString(config.preset));
    }
    load(config);
}

void ConfigPanel::load(const RunConfig& config) {
    loading_ = true;
    const QJsonObject root = QJsonDocument::fromJson(QByteArray::fromStdString(config_to_json(config))).object();
    for (auto it = editors_.begin(); it != editors_.end(); ++it) {
        const QJsonValue v = lookup(root, it.key());
        if (auto* check = qobject_cast<QCheckBox*>(it.value()))
            check->setChecked(v.toBool());
        else if (auto* combo = qobject_cast<QComboBox*>(it.value()))
            combo->setCurrentText(v.toString());
        else if (auto* line = qobject_cast<QLineEdit*>(it.value()))
            // No penalties: an empty field, which shows the example.
            line->setText(types_[it.key()] != "penalties" ? json_text(v)
                          : v.toArray().isEmpty()         ? QString()
                                                          : penalties_text(v.toArray()));
        else if (it.value() == surgery_)
            surgery_->from_json(json_text(v));
    }
    config_ = config;
    loading_ = false;
    revalidate();
}

QString ConfigPanel::text_of(const QString& key) const {
    QWidget* w = editors_.value(key);
    if (auto* check = qobject_cast<QCheckBox*>(w)) return check->isChecked() ? "true" : "false";
    if (auto* combo = qobject_cast<QComboBox*>(w)) return combo->currentText();
    if (auto* line = qobject_cast<QLineEdit*>(w))
        return types_[key] == "penalties" && line->text().trimmed().isEmpty() ? QStringLiteral("[]") : line->text();
    if (w == surgery_) return surgery_->to_json();
    return {};
}

void ConfigPanel::set_text(const QString& key, const QString& value) {
    QWidget* w = editors_.value(key);
    if (auto* check = qobject_cast<QCheckBox*>(w))
        check->setChecked(value == "true");
    else if (auto* combo = qobject_cast<QComboBox*>(w))
        combo->setCurrentText(value);
    else if (auto* line = qobject_cast<QLineEdit*>(w))
        line->setText(value);
    else if (w == surgery_)
        surgery_->from_json(value);
    revalidate();
}

void ConfigPanel::revalidate() {
    if (loading_) return;
    RunConfig c;
    c.preset = preset_box_->currentText().toStdString();
    QString error, field;
    for (auto it = editors_.begin(); it != editors_.end(); ++it) {
        it.value()->setStyleSheet({});
        try {
            apply_override(c, (it.key() + "=" + text_of(it.key())).toStdString());
        } catch (const ConfigError& e) {
            if (error.isEmpty()) {
                error = QString::fromStdString(e.what());
                field = QString::fromStdString(e.field());
            }
        }
    }
    if (error.isEmpty()) {
        try {
            validate(c);
        } catch (const ConfigError& e) {
            error = QString::fromStdString(e.what());
            field = QString::fromStdString(e.field());
        } catch (const std::exception& e) {  // e.g. an architecture without a layer table yet
            error = QString::fromStdString(e.what());
        }
    }
    // The editor of the field at fault: an element of a list ("model.surgery[0].at",
    // "train.penalties[1].l1") belongs to the list's editor.
    const QString key = field.left(field.indexOf('['));
    if (QWidget* w = editors_.value(key)) w->setStyleSheet("background-color: rgba(220, 50, 47, 60);");
    error_ = error;
    error_field_ = field;
    if (error.isEmpty()) config_ = c;
    message_->setText(error.isEmpty() ? tr("✓ Settings are valid.") : tr("✗ %1").arg(error));
    message_->setStyleSheet(error.isEmpty() ? QString() : "color: rgb(220, 50, 47);");
    update_layer_table(c);
    Q_EMIT validity_changed(error.isEmpty(), error);
}

void ConfigPanel::update_layer_table(const RunConfig& edited) {
    // The table of the settings as edited, even when some other setting is invalid.
    const int channels = edited.data.dataset == "fashion-mnist" ? 1 : 3;
    std::vector<LayerInfo> table;
    layer_table_->clearSpans();
    try {
        table = normout::layer_table(edited.model, channels, 10);
    } catch (const std::exception& e) {
        // Said in the table's place, not an old table that no longer applies.
        layer_table_->setRowCount(1);
        for (int c = 0; c < 4; ++c)
            layer_table_->setItem(0, c, new QTableWidgetItem);
        layer_table_->item(0, 0)->setText(
            tr("Cannot build the layer table of %1: %2")
                .arg(QString::fromStdString(edited.model.arch), QString::fromUtf8(e.what())));
        layer_table_->item(0, 0)->setForeground(QColor(220, 50, 47));
        layer_table_->setSpan(0, 0, 1, 4);
        return;
    }
    layer_table_->setRowCount(static_cast<int>(table.size()));
    const QColor highlight = palette().color(QPalette::Highlight);
    for (int i = 0; i < static_cast<int>(table.size()); ++i) {
        const auto& l = table[static_cast<std::size_t>(i)];
        const QStringList cells = {QString::number(i), l.base_index < 0 ? tr("new") : QString::number(l.base_index),
                                   QString::fromStdString(l.kind), QString::fromStdString(l.describe())};
        for (int c = 0; c < 4; ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (l.from_surgery) {
                QColor bg = highlight;
                bg.setAlpha(70);
                item->setBackground(bg);
            }
            layer_table_->setItem(i, c, item);
        }
    }
}

QString ConfigPanel::run_path() const {
    return run_path_edit_->text().trimmed();
}

void ConfigPanel::set_run_path(const QString& path) {
    run_path_edit_->setText(path);
}

QString ConfigPanel::data_root() const {
    return data_root_edit_->text().trimmed();
}

}  // namespace normout::ui
