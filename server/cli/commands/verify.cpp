// server/cli/commands/verify.cpp — `localdx verify`: check a bundle's signatures against a trust root.
#include <cstdio>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "bundle/crypto.h"
#include "cli/args.h"
#include "io/files.h"
#include "predict/predict.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kVerifyHelp = R"(Usage: localdx verify --trust trust.json [--min-version N] FILE.ldxb

Exit 0 and one line "valid: NAME vN ..." when the bundle verifies; otherwise exit 1 and one line
that says why (bad or missing signature, unknown key, below threshold, expired, rollback below
--min-version, member hash/length mismatch, unlisted member, truncated, malformed).
)";

int cmd_verify(const Args& a) {
    auto trust = args_require(a, "--trust");
    if (!trust) return fail("verify", trust.problems());
    if (a.positional.size() != 1) return fail("verify", problem("usage", "give exactly one bundle file (see --help)"));
    auto min_version = positive_int(a, "--min-version", 1);
    if (!min_version) return fail("verify", min_version.problems());
    auto root = load_trust(*trust);
    if (!root) return fail("verify", root.problems());
    auto bytes = file_read(a.positional[0], BundleLimits{}.max_bytes, kBundleStart);
    if (!bytes) return fail("verify", bytes.problems());
    auto v = bundle_verify(*bytes, *root, VerifyPolicy{unix_now(), *min_version, {}});
    if (!v) {
        std::printf("rejected (%s): %s\n", v.error().code.c_str(), v.error().message.c_str());
        return 1;
    }
    auto model = model_from_bundle(*v);
    if (!model) {
        std::printf("rejected (%s): %s\n", model.error().code.c_str(), model.error().message.c_str());
        return 1;
    }
    std::string signers;
    for (const auto& s : v->signers) signers += (signers.empty() ? "" : ",") + s;
    std::printf("valid: %s v%lld, explainer %s, signed by %s, expires %s, sha256 %s\n", v->manifest.name.c_str(),
                static_cast<long long>(v->manifest.version), v->manifest.explainer.c_str(), signers.c_str(),
                utc_format(v->manifest.expires).c_str(), v->sha256.c_str());
    return 0;
}

}  // namespace ldx::cli
