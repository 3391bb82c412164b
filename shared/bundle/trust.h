// shared/bundle/trust.h — trust roots: which keys may sign bundles, how many must, and rotation.
//
// Index of this file
//   [SECTION] Trust root and signing keys
//   [SECTION] Signed documents (one envelope for roots and model indexes)
//   [SECTION] Root rotation (as in The Update Framework)
//
// A trust root document:
//   {"signed": {"type": "localdx-root", "version": 1, "threshold": 1, "expires": "...Z",
//               "keys": [{"keyid": "...", "public_key": "<hex>"}]},
//    "signatures": [{"keyid": "...", "sig": "<hex>"}]}
// The first root is trusted because it ships with the app / is given on the command line; each
// later root must be signed by a threshold of the previous root's keys and of its own.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "bundle/crypto.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Trust root and signing keys
//-----------------------------------------------------------------------------
struct TrustKey {
    std::string keyid;
    Bytes public_key;
};

struct TrustRoot {
    int64_t version = 1;
    int threshold = 1;
    int64_t expires = 0;  // seconds since 1970, UTC
    std::vector<TrustKey> keys;

    const TrustKey* find(std::string_view keyid) const;
};

struct SigningKey {
    std::string keyid;
    Bytes secret_key;  // 64 bytes
    Bytes public_key() const { return secret_key.substr(32); }
};

// Key file: {"type": "localdx-signing-key", "keyid": "...", "secret_key": "<hex>"}
std::string signing_key_to_json(const SigningKey& k);
Result<SigningKey> signing_key_parse(std::string_view json_text);
SigningKey signing_key_from_pair(const KeyPair& kp);

//-----------------------------------------------------------------------------
// [SECTION] Signed documents
//-----------------------------------------------------------------------------
struct SignatureEntry {
    std::string keyid;
    Bytes sig;
};

// The signature list [{"keyid", "sig": "<hex>"}] of both signed documents and bundles: what
// every key in `keys` says about `bytes` under `domain`, and the same read back (Problem
// "malformed" names what is wrong).
Json signatures_make(std::string_view domain, std::string_view bytes, const std::vector<SigningKey>& keys);
Result<std::vector<SignatureEntry>> signatures_parse(const Json& list, const std::string& what);

// Canonical JSON of `signed_part`, signed by every key, wrapped as {"signed":..,"signatures":[..]}.
std::string signed_document(std::string_view domain, const Json& signed_part, const std::vector<SigningKey>& keys);

// Counts distinct keys of `root` whose signatures over canonical(signed) verify. Problems:
// "bad_signature" (a key of the root signed, but the signature does not verify: tampering),
// "unknown_key" (no signature from any key of the root), "below_threshold".
Result<Ok> signatures_check(std::string_view domain, std::string_view signed_bytes,
                            const std::vector<SignatureEntry>& sigs, const TrustRoot& root, const std::string& what);

// Parses the envelope; `signed_bytes` receives the canonical signed part.
Result<Json> signed_document_parse(std::string_view text, std::string_view what, std::string& signed_bytes,
                                   std::vector<SignatureEntry>& sigs);

//-----------------------------------------------------------------------------
// [SECTION] Trust roots
//-----------------------------------------------------------------------------
inline constexpr std::string_view kRootDomain = "localdx-root-v1";

std::string trust_root_create(const TrustRoot& root, const std::vector<SigningKey>& signers);
// Reads a root that is trusted as given (shipped with the app): checks structure, that it is
// signed by its own threshold (so a typo cannot produce a silently unusable root) and expiry.
Result<TrustRoot> trust_root_parse(std::string_view text, int64_t now);
// Accepts `candidate` only if its version is current.version + 1, it is signed by a threshold of
// `current`'s keys and of its own keys, and it has not expired. Problems: "root_version",
// "expired", and those of signatures_check.
Result<TrustRoot> trust_root_update(const TrustRoot& current, std::string_view candidate, int64_t now);

}  // namespace ldx
