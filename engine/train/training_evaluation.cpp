#include "engine/train/training_evaluation.h"

#include <sstream>
#include <vector>

#include "engine/attacks/attack_store.h"
#include "engine/attacks/masking.h"
#include "engine/attacks/suite.h"
#include "engine/flatness/flatness.h"

namespace normout {

namespace {

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

bool due(int every, int epoch, int epochs) {
    return epoch == epochs || (every > 0 && epoch % every == 0);
}

}  // namespace

struct TrainingEvaluation::Pending {
    struct Attacks {
        AttackReport report;
        MaskingDiagnosis diagnosis;
        AttackedWeights weights;
    };
    std::vector<Attacks> attacks;
    std::vector<std::pair<FlatnessReport, WeightsPosition>> flatness;
};

TrainingEvaluation::TrainingEvaluation(const EvaluateConfig& config)
    : config_(config), pending_(std::make_unique<Pending>()) {}

TrainingEvaluation::~TrainingEvaluation() = default;

bool TrainingEvaluation::attacks_due(int epoch, int epochs) const {
    return !split(config_.attacks).empty() && due(config_.attack_every, epoch, epochs);
}

bool TrainingEvaluation::flatness_due(int epoch, int epochs) const {
    return (config_.fisher_rao || config_.hessian) && due(config_.flatness_every, epoch, epochs);
}

void TrainingEvaluation::after_epoch(Net& net, const ImageSet& test, int epoch, int epochs, int64_t step,
                                     const c10::Device& device, TrainingObserver& observer,
                                     const std::function<bool()>& cancelled) {
    if (test.count == 0) return;
    if (attacks_due(epoch, epochs)) {
        AttackConfig a;
        a.attacks = split(config_.attacks);
        a.norms = split(config_.attack_norms);
        a.n = config_.attack_n;
        a.square_queries = config_.square_queries;
        a.eps_sweep = config_.eps_sweep;
        observer.on_message("epoch " + std::to_string(epoch) + ": attacks " + config_.attacks + " on " +
                            std::to_string(a.n == 0 || a.n > test.count ? test.count : a.n) + " test images");
        Pending::Attacks done;
        done.report = run_attack_suite(net, test, a, device, cancelled);
        if (cancelled && cancelled()) return;  // partial results would read as complete ones
        done.diagnosis = diagnose(done.report, a.masking);
        done.weights = {step, epoch};
        const auto n = static_cast<int64_t>(pending_->attacks.size()) + 1;
        const AttackRecords rows = attack_records(done.report, done.diagnosis, done.weights, n);
        observer.on_analysis("attacks", rows.attacks);
        observer.on_analysis("masking", rows.masking);
        pending_->attacks.push_back(std::move(done));
    }
    if (flatness_due(epoch, epochs) && !(cancelled && cancelled())) {
        FlatnessConfig f;
        f.fisher_rao = config_.fisher_rao;
        f.hessian = config_.hessian;
        f.n = config_.flatness_n;
        f.params = config_.flatness_params;
        const WeightsPosition at{epoch, step};
        FlatnessReport report = compute_flatness(net, test, f, device);
        observer.on_analysis(kFlatnessTable, flatness_rows(report, at));
        pending_->flatness.emplace_back(std::move(report), at);
    }
}

std::string TrainingEvaluation::store(const std::string& run_path) {
    if (pending_->attacks.empty() && pending_->flatness.empty()) return {};
    const auto pending = std::move(pending_);
    pending_ = std::make_unique<Pending>();
    try {
        // One batch, one write: the evaluations are numbered after those the run holds already.
        // As the run's own writer, also before the run has ended.
        const auto make = [&](const AnalysisData& stored) {
            AnalysisBatch batch;
            int64_t evaluation = next_evaluation(stored);
            for (const auto& a : pending->attacks)
                add_records(batch, attack_records(a.report, a.diagnosis, a.weights, evaluation++));
            for (const auto& [report, at] : pending->flatness) {
                auto& rows = batch.tables[kFlatnessTable];
                for (auto& r : flatness_rows(report, at))
                    rows.push_back(std::move(r));
                for (const auto& g : report.grids)
                    for (auto& [name, array] : landscape_arrays(g, at))
                        batch.arrays[name] = std::move(array);
            }
            return batch;
        };
        store_analysis(run_path, make, /*by_its_writer=*/true);
    } catch (const AnalysisNotStored& e) {
        return e.what();  // names the cause and the file that keeps the results
    } catch (const std::exception& e) {
        return std::string("could not store the attack/flatness results of ") + run_path + ": " + e.what();
    }
    return {};
}

}  // namespace normout
