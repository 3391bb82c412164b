// server/train/csv_batches.cpp — see stream.h: the rows of one or more CSV files, a batch at a time,
// one shard of them.
//
// Index of this file
//   [SECTION] Batches of CSV rows
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "train/stream.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Batches of CSV rows
//-----------------------------------------------------------------------------
namespace {
// One CSV record: a line, joined with the next while a quoted cell is still open. False at the end.
bool read_record(std::FILE* f, std::string& out) {
    out.clear();
    char* buf = nullptr;
    size_t cap = 0;
    bool open_quote = false, any = false;
    while (true) {
        const ssize_t n = getline(&buf, &cap, f);
        if (n < 0) break;
        any = true;
        std::string_view line(buf, static_cast<size_t>(n));
        for (char c : line)
            if (c == '"') open_quote = !open_quote;
        out.append(line);
        if (!open_quote) break;
    }
    std::free(buf);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return any;
}
}  // namespace

CsvBatches::CsvBatches(const Schema& schema, std::vector<std::string> files, size_t batch_rows, std::string group,
                       int shard, int shards)
    : schema_(&schema),
      files_(std::move(files)),
      batch_rows_(std::max<size_t>(batch_rows, 1)),
      group_(std::move(group)),
      shard_(shard),
      shards_(std::max(shards, 1)) {}

void CsvBatches::reset() {
    file_ = 0;
    line_ = 0;
    global_ = 0;
    in_.reset();
}

Result<std::optional<Dataset>> CsvBatches::next() {
    std::string text, record;
    std::vector<long> rows;  // each kept row's number in its file
    std::string file_name;
    while (rows.size() < batch_rows_) {
        if (!in_) {
            if (file_ >= files_.size()) break;
            if (!rows.empty()) break;  // a batch never spans two files (their rows are numbered apart)
            std::FILE* f = std::fopen(files_[file_].c_str(), "rb");
            if (!f) return problem("cannot_read", "cannot open " + files_[file_]);
            in_ = std::shared_ptr<std::FILE>(f, std::fclose);
            line_ = 0;
            std::string header;
            if (!read_record(f, header)) return problem("csv_empty", files_[file_] + " is empty");
            if (file_ == 0) header_ = header;
            else if (header != header_)
                return problem("bad_header", files_[file_] + "'s header differs from " + files_[0] +
                                                 "'s: shards of one extract need the same columns in the same order");
        }
        if (!read_record(in_.get(), record)) {
            in_.reset();
            ++file_;
            continue;
        }
        if (record.empty()) continue;
        ++line_;
        file_name = files_[file_];
        if (static_cast<int>(global_++ % static_cast<uint64_t>(shards_)) != shard_) continue;
        text += record;
        text += '\n';
        rows.push_back(line_);
    }
    if (rows.empty()) return std::optional<Dataset>{};
    auto d = dataset_from_csv(*schema_, header_ + "\n" + text, true, 20, group_, {});
    if (!d) {
        std::vector<Problem> ps = d.problems();
        for (auto& p : ps) {
            if (p.row >= 1 && static_cast<size_t>(p.row) <= rows.size()) p.row = rows[static_cast<size_t>(p.row - 1)];
            p.message = std::filesystem::path(file_name).filename().string() + ": " + p.message;
        }
        return ps;
    }
    return std::optional<Dataset>(std::move(*d));
}

}  // namespace ldx
