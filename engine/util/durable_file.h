#pragma once
// Writing files so that a crash or power loss leaves either the old or the new content: write,
// fsync, rename, fsync the folder. Errors carry the system's reason.
#include <string>

namespace normout {

// Writes all bytes to `path` (created or truncated) and fsyncs it; throws std::runtime_error
// with the system's reason. The descriptor is closed on every path.
void write_file_durably(const std::string& path, const std::string& bytes);

// Replaces `path` by a file holding `bytes` in one rename (written to PATH.tmp-<pid> beside it and
// synced first): readers see the old file or the new one, a failure leaves the old one and no
// temporary file. Throws std::runtime_error naming the path and the system's reason.
void replace_file_durably(const std::string& path, const std::string& bytes);

// fsyncs the folder holding `path`, so that a rename into it survives a power loss; throws
// std::runtime_error when the folder cannot be opened or synced.
void fsync_parent_folder(const std::string& path);

// fsyncs an existing file by path; throws std::runtime_error on failure.
void fsync_file(const std::string& path);

}  // namespace normout
