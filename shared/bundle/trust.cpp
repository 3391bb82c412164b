// shared/bundle/trust.cpp — see trust.h.
#include "bundle/trust.h"

#include <set>

namespace ldx {

const TrustKey* TrustRoot::find(std::string_view keyid) const {
    for (const auto& k : keys)
        if (k.keyid == keyid) return &k;
    return nullptr;
}

//-----------------------------------------------------------------------------
// [SECTION] Signing keys
//-----------------------------------------------------------------------------
SigningKey signing_key_from_pair(const KeyPair& kp) { return SigningKey{key_id(kp.public_key), kp.secret_key}; }

std::string signing_key_to_json(const SigningKey& k) {
    Json j{{"type", "localdx-signing-key"}, {"keyid", k.keyid}, {"secret_key", hex_encode(k.secret_key)}};
    return j.dump(2) + "\n";
}

Result<SigningKey> signing_key_parse(std::string_view text) {
    auto j = json_parse(text, "signing key", JsonLimits{4096, 4});
    if (!j) return problem("bad_key", "not a LocalDx signing key file (" + j.error().message + ")");
    if (!j->is_object() || json_text_or(*j, "type") != "localdx-signing-key")
        return problem("bad_key", "not a LocalDx signing key file (type is not localdx-signing-key)");
    auto sk = hex_decode(json_text_or(*j, "secret_key"));
    if (!sk || sk->size() != kSecretKeyBytes) return problem("bad_key", "secret_key is not 64 bytes of hex");
    SigningKey k{key_id(sk->substr(32)), *sk};
    if (json_text_or(*j, "keyid") != k.keyid) return problem("bad_key", "keyid does not match the key");
    // The secret key embeds its public key; check that they belong together.
    if (ed25519_keypair_from_seed(sk->substr(0, 32)).public_key != k.public_key())
        return problem("bad_key", "the secret key is corrupt (its public half does not match)");
    return k;
}

//-----------------------------------------------------------------------------
// [SECTION] Signed documents
//-----------------------------------------------------------------------------
Json signatures_make(std::string_view domain, std::string_view bytes, const std::vector<SigningKey>& keys) {
    Json sigs = Json::array();
    for (const auto& k : keys)
        sigs.push_back({{"keyid", k.keyid}, {"sig", hex_encode(ed25519_sign(domain, bytes, k.secret_key))}});
    return sigs;
}

Result<std::vector<SignatureEntry>> signatures_parse(const Json& list, const std::string& what) {
    if (!list.is_array()) return problem("malformed", what + ": the signatures are not a list");
    std::vector<SignatureEntry> sigs;
    for (const Json& s : list) {
        if (!json_member(s, "keyid").is_string() || !json_member(s, "sig").is_string())
            return problem("malformed", what + ": each signature needs keyid and sig");
        auto sig = hex_decode(json_text_or(s, "sig"));
        if (!sig) return problem("malformed", what + ": a signature is not hex");
        sigs.push_back({json_text_or(s, "keyid"), *sig});
    }
    return sigs;
}

std::string signed_document(std::string_view domain, const Json& signed_part, const std::vector<SigningKey>& keys) {
    const std::string bytes = json_canonical(signed_part);
    Json doc{{"signed", signed_part}, {"signatures", signatures_make(domain, bytes, keys)}};
    return json_canonical(doc);
}

Result<Json> signed_document_parse(std::string_view text, std::string_view what, std::string& signed_bytes,
                                   std::vector<SignatureEntry>& sigs) {
    const std::string w(what);
    auto j = json_parse(text, what, JsonLimits{1u << 20, 16});
    if (!j) return j.problems();
    if (auto p = json_check_keys(*j, {"signed", "signatures"}, "")) return problem("malformed", w + ": " + p->message);
    if (!j->contains("signed") || !(*j)["signed"].is_object()) return problem("malformed", w + " has no signed part");
    if (!j->contains("signatures") || !(*j)["signatures"].is_array())
        return problem("no_signature", w + " carries no signatures");
    auto parsed = signatures_parse((*j)["signatures"], w);
    if (!parsed) return parsed.problems();
    sigs = std::move(*parsed);
    signed_bytes = json_canonical((*j)["signed"]);
    return (*j)["signed"];
}

Result<Ok> signatures_check(std::string_view domain, std::string_view signed_bytes,
                            const std::vector<SignatureEntry>& sigs, const TrustRoot& root, const std::string& what) {
    if (sigs.empty()) return problem("no_signature", what + " is not signed");
    std::set<std::string> good;
    bool any_known = false;
    for (const auto& s : sigs) {
        const TrustKey* k = root.find(s.keyid);
        if (!k) continue;
        any_known = true;
        if (!ed25519_verify(domain, signed_bytes, s.sig, k->public_key))
            return problem("bad_signature",
                           what + ": the signature by key " + s.keyid +
                               " does not verify (the content was changed or the signature is corrupt)");
        good.insert(s.keyid);
    }
    if (!any_known)
        return problem("unknown_key",
                       what + " is signed only by keys the trust root does not list (" + sigs.front().keyid + ")");
    if (static_cast<int>(good.size()) < root.threshold)
        return problem("below_threshold", what + " has " + std::to_string(good.size()) +
                                              " valid signature(s); the trust root requires " +
                                              std::to_string(root.threshold));
    return Ok{};
}

//-----------------------------------------------------------------------------
// [SECTION] Trust roots
//-----------------------------------------------------------------------------
namespace {
Json root_to_json(const TrustRoot& r) {
    Json keys = Json::array();
    for (const auto& k : r.keys) keys.push_back({{"keyid", k.keyid}, {"public_key", hex_encode(k.public_key)}});
    return Json{{"type", "localdx-root"},
                {"version", r.version},
                {"threshold", r.threshold},
                {"expires", utc_format(r.expires)},
                {"keys", keys}};
}

Result<TrustRoot> root_from_json(const Json& s) {
    auto bad = [](std::string m) { return problem("malformed", "trust root: " + m); };
    if (auto p = json_check_keys(s, {"type", "version", "threshold", "expires", "keys"}, "signed"))
        return bad(p->message);
    if (json_text_or(s, "type") != "localdx-root") return bad("type is not localdx-root");
    TrustRoot r;
    auto v = json_integer(s, "version", "signed");
    auto t = json_integer(s, "threshold", "signed");
    auto e = json_string(s, "expires", "signed");
    if (!v || !t || !e) return bad("needs version, threshold and expires");
    r.version = *v;
    if (r.version < 1) return bad("version must be at least 1");
    auto exp = utc_parse(*e);
    if (!exp) return bad("expires is not a UTC time like 2027-01-01T00:00:00Z");
    r.expires = *exp;
    if (!s.contains("keys") || !s["keys"].is_array() || s["keys"].empty()) return bad("keys must be a non-empty array");
    for (const Json& k : s["keys"]) {
        if (!k.is_object()) return bad("each key is an object");
        auto pk = hex_decode(json_text_or(k, "public_key"));
        if (!pk || pk->size() != kPublicKeyBytes) return bad("a public_key is not 32 bytes of hex");
        TrustKey tk{key_id(*pk), *pk};
        if (json_text_or(k, "keyid") != tk.keyid)
            return bad("keyid " + json_text_or(k, "keyid") + " does not match its public key");
        if (r.find(tk.keyid)) return bad("key " + tk.keyid + " is listed twice");
        r.keys.push_back(tk);
    }
    if (*t < 1 || *t > static_cast<int64_t>(r.keys.size()))
        return bad("threshold must lie between 1 and the number of keys");
    r.threshold = static_cast<int>(*t);
    return r;
}
}  // namespace

std::string trust_root_create(const TrustRoot& root, const std::vector<SigningKey>& signers) {
    return signed_document(kRootDomain, root_to_json(root), signers) + "\n";
}

Result<TrustRoot> trust_root_parse(std::string_view text, int64_t now) {
    std::string bytes;
    std::vector<SignatureEntry> sigs;
    auto s = signed_document_parse(text, "trust root", bytes, sigs);
    if (!s) return s.problems();
    auto r = root_from_json(*s);
    if (!r) return r.problems();
    if (auto ok = signatures_check(kRootDomain, bytes, sigs, *r, "trust root"); !ok) return ok.problems();
    if (now > r->expires) return problem("expired", "the trust root expired on " + utc_format(r->expires));
    return r;
}

Result<TrustRoot> trust_root_update(const TrustRoot& current, std::string_view candidate, int64_t now) {
    std::string bytes;
    std::vector<SignatureEntry> sigs;
    auto s = signed_document_parse(candidate, "new trust root", bytes, sigs);
    if (!s) return s.problems();
    auto r = root_from_json(*s);
    if (!r) return r.problems();
    if (r->version != current.version + 1)
        return problem("root_version", "the new trust root has version " + std::to_string(r->version) + "; expected " +
                                           std::to_string(current.version + 1));
    if (auto ok = signatures_check(kRootDomain, bytes, sigs, current, "new trust root (by the current root's keys)");
        !ok)
        return ok.problems();
    if (auto ok = signatures_check(kRootDomain, bytes, sigs, *r, "new trust root (by its own keys)"); !ok)
        return ok.problems();
    if (now > r->expires) return problem("expired", "the new trust root expired on " + utc_format(r->expires));
    return r;
}

}  // namespace ldx
