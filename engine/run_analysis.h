#pragma once
// Analysis results kept in a run file next to its training record: attack accuracies, masking
// diagnoses, flatness measures, landscape grids. Tables under /analysis/<table> are sets of
// equally long columns (float64 numbers, fixed-length strings), appended row by row; arrays under
// /analysis/arrays/<name> hold grids. Results are appended to the run's last segment once its
// writer has finished (a live SWMR file cannot take new objects). No torch here.
#include <limits>
#include <map>
#include <string>
#include <vector>

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

struct AnalysisData {
    std::map<std::string, AnalysisTable> tables;  // by table name
    std::map<std::string, AnalysisArray> arrays;  // by array name
};

// Opens the last segment of a finished, stopped, failed or interrupted run for appending.
// Throws RunFileError (naming the file) while the run is being written or if the file is not a run.
class AnalysisWriter {
  public:
    explicit AnalysisWriter(const std::string& run_path);
    ~AnalysisWriter();
    AnalysisWriter(const AnalysisWriter&) = delete;
    AnalysisWriter& operator=(const AnalysisWriter&) = delete;

    // Appends rows to /analysis/<table>; columns are created on first use (earlier rows read
    // NaN or "" there) and rows without a column get NaN or "".
    void append(const std::string& table, const std::vector<AnalysisRow>& rows);
    // Writes (or replaces) /analysis/arrays/<name>.
    void write_array(const std::string& name, const AnalysisArray& array);
    // Flushes and fsyncs.
    void commit();

  private:
    struct Impl;
    Impl* impl_;
};

// All analysis results of a run, from all its segments (later segments add rows).
AnalysisData read_analysis(const std::string& run_path);

}  // namespace normout
