// server/train/stream.cpp — see stream.h (its CSV batches are in csv_batches.cpp).
//
// Index of this file
//   [SECTION] Folds drawn while reading
//   [SECTION] Prepared rows (from the CSV, or from the file of the first pass)
//   [SECTION] Rows for XGBoost (a fold's training or held-out rows, batch by batch)
//   [SECTION] Gathering across workers, and a lost peer
//   [SECTION] Streaming training
#include "train/stream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Folds drawn while reading
//-----------------------------------------------------------------------------
FoldDraw::FoldDraw(int folds, int strata, uint64_t seed, int shard)
    : folds_(folds),
      rng_(seed * 1000003u + static_cast<uint64_t>(shard)),
      runs_(static_cast<size_t>(strata)),
      used_(static_cast<size_t>(strata), folds),
      seed_(seed) {}

int FoldDraw::fold(int stratum, const std::string* group) {
    if (group) return group_fold(*group, folds_, seed_);
    auto& run = runs_[static_cast<size_t>(stratum)];
    int& used = used_[static_cast<size_t>(stratum)];
    if (used == folds_) {
        run.resize(static_cast<size_t>(folds_));
        for (int f = 0; f < folds_; ++f) run[static_cast<size_t>(f)] = f;
        std::shuffle(run.begin(), run.end(), rng_);
        used = 0;
    }
    return run[static_cast<size_t>(used++)];
}

//-----------------------------------------------------------------------------
// [SECTION] Prepared rows (from the CSV, or from the file of the first pass)
//-----------------------------------------------------------------------------
namespace {
// One pass over the worker's prepared rows (features and labels), a batch at a time.
class Prepared {
public:
    virtual ~Prepared() = default;
    virtual void reset() = 0;
    virtual Result<bool> next(Matrix& x, std::vector<float>& labels) = 0;
};

// The CSV read and prepared again.
class CsvPrepared : public Prepared {
public:
    explicit CsvPrepared(CsvBatches& csv) : csv_(csv) {}
    void reset() override { csv_.reset(); }
    Result<bool> next(Matrix& x, std::vector<float>& labels) override {
        auto batch = csv_.next();
        if (!batch) return batch.problems();
        if (!*batch) return false;
        x = std::move((*batch)->x);
        labels = std::move((*batch)->labels);
        return true;
    }

private:
    CsvBatches& csv_;
};

// The rows the first pass prepared, kept in a file (external memory: beside XGBoost's pages) so
// that the later passes read floats instead of parsing and preparing the CSV again. Each batch:
// rows, columns, the features (rows x columns), the labels. The file goes with the object.
class FilePrepared : public Prepared {
public:
    static Result<std::unique_ptr<FilePrepared>> create(const std::string& path) {
        std::FILE* f = std::fopen(path.c_str(), "w+b");
        if (!f) return problem("cannot_write", "cannot create " + path);
        return std::make_unique<FilePrepared>(path, std::shared_ptr<std::FILE>(f, std::fclose));
    }
    FilePrepared(std::string path, std::shared_ptr<std::FILE> file) : path_(std::move(path)), file_(std::move(file)) {}
    ~FilePrepared() override {
        file_.reset();
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    Result<bool> append(const Matrix& x, std::span<const float> labels) {
        const uint64_t head[2] = {x.rows, x.cols};
        std::FILE* f = file_.get();
        if (std::fwrite(head, sizeof head, 1, f) != 1 ||
            std::fwrite(x.data.data(), sizeof(float), x.data.size(), f) != x.data.size() ||
            std::fwrite(labels.data(), sizeof(float), labels.size(), f) != labels.size())
            return problem("cannot_write", "cannot write " + path_ + " (is the disk full?)");
        return true;
    }
    void reset() override { std::fseek(file_.get(), 0, SEEK_SET); }
    Result<bool> next(Matrix& x, std::vector<float>& labels) override {
        uint64_t head[2];
        std::FILE* f = file_.get();
        if (std::fread(head, sizeof head, 1, f) != 1) return false;
        x.rows = head[0];
        x.cols = head[1];
        x.data.resize(x.rows * x.cols);
        labels.resize(x.rows);
        if (std::fread(x.data.data(), sizeof(float), x.data.size(), f) != x.data.size() ||
            std::fread(labels.data(), sizeof(float), labels.size(), f) != labels.size())
            return problem("cannot_read", "cannot read " + path_ + " back");
        return true;
    }

private:
    std::string path_;
    std::shared_ptr<std::FILE> file_;
};
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Rows for XGBoost (a fold's training or held-out rows, batch by batch)
//-----------------------------------------------------------------------------
namespace {
// The prepared rows whose fold `keep` accepts, with class weights per class.
class FoldRows : public BatchSource {
public:
    FoldRows(Prepared& rows, const std::vector<uint8_t>& folds, std::function<bool(int)> keep,
             std::vector<float> class_weight)
        : rows_(rows), folds_(folds), keep_(std::move(keep)), class_weight_(std::move(class_weight)) {}
    void reset() override {
        rows_.reset();
        row_ = 0;
    }
    Result<bool> next(Matrix& x, std::vector<float>& labels, std::vector<float>& weights) override {
        while (true) {
            auto more = rows_.next(batch_, batch_labels_);
            if (!more) return more.problems();
            if (!*more) return false;
            std::vector<size_t> take;
            for (size_t i = 0; i < batch_.rows; ++i)
                if (keep_(folds_[row_ + i])) take.push_back(i);
            row_ += batch_.rows;
            if (take.empty()) continue;
            x = take.size() == batch_.rows ? std::move(batch_) : matrix_select_rows(batch_, take);
            labels.clear();
            weights.clear();
            for (size_t i : take) {
                labels.push_back(batch_labels_[i]);
                if (!class_weight_.empty()) weights.push_back(class_weight_[static_cast<size_t>(batch_labels_[i])]);
            }
            return true;
        }
    }

private:
    Prepared& rows_;
    const std::vector<uint8_t>& folds_;
    std::function<bool(int)> keep_;
    std::vector<float> class_weight_;
    Matrix batch_;
    std::vector<float> batch_labels_;
    size_t row_ = 0;
};

// XGBoost data of the rows: external memory (pages in `cache_dir`), or quantised in memory
// (XGBoost keeps each row's histogram bins, not its values); held-out data takes `ref`'s bins.
Result<XgbData> rows_data(FoldRows& rows, const std::string& cache_dir, const std::string& name, const XgbData* ref,
                          int max_bin) {
    if (!cache_dir.empty()) return XgbData::external(rows, cache_dir + "/" + name);
    return XgbData::quantile(rows, ref, max_bin);
}

// A booster without the prediction caches XGBoost keeps for the matrices it was trained and
// evaluated on (a float a row and class each): the same trees, through the model's JSON.
Result<XgbBooster> without_caches(const XgbBooster& b) { return XgbBooster::load_json(b.save_json()); }
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Gathering across workers, and a lost peer
//-----------------------------------------------------------------------------
Result<std::vector<double>> gather_workers(const XgbCollective* c, std::vector<double> mine) {
    if (!c) return mine;
    std::vector<double> sizes(static_cast<size_t>(c->world()), 0.0);
    sizes[static_cast<size_t>(c->rank())] = static_cast<double>(mine.size());
    if (auto ok = c->sum(sizes); !ok) return worker_lost(c, ok.problems());
    size_t offset = 0, total = 0;
    for (int r = 0; r < c->world(); ++r) {
        if (r < c->rank()) offset += static_cast<size_t>(sizes[static_cast<size_t>(r)]);
        total += static_cast<size_t>(sizes[static_cast<size_t>(r)]);
    }
    std::vector<double> all(total, 0.0);
    std::copy(mine.begin(), mine.end(), all.begin() + static_cast<long>(offset));
    mine = {};
    if (auto ok = c->sum(all); !ok) return worker_lost(c, ok.problems());
    return all;
}

std::vector<Problem> worker_lost(const XgbCollective* c, std::vector<Problem> ps) {
    if (c)
        for (auto& p : ps)
            if (p.code == "collective" ||
                (p.code == "xgboost" && (p.message.find("Allreduce failed") != std::string::npos ||
                                         p.message.find("Broadcast failed") != std::string::npos ||
                                         p.message.find("socket") != std::string::npos))) {
                p.code = "worker_lost";
                p.message =
                    "another worker stopped or cannot be reached (XGBoost's collective failed), so this "
                    "one stops too and writes nothing: " +
                    p.message;
            }
    return ps;
}

//-----------------------------------------------------------------------------
// [SECTION] Streaming training
//-----------------------------------------------------------------------------
namespace {
struct Sample {  // a uniform sample of the worker's rows (reservoir)
    Matrix x;
    std::vector<double> values, outcomes;
    std::vector<float> labels;
    std::vector<int> folds;
};
}  // namespace

Result<std::optional<TrainResult>> train_stream(const Schema& schema, const TrainConfig& cfg, const StreamOptions& o,
                                                const TrainLog& log) {
    if (!cfg.time.empty())
        return problem("unsupported",
                       "forward-chaining folds need the rows sorted by time, which external-memory and distributed "
                       "training do not do: train in memory, or leave \"time\" out of train.json",
                       "time");
    const XgbCollective* c = o.collective;
    auto peer_failed = [c](std::vector<Problem> ps) { return worker_lost(c, std::move(ps)); };
    const bool regression = schema.outputs.regression();
    const int k = regression ? 1 : schema.num_classes();
    const size_t width = static_cast<size_t>(regression ? 1 : k);
    const int folds = cfg.folds;
    const size_t nf = schema.fields.size();
    CsvBatches csv(schema, o.files, o.batch_rows, cfg.group, o.shard, o.shards);
    // External memory: the first pass keeps the prepared rows in a file for the later passes.
    std::unique_ptr<FilePrepared> kept;
    if (!o.cache_dir.empty()) {
        auto f = FilePrepared::create(o.cache_dir + "/prepared-rows");
        if (!f) return f.problems();
        kept = std::move(*f);
    }
    CsvPrepared reread(csv);
    Prepared& rows = kept ? static_cast<Prepared&>(*kept) : reread;

    // 1. One pass: each row's fold and label, counts per fold and class, and the sample.
    std::vector<uint8_t> fold_of;
    std::vector<float> label_of;
    std::vector<double> count(static_cast<size_t>(folds * k), 0.0), outcome_sum(static_cast<size_t>(folds), 0.0);
    FoldDraw draw(folds, k, cfg.seed, o.shard);
    Sample sample;
    const size_t sample_cap = std::max<size_t>(o.sample_rows / static_cast<size_t>(c ? c->world() : 1), 100);
    std::mt19937_64 pick(cfg.seed * 7919u + static_cast<uint64_t>(o.shard));
    size_t batches = 0;
    while (true) {
        auto batch = csv.next();
        if (!batch) return batch.problems();
        if (!*batch) break;
        ++batches;
        const Dataset& d = **batch;
        if (kept)
            if (auto ok = kept->append(d.x, d.labels); !ok) return ok.problems();
        sample.x.cols = d.x.cols;
        for (size_t i = 0; i < d.rows(); ++i) {
            const int stratum = regression ? 0 : static_cast<int>(d.labels[i]);
            const int f = draw.fold(stratum, cfg.group.empty() ? nullptr : &d.groups[i]);
            const size_t n = fold_of.size();
            fold_of.push_back(static_cast<uint8_t>(f));
            label_of.push_back(d.labels[i]);
            count[static_cast<size_t>(f * k + stratum)] += 1;
            if (regression) outcome_sum[static_cast<size_t>(f)] += d.outcomes[i];
            // Reservoir: row n replaces a kept one with probability cap / (n + 1).
            size_t slot = sample.folds.size();
            if (slot >= sample_cap) {
                slot = static_cast<size_t>(pick() % (n + 1));
                if (slot >= sample_cap) continue;
            }
            const auto xr = d.x.row(i);
            const auto vr = std::span<const double>(d.values).subspan(i * nf, nf);
            if (slot == sample.folds.size()) {
                sample.x.data.insert(sample.x.data.end(), xr.begin(), xr.end());
                sample.values.insert(sample.values.end(), vr.begin(), vr.end());
                sample.labels.push_back(d.labels[i]);
                sample.outcomes.push_back(regression ? d.outcomes[i] : 0.0);
                sample.folds.push_back(f);
                ++sample.x.rows;
            } else {
                std::copy(xr.begin(), xr.end(), sample.x.data.begin() + static_cast<long>(slot * d.x.cols));
                std::copy(vr.begin(), vr.end(), sample.values.begin() + static_cast<long>(slot * nf));
                sample.labels[slot] = d.labels[i];
                sample.outcomes[slot] = regression ? d.outcomes[i] : 0.0;
                sample.folds[slot] = f;
            }
        }
    }
    if (c) {
        if (auto ok = c->sum(count); !ok) return peer_failed(ok.problems());
        if (auto ok = c->sum(outcome_sum); !ok) return peer_failed(ok.problems());
        // XGBoost 1.7's hist on several workers fails on external memory of more than one page a
        // worker (HistogramBuilder::SyncHistogramDistributed indexes a node histogram it never
        // built, "vector::_M_range_check"; docs/training.md): refused on every worker, before training.
        std::vector<double> paged{!o.cache_dir.empty() && batches > 1 ? 1.0 : 0.0};
        if (auto ok = c->sum(paged); !ok) return peer_failed(ok.problems());
        if (paged[0] > 0)
            return problem("unsupported",
                           "XGBoost 1.7 fails to train on several workers when a worker's external memory holds more "
                           "than one batch (this worker: " +
                               std::to_string(fold_of.size()) + " rows in " + std::to_string(batches) +
                               " batches): leave out --external-memory (the batches are then quantised in memory, "
                               "which works on workers), or raise --batch-rows to at least each worker's rows",
                           "--external-memory");
    }
    if (!cfg.group.empty())
        if (auto ok = check_hashed_folds(count, folds, schema, c ? c->world() : 1, cfg.group); !ok)
            return ok.problems();
    double total = 0;
    for (double v : count) total += v;
    for (int s = 0; s < k && !regression; ++s) {
        double rows = 0;
        for (int f = 0; f < folds; ++f) rows += count[static_cast<size_t>(f * k + s)];
        if (rows < folds)
            return problem("too_few_rows",
                           "class '" + schema.outputs.classes[static_cast<size_t>(s)].name + "' has " +
                               std::to_string(static_cast<long>(rows)) + " rows; streaming cross-validation needs " +
                               "at least one per fold (" + std::to_string(folds) + ")",
                           schema.outputs.column);
    }
    log(std::to_string(static_cast<long>(total)) + " rows" +
        (c ? " over " + std::to_string(c->world()) + " workers (this one: " + std::to_string(fold_of.size()) + ")"
           : "") +
        "; " + std::to_string(folds) + "-fold cross-validation" +
        (o.cache_dir.empty() ? "" : ", external memory in " + o.cache_dir));

    // Class weights and regression's starting point for the rows other than fold `f` (-1: all rows).
    auto weights_without = [&](int f) {
        std::vector<float> w;
        if (regression || !cfg.class_weights) return w;
        std::vector<double> per(static_cast<size_t>(k), 0.0);
        double n = 0;
        for (int g = 0; g < folds; ++g)
            if (g != f)
                for (int s = 0; s < k; ++s) {
                    per[static_cast<size_t>(s)] += count[static_cast<size_t>(g * k + s)];
                    n += count[static_cast<size_t>(g * k + s)];
                }
        for (int s = 0; s < k; ++s) w.push_back(static_cast<float>(n / (k * per[static_cast<size_t>(s)])));
        return w;
    };
    auto mean_without = [&](int f) {
        double sum = 0, n = 0;
        for (int g = 0; g < folds; ++g)
            if (g != f) {
                sum += outcome_sum[static_cast<size_t>(g)];
                n += count[static_cast<size_t>(g)];
            }
        return n > 0 ? sum / n : NAN;
    };
    XgbBooster::Params params = task_params(schema, cfg);
    if (!params.count("tree_method")) params["tree_method"] = "hist";  // exact is in-memory only
    if (o.cache_dir.empty() && params["tree_method"] != "hist")
        return problem("unsupported",
                       "batched training keeps XGBoost's data as histogram bins, which only tree_method \"hist\" "
                       "reads: leave tree_method out of train.json's params or set it to \"hist\"",
                       "tree_method");
    const int max_bin = params.count("max_bin") ? std::atoi(params["max_bin"].c_str()) : 256;

    // 2. Each fold: training and held-out rows read from the stream, early stopping on the latter.
    std::vector<std::vector<double>> curves;
    std::vector<XgbBooster> boosters;
    for (int f = 0; f < folds; ++f) {
        FoldRows train_rows(
            rows, fold_of, [f](int g) { return g != f; }, weights_without(f));
        FoldRows held_rows(rows, fold_of, [f](int g) { return g == f; }, {});
        auto dtrain = rows_data(train_rows, o.cache_dir, "fold" + std::to_string(f + 1) + "-train", nullptr, max_bin);
        if (!dtrain) return peer_failed(dtrain.problems());
        auto dheld = rows_data(held_rows, o.cache_dir, "fold" + std::to_string(f + 1) + "-held-out", &*dtrain, max_bin);
        if (!dheld) return peer_failed(dheld.problems());
        EarlyStopping stop{cfg.early_stopping_rounds};
        auto b = XgbBooster::train(*dtrain, with_base_score(params, mean_without(f)), cfg.max_rounds, &*dheld,
                                   std::ref(stop));
        if (!b) return peer_failed(b.problems());
        auto light = without_caches(*b);
        if (!light) return light.problems();
        log(stop.fold_line(static_cast<size_t>(f), static_cast<size_t>(folds), regression));
        curves.push_back(std::move(stop.curve));
        boosters.push_back(std::move(*light));
    }
    const auto [rounds, loss] = rounds_from_curves(curves);
    log("cross-validation chose " + std::to_string(rounds) + " rounds (mean held-out " +
        (regression ? "RMSE " : "log-loss ") + std::to_string(loss) + ")");

    // 3. The final model on every row (every worker's), before the held-out outputs are held.
    std::optional<XgbBooster> final_model;
    {
        FoldRows all_rows(
            rows, fold_of, [](int) { return true; }, weights_without(-1));
        auto dall = rows_data(all_rows, o.cache_dir, "final", nullptr, max_bin);
        if (!dall) return peer_failed(dall.problems());
        auto b = XgbBooster::train(*dall, with_base_score(params, mean_without(-1)), static_cast<int>(rounds));
        if (!b) return peer_failed(b.problems());
        auto light = without_caches(*b);
        if (!light) return light.problems();
        final_model.emplace(std::move(*light));
    }

    // 4. Held-out outputs of every row, batch by batch, from its fold's model (no DMatrix, so no
    //    collective call: workers may have unequal batch counts).
    auto outputs_of = [&](const std::vector<float>& p, size_t j) {
        std::vector<double> out(width);
        if (regression) out[0] = p[j];
        else if (k == 2) out = {1.0 - p[j], p[j]};
        else
            for (size_t s = 0; s < width; ++s) out[s] = p[j * width + s];
        return out;
    };
    std::vector<double> oof;
    oof.reserve(fold_of.size() * width);
    rows.reset();
    Matrix bx;
    std::vector<float> by;
    for (size_t row = 0;;) {
        auto more = rows.next(bx, by);
        if (!more) return more.problems();
        if (!*more) break;
        std::vector<double> out(bx.rows * width);
        for (int f = 0; f < folds; ++f) {
            std::vector<size_t> take;
            for (size_t i = 0; i < bx.rows; ++i)
                if (fold_of[row + i] == f) take.push_back(i);
            if (take.empty()) continue;
            const auto p = boosters[static_cast<size_t>(f)].predict_dense(matrix_select_rows(bx, take), 0,
                                                                          static_cast<int>(rounds));
            for (size_t j = 0; j < take.size(); ++j) {
                const auto v = outputs_of(p, j);
                std::copy(v.begin(), v.end(), out.begin() + static_cast<long>(take[j] * width));
            }
        }
        oof.insert(oof.end(), out.begin(), out.end());
        row += bx.rows;
    }
    kept.reset();  // the file of prepared rows is no longer read
    fold_of = {};
    // The sample's held-out outputs and exact contributions, from the same fold models. The
    // contributions need a DMatrix, an allreduce on a collective (XGBoost 1.7): every worker
    // builds as many, empty ones for the folds absent from its sample, so none waits for another.
    std::vector<double> s_oof(sample.folds.size() * width);
    std::vector<float> s_contribs;
    size_t matrices = 0;
    for (int f = 0; f < folds; ++f)
        if (std::find(sample.folds.begin(), sample.folds.end(), f) != sample.folds.end()) ++matrices;
    size_t pads = 0;
    if (c) {
        auto most = c->most(matrices);
        if (!most) return peer_failed(most.problems());
        pads = *most - matrices;
    }
    for (int f = 0; f < folds; ++f) {
        std::vector<size_t> take;
        for (size_t i = 0; i < sample.folds.size(); ++i)
            if (sample.folds[i] == f) take.push_back(i);
        if (take.empty()) continue;
        const Matrix xs = matrix_select_rows(sample.x, take);
        const auto& b = boosters[static_cast<size_t>(f)];
        const auto p = b.predict_dense(xs, 0, static_cast<int>(rounds));
        const auto phi = b.predict(xs, 2, static_cast<int>(rounds));
        const size_t per_row = phi.size() / take.size();
        if (s_contribs.empty()) s_contribs.resize(sample.folds.size() * per_row);
        for (size_t j = 0; j < take.size(); ++j) {
            const auto v = outputs_of(p, j);
            std::copy(v.begin(), v.end(), s_oof.begin() + static_cast<long>(take[j] * width));
            std::copy_n(phi.begin() + static_cast<long>(j * per_row), per_row,
                        s_contribs.begin() + static_cast<long>(take[j] * per_row));
        }
    }
    for (size_t i = 0; i < pads; ++i)
        if (auto d = XgbData::in_memory(Matrix{0, sample.x.cols, std::vector<float>(sample.x.cols + 1, NAN)}, {}, {});
            !d)
            return peer_failed(d.problems());
    boosters.clear();

    // 5. Gathered on rank 0: held-out outputs, labels and the samples.
    std::vector<double> mine_labels(label_of.begin(), label_of.end());
    label_of = {};
    auto g_labels = gather_workers(c, std::move(mine_labels));
    if (!g_labels) return peer_failed(g_labels.problems());
    auto g_oof = gather_workers(c, std::move(oof));
    if (!g_oof) return peer_failed(g_oof.problems());
    std::vector<double> s_lab(sample.labels.begin(), sample.labels.end()),
        s_x(sample.x.data.begin(), sample.x.data.end()), s_phi(s_contribs.begin(), s_contribs.end());
    auto g_slab = gather_workers(c, s_lab), g_sout = gather_workers(c, sample.outcomes),
         g_soof = gather_workers(c, s_oof), g_sval = gather_workers(c, sample.values), g_sx = gather_workers(c, s_x),
         g_sphi = gather_workers(c, s_phi);
    for (const auto* r : {&g_slab, &g_sout, &g_soof, &g_sval, &g_sx, &g_sphi})
        if (!*r) return peer_failed(r->problems());
    if (c && c->rank() != 0) return std::optional<TrainResult>{};

    CardInput in;
    in.folds = folds;
    in.rows = static_cast<size_t>(total);
    in.method = std::to_string(folds) + "-fold " +
                (cfg.group.empty()
                     ? std::string(regression ? "cross-validation" : "stratified cross-validation") +
                           " with folds drawn while reading (each run of " + std::to_string(folds) +
                           (regression ? " rows" : " rows of a class") + " spread over the folds at random)"
                     : "cross-validation, each patient ('" + cfg.group + "') in the fold a hash of the id picks") +
                (o.cache_dir.empty() ? "; XGBoost's data quantised batch by batch, " : "; XGBoost external memory, ") +
                std::to_string(o.batch_rows) + "-row batches" +
                (c ? "; " + std::to_string(c->world()) + " workers joined by XGBoost's collective" : "");
    in.labels.reserve(g_labels->size());
    for (double y : *g_labels) in.labels.push_back(static_cast<int>(y));
    if (regression) in.outcomes = std::move(*g_labels);
    *g_labels = {};
    in.oof = std::move(*g_oof);
    const size_t ms = g_slab->size();
    for (double y : *g_slab) in.s_labels.push_back(static_cast<int>(y));
    in.s_outcomes = std::move(*g_sout);
    in.s_oof = std::move(*g_soof);
    in.s_values = *g_sval;
    in.s_contribs.assign(g_sphi->begin(), g_sphi->end());
    in.sample_note = "a uniform sample of " + std::to_string(ms) + " rows (also the reference histograms' and " +
                     "typical ranges' rows)";
    Matrix s_matrix{ms, sample.x.cols, std::vector<float>(g_sx->begin(), g_sx->end())};
    auto result = card_from_held_out(schema, cfg, params, rounds, *final_model, std::move(in), s_matrix, *g_sval, log);
    if (!result) return result.problems();
    return std::optional<TrainResult>(std::move(*result));
}

}  // namespace ldx
