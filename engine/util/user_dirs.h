#pragma once
// The one place for the user's files, shared by the command line and the lab:
// $XDG_DATA_HOME/normout (or ~/.local/share/normout) with data/ and runs/ inside.
#include <string>

namespace normout {

std::string user_data_dir();     // $XDG_DATA_HOME/normout, ~/.local/share/normout, or ./normout
std::string default_data_dir();  // user_data_dir()/data
std::string default_runs_dir();  // user_data_dir()/runs

}  // namespace normout
