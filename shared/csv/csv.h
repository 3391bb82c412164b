// shared/csv/csv.h — RFC 4180 CSV reading with limits.
//
// Index of this file
//   [SECTION] Limits and table
//   [SECTION] Parsing
//   [SECTION] Writing
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Limits and table
//-----------------------------------------------------------------------------
struct CsvLimits {
    size_t max_bytes = 256u << 20;
    size_t max_columns = 4096;
    size_t max_rows = 2000000;
    size_t max_cell_bytes = 4096;
};

struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;  // rows[i] is data row i+1 (the header is row 0)
};

//-----------------------------------------------------------------------------
// [SECTION] Parsing
//-----------------------------------------------------------------------------
// Accepts LF or CRLF line ends, quoted cells with "" escapes, a UTF-8 byte-order mark, and a
// missing final newline. Blank lines are skipped. A data row with more or fewer cells than the
// header is kept as read; csv_row_problem names it, and each reader decides (a file of patients
// rejects that row only). Problems: "csv_too_large", "csv_empty", "csv_quote", "csv_columns"
// (too many columns), "csv_cell", "csv_header"; they carry the 1-based data row.
[[nodiscard]] Result<CsvTable> csv_parse(std::string_view text, CsvLimits limits = {});

// "csv_columns" (with the row) when data row i + 1 has another number of cells than the header.
std::optional<Problem> csv_row_problem(const CsvTable& t, size_t i);

//-----------------------------------------------------------------------------
// [SECTION] Writing
//-----------------------------------------------------------------------------
// Quotes a cell only when it must (comma, quote, CR or LF).
std::string csv_escape(std::string_view cell);
std::string csv_line(const std::vector<std::string>& cells);  // ends with "\n"

}  // namespace ldx
