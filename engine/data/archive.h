#pragma once
// Reading tar archives, plain or gzip-compressed (ustar, pax and GNU tar), through libarchive.
//
// Every member is checked before anything else happens with it, by read_tar and extract_tar
// alike; an archive breaking one of these rules is refused with a DataError naming the archive
// and the member:
//   - its path is relative and has no ".." component (a leading "./" is dropped);
//   - it is a regular file or a directory: symbolic links, hard links, devices, FIFOs and
//     sockets are refused, not skipped (data-set archives need none of them, and refusing them
//     means extraction can never write through a link);
//   - a file holds at most kMaxTarMemberBytes.
// A corrupt or truncated archive is a DataError naming the archive (and the member being read).
// Builds without libarchive (NORMOUT_HAVE_LIBARCHIVE unset) keep this API: read_tar and
// extract_tar then throw a DataError saying so; tar_supported() tells callers beforehand.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace normout {

struct TarFile {
    std::string path;  // as stored, without a leading "./"
    uint64_t size = 0;
};

// The largest file accepted in an archive (1 GiB): data-set files are far smaller, and read_tar
// holds each wanted file in memory.
constexpr uint64_t kMaxTarMemberBytes = uint64_t(1) << 30;

// Calls `want` for every regular file; when it returns true, `take` receives the content.
// Throws DataError on a corrupt, truncated or unsafe archive (see above).
void read_tar(const std::string& archive, const std::function<bool(const TarFile&)>& want,
              const std::function<void(const TarFile&, std::vector<uint8_t>&&)>& take);

// Extracts the regular files and directories under `dest` (created if needed). Throws DataError
// on an unsafe member (see above) before writing it, and when a path below `dest` that it
// would write through is already a symbolic link.
void extract_tar(const std::string& archive, const std::string& dest);

bool is_tar_name(const std::string& path);  // .tar, .tar.gz, .tgz

// False in builds without libarchive, where read_tar and extract_tar always throw.
bool tar_supported();

}  // namespace normout
