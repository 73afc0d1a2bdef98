#pragma once
// The reduced settings of the test runs that really train: the net at 1/16 width with a small
// classifier, a few hundred images, an epoch or two; seconds on two cores. One place for them, as
// "key=value" settings, as `--set` arguments of `normout`, and as an in-process RunConfig (torch-free).
#include <QString>
#include <QStringList>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/config/presets.h"

namespace normout::test {

// TinyRun().epochs(2).limits(256, 64) and so on; what is not called keeps the defaults below.
class TinyRun {
  public:
    TinyRun& epochs(int n) {
        epochs_ = n;
        return *this;
    }
    TinyRun& hidden(int units) {
        hidden_ = units;
        return *this;
    }
    TinyRun& batch_size(int n) {
        batch_size_ = n;
        return *this;
    }
    // Training and test images; 0 leaves the setting out (the whole split).
    TinyRun& limits(int64_t train, int64_t test) {
        train_limit_ = train;
        test_limit_ = test;
        return *this;
    }
    // CPU threads; 0 (the default) leaves the setting out.
    TinyRun& threads(int n) {
        threads_ = n;
        return *this;
    }
    // No attacks and no Fisher-Rao norm while training (the quick preset has both).
    TinyRun& without_evaluation() {
        evaluate_ = false;
        return *this;
    }
    // An explicit data set path instead of the search of the data roots.
    TinyRun& data_path(const std::string& path) {
        data_path_ = path;
        return *this;
    }
    TinyRun& data_path(const QString& path) { return data_path(path.toStdString()); }

    // "key=value" settings, in the order they apply.
    std::vector<std::string> settings() const {
        std::vector<std::string> s = {"model.width=0.0625", "model.hidden=" + std::to_string(hidden_)};
        if (train_limit_ > 0) s.push_back("data.train_limit=" + std::to_string(train_limit_));
        if (test_limit_ > 0) s.push_back("data.test_limit=" + std::to_string(test_limit_));
        s.push_back("train.batch_size=" + std::to_string(batch_size_));
        s.push_back("train.epochs=" + std::to_string(epochs_));
        if (threads_ > 0) s.push_back("train.threads=" + std::to_string(threads_));
        if (!evaluate_) {
            s.push_back("evaluate.attacks=");
            s.push_back("evaluate.fisher_rao=false");
        }
        if (!data_path_.empty()) s.push_back("data.path=" + data_path_);
        return s;
    }
    // The settings as `normout` arguments: --set key=value ...
    QStringList args() const {
        QStringList a;
        for (const auto& s : settings())
            a << "--set" << QString::fromStdString(s);
        return a;
    }
    // The settings separated by spaces (the lab's overrides field).
    QString line() const {
        QStringList l;
        for (const auto& s : settings())
            l << QString::fromStdString(s);
        return l.join(' ');
    }
    // A preset with the settings applied.
    RunConfig config(const std::string& preset = "quick") const {
        RunConfig c = preset_config(preset);
        for (const auto& s : settings())
            apply_override(c, s);
        return c;
    }

  private:
    int epochs_ = 1;
    int hidden_ = 32;
    int batch_size_ = 64;
    int64_t train_limit_ = 512;
    int64_t test_limit_ = 256;
    int threads_ = 0;
    bool evaluate_ = true;
    std::string data_path_;
};

}  // namespace normout::test
