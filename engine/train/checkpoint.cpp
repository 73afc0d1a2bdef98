#include "engine/train/checkpoint.h"
#include "engine/model/generators.h"
#include "engine/model/state.h"
#include "engine/util/durable_file.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <torch/cuda.h>
#include <torch/serialize/archive.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

namespace normout {

namespace {

namespace fs = std::filesystem;

at::Tensor bytes_tensor(const std::string& s) {
    at::Tensor t = at::empty({static_cast<int64_t>(s.size())}, at::kByte);
    std::copy(s.begin(), s.end(), t.data_ptr<uint8_t>());
    return t;
}

std::string tensor_bytes(const at::Tensor& t) {
    const at::Tensor c = t.contiguous();
    return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<std::size_t>(c.numel()));
}

at::Tensor scalar(int64_t v) {
    return at::tensor(v, at::kLong);
}
at::Tensor scalar(double v) {
    return at::tensor(v, at::kDouble);
}

}  // namespace

std::string checkpoint_path(const std::string& run_path, int64_t global_step) {
    const fs::path p(run_path);
    const std::string stem = p.extension() == ".h5" ? p.stem().string() : p.filename().string();
    char step[32];
    std::snprintf(step, sizeof step, "%010lld", static_cast<long long>(global_step));
    return (p.parent_path() / (stem + ".ckpt-" + step + ".pt")).string();
}

namespace {

// The checkpoint file names of a run: "<stem>.ckpt-<step>.pt" (+ `suffix`), the step captured.
std::regex checkpoint_pattern(const std::string& run_path, const std::string& suffix) {
    const fs::path p(run_path);
    const std::string stem = p.extension() == ".h5" ? p.stem().string() : p.filename().string();
    return std::regex(std::regex_replace(stem, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + R"(\.ckpt-(\d+)\.pt)" +
                      suffix);
}

}  // namespace

std::vector<CheckpointInfo> list_checkpoints(const std::string& run_path) {
    const fs::path p(run_path);
    const std::regex re = checkpoint_pattern(run_path, "");
    std::vector<CheckpointInfo> out;
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::smatch m;
        const std::string name = e.path().filename().string();
        if (std::regex_match(name, m, re)) out.push_back({e.path().string(), std::stoll(m[1].str())});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.global_step < b.global_step; });
    return out;
}

void prune_checkpoints(const std::string& run_path, int keep) {
    auto all = list_checkpoints(run_path);
    for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < all.size(); ++i) {
        std::error_code ec;
        fs::remove(all[i].path, ec);
    }
    remove_checkpoint_temporaries(run_path);
}

void remove_checkpoint_temporaries(const std::string& run_path) {
    // Only one process writes a run's checkpoints at a time (its trainer), so any temporary
    // file left beside them is a killed writer's.
    const std::regex re = checkpoint_pattern(run_path, R"(\.tmp)");
    const fs::path p(run_path);
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    std::error_code ec;
    std::vector<fs::path> stale;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (std::regex_match(e.path().filename().string(), re)) stale.push_back(e.path());
    for (const auto& f : stale)
        fs::remove(f, ec);
}

void save_checkpoint(const std::string& path, const std::string& run_id, Net& net, torch::optim::Optimizer& optimizer,
                     const TrainingPosition& pos, const ExtraState& extra) {
    const std::string tmp = path + ".tmp";
    try {
        // A checkpoint is where a diverged run goes back to: it never holds non-finite weights.
        if (!state_is_finite(*net)) throw std::runtime_error("the weights are not finite");
        torch::serialize::OutputArchive archive;
        archive.write("format", bytes_tensor("normout-checkpoint-1"));
        archive.write("run_id", bytes_tensor(run_id));
        for (const auto& p : net->named_parameters(true))
            archive.write("model/" + p.key(), p.value().detach());
        for (const auto& b : net->named_buffers(true))
            archive.write("model/" + b.key(), b.value());
        torch::serialize::OutputArchive opt;
        optimizer.save(opt);
        archive.write("optimizer", opt);
        // Every generator the masks draw from: the CPU's and each CUDA device's (a resumed GPU
        // run would otherwise replay its initial mask stream).
        std::string generators;
        for (const auto& [name, state] : generator_states()) {
            archive.write("rng/" + name, state);
            generators += name + "\n";
        }
        archive.write("rng_names", bytes_tensor(generators));
        archive.write("pos/epoch", scalar(static_cast<int64_t>(pos.epoch)));
        archive.write("pos/step_in_epoch", scalar(pos.step_in_epoch));
        archive.write("pos/global_step", scalar(pos.global_step));
        archive.write("pos/loss_sum", scalar(pos.loss_sum));
        archive.write("pos/correct", scalar(pos.correct));
        archive.write("pos/seen", scalar(pos.seen));
        archive.write("pos/epoch_elapsed", scalar(pos.epoch_elapsed));
        archive.write("pos/epoch_rows", scalar(pos.epoch_rows));
        archive.write("pos/wall_seconds", scalar(pos.wall_seconds));
        if (!pos.extra_sum.empty()) {
            std::vector<double> sums = pos.extra_sum;
            sums.insert(sums.end(), pos.extra_weight.begin(), pos.extra_weight.end());
            archive.write("pos/extra_sums", at::tensor(sums, at::kDouble));
        }
        std::string names;
        for (const auto& [name, tensor] : extra) {
            archive.write("extra/" + name, tensor);
            names += name + "\n";
        }
        archive.write("extra_names", bytes_tensor(names));
        // Serialised in memory, written with checked I/O: LibTorch's own file writer throws from a
        // destructor when the disk fills up, which would end the process.
        std::ostringstream buffer;
        archive.save_to(buffer);
        write_file_durably(tmp, buffer.str());
        if (std::rename(tmp.c_str(), path.c_str()) != 0)
            throw std::runtime_error(std::string("cannot rename into place: ") + std::strerror(errno));
        fsync_parent_folder(path);
    } catch (const std::exception& e) {
        std::error_code ec;
        fs::remove(tmp, ec);
        std::string what = e.what();
        what = what.substr(0, what.find('\n'));  // LibTorch appends a C++ backtrace
        throw std::runtime_error(path + ": cannot write checkpoint: " + what);
    }
}

namespace {

// read() into a defined tensor re-points it (set_), so every read gets a fresh one.
at::Tensor read_tensor(torch::serialize::InputArchive& archive, const std::string& key) {
    at::Tensor t;
    archive.read(key, t);
    return t;
}

// Opens a checkpoint and checks that it is one, of run `run_id`.
void open_checkpoint(torch::serialize::InputArchive& archive, const std::string& path, const std::string& run_id) {
    archive.load_from(path);
    if (tensor_bytes(read_tensor(archive, "format")) != "normout-checkpoint-1")
        throw std::runtime_error("not a NormOut checkpoint");
    const std::string owner = tensor_bytes(read_tensor(archive, "run_id"));
    if (owner != run_id) throw std::runtime_error("belongs to another run (" + owner + ")");
}

// The stored model tensors of `net` (parameters and buffers by name), their shapes checked.
std::map<std::string, at::Tensor> read_model(torch::serialize::InputArchive& archive, Net& net) {
    std::map<std::string, at::Tensor> out;
    const auto add = [&](const std::string& name, const at::Tensor& target) {
        at::Tensor stored = read_tensor(archive, "model/" + name);
        if (stored.sizes() != target.sizes()) throw std::runtime_error("tensor shapes do not match the model");
        out[name] = stored;
    };
    for (const auto& p : net->named_parameters(true))
        add(p.key(), p.value());
    for (const auto& b : net->named_buffers(true))
        add(b.key(), b.value());
    return out;
}

[[noreturn]] void rethrow_unusable(const std::string& path, const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));  // LibTorch appends a backtrace
    throw std::runtime_error(path + ": unusable checkpoint: " + what);
}

}  // namespace

std::map<std::string, at::Tensor> read_checkpoint_model(const std::string& path, const std::string& run_id, Net& net) {
    try {
        torch::serialize::InputArchive archive;
        open_checkpoint(archive, path, run_id);
        return read_model(archive, net);
    } catch (const std::exception& e) {
        rethrow_unusable(path, e);
    }
}

TrainingPosition load_checkpoint(const std::string& path, const std::string& run_id, Net& net,
                                 torch::optim::Optimizer& optimizer, std::map<std::string, at::Tensor>* extra) {
    TrainingPosition pos;
    try {
        torch::serialize::InputArchive archive;
        open_checkpoint(archive, path, run_id);
        auto get = [&](const std::string& key) { return read_tensor(archive, key); };
        // Read everything before changing anything, so a bad file leaves the model untouched.
        const std::map<std::string, at::Tensor> stored = read_model(archive, net);
        std::vector<std::pair<at::Tensor, at::Tensor>> copies;
        for (auto& p : net->named_parameters(true))
            copies.emplace_back(p.value(), stored.at(p.key()));
        for (auto& b : net->named_buffers(true))
            copies.emplace_back(b.value(), stored.at(b.key()));
        // Checkpoints before rng_names held the CPU generator alone.
        std::map<std::string, at::Tensor> rng;
        at::Tensor rng_names;
        std::istringstream generator_names(archive.try_read("rng_names", rng_names) ? tensor_bytes(rng_names)
                                                                                    : std::string("cpu\n"));
        for (std::string name; std::getline(generator_names, name);)
            if (!name.empty()) rng[name] = get("rng/" + name);
        auto get_i = [&](const char* key) { return get(key).item<int64_t>(); };
        auto get_d = [&](const char* key) { return get(key).item<double>(); };
        pos.epoch = static_cast<int>(get_i("pos/epoch"));
        pos.step_in_epoch = get_i("pos/step_in_epoch");
        pos.global_step = get_i("pos/global_step");
        pos.loss_sum = get_d("pos/loss_sum");
        pos.correct = get_i("pos/correct");
        pos.seen = get_i("pos/seen");
        pos.epoch_elapsed = get_d("pos/epoch_elapsed");
        pos.epoch_rows = get_i("pos/epoch_rows");
        pos.wall_seconds = get_d("pos/wall_seconds");
        if (at::Tensor sums; archive.try_read("pos/extra_sums", sums)) {
            sums = sums.to(at::kDouble).contiguous().view({-1});
            const int64_t k = sums.numel() / 2;
            const double* v = sums.data_ptr<double>();
            pos.extra_sum.assign(v, v + k);
            pos.extra_weight.assign(v + k, v + 2 * k);
        }
        if (extra) {
            std::istringstream names(tensor_bytes(get("extra_names")));
            for (std::string name; std::getline(names, name);)
                if (!name.empty()) (*extra)[name] = get("extra/" + name);
        }
        torch::serialize::InputArchive opt;
        archive.read("optimizer", opt);
        // Everything is read; the optimiser's state is only checked by loading it, so the model,
        // the optimiser and the generator are backed up and restored if any of it fails.
        torch::NoGradGuard no_grad;
        std::vector<at::Tensor> backup;
        for (auto& [target, source] : copies)
            backup.push_back(target.clone());
        std::ostringstream optimizer_backup;
        {
            torch::serialize::OutputArchive saved;
            optimizer.save(saved);
            saved.save_to(optimizer_backup);
        }
        const auto rng_backup = generator_states();
        try {
            for (auto& [target, source] : copies)
                target.copy_(source);
            optimizer.load(opt);
            set_generator_states(rng);
        } catch (...) {
            for (std::size_t i = 0; i < copies.size(); ++i)
                copies[i].first.copy_(backup[i]);
            std::istringstream in(optimizer_backup.str());
            torch::serialize::InputArchive saved;
            saved.load_from(in);
            optimizer.load(saved);
            set_generator_states(rng_backup);
            throw;
        }
    } catch (const std::exception& e) {
        rethrow_unusable(path, e);
    }
    return pos;
}

}  // namespace normout
