// server/cli/commands/keygen.cpp — `localdx keygen`: a signing key and its trust root.
#include <cstdio>
#include <string>
#include <vector>

#include "bundle/crypto.h"
#include "bundle/trust.h"
#include "cli/args.h"
#include "io/files.h"

#include "cli/commands.h"

namespace ldx::cli {

const char* const kKeygenHelp = R"(Usage: localdx keygen --out DIR [--expires-days N]

Writes DIR/signing-key.json (the secret key, file mode 0600) and DIR/trust.json, a trust root
(threshold 1) that lists its public key, signed by it, expiring in N days (default 730).
Refuses to overwrite an existing key.
)";

int cmd_keygen(const Args& a) {
    auto out = args_require(a, "--out");
    auto days = positive_int(a, "--expires-days", 730);
    if (!out) return fail("keygen", out.problems());
    if (!days) return fail("keygen", days.problems());
    const std::string key_path = *out + "/signing-key.json", trust_path = *out + "/trust.json";
    if (file_exists(key_path))
        return fail("keygen", problem("exists", key_path + " already exists; refusing to overwrite a key"));
    if (auto ok = dir_create(*out); !ok) return fail("keygen", ok.problems());
    const SigningKey key = signing_key_from_pair(ed25519_keypair());
    TrustRoot root;
    root.version = 1;
    root.threshold = 1;
    root.expires = unix_now() + *days * 86400;
    root.keys.push_back({key.keyid, key.public_key()});
    if (auto ok = file_write_atomic(key_path, signing_key_to_json(key), 0600); !ok)
        return fail("keygen", ok.problems());
    if (auto ok = file_write_atomic(trust_path, trust_root_create(root, {key})); !ok)
        return fail("keygen", ok.problems());
    std::printf(
        "key %s\n  secret key: %s (mode 0600: keep it off shared disks)\n  trust root: %s (ship this with the app and "
        "the server)\n",
        key.keyid.c_str(), key_path.c_str(), trust_path.c_str());
    return 0;
}

}  // namespace ldx::cli
