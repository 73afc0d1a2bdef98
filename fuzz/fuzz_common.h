#pragma once
// Helpers shared by the fuzz targets: a private scratch folder per fuzzing process (removed at a
// normal exit), HOME and XDG_DATA_HOME pointed into it so that no reader looks at the user's own
// folders, and a cursor over the fuzz input.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace fuzz {

namespace fs = std::filesystem;

// TMPDIR/normout-fuzz-<tag>-<pid>: created on first use, removed when the process exits normally
// (a crash, or FUZZ_KEEP set, leaves it for inspection). HOME and XDG_DATA_HOME point to its
// home/ and share/.
inline const std::string& scratch(const char* tag) {
    // Never destroyed: the exit handler below still needs it after static destructors ran.
    static const std::string& dir = *new std::string([tag] {
        const fs::path d =
            fs::temp_directory_path() / ("normout-fuzz-" + std::string(tag) + "-" + std::to_string(::getpid()));
        std::error_code ec;
        fs::remove_all(d, ec);
        fs::create_directories(d / "home");
        fs::create_directories(d / "share");
        ::setenv("HOME", (d / "home").c_str(), 1);
        ::setenv("XDG_DATA_HOME", (d / "share").c_str(), 1);
        if (!std::getenv("FUZZ_KEEP"))  // FUZZ_KEEP=1 keeps the files of the last input
            std::atexit([] {
                std::error_code e;
                fs::remove_all(scratch(""), e);
            });
        return d.string();
    }());
    return dir;
}

// Empties a folder (and creates it when missing).
inline void clear(const std::string& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
}

inline void write_file(const std::string& path, const void* data, size_t size) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return;
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
}

inline void write_file(const std::string& path, const std::string& text) {
    write_file(path, text.data(), text.size());
}

// Reads the input front to back; past its end every read yields zeros (or empty strings).
struct Cursor {
    const uint8_t* p;
    size_t n;
    bool done() const { return n == 0; }
    uint8_t byte() {
        if (!n) return 0;
        --n;
        return *p++;
    }
    // LEB128: 7 bits per byte, low bits first, at most 9 bytes.
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift <= 56; shift += 7) {
            const uint8_t b = byte();
            v |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
        }
        return v;
    }
    // A varint length, then that many bytes (fewer where the input ends).
    std::string str() {
        const uint64_t len = std::min<uint64_t>(varint(), n);
        std::string s(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
        p += len;
        n -= static_cast<size_t>(len);
        return s;
    }
    // Exactly k bytes, zero-padded where the input ends.
    std::vector<uint8_t> bytes(size_t k) {
        std::vector<uint8_t> out(k, 0);
        const size_t take = std::min(k, n);
        std::copy(p, p + take, out.begin());
        p += take;
        n -= take;
        return out;
    }
    std::string rest() {
        std::string s(reinterpret_cast<const char*>(p), n);
        p += n;
        n = 0;
        return s;
    }
};

// FUZZ_KNOWN is set by tools/fuzz.sh while fuzzing, never while replaying the regression inputs
// of fuzz/regressions/<target>/. Findings once tolerated here are all fixed now; what remains is a
// speed-up only: fuzz_run_file skips the sleeps of HDF5's retries of damaged metadata (its
// H5_nanosleep).
inline bool tolerate_known() {
    static const bool known = std::getenv("FUZZ_KNOWN") != nullptr;
    return known;
}

}  // namespace fuzz
