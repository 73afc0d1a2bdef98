#pragma once
// Where the inspector finds per-unit histograms: the live epoch in progress and the newest live
// epoch from memory (RunData), every other epoch read from the run file on demand, with the last
// reads cached. Reads that fail give a message, never an exception.
#include <QString>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "ui/run_data.h"

namespace normout::ui {

class UnitSource {
  public:
    // One layer's units in one epoch; nullptr (and `error` set) when the run has none.
    const UnitHistograms* epoch(const RunData& run, int layer, int epoch, QString* error);
    // One unit over the finished epochs (oldest first), plus the epoch in progress of a live run.
    const std::vector<UnitHistograms>& history(const RunData& run, int layer, int64_t unit, QString* error);
    // Forget what was read (another run, or the file grew).
    void clear();

  private:
    // Whether `history_` (read for `finished` - 1 epochs) needs only the newest epoch, held in memory.
    bool extends_from_memory(const RunData& run, int layer, int64_t unit, std::size_t finished) const;

    std::string path_;
    std::map<std::pair<int, int>, UnitHistograms> epochs_;  // (layer, epoch) read from the file
    std::optional<UnitHistograms> so_far_;                  // converted from RunData::epoch_so_far
    struct History {
        int layer = -1;
        int64_t unit = -1;
        std::size_t finished = 0;  // finished epochs when it was read
        std::vector<UnitHistograms> rows;
    } history_;
    std::vector<UnitHistograms> combined_;
};

}  // namespace normout::ui
