#include "engine/archive.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/data/image_set.h"

namespace normout {

namespace {

class GzStream {
  public:
    explicit GzStream(const std::string& path) : name_(path) {
        f_ = gzopen(path.c_str(), "rb");
        if (!f_) throw DataError(path + ": cannot open archive");
        gzbuffer(f_, 1 << 17);
    }
    ~GzStream() { gzclose(f_); }
    GzStream(const GzStream&) = delete;
    GzStream& operator=(const GzStream&) = delete;

    // Returns the number of bytes read (< n only at the end of the stream).
    std::size_t read(void* dst, std::size_t n) {
        auto* out = static_cast<unsigned char*>(dst);
        std::size_t got = 0;
        while (got < n) {
            const int r = gzread(f_, out + got, static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30)));
            if (r < 0) {
                int err = 0;
                throw DataError(name_ + ": corrupt archive: " + gzerror(f_, &err));
            }
            if (r == 0) break;
            got += static_cast<std::size_t>(r);
        }
        offset_ += got;
        return got;
    }
    void read_exact(void* dst, std::size_t n, const char* what) {
        if (read(dst, n) != n) throw DataError(name_ + ": truncated archive while reading " + what);
    }
    // Reads n bytes into a vector grown as data arrives: a corrupt size field cannot force a
    // huge allocation before the archive runs out.
    void read_into(std::vector<uint8_t>& out, uint64_t n, const char* what) {
        constexpr uint64_t chunk = 16u << 20;
        out.clear();
        while (out.size() < n) {
            const std::size_t at = out.size();
            const std::size_t k = static_cast<std::size_t>(std::min<uint64_t>(chunk, n - at));
            out.resize(at + k);
            read_exact(out.data() + at, k, what);
        }
    }
    void skip(uint64_t n) {
        std::vector<char> buf(1 << 16);
        while (n > 0) {
            const std::size_t k = static_cast<std::size_t>(std::min<uint64_t>(n, buf.size()));
            read_exact(buf.data(), k, "file data");
            n -= k;
        }
    }
    uint64_t offset() const { return offset_; }
    const std::string& name() const { return name_; }

  private:
    gzFile f_;
    std::string name_;
    uint64_t offset_ = 0;
};

uint64_t parse_number(const char* field, std::size_t len) {
    if (static_cast<unsigned char>(field[0]) & 0x80) {  // GNU base-256
        uint64_t v = static_cast<unsigned char>(field[0]) & 0x7F;
        for (std::size_t i = 1; i < len; ++i)
            v = (v << 8) | static_cast<unsigned char>(field[i]);
        return v;
    }
    uint64_t v = 0;
    for (std::size_t i = 0; i < len && field[i]; ++i) {
        if (field[i] == ' ') continue;
        if (field[i] < '0' || field[i] > '7') break;
        v = v * 8 + static_cast<uint64_t>(field[i] - '0');
    }
    return v;
}

std::string field_string(const char* f, std::size_t len) {
    return std::string(f, strnlen(f, len));
}

std::string clean_path(std::string p) {
    while (p.rfind("./", 0) == 0)
        p.erase(0, 2);
    return p;
}

std::string pax_path(const std::vector<uint8_t>& data) {
    std::string path;
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t sp = pos;
        while (sp < data.size() && data[sp] != ' ')
            ++sp;
        const std::size_t len = std::strtoul(std::string(data.begin() + pos, data.begin() + sp).c_str(), nullptr, 10);
        if (len == 0 || pos + len > data.size()) break;
        const std::string record(data.begin() + sp + 1, data.begin() + pos + len - 1);  // drop '\n'
        if (record.rfind("path=", 0) == 0) path = record.substr(5);
        pos += len;
    }
    return path;
}

// Walks the archive; `on_entry(type, path, size, stream)` must consume exactly `size` bytes
// (or call skip). Padding to 512 bytes is handled here.
template <class F>
void walk(GzStream& in, F&& on_entry) {
    std::string long_name;
    std::string pax_name;
    char header[512];
    while (true) {
        const uint64_t at = in.offset();
        const std::size_t got = in.read(header, 512);
        if (got == 0) return;  // some writers omit the end-of-archive blocks
        if (got < 512)
            throw DataError(in.name() + ": truncated archive (partial header at offset " + std::to_string(at) + ")");
        bool zero = true;
        for (char c : header)
            zero &= c == 0;
        if (zero) return;
        unsigned sum = 0;
        for (int i = 0; i < 512; ++i)
            sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
        if (sum != parse_number(header + 148, 8))
            throw DataError(in.name() + ": corrupt archive (bad header checksum at offset " + std::to_string(at) + ")");
        const uint64_t size = parse_number(header + 124, 12);
        const char type = header[156];
        std::string path = field_string(header, 100);
        if (std::memcmp(header + 257, "ustar", 5) == 0) {
            const std::string prefix = field_string(header + 345, 155);
            if (!prefix.empty()) path = prefix + "/" + path;
        }
        if (!long_name.empty()) path = long_name, long_name.clear();
        if (!pax_name.empty()) path = pax_name, pax_name.clear();
        const uint64_t padded = (size + 511) / 512 * 512;
        if (type == 'L' || type == 'x') {
            if (size > (1u << 20))
                throw DataError(in.name() + ": corrupt archive (extended header of " + std::to_string(size) +
                                " bytes)");
            std::vector<uint8_t> data;
            in.read_into(data, size, "an extended header");
            in.skip(padded - size);
            if (type == 'L')
                long_name = std::string(data.begin(), std::find(data.begin(), data.end(), uint8_t(0)));
            else
                pax_name = pax_path(data);
            continue;
        }
        on_entry(type, clean_path(path), size, in);
        in.skip(padded - size);
    }
}

}  // namespace

bool is_tar_name(const std::string& path) {
    auto ends = [&](const char* s) {
        const std::size_t n = std::strlen(s);
        return path.size() >= n && path.compare(path.size() - n, n, s) == 0;
    };
    return ends(".tar") || ends(".tar.gz") || ends(".tgz");
}

void read_tar(const std::string& archive, const std::function<bool(const TarFile&)>& want,
              const std::function<void(const TarFile&, std::vector<uint8_t>&&)>& take) {
    GzStream in(archive);
    walk(in, [&](char type, const std::string& path, uint64_t size, GzStream& s) {
        if (type != '0' && type != '\0') {
            s.skip(size);
            return;
        }
        TarFile f{path, size};
        if (!want(f)) {
            s.skip(size);
            return;
        }
        std::vector<uint8_t> data;
        s.read_into(data, size, "file data");
        take(f, std::move(data));
    });
}

void extract_tar(const std::string& archive, const std::string& dest) {
    namespace fs = std::filesystem;
    GzStream in(archive);
    walk(in, [&](char type, const std::string& path, uint64_t size, GzStream& s) {
        const fs::path rel(path);
        bool unsafe = rel.is_absolute() || path.empty();
        for (const auto& part : rel)
            unsafe |= part == "..";
        if (unsafe) throw DataError(archive + ": refusing unsafe path '" + path + "'");
        const fs::path target = fs::path(dest) / rel;
        if (type == '5') {
            fs::create_directories(target);
            s.skip(size);
            return;
        }
        if (type != '0' && type != '\0') {  // links and devices are not needed for data sets
            s.skip(size);
            return;
        }
        fs::create_directories(target.parent_path());
        std::ofstream out(target, std::ios::binary | std::ios::trunc);
        if (!out) throw DataError(target.string() + ": cannot create file");
        std::vector<char> buf(1 << 16);
        uint64_t left = size;
        while (left > 0) {
            const std::size_t k = static_cast<std::size_t>(std::min<uint64_t>(left, buf.size()));
            s.read_exact(buf.data(), k, "file data");
            out.write(buf.data(), static_cast<std::streamsize>(k));
            left -= k;
        }
        if (!out) throw DataError(target.string() + ": write error (disk full?)");
    });
}

}  // namespace normout
