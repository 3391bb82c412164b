// shared/csv/csv.cpp — see csv.h.
#include "csv/csv.h"

#include <optional>
#include <set>

namespace ldx {

Result<CsvTable> csv_parse(std::string_view text, CsvLimits limits) {
    if (text.size() > limits.max_bytes)
        return problem("csv_too_large", "the file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                            std::to_string(limits.max_bytes));
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

    CsvTable t;
    std::vector<std::string> row;
    std::string cell;
    long line_row = 0;  // 0 = header
    size_t i = 0;
    const size_t n = text.size();
    bool row_has_content = false;

    auto finish_row = [&]() -> std::optional<Problem> {
        row.push_back(std::move(cell));
        cell.clear();
        const size_t cells = row.size();
        const bool blank = row.size() == 1 && row[0].empty() && !row_has_content;
        row_has_content = false;
        if (blank) {
            row.clear();
            return std::nullopt;
        }
        if (line_row == 0) {
            t.header = std::move(row);
            std::set<std::string> seen;
            for (const auto& h : t.header)
                if (!seen.insert(h).second)
                    return problem("csv_header", "the header names column '" + h + "' twice", h, 0);
        } else {
            if (t.rows.size() >= limits.max_rows)
                return problem("csv_too_large", "more than " + std::to_string(limits.max_rows) + " rows", "", line_row);
            t.rows.push_back(std::move(row));
        }
        row.clear();
        row.reserve(cells);  // the next row sized as this one: a file's rows are mostly alike
        ++line_row;
        return std::nullopt;
    };

    while (i < n) {
        char c = text[i];
        if (c == '"' && cell.empty()) {
            // quoted cell
            ++i;
            row_has_content = true;
            bool closed = false;
            while (i < n) {
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        cell += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                cell += text[i++];
                if (cell.size() > limits.max_cell_bytes)
                    return problem("csv_cell",
                                   "a cell is longer than " + std::to_string(limits.max_cell_bytes) + " bytes", "",
                                   line_row);
            }
            if (!closed) return problem("csv_quote", "a quoted cell is never closed", "", line_row);
            if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
                return problem("csv_quote", "text follows a closing quote", "", line_row);
            continue;
        }
        if (c == ',') {
            row_has_content = true;
            row.push_back(std::move(cell));
            cell.clear();
            if (row.size() > limits.max_columns)
                return problem("csv_columns", "more than " + std::to_string(limits.max_columns) + " columns", "",
                               line_row);
            ++i;
            continue;
        }
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
            ++i;
            if (auto p = finish_row()) return *p;
            continue;
        }
        if (c == '"') return problem("csv_quote", "a quote inside an unquoted cell", "", line_row);
        // The rest of an unquoted cell, up to the next comma, line end or quote, taken at once.
        size_t end = i + 1;
        while (end < n && text[end] != ',' && text[end] != '\n' && text[end] != '\r' && text[end] != '"') ++end;
        cell.append(text.data() + i, end - i);
        row_has_content = true;
        if (cell.size() > limits.max_cell_bytes)
            return problem("csv_cell", "a cell is longer than " + std::to_string(limits.max_cell_bytes) + " bytes", "",
                           line_row);
        i = end;
    }
    if (row_has_content || !cell.empty() || !row.empty())
        if (auto p = finish_row()) return *p;
    if (t.header.empty()) return problem("csv_empty", "the file has no header row");
    return t;
}

std::optional<Problem> csv_row_problem(const CsvTable& t, size_t i) {
    const size_t n = t.rows[i].size();
    if (n == t.header.size()) return std::nullopt;
    return problem("csv_columns",
                   "the row has " + std::to_string(n) + (n == 1 ? " cell" : " cells") + " where the header has " +
                       std::to_string(t.header.size()) + " columns",
                   "", static_cast<long>(i) + 1);
}

std::string csv_escape(std::string_view cell) {
    if (cell.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(cell);
    std::string s = "\"";
    for (char c : cell) {
        if (c == '"') s += '"';
        s += c;
    }
    return s + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) s += (i ? "," : "") + csv_escape(cells[i]);
    return s + "\n";
}

}  // namespace ldx
