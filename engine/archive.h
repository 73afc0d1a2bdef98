#pragma once
// Reading tar archives, plain or gzip-compressed (ustar, GNU long names, pax paths).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace normout {

struct TarFile {
    std::string path;  // as stored, without a leading "./"
    uint64_t size = 0;
};

// Calls `want` for every regular file; when it returns true, `take` receives the content.
// Throws DataError on a corrupt or truncated archive.
void read_tar(const std::string& archive, const std::function<bool(const TarFile&)>& want,
              const std::function<void(const TarFile&, std::vector<uint8_t>&&)>& take);

// Extracts regular files and directories under `dest`, refusing absolute paths and "..".
void extract_tar(const std::string& archive, const std::string& dest);

bool is_tar_name(const std::string& path);  // .tar, .tar.gz, .tgz

}  // namespace normout
