#pragma once
// A spin box for a setting's number that gives back the exact value it was loaded with until the
// user edits it: the box shows a few decimals, but loading a configuration and saving it again
// must not round T = 0.00125 or p = 0.12345.
#include <QDoubleSpinBox>

namespace normout::ui {

class ExactSpinBox : public QDoubleSpinBox {
  public:
    ExactSpinBox(double lo, double hi, double step, int decimals) {
        setRange(lo, hi);
        setSingleStep(step);
        setDecimals(decimals);
    }
    // A value outside the range is clamped (and so written back clamped).
    void set_exact(double v) {
        setValue(v);
        exact_ = v;
        shown_ = value();
        has_exact_ = v >= minimum() && v <= maximum();
    }
    double exact() const { return has_exact_ && value() == shown_ ? exact_ : value(); }

  private:
    double exact_ = 0, shown_ = 0;
    bool has_exact_ = false;
};

}  // namespace normout::ui
