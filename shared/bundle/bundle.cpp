// shared/bundle/bundle.cpp — see bundle.h.
//
// Index of this file
//   [SECTION] Little-endian reader with bounds checks
//   [SECTION] Manifest (de)serialisation
//   [SECTION] Writing
//   [SECTION] Verification
#include "bundle/bundle.h"

#include <algorithm>
#include <set>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Little-endian reader
//-----------------------------------------------------------------------------
namespace {
struct Reader {
    std::string_view data;
    size_t pos = 0;
    size_t left() const { return data.size() - pos; }
    bool u(size_t n, uint64_t& out) {
        if (left() < n) return false;
        out = 0;
        for (size_t i = 0; i < n; ++i)
            out |= static_cast<uint64_t>(static_cast<unsigned char>(data[pos + i])) << (8 * i);
        pos += n;
        return true;
    }
    bool bytes(uint64_t n, std::string_view& out) {
        if (left() < n) return false;
        out = data.substr(pos, static_cast<size_t>(n));
        pos += static_cast<size_t>(n);
        return true;
    }
};
void put(Bytes& b, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) b += static_cast<char>((v >> (8 * i)) & 0xff);
}
bool model_name_ok(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    return true;
}
bool member_name_ok(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) return false;
    return true;
}
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Manifest (de)serialisation
//-----------------------------------------------------------------------------
Json manifest_to_json(const Manifest& m) {
    Json members = Json::array();
    for (const auto& e : m.members) members.push_back({{"name", e.name}, {"size", e.size}, {"sha256", e.sha256}});
    return Json{{"format", "localdx-bundle/1"},
                {"name", m.name},
                {"version", m.version},
                {"created", utc_format(m.created)},
                {"expires", utc_format(m.expires)},
                {"explainer", m.explainer},
                {"members", members}};
}

Result<Manifest> manifest_from_json(const Json& j) {
    auto bad = [](std::string msg) { return problem("malformed", "manifest: " + msg); };
    if (auto p = json_check_keys(j, {"format", "name", "version", "created", "expires", "explainer", "members"}, ""))
        return bad(p->message);
    if (json_text_or(j, "format") != "localdx-bundle/1") return bad("format is not localdx-bundle/1");
    Manifest m;
    auto name = json_string(j, "name", "");
    auto version = json_integer(j, "version", "");
    auto created = json_string(j, "created", "");
    auto expires = json_string(j, "expires", "");
    auto explainer = json_string(j, "explainer", "");
    if (!name || !version || !created || !expires || !explainer)
        return bad("needs name, version, created, expires and explainer");
    if (!model_name_ok(*name)) return bad("name '" + *name + "' is not 1-64 of a-z, 0-9 and '-'");
    if (*version < 1) return bad("version must be a positive integer");
    auto c = utc_parse(*created), e = utc_parse(*expires);
    if (!c || !e) return bad("created and expires must be UTC times like 2027-01-01T00:00:00Z");
    if (*explainer != "treeshap" && *explainer != "sampling-shapley" && *explainer != "cam" &&
        *explainer != "occlusion")
        return bad("explainer must be treeshap, sampling-shapley, cam or occlusion");
    m.name = *name;
    m.version = *version;
    m.created = *c;
    m.expires = *e;
    m.explainer = *explainer;
    if (!j.contains("members") || !j["members"].is_array() || j["members"].empty())
        return bad("members must be a non-empty array");
    for (const Json& x : j["members"]) {
        if (auto p = json_check_keys(x, {"name", "size", "sha256"}, "members")) return bad(p->message);
        MemberEntry me;
        auto n = json_string(x, "name", "members");
        auto s = json_integer(x, "size", "members");
        auto h = json_string(x, "sha256", "members");
        if (!n || !s || !h) return bad("each member needs name, size and sha256");
        if (!member_name_ok(*n)) return bad("member name '" + *n + "' is not allowed");
        if (*s < 0) return bad("member size is negative");
        if (h->size() != 64 || !hex_decode(*h)) return bad("member sha256 is not 64 hex digits");
        if (!m.members.empty() && m.members.back().name >= *n) return bad("members are not sorted by name, or repeat");
        me.name = *n;
        me.size = static_cast<uint64_t>(*s);
        me.sha256 = *h;
        m.members.push_back(me);
    }
    return m;
}

//-----------------------------------------------------------------------------
// [SECTION] Writing
//-----------------------------------------------------------------------------
Result<Bytes> bundle_write(Manifest manifest, const std::map<std::string, Bytes>& members,
                           const std::vector<SigningKey>& keys) {
    if (keys.empty()) return problem("no_signature", "a bundle needs at least one signing key");
    if (!model_name_ok(manifest.name))
        return problem("malformed", "name '" + manifest.name + "' is not 1-64 of a-z, 0-9 and '-'", "name");
    if (manifest.version < 1) return problem("malformed", "version must be a positive integer", "version");
    if (manifest.expires <= manifest.created) return problem("malformed", "expires must come after created", "expires");
    manifest.members.clear();
    for (const auto& [name, data] : members) {
        if (!member_name_ok(name)) return problem("malformed", "member name '" + name + "' is not allowed", name);
        manifest.members.push_back({name, data.size(), sha256_hex(data)});
    }
    const std::string manifest_bytes = json_canonical(manifest_to_json(manifest));
    const std::string sig_bytes = json_canonical(signatures_make(kManifestDomain, manifest_bytes, keys));

    Bytes out(kBundleMagic);
    put(out, manifest_bytes.size(), 4);
    out += manifest_bytes;
    put(out, sig_bytes.size(), 4);
    out += sig_bytes;
    put(out, members.size(), 4);
    for (const auto& [name, data] : members) {
        put(out, name.size(), 2);
        out += name;
        put(out, data.size(), 8);
        out += data;
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Verification
//-----------------------------------------------------------------------------
namespace {
struct Layout {
    std::string_view manifest_bytes, signature_bytes;
    Reader rest;  // positioned at the member count
};

Result<Layout> read_header(std::string_view bytes, const BundleLimits& limits) {
    if (bytes.size() > limits.max_bytes)
        return problem("too_large", "the bundle is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                        std::to_string(limits.max_bytes));
    if (bytes.size() < kBundleMagic.size()) return problem("truncated", "the file is too short to be a bundle");
    if (bytes.substr(0, kBundleMagic.size()) != kBundleMagic)
        return problem("bad_magic", "not a LocalDx bundle (wrong magic bytes)");
    Layout l;
    l.rest = Reader{bytes, kBundleMagic.size()};
    uint64_t n = 0;
    if (!l.rest.u(4, n)) return problem("truncated", "the bundle ends inside its header");
    if (n > limits.max_manifest_bytes)
        return problem("malformed", "the manifest length " + std::to_string(n) + " exceeds " +
                                        std::to_string(limits.max_manifest_bytes));
    if (!l.rest.bytes(n, l.manifest_bytes)) return problem("truncated", "the bundle ends inside its manifest");
    if (!l.rest.u(4, n)) return problem("truncated", "the bundle ends before its signatures");
    if (n > limits.max_signatures_bytes)
        return problem("malformed",
                       "the signature block length exceeds " + std::to_string(limits.max_signatures_bytes));
    if (!l.rest.bytes(n, l.signature_bytes)) return problem("truncated", "the bundle ends inside its signatures");
    return l;
}

Result<Manifest> parse_manifest(std::string_view manifest_bytes) {
    auto j = json_parse(manifest_bytes, "manifest", JsonLimits{manifest_bytes.size(), 8});
    if (!j) return problem("malformed", j.error().message);
    // Only the canonical form is accepted, so the signed bytes have exactly one meaning.
    if (json_canonical(*j) != manifest_bytes) return problem("malformed", "the manifest is not in canonical form");
    return manifest_from_json(*j);
}
}  // namespace

Result<Manifest> bundle_peek_manifest(std::string_view bytes, const BundleLimits& limits) {
    auto l = read_header(bytes, limits);
    if (!l) return l.problems();
    return parse_manifest(l->manifest_bytes);
}

Result<VerifiedBundle> bundle_verify(std::string_view bytes, const TrustRoot& root, const VerifyPolicy& policy) {
    // 1. Lengths and structure.
    auto layout = read_header(bytes, policy.limits);
    if (!layout) return layout.problems();
    auto manifest = parse_manifest(layout->manifest_bytes);
    if (!manifest) return manifest.problems();
    auto sj = json_parse(layout->signature_bytes, "signature block", JsonLimits{layout->signature_bytes.size(), 4});
    if (!sj || !sj->is_array()) return problem("malformed", "the signature block is not a JSON array");
    if (json_canonical(*sj) != layout->signature_bytes)
        return problem("malformed", "the signature block is not in canonical form");
    auto parsed = signatures_parse(*sj, "the bundle");
    if (!parsed) return parsed.problems();
    const std::vector<SignatureEntry>& sigs = *parsed;

    // 2. Signatures over the manifest, against the trust root.
    if (auto ok = signatures_check(kManifestDomain, layout->manifest_bytes, sigs, root, "the bundle"); !ok)
        return ok.problems();
    VerifiedBundle out;
    for (const auto& s : sigs)
        if (root.find(s.keyid) && std::find(out.signers.begin(), out.signers.end(), s.keyid) == out.signers.end())
            out.signers.push_back(s.keyid);

    // 3. Signed metadata: expiry and rollback.
    const Manifest& m = *manifest;
    if (policy.now > m.expires)
        return problem("expired", "the bundle " + m.name + " v" + std::to_string(m.version) + " expired on " +
                                      utc_format(m.expires));
    if (m.version < policy.min_version)
        return problem("rollback", "the bundle " + m.name + " v" + std::to_string(m.version) + " is older than v" +
                                       std::to_string(policy.min_version) + ", which was already accepted");

    // 4. Members: each listed, of the signed length and hash; nothing else.
    Reader& r = layout->rest;
    uint64_t count = 0;
    if (!r.u(4, count)) return problem("truncated", "the bundle ends before its members");
    if (count > policy.limits.max_members)
        return problem("malformed", "the bundle claims " + std::to_string(count) + " members");
    std::set<std::string> seen;
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t name_len = 0, data_len = 0;
        std::string_view name, data;
        if (!r.u(2, name_len) || !r.bytes(name_len, name) || !r.u(8, data_len))
            return problem("truncated", "the bundle ends inside member " + std::to_string(i + 1));
        const MemberEntry* e = nullptr;
        for (const auto& me : m.members)
            if (me.name == name) e = &me;
        if (!e)
            return problem("unlisted_member",
                           "the bundle contains '" + std::string(name) + "', which its manifest does not list",
                           std::string(name));
        if (!seen.insert(std::string(name)).second)
            return problem("malformed", "member '" + std::string(name) + "' appears twice", std::string(name));
        if (data_len != e->size)
            return problem("member_length",
                           "member '" + e->name + "' is " + std::to_string(data_len) + " bytes; the manifest says " +
                               std::to_string(e->size),
                           e->name);
        if (!r.bytes(data_len, data))
            return problem("truncated", "the bundle ends inside member '" + e->name + "'", e->name);
        if (sha256_hex(data) != e->sha256)
            return problem("member_hash", "member '" + e->name + "' does not match its signed SHA-256", e->name);
        out.members.emplace(e->name, Bytes(data));
    }
    for (const auto& me : m.members)
        if (!seen.count(me.name))
            return problem("missing_member", "member '" + me.name + "' is listed but absent", me.name);
    if (r.left() != 0) return problem("trailing_data", std::to_string(r.left()) + " bytes follow the last member");

    out.manifest = m;
    out.sha256 = sha256_hex(bytes);
    return out;
}

std::string bundle_refusal_words(std::string_view code) {
    if (code == "rollback")
        return "This model file is older than one already used on this device, so it was refused (possible "
               "rollback).";
    if (code == "expired")
        return "This model file has expired and can no longer be used. Ask your administrator for an update.";
    if (code == "member_hash" || code == "member_length")
        return "This model file was changed after it was signed, so it was refused.";
    if (code == "bad_signature") return "The signature of this model file is not valid, so it was refused.";
    if (code == "unknown_key" || code == "below_threshold")
        return "This model file is not signed by a key this app trusts, so it was refused.";
    if (code == "truncated") return "This model file is incomplete, so it was refused.";
    if (code == "model_mismatch")
        return "This model does not reproduce the results it was published with on this device, so it was refused.";
    return "This model file cannot be used, so it was refused.";
}

}  // namespace ldx
