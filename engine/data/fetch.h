#pragma once
// `normout data fetch cifar10`: downloads the official CIFAR-10 binary release with curl,
// verifies its MD5 checksum and unpacks it where the lab looks for data.
#include <functional>
#include <string>

namespace normout {

extern const char* const kCifar10Url;
extern const char* const kCifar10Md5;

struct FetchOptions {
    std::string dest_dir;  // the data directory; cifar-10-batches-bin/ is created inside
    std::string url = kCifar10Url;
    std::string md5 = kCifar10Md5;
    std::string archive;  // use this local file instead of downloading
    bool force = false;   // replace an existing valid copy
    bool keep_archive = false;
    bool show_progress = false;  // curl's progress bar on stderr
};

struct FetchResult {
    std::string dataset_dir;
    bool already_present = false;
};

// Throws std::runtime_error with a message naming the URL or file on any failure; leaves no
// partial data set behind.
FetchResult fetch_cifar10(const FetchOptions& options, const std::function<void(const std::string&)>& log);

// Runs curl to download url to file. Throws on failure.
void download_with_curl(const std::string& url, const std::string& file, bool show_progress);

}  // namespace normout
