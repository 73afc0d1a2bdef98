#pragma once
// The run configuration panel: a preset to start from, an editor for every engine setting
// (generated from the engine's list of settings, with their help texts as tooltips), the layer
// surgery with the indexed layer table, and validation shown inline as one edits.
#include <QMap>
#include <QWidget>

#include "engine/config/config.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace normout::ui {

class SurgeryEditor;

class ConfigPanel : public QWidget {
    Q_OBJECT
  public:
    explicit ConfigPanel(QWidget* parent = nullptr);

    // The configuration the editors describe (validated: see valid()).
    RunConfig config() const { return config_; }
    bool valid() const { return error_.isEmpty(); }
    QString error() const { return error_; }
    QString error_field() const { return error_field_; }
    void set_config(const RunConfig& config);
    void select_preset(const QString& name);

    QString run_path() const;  // empty: a name is chosen at Start
    void set_run_path(const QString& path);
    QString data_root() const;

    // The editor of a setting (tests drive them), and a way to set it from text.
    QWidget* editor(const QString& key) const { return editors_.value(key); }
    void set_text(const QString& key, const QString& value);
    // The layer table under the surgery (after surgery, of the architecture as edited).
    QTableWidget* layer_table() const { return layer_table_; }

  Q_SIGNALS:
    void validity_changed(bool valid, const QString& message);

  private:
    void load(const RunConfig& config);
    void revalidate();
    QString text_of(const QString& key) const;
    void update_layer_table(const RunConfig& edited);

    QComboBox* preset_box_;
    QLineEdit* run_path_edit_;
    QLineEdit* data_root_edit_;
    QLabel* message_;
    QTableWidget* layer_table_;
    SurgeryEditor* surgery_;
    QMap<QString, QWidget*> editors_;
    QMap<QString, QString> types_;
    RunConfig config_;
    QString error_, error_field_;
    bool loading_ = false;
};

}  // namespace normout::ui
