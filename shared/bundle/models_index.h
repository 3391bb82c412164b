// shared/bundle/models_index.h — the server's signed list of published models.
//
// Index of this file
//   [SECTION] The index
//   [SECTION] Signing (server) and verifying (browser)
//
// The server signs the list of the latest published bundles with a key of the trust root; the
// browser verifies it in the core before it trusts any entry. The index expires, so a client can
// tell a stale or frozen mirror, and its version is its issue time, so a client that remembers
// the newest version it has seen refuses an older, replayed index.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "bundle/trust.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The index
//-----------------------------------------------------------------------------
inline constexpr std::string_view kModelsIndexDomain = "localdx-index-v1";  // what the signatures sign over

struct ModelsIndex {
    int64_t version = 0;          // issue time (seconds since 1970)
    std::string expires;          // RFC 3339, UTC
    bool stale = false;           // verified, but past its expiry (usable offline, with a warning)
    Json models = Json::array();  // [{"name", "title", "version", "sha256", "size", "expires", "url"}]
};

//-----------------------------------------------------------------------------
// [SECTION] Signing and verifying
//-----------------------------------------------------------------------------
// The signed index document for `models`, issued at `now`, valid for `ttl_seconds`.
std::string models_index_sign(const Json& models, int64_t now, int64_t ttl_seconds, const SigningKey& key);

// Problems: those of the trust root and the signatures ("bad_signature", "unknown_key", ...),
// "malformed", and "rollback" (older than `min_version`, the newest index already seen).
[[nodiscard]] Result<ModelsIndex> models_index_verify(std::string_view text, const TrustRoot& root, int64_t now,
                                                      int64_t min_version);

}  // namespace ldx
