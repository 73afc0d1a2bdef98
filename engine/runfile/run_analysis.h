#pragma once
// Analysis results of a run: attack accuracies, masking diagnoses, flatness measures, landscape
// grids. Tables under /analysis/<table> are sets of equally long columns (float64 numbers,
// fixed-length strings), appended row by row; arrays under /analysis/arrays/<name> hold grids.
// No torch here.
//
// Where they live (docs/run-file.md, "Analysis results"): the run file is never written once its
// training has ended. Results go to a sidecar file next to it, RUN.analysis.hdf5, with the same
// /analysis layout. A writer never opens the sidecar in place: holding RUN.analysis.lock it
// copies the sidecar, appends to the copy and renames the copy over it. So readers (h5py, the
// lab's Runs tab, a sweep's progress) never block a writer, and a writer killed at any moment
// leaves the run file and the previous sidecar as they were. Older files kept /analysis inside
// the run file's segments; read_analysis() still reads it. Results that cannot be stored are
// kept in a JSON file next to the run (RUN.analysis-unsaved-<time>-<pid>.json) that
// read_analysis() reads too and the next writer moves into the sidecar.
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/runfile/hdf5_handle.h"

namespace normout {

struct AnalysisRow {
    std::map<std::string, double> numbers;
    std::map<std::string, std::string> texts;  // at most 255 bytes each

    // A cell, or NaN / "" when the row has no such column.
    double number(const std::string& key) const {
        const auto it = numbers.find(key);
        return it == numbers.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
    }
    std::string text(const std::string& key) const {
        const auto it = texts.find(key);
        return it == texts.end() ? std::string() : it->second;
    }
};

struct AnalysisArray {
    std::vector<int64_t> shape;
    std::vector<double> values;                     // row-major
    std::map<std::string, std::string> attributes;  // e.g. what the axes are
};

struct AnalysisTable {
    std::vector<AnalysisRow> rows;
};

// Results that could not be stored in the sidecar and wait in a JSON file (their rows are part
// of the tables and arrays of AnalysisData all the same).
struct UnsavedAnalysis {
    std::string path;         // the JSON file
    std::string reason;       // why they were not stored
    std::string created_utc;  // when
};

struct AnalysisData {
    std::map<std::string, AnalysisTable> tables;  // by table name
    std::map<std::string, AnalysisArray> arrays;  // by array name
    std::vector<UnsavedAnalysis> unsaved;         // empty when everything is in the sidecar
};

// What one analysis adds: rows per table, arrays (written again, an array replaces the old one).
struct AnalysisBatch {
    std::map<std::string, std::vector<AnalysisRow>> tables;
    std::map<std::string, AnalysisArray> arrays;
    bool empty() const;
};

// RUN.h5 -> RUN.analysis.hdf5 (not *.h5: folders of runs are globbed for *.h5).
std::string analysis_path(const std::string& run_path);
// The files besides the run's segments that hold its analysis and exist now: the sidecar and
// unsaved JSON files. Watchers include them in what they compare (their sizes and times).
std::vector<std::string> analysis_files(const std::string& run_path);

// How long a writer waits for another process storing results of the same run.
constexpr int kAnalysisLockWaitSeconds = 300;

// Appends to the sidecar of a finished, stopped, failed or interrupted run. The constructor
// waits (up to kAnalysisLockWaitSeconds) while another process stores results of the same run,
// then works on a private copy; commit() puts the copy in place in one rename. Without commit()
// nothing changes. Throws RunFileError (naming the file and the cause) while the run is being
// written (unless `by_its_writer`: training storing what it measured, before it ends the run),
// if the file is not a run, or when the sidecar cannot be written.
class AnalysisWriter {
  public:
    explicit AnalysisWriter(const std::string& run_path, bool by_its_writer = false);
    ~AnalysisWriter();
    AnalysisWriter(const AnalysisWriter&) = delete;
    AnalysisWriter& operator=(const AnalysisWriter&) = delete;

    // Appends rows to /analysis/<table>; columns are created on first use (earlier rows read
    // NaN or "" there) and rows without a column get NaN or "".
    void append(const std::string& table, const std::vector<AnalysisRow>& rows);
    // Writes (or replaces) /analysis/arrays/<name>.
    void write_array(const std::string& name, const AnalysisArray& array);
    void write(const AnalysisBatch& batch);
    // Makes everything durable and visible: the copy is synced and renamed over the sidecar.
    // Results waiting in unsaved JSON files of the run are moved into the sidecar with it.
    void commit();
    const std::string& path() const;  // the sidecar

  private:
    struct Impl;
    Impl* impl_;
};

// Results that could not be stored; what() says why and where they are kept instead.
class AnalysisNotStored : public RunFileError {
  public:
    AnalysisNotStored(const std::string& message, std::string kept_in)
        : RunFileError(message), kept_in_(std::move(kept_in)) {}
    // The JSON file holding the results, or "" if even that could not be written.
    const std::string& kept_in() const { return kept_in_; }

  private:
    std::string kept_in_;
};

// Stores one analysis so that computed results are never lost. `make` builds the batch from what
// the run holds so far (read while holding the writers' lock, so numbering by the stored rows
// stays unique). Returns the sidecar's path. When the sidecar cannot be written the batch goes
// to RUN.analysis-unsaved-<time>-<pid>.json (or, where the run's folder is not writable, to
// <user data>/unsaved-analysis/) and AnalysisNotStored is thrown naming the cause and that file.
// `by_its_writer` as for AnalysisWriter.
std::string store_analysis(const std::string& run_path, const std::function<AnalysisBatch(const AnalysisData&)>& make,
                           bool by_its_writer = false);

// Appends to /analysis of an HDF5 file in place, as older run files hold it: for tests and tools
// that build files. Not safe against a kill or with readers: runs are analysed with
// store_analysis() or AnalysisWriter.
void write_analysis_in_place(const std::string& file_path, const AnalysisBatch& batch);

// All analysis results of a run: /analysis of every segment (older files), then the sidecar,
// then results waiting in unsaved JSON files.
AnalysisData read_analysis(const std::string& run_path);

}  // namespace normout
