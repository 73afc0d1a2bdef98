#include "engine/data/fetch.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

#include "engine/data/archive.h"
#include "engine/data/md5.h"
#include "engine/data/readers.h"

extern char** environ;

namespace normout {

const char* const kCifar10Url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
const char* const kCifar10Md5 = "c32a1d4ab5d03f1284b67883e8d87530";

namespace {

namespace fs = std::filesystem;

std::string curl_reason(int code) {
    switch (code) {
        case 6:
            return "could not resolve the host (no network?)";
        case 7:
            return "could not connect to the server";
        case 22:
            return "the server answered with an HTTP error";
        case 23:
            return "could not write the file (disk full?)";
        case 28:
            return "the transfer timed out";
        case 35:
        case 60:
            return "TLS/certificate problem";
        default:
            return "curl exit code " + std::to_string(code);
    }
}

std::string temp_name(const fs::path& dir, const std::string& stem) {
    std::random_device rd;
    return (dir / (stem + std::to_string(rd()))).string();
}

bool valid_cifar(const fs::path& dir) {
    try {
        read_cifar10_binary(dir.string());
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

void download_with_curl(const std::string& url, const std::string& file, bool show_progress) {
    std::vector<std::string> args = {"curl",
                                     "--fail",
                                     "--location",
                                     "--retry",
                                     "2",
                                     "--connect-timeout",
                                     "30",
                                     show_progress ? "--progress-bar" : "--silent",
                                     "--show-error",
                                     "--output",
                                     file,
                                     url};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, "curl", nullptr, nullptr, argv.data(), environ);
    if (rc != 0) {
        if (rc == ENOENT)
            throw std::runtime_error("curl is not installed: install it (apt-get install curl), or download " + url +
                                     " yourself and pass it with --archive FILE");
        throw std::runtime_error(std::string("cannot run curl: ") + std::strerror(rc));
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status)) throw std::runtime_error("download of " + url + " was interrupted");
    if (WEXITSTATUS(status) == 127)
        throw std::runtime_error("curl is not installed: install it (apt-get install curl), or download " + url +
                                 " yourself and pass it with --archive FILE");
    if (WEXITSTATUS(status) != 0)
        throw std::runtime_error("download of " + url + " failed: " + curl_reason(WEXITSTATUS(status)));
}

FetchResult fetch_cifar10(const FetchOptions& o, const std::function<void(const std::string&)>& log) {
    const fs::path dest(o.dest_dir);
    const fs::path target = dest / "cifar-10-batches-bin";
    if (!o.force && valid_cifar(target)) {
        log("CIFAR-10 is already present in " + target.string());
        return {target.string(), true};
    }
    // Refuse before downloading anything what this build could not finish.
    if (!o.md5.empty() && !md5_available())
        throw std::runtime_error(
            "cannot verify the download: this build of NormOut Lab has no OpenSSL, which computes the MD5 "
            "checksum (install libssl-dev and rebuild, or download and unpack " +
            o.url + " yourself into " + target.string() + ")");
    if (!tar_supported())
        throw std::runtime_error(
            "cannot unpack the download: this build of NormOut Lab has no archive support "
            "(install libarchive-dev and rebuild, or download and unpack " +
            o.url + " yourself into " + target.string() + ")");
    fs::create_directories(dest);

    std::string archive = o.archive;
    std::string downloaded;
    if (archive.empty()) {
        downloaded = temp_name(dest, ".cifar-10-binary.tar.gz.part");
        log("Downloading " + o.url);
        try {
            download_with_curl(o.url, downloaded, o.show_progress);
        } catch (...) {
            fs::remove(downloaded);
            throw;
        }
        archive = downloaded;
    } else if (!fs::exists(archive)) {
        throw std::runtime_error(archive + ": file not found");
    }
    auto cleanup_download = [&] {
        if (!downloaded.empty()) fs::remove(downloaded);
    };

    if (!o.md5.empty()) {
        log("Verifying the MD5 checksum");
        std::string sum;
        try {
            sum = md5_file(archive);
        } catch (...) {
            cleanup_download();
            throw;
        }
        if (sum != o.md5) {
            cleanup_download();
            throw std::runtime_error((o.archive.empty() ? o.url : archive) + ": checksum mismatch (MD5 " + sum +
                                     ", expected " + o.md5 +
                                     "); the file is corrupt or not the CIFAR-10 binary release");
        }
    }

    log("Unpacking into " + dest.string());
    const fs::path staging = temp_name(dest, ".cifar-10-extract-");
    try {
        extract_tar(archive, staging.string());
        const fs::path unpacked = staging / "cifar-10-batches-bin";
        if (!fs::is_directory(unpacked))
            throw std::runtime_error(archive + ": the archive holds no cifar-10-batches-bin folder");
        read_cifar10_binary(unpacked.string());  // refuse to install a broken copy
        if (fs::exists(target)) fs::remove_all(target);
        fs::rename(unpacked, target);
        fs::remove_all(staging);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(staging, ec);
        cleanup_download();
        throw;
    }
    if (!downloaded.empty()) {
        if (o.keep_archive)
            fs::rename(downloaded, dest / "cifar-10-binary.tar.gz");
        else
            fs::remove(downloaded);
    }
    return {target.string(), false};
}

}  // namespace normout
