#include "engine/data/archive.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>

#include "engine/data/image_set.h"

#ifdef NORMOUT_HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

namespace normout {

bool is_tar_name(const std::string& path) {
    auto ends = [&](const char* s) {
        const std::size_t n = std::strlen(s);
        return path.size() >= n && path.compare(path.size() - n, n, s) == 0;
    };
    return ends(".tar") || ends(".tar.gz") || ends(".tgz");
}

#ifdef NORMOUT_HAVE_LIBARCHIVE

namespace {

namespace fs = std::filesystem;

struct Member {
    std::string path;  // without a leading "./"; empty for the archive's root directory
    bool directory = false;
    uint64_t size = 0;
};

std::string in_quotes(const std::string& s) {
    return "'" + s + "'";
}

// One pass over an archive with libarchive, which parses the tar and gzip formats; this class
// adds the checks of archive.h and turns libarchive's errors into DataErrors.
class TarReader {
  public:
    explicit TarReader(const std::string& path) : name_(path), a_(archive_read_new()) {
        if (!a_) throw std::bad_alloc();
        // Tar only (ustar, pax, GNU, v7), plain or gzip: no other parser sees untrusted input.
        // ARCHIVE_WARN from the gzip filter (accepted) means libarchive would run an external gzip.
        if (archive_read_support_filter_gzip(a_.get()) < ARCHIVE_WARN ||
            archive_read_support_format_tar(a_.get()) != ARCHIVE_OK)
            throw DataError(name_ + ": cannot set up the archive reader: " + libarchive_message());
        if (!std::ifstream(path, std::ios::binary))
            throw DataError(name_ + ": cannot open archive: " + std::strerror(errno));
        // Opening reads the start of the archive, to recognise its compression and format.
        if (archive_read_open_filename(a_.get(), path.c_str(), 1 << 17) != ARCHIVE_OK) fail("at its start");
    }

    // Calls on_member(member) for every member, after checking it; on_member may read the
    // member's content with read_chunk.
    template <class F>
    void for_each(F&& on_member) {
        while (true) {
            archive_entry* entry = nullptr;
            const int r = archive_read_next_header(a_.get(), &entry);
            if (r == ARCHIVE_EOF) return;
            if (r != ARCHIVE_OK && r != ARCHIVE_WARN)  // warnings: e.g. a path not in the locale
                fail(last_.empty() ? std::string("at its start") : "after member " + in_quotes(last_));
            Member m = check(entry);
            last_ = m.path;
            on_member(m);
        }
    }

    // Reads up to n bytes of the current member's content; 0 at its end.
    std::size_t read_chunk(void* buffer, std::size_t n, const Member& m) {
        const la_ssize_t got = archive_read_data(a_.get(), buffer, n);
        if (got < 0) fail("while reading member " + in_quotes(m.path));
        return static_cast<std::size_t>(got);
    }

    // "ARCHIVE: member 'PATH' "
    std::string about(const std::string& path) const { return name_ + ": member " + in_quotes(path) + " "; }

  private:
    std::string libarchive_message() const {
        const char* s = archive_error_string(a_.get());
        return s ? s : "unknown error";
    }

    [[noreturn]] void fail(const std::string& where) const {
        const std::string msg = libarchive_message();
        std::string lower = msg;
        for (char& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.find("truncat") != std::string::npos || lower.find("premature end") != std::string::npos)
            throw DataError(name_ + ": truncated archive " + where + " (" + msg + ")");
        if (last_.empty() && where == "at its start")
            throw DataError(name_ + ": corrupt archive, or not a tar or tar.gz file (" + msg + ")");
        throw DataError(name_ + ": corrupt archive " + where + " (" + msg + ")");
    }

    Member check(archive_entry* entry) const {
        const char* raw = archive_entry_pathname(entry);
        if (!raw) raw = archive_entry_pathname_utf8(entry);
        if (!raw)
            throw DataError(name_ + ": a member " +
                            (last_.empty() ? std::string("at the start") : "after " + in_quotes(last_)) +
                            " has no readable path");
        Member m;
        m.path = raw;
        while (m.path.rfind("./", 0) == 0)
            m.path.erase(0, 2);
        if (m.path == ".") m.path.clear();
        const fs::path rel(m.path);
        bool unsafe = rel.is_absolute() || rel.has_root_name() || rel.has_root_directory();
        for (const auto& part : rel)
            unsafe |= part == "..";
        if (unsafe)
            throw DataError(name_ + ": refusing unsafe path " + in_quotes(m.path) +
                            " (absolute, or with a '..' component)");
        if (const char* target = archive_entry_hardlink(entry))
            throw DataError(about(m.path) + "is a hard link (to " + in_quotes(target) +
                            "): links are refused in data archives");
        switch (archive_entry_filetype(entry)) {
            case AE_IFREG:
                break;
            case AE_IFDIR:
                m.directory = true;
                return m;
            case AE_IFLNK: {
                const char* target = archive_entry_symlink(entry);
                throw DataError(about(m.path) + "is a symbolic link (to " + in_quotes(target ? target : "?") +
                                "): links are refused in data archives");
            }
            case AE_IFCHR:
            case AE_IFBLK:
                throw DataError(about(m.path) + "is a device file: only files and directories are accepted");
            case AE_IFIFO:
                throw DataError(about(m.path) + "is a FIFO: only files and directories are accepted");
            default:
                throw DataError(about(m.path) + "is not a regular file or a directory");
        }
        if (m.path.empty()) throw DataError(name_ + ": a file member has an empty path");
        const la_int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
        if (size < 0 || static_cast<uint64_t>(size) > kMaxTarMemberBytes)
            throw DataError(about(m.path) + "is " + std::to_string(size) +
                            " bytes, more than the 1 GiB a data-set file may have");
        m.size = static_cast<uint64_t>(size);
        return m;
    }

    struct Free {
        void operator()(archive* a) const { archive_read_free(a); }
    };

    std::string name_;
    std::unique_ptr<archive, Free> a_;
    std::string last_;  // the previous member, for messages
};

constexpr std::size_t kChunk = 1 << 16;

}  // namespace

bool tar_supported() {
    return true;
}

void read_tar(const std::string& archive, const std::function<bool(const TarFile&)>& want,
              const std::function<void(const TarFile&, std::vector<uint8_t>&&)>& take) {
    TarReader in(archive);
    std::vector<uint8_t> chunk(kChunk);
    in.for_each([&](const Member& m) {
        if (m.directory) return;
        const TarFile f{m.path, m.size};
        if (!want(f)) return;  // libarchive skips the content
        // Grown as data arrives (never beyond the checked size): a lying size field cannot
        // force a large allocation before the archive runs out.
        std::vector<uint8_t> data;
        while (const std::size_t got = in.read_chunk(chunk.data(), chunk.size(), m)) {
            if (data.size() + got > m.size)
                throw DataError(in.about(m.path) + "holds more data than its header declares");
            data.insert(data.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
        }
        if (data.size() != m.size)
            throw DataError(archive + ": truncated archive while reading member '" + m.path + "'");
        take(f, std::move(data));
    });
}

void extract_tar(const std::string& archive, const std::string& dest) {
    TarReader in(archive);
    const fs::path root(dest);
    std::vector<char> chunk(kChunk);
    in.for_each([&](const Member& m) {
        if (m.path.empty()) return;  // "./": dest itself
        const fs::path rel(m.path);
        const fs::path target = root / rel;
        try {
            fs::create_directories(root);
            // Nothing below dest that this member passes through may be a link (the archive
            // cannot make one, but dest may hold older files).
            fs::path at = root;
            for (const auto& part : rel) {
                at /= part;
                if (fs::is_symlink(fs::symlink_status(at)))
                    throw DataError(in.about(m.path) + "would be written through the symbolic link " + at.string());
            }
            if (m.directory) {
                fs::create_directories(target);
                return;
            }
            fs::create_directories(target.parent_path());
        } catch (const fs::filesystem_error& e) {
            throw DataError(in.about(m.path) + "cannot be extracted: " + e.what());
        }
        std::ofstream out(target, std::ios::binary | std::ios::trunc);
        if (!out)
            throw DataError(target.string() + ": cannot create file (member '" + m.path + "' of " + archive + ")");
        uint64_t written = 0;
        while (const std::size_t got = in.read_chunk(chunk.data(), chunk.size(), m)) {
            written += got;
            if (written > m.size) throw DataError(in.about(m.path) + "holds more data than its header declares");
            out.write(chunk.data(), static_cast<std::streamsize>(got));
        }
        if (written != m.size) throw DataError(archive + ": truncated archive while reading member '" + m.path + "'");
        out.close();
        if (!out) throw DataError(target.string() + ": write error (disk full?)");
    });
}

#else  // no libarchive: the API stays, every archive is refused with the reason

namespace {
[[noreturn]] void no_archive_support(const std::string& archive) {
    throw DataError(archive +
                    ": cannot read tar archives: this build of NormOut Lab has no archive support (it was "
                    "built without libarchive); unpack the archive and give its folder instead");
}
}  // namespace

bool tar_supported() {
    return false;
}

void read_tar(const std::string& archive, const std::function<bool(const TarFile&)>&,
              const std::function<void(const TarFile&, std::vector<uint8_t>&&)>&) {
    no_archive_support(archive);
}

void extract_tar(const std::string& archive, const std::string&) {
    no_archive_support(archive);
}

#endif

}  // namespace normout
