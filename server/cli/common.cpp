// server/cli/common.cpp — what the commands of `localdx` share (server/cli/commands.h).
#include <cstdio>
#include <cstdlib>

#include "bundle/bundle.h"
#include "bundle/trust.h"
#include "cli/commands.h"
#include "io/files.h"

namespace ldx::cli {

int fail(const std::string& cmd, const std::vector<Problem>& problems, size_t max) {
    for (size_t i = 0; i < problems.size() && i < max; ++i)
        std::fprintf(stderr, "localdx %s: %s\n", cmd.c_str(), problems[i].describe().c_str());
    if (problems.size() > max)
        std::fprintf(stderr, "localdx %s: ... and %zu more problems\n", cmd.c_str(), problems.size() - max);
    return 1;
}
int fail(const std::string& cmd, const Problem& p) { return fail(cmd, std::vector<Problem>{p}); }

void progress(const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); }

Result<int64_t> positive_int(const Args& a, const std::string& flag, int64_t fallback) {
    auto v = a.get(flag);
    if (!v) return fallback;
    char* end = nullptr;
    const long long x = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end || x < 1)
        return problem("usage", flag + " must be a positive whole number, not '" + *v + "'");
    return static_cast<int64_t>(x);
}

std::string fmt(double v, const char* format) {
    char buf[40];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string periods_text(const Schema& s, const Json& periods) {
    const bool regression = s.outputs.regression(), binary = s.outputs.kind == TaskKind::binary;
    auto num = [](const Json& row, const std::string& key) {
        return row.contains(key) && row[key].is_number() ? fmt(row[key].get<double>(), "%.3f") : std::string("-");
    };
    std::string out = regression ? "  per period            rows      MAE     RMSE       R2  observed  predicted\n"
                      : binary   ? "  per period            rows  AUC-ROC accuracy  observed  predicted\n"
                                 : "  per period            rows  macro-AUC accuracy\n";
    const std::string auc = binary ? "class." + s.outputs.classes[1].name + ".auc_roc" : "macro.auc_roc";
    for (const Json& p : periods) {
        char b[200];
        const std::string name = p["period"].get<std::string>();
        const size_t rows = p["rows"].get<size_t>();
        if (regression)
            std::snprintf(b, sizeof b, "    %-16s %7zu %8s %8s %8s %9s %10s\n", name.c_str(), rows,
                          num(p, "mae").c_str(), num(p, "rmse").c_str(), num(p, "r2").c_str(),
                          num(p, "mean_observed").c_str(), num(p, "mean_predicted").c_str());
        else if (binary)
            std::snprintf(b, sizeof b, "    %-16s %7zu %8s %8s %9s %10s\n", name.c_str(), rows, num(p, auc).c_str(),
                          num(p, "accuracy").c_str(), num(p, "observed_rate").c_str(),
                          num(p, "mean_predicted").c_str());
        else
            std::snprintf(b, sizeof b, "    %-16s %7zu %10s %8s\n", name.c_str(), rows, num(p, auc).c_str(),
                          num(p, "accuracy").c_str());
        out += b;
    }
    return out;
}

Result<TrustRoot> load_trust(const std::string& path) {
    auto text = file_read(path, 1u << 20);
    if (!text) return text.problems();
    auto r = trust_root_parse(*text, unix_now());
    if (!r) return problem(r.error().code, "trust root " + path + ": " + r.error().message);
    return r;
}

Result<Model> load_model(const std::string& bundle_path, const std::string& trust_path, int64_t min_version) {
    auto root = load_trust(trust_path);
    if (!root) return root.problems();
    auto bytes = file_read(bundle_path, BundleLimits{}.max_bytes, kBundleStart);
    if (!bytes) return bytes.problems();
    auto v = bundle_verify(*bytes, *root, VerifyPolicy{unix_now(), min_version, {}});
    if (!v) return v.problems();
    return model_from_bundle(*v);
}
}  // namespace ldx::cli
