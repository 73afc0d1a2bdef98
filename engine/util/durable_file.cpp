#include "engine/util/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace normout {

namespace {

std::runtime_error system_error(const std::string& what, int err) {
    return std::runtime_error(what + ": " + std::strerror(err));
}

// fsync and close, reporting the first failure; the descriptor is closed either way.
void sync_and_close(int fd, const std::string& what) {
    const int synced = ::fsync(fd);
    const int sync_err = errno;
    const int closed = ::close(fd);
    const int close_err = errno;
    if (synced != 0) throw system_error("fsync of " + what, sync_err);
    if (closed != 0) throw system_error("close of " + what, close_err);
}

void fsync_with_flags(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) throw system_error("open " + path, errno);
    sync_and_close(fd, path);
}

}  // namespace

void write_file_durably(const std::string& path, const std::string& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw system_error("open " + path, errno);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            const int err = w < 0 ? errno : ENOSPC;
            ::close(fd);
            throw system_error("write " + path, err);
        }
        done += static_cast<std::size_t>(w);
    }
    sync_and_close(fd, path);
}

void replace_file_durably(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    try {
        write_file_durably(tmp, bytes);
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) throw std::runtime_error("rename to " + path + ": " + ec.message());
        fsync_parent_folder(path);
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw;
    }
}

void fsync_parent_folder(const std::string& path) {
    std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
    if (parent.empty()) parent = ".";
    fsync_with_flags(parent.string(), O_RDONLY | O_DIRECTORY);
}

void fsync_file(const std::string& path) {
    fsync_with_flags(path, O_RDONLY);
}

}  // namespace normout
