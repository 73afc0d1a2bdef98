#pragma once
// Edits model.surgery: a table of {op, at, layer} rows, with the layer's settings in columns: its
// active window (from, until) and the schedule of its temperature or p among them. Every LayerSpec
// field round-trips: load, to_json and the configuration is unchanged.
#include <QWidget>

class QTableWidget;

namespace normout::ui {

class SurgeryEditor : public QWidget {
    Q_OBJECT
  public:
    explicit SurgeryEditor(QWidget* parent = nullptr);
    // The surgery as the JSON list the configuration takes, and back.
    QString to_json() const;
    void from_json(const QString& json);
    QTableWidget* table() const { return table_; }

  Q_SIGNALS:
    void changed();

  private:
    void add_row(const QJsonObject& op);
    QTableWidget* table_;
    bool loading_ = false;
};

}  // namespace normout::ui
