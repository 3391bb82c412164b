// shared/bundle/bundle.h — the signed model bundle: one immutable file.
//
// Index of this file
//   [SECTION] File layout
//   [SECTION] Manifest
//   [SECTION] Writing (deterministic)
//   [SECTION] Verification (every failure has its own reason code)
//
// Check lengths and structure first, then signatures, then hashes, then trust the content.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "bundle/crypto.h"
#include "bundle/trust.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] File layout
//-----------------------------------------------------------------------------
// All integers little-endian.
//   "LDXBNDL1"                                   8 bytes
//   u32 manifest length, manifest                canonical JSON, signed
//   u32 signatures length, signatures            canonical JSON [{"keyid","sig"}]
//   u32 member count, then per member (sorted by name, as in the manifest):
//     u16 name length, name, u64 data length, data
// Nothing may follow the last member.
inline constexpr std::string_view kBundleMagic = "LDXBNDL1";
inline constexpr std::string_view kManifestDomain = "localdx-bundle-manifest-v1";

struct BundleLimits {
    size_t max_bytes = 256u << 20;
    size_t max_manifest_bytes = 64u << 10;
    size_t max_signatures_bytes = 16u << 10;
    size_t max_members = 32;
};

//-----------------------------------------------------------------------------
// [SECTION] Manifest
//-----------------------------------------------------------------------------
struct MemberEntry {
    std::string name;
    uint64_t size = 0;
    std::string sha256;  // hex
};

struct Manifest {
    std::string name;     // model name, [a-z0-9-]
    int64_t version = 0;  // positive, monotonic per name
    int64_t created = 0;  // seconds since 1970 UTC
    int64_t expires = 0;
    std::string explainer;             // "treeshap", "sampling-shapley", or for images "cam" or "occlusion"
    std::vector<MemberEntry> members;  // sorted by name
};

Json manifest_to_json(const Manifest& m);
Result<Manifest> manifest_from_json(const Json& j);

//-----------------------------------------------------------------------------
// [SECTION] Writing
//-----------------------------------------------------------------------------
// Members by name -> bytes. The manifest's members are filled in from them. Same inputs and keys
// give the same bytes (canonical JSON, sorted members, deterministic Ed25519).
Result<Bytes> bundle_write(Manifest manifest, const std::map<std::string, Bytes>& members,
                           const std::vector<SigningKey>& keys);

//-----------------------------------------------------------------------------
// [SECTION] Verification
//-----------------------------------------------------------------------------
struct VerifyPolicy {
    int64_t now = 0;          // seconds since 1970 UTC (the caller's clock: the core has none)
    int64_t min_version = 0;  // highest version already accepted for this name (rollback guard)
    BundleLimits limits;
};

struct VerifiedBundle {
    Manifest manifest;
    std::vector<std::string> signers;      // keyids whose signatures verified
    std::map<std::string, Bytes> members;  // every member, hash- and length-checked
    std::string sha256;                    // of the whole file: its content address
};

// Reason codes: "truncated", "too_large", "bad_magic", "malformed", "no_signature",
// "unknown_key", "bad_signature", "below_threshold", "expired", "rollback", "missing_member",
// "unlisted_member", "member_length", "member_hash", "trailing_data".
Result<VerifiedBundle> bundle_verify(std::string_view bytes, const TrustRoot& root, const VerifyPolicy& policy);

// What a clinician reads when a bundle is refused for a reason code (any of the above, and
// "model_mismatch": ONNX Runtime does not reproduce what the bundle's author published): a
// sentence that says what it means for them, without the technical detail.
std::string bundle_refusal_words(std::string_view code);

// Structure only, no trust (for `localdx verify` diagnostics and tooling).
Result<Manifest> bundle_peek_manifest(std::string_view bytes, const BundleLimits& limits = {});

}  // namespace ldx
