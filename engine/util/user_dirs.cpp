#include "engine/util/user_dirs.h"

#include <cstdlib>
#include <filesystem>

namespace normout {

namespace fs = std::filesystem;

std::string user_data_dir() {
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return (fs::path(xdg) / "normout").string();
    if (const char* home = std::getenv("HOME"); home && *home)
        return (fs::path(home) / ".local" / "share" / "normout").string();
    return (fs::current_path() / "normout").string();
}

std::string default_data_dir() {
    return (fs::path(user_data_dir()) / "data").string();
}

std::string default_runs_dir() {
    return (fs::path(user_data_dir()) / "runs").string();
}

}  // namespace normout
