#pragma once
// The schedule of one surgery layer, in a cell of the surgery table: its shape (constant, linear,
// cosine), the value its temperature or p moves to, and the epochs over which it moves
// (engine/config/schedule.h).
#include <QJsonObject>
#include <QWidget>

class QComboBox;
class QSpinBox;

namespace normout::ui {

class ExactSpinBox;

class LayerScheduleEdit : public QWidget {
    Q_OBJECT
  public:
    explicit LayerScheduleEdit(const QJsonObject& layer, QWidget* parent = nullptr);
    // Writes schedule, schedule_to, schedule_from and schedule_until into the layer's object.
    void write(QJsonObject& layer) const;
    // What the schedule moves: "temperature", "p", or "" (nothing: the editor is disabled).
    void set_quantity(const QString& quantity);
    QComboBox* shape() const { return shape_; }

  Q_SIGNALS:
    void changed();

  private:
    void update_enabled();
    QComboBox* shape_;
    ExactSpinBox* to_;
    QSpinBox *from_, *until_;
    QString quantity_;
};

}  // namespace normout::ui
