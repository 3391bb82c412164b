// server/train/stream.h — training that never holds the whole data: XGBoost's external memory,
// and distributed workers joined by XGBoost's collective.
//
// Index of this file
//   [SECTION] Folds drawn while reading
//   [SECTION] Batches of CSV rows
//   [SECTION] Streaming training (and what the workers share: gathering, a lost peer)
//
// The CSV files are read a batch of rows at a time through dataset_from_csv, so every row's
// features come from the same record_prepare as in-memory training and prediction. Folds are
// drawn while reading: each run of `folds` rows of one class is spread over the folds in a random
// order (stratified; regression: runs of rows), or, with train.json's group column, a patient's
// rows all go to the fold a hash of the id names (so a patient split across shards stays in one
// fold). What LocalDx keeps per row: its fold, label and held-out outputs (a few bytes; XGBoost
// 1.7 keeps its own labels, weights, gradients and row partition per row, docs/training.md); plus
// one batch, a uniform sample of rows for the parts of the card that need field values, and,
// without external memory, the worker's own rows.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "train/train.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Folds drawn while reading
//-----------------------------------------------------------------------------
// Each run of `folds` rows of a stratum goes to the folds in a fresh random order (seeded by `seed`
// and the worker's `shard`); with a group, group_fold(id, folds, seed) picks the fold (folds.h): the
// same on every worker, and the same as `localdx tune --workers`'s outer folds (group_fold_seed(seed, 0)).
class FoldDraw {
public:
    FoldDraw(int folds, int strata, uint64_t seed, int shard);
    int fold(int stratum, const std::string* group);

private:
    int folds_;
    std::mt19937_64 rng_;
    std::vector<std::vector<int>> runs_;
    std::vector<int> used_;
    uint64_t seed_;
};

//-----------------------------------------------------------------------------
// [SECTION] Batches of CSV rows
//-----------------------------------------------------------------------------
// Rows of one or more CSV files (the same header in each), `batch_rows` at a time, keeping the
// rows whose index over all the files is `shard` modulo `shards`. Problems name the file and the
// row as numbered in that file.
class CsvBatches {
public:
    CsvBatches(const Schema& schema, std::vector<std::string> files, size_t batch_rows, std::string group,
               int shard = 0, int shards = 1);
    void reset();
    Result<std::optional<Dataset>> next();  // nothing at the end

private:
    const Schema* schema_;
    std::vector<std::string> files_;
    size_t batch_rows_;
    std::string group_;
    int shard_, shards_;
    size_t file_ = 0;
    long line_ = 0;        // data rows read so far in the current file
    uint64_t global_ = 0;  // data rows read so far over all files
    std::string header_;
    std::shared_ptr<std::FILE> in_;
};

//-----------------------------------------------------------------------------
// [SECTION] Streaming training
//-----------------------------------------------------------------------------
struct StreamOptions {
    std::vector<std::string> files;
    size_t batch_rows = 100000;
    std::string cache_dir;      // XGBoost's external-memory pages go here; empty: the rows kept in memory
    int shard = 0, shards = 1;  // which rows of `files` this process reads
    const XgbCollective* collective = nullptr;  // distributed: every worker runs train_stream together
    size_t sample_rows = 50000;                 // rows (over all workers) kept for the card's value-based parts
};

// Every worker's `mine` laid end to end in rank order, on every worker (XGBoost 1.7's collective
// has allreduce but no gather: a sum of zero-padded copies); without a collective, `mine`.
Result<std::vector<double>> gather_workers(const XgbCollective* c, std::vector<double> mine);
// Problems of a collective step that failed because a peer is gone ("Allreduce failed", a
// socket): said as such, so that the worker's own log names the reason. Others are kept as they are.
std::vector<Problem> worker_lost(const XgbCollective* c, std::vector<Problem> ps);

// Cross-validation, held-out outputs, final fit and the card as train_model does, over batches.
// Distributed: the workers' class counts, held-out outputs and samples are summed and gathered
// through the collective; every worker ends with the same model; the card is made on rank 0,
// which alone gets a result (the others get nothing).
Result<std::optional<TrainResult>> train_stream(const Schema& schema, const TrainConfig& cfg,
                                                const StreamOptions& options, const TrainLog& log);

}  // namespace ldx
