#include "engine/report/document.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace normout {

void Document::heading(const std::string& text, int level) {
    Block b;
    b.kind = Block::Kind::Heading;
    b.level = level < 1 ? 1 : (level > 3 ? 3 : level);
    b.text = text;
    blocks.push_back(std::move(b));
}

void Document::paragraph(const std::string& text) {
    Block b;
    b.kind = Block::Kind::Paragraph;
    b.text = text;
    blocks.push_back(std::move(b));
}

void Document::preformatted(const std::string& text) {
    Block b;
    b.kind = Block::Kind::Preformatted;
    b.text = text;
    blocks.push_back(std::move(b));
}

void Document::table(TableBlock t) {
    Block b;
    b.kind = Block::Kind::Table;
    b.table = std::move(t);
    blocks.push_back(std::move(b));
}

void Document::figure(Chart c) {
    Block b;
    b.kind = Block::Kind::Figure;
    b.chart = std::move(c);
    blocks.push_back(std::move(b));
}

namespace {

std::string trimmed(const std::string& s) {
    std::size_t a = 0, b = s.size();
    while (a < b && std::isspace(static_cast<unsigned char>(s[a])))
        ++a;
    while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1])))
        --b;
    return s.substr(a, b - a);
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_placeholder(const std::string& text) {
    const std::string t = trimmed(text);
    return t == "-" || t == "\xE2\x80\x94" /* — */ || t == "\xE2\x80\x93" /* – */ || t == "n/a" || t == "NaN" ||
           t == "nan" || t == "?";
}

bool starts_with_nocase(const std::string& text, const char* word) {
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
    for (const char* w = word; *w; ++w, ++i) {
        if (i >= text.size() || std::tolower(static_cast<unsigned char>(text[i])) != *w) return false;
    }
    return true;
}

}  // namespace

bool cell_is_numeric(const std::string& text) {
    const std::string t = trimmed(text);
    std::size_t i = 0;
    if (t.compare(0, 3, "\xE2\x88\x92") == 0) {
        i = 3;  // U+2212 minus sign
    } else if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
        i = 1;
    }
    if (i < t.size() && t[i] == '.') ++i;
    return i < t.size() && is_digit(t[i]);
}

std::vector<bool> numeric_columns(const TableBlock& t) {
    std::size_t columns = t.header.size();
    for (const auto& row : t.rows)
        columns = std::max(columns, row.size());
    std::vector<bool> numeric(columns, false);
    for (std::size_t c = 0; c < columns; ++c) {
        bool any = false, all = true;
        for (const auto& row : t.rows) {
            if (c >= row.size() || trimmed(row[c]).empty() || is_placeholder(row[c])) continue;
            any = true;
            if (!cell_is_numeric(row[c])) {
                all = false;
                break;
            }
        }
        numeric[c] = any && all;
    }
    return numeric;
}

bool cell_right_aligned(const std::string& text, bool numeric_column) {
    return cell_is_numeric(text) || (numeric_column && is_placeholder(text));
}

Verdict cell_verdict(const std::string& text) {
    if (starts_with_nocase(text, "supported")) return Verdict::Supported;
    if (starts_with_nocase(text, "contradicted")) return Verdict::Contradicted;
    if (starts_with_nocase(text, "inconclusive")) return Verdict::Inconclusive;
    return Verdict::None;
}

}  // namespace normout
