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
