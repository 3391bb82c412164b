// tests/unit/test_bundle.cpp — bundles and trust roots: good paths, every rejection reason, and
// the tamper test (every byte flipped, every truncation: nothing verifies).
#include <gtest/gtest.h>

#include "bundle/bundle.h"
#include "bundle/models_index.h"
#include "bundle/trust.h"
#include "support.h"

namespace ldx {
namespace {

const int64_t kNow = *utc_parse("2026-11-22T12:00:00Z");

struct Fixture {
    SigningKey a = signing_key_from_pair(ed25519_keypair_from_seed(std::string(32, 'a')));
    SigningKey b = signing_key_from_pair(ed25519_keypair_from_seed(std::string(32, 'b')));
    SigningKey c = signing_key_from_pair(ed25519_keypair_from_seed(std::string(32, 'c')));
    TrustRoot root(std::vector<SigningKey> keys, int threshold, int64_t version = 1) const {
        TrustRoot r;
        r.version = version;
        r.threshold = threshold;
        r.expires = kNow + 365 * 86400;
        for (const auto& k : keys) r.keys.push_back({k.keyid, k.public_key()});
        return r;
    }
    Manifest manifest(int64_t version = 3) const {
        Manifest m;
        m.name = "demo";
        m.version = version;
        m.created = kNow - 86400;
        m.expires = kNow + 30 * 86400;
        m.explainer = "treeshap";
        return m;
    }
    std::map<std::string, Bytes> members() const {
        return {{"card.json", R"({"intended_use":"test"})"},
                {"model.onnx", std::string("\x08\x07\x12\x00onnx", 8)},
                {"schema.json", R"({"task":"demo"})"}};
    }
    Bytes bundle(std::vector<SigningKey> keys, int64_t version = 3) const {
        auto b = bundle_write(manifest(version), members(), keys);
        EXPECT_TRUE(b.ok());
        return *b;
    }
};

VerifyPolicy policy(int64_t min_version = 0) { return VerifyPolicy{kNow, min_version, {}}; }

TEST(Bundle, VerifiesAndReturnsEveryMember) {
    Fixture f;
    auto v = bundle_verify(f.bundle({f.a}), f.root({f.a}, 1), policy());
    ASSERT_TRUE(v.ok()) << v.error().describe();
    EXPECT_EQ(v->manifest.name, "demo");
    EXPECT_EQ(v->manifest.version, 3);
    EXPECT_EQ(v->members, f.members());
    EXPECT_EQ(v->signers, std::vector<std::string>{f.a.keyid});
    EXPECT_EQ(v->sha256.size(), 64u);
}

TEST(Bundle, WritingIsDeterministic) {
    Fixture f;
    EXPECT_EQ(f.bundle({f.a, f.b}), f.bundle({f.a, f.b}));
}

TEST(Bundle, EachRejectionHasItsOwnReason) {
    Fixture f;
    const Bytes good = f.bundle({f.a});
    const TrustRoot root = f.root({f.a}, 1);
    auto reason = [&](const Bytes& bytes, const TrustRoot& r, VerifyPolicy p) {
        auto v = bundle_verify(bytes, r, p);
        return v.ok() ? std::string("ok") : v.error().code;
    };
    EXPECT_EQ(reason(good, root, policy()), "ok");
    EXPECT_EQ(reason(f.bundle({f.b}), root, policy()), "unknown_key");
    EXPECT_EQ(reason(good, f.root({f.a, f.b}, 2), policy()), "below_threshold");
    EXPECT_EQ(reason(f.bundle({f.a, f.b}), f.root({f.a, f.b}, 2), policy()), "ok");
    EXPECT_EQ(reason(f.bundle({f.a}, 2), root, policy(3)), "rollback");
    EXPECT_EQ(reason(f.bundle({f.a}, 3), root, policy(3)), "ok");  // the same version again is fine
    EXPECT_EQ(reason(good, root, VerifyPolicy{kNow + 31 * 86400, 0, {}}), "expired");
    EXPECT_EQ(reason(good.substr(0, 5), root, policy()), "truncated");
    EXPECT_EQ(reason(good.substr(0, good.size() - 1), root, policy()), "truncated");
    EXPECT_EQ(reason(good + "x", root, policy()), "trailing_data");
    EXPECT_EQ(reason("NOTABNDL" + good.substr(8), root, policy()), "bad_magic");
    VerifyPolicy small = policy();
    small.limits.max_bytes = 100;
    EXPECT_EQ(reason(good, root, small), "too_large");

    // A member whose bytes were changed, keeping its length.
    Bytes changed = good;
    const size_t at = changed.find("intended_use");
    changed[at] = 'I';
    EXPECT_EQ(reason(changed, root, policy()), "member_hash");

    // A manifest with its signatures stripped.
    Bytes unsigned_bundle = good;
    {
        const size_t mlen = static_cast<unsigned char>(good[8]) | static_cast<unsigned char>(good[9]) << 8;
        const size_t sig_at = 12 + mlen;
        const size_t slen = static_cast<unsigned char>(good[sig_at]) | static_cast<unsigned char>(good[sig_at + 1])
                                                                           << 8;
        unsigned_bundle =
            good.substr(0, sig_at) + std::string("\x02\x00\x00\x00[]", 6) + good.substr(sig_at + 4 + slen);
    }
    EXPECT_EQ(reason(unsigned_bundle, root, policy()), "no_signature");
}

TEST(Bundle, MemberTableMismatchesAreCaught) {
    Fixture f;
    const TrustRoot root = f.root({f.a}, 1);
    // Sign a manifest for three members, then ship a different member table under it.
    auto with_members = [&](const std::map<std::string, Bytes>& shipped) {
        Bytes signed_one = f.bundle({f.a});
        Bytes other = *bundle_write(f.manifest(), shipped, {f.a});
        // Keep the signed header of the first, the member table of the second.
        const auto header_len = [](const Bytes& b) {
            size_t p = 8;
            for (int part = 0; part < 2; ++part) {
                const size_t n = static_cast<unsigned char>(b[p]) | static_cast<unsigned char>(b[p + 1]) << 8;
                p += 4 + n;
            }
            return p;
        };
        return signed_one.substr(0, header_len(signed_one)) + other.substr(header_len(other));
    };
    auto m = f.members();
    auto extra = m;
    extra["zz-extra.bin"] = "x";
    EXPECT_EQ(bundle_verify(with_members(extra), root, policy()).error().code, "unlisted_member");
    auto fewer = m;
    fewer.erase("schema.json");
    EXPECT_EQ(bundle_verify(with_members(fewer), root, policy()).error().code, "missing_member");
    auto longer = m;
    longer["card.json"] += " ";
    EXPECT_EQ(bundle_verify(with_members(longer), root, policy()).error().code, "member_length");
}

TEST(Bundle, BadSignatureFromAListedKeyIsTampering) {
    Fixture f;
    Bytes good = f.bundle({f.a});
    const size_t at = good.find("\"sig\":\"") + 7;
    good[at] = good[at] == '0' ? '1' : '0';
    auto v = bundle_verify(good, f.root({f.a}, 1), policy());
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, "bad_signature");
}

TEST(Bundle, TamperTestNoFlippedByteOrTruncationVerifies) {
    Fixture f;
    const Bytes good = f.bundle({f.a});
    const TrustRoot root = f.root({f.a}, 1);
    ASSERT_TRUE(bundle_verify(good, root, policy()).ok());
    for (size_t i = 0; i < good.size(); ++i) {
        for (unsigned char mask : {0x01, 0x20, 0x80, 0xff}) {
            Bytes t = good;
            t[i] = static_cast<char>(t[i] ^ mask);
            EXPECT_FALSE(bundle_verify(t, root, policy()).ok()) << "byte " << i << " ^ " << int(mask) << " verified";
        }
    }
    for (size_t n = 0; n < good.size(); ++n)
        EXPECT_FALSE(bundle_verify(good.substr(0, n), root, policy()).ok()) << "truncated to " << n << " verified";
}

TEST(Bundle, WriteRejectsBadInput) {
    Fixture f;
    Manifest m = f.manifest();
    EXPECT_EQ(bundle_write(m, f.members(), {}).error().code, "no_signature");
    m.name = "Bad Name";
    EXPECT_EQ(bundle_write(m, f.members(), {f.a}).error().field, "name");
    m = f.manifest();
    m.expires = m.created;
    EXPECT_EQ(bundle_write(m, f.members(), {f.a}).error().field, "expires");
}

TEST(TrustRoot, ParsesASelfSignedRoot) {
    Fixture f;
    const std::string text = trust_root_create(f.root({f.a, f.b}, 2), {f.a, f.b});
    auto r = trust_root_parse(text, kNow);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->threshold, 2);
    EXPECT_EQ(r->keys.size(), 2u);
    EXPECT_EQ(trust_root_parse(trust_root_create(f.root({f.a, f.b}, 2), {f.a}), kNow).error().code, "below_threshold");
    EXPECT_EQ(trust_root_parse(text, kNow + 400 * 86400).error().code, "expired");
    EXPECT_EQ(trust_root_parse("{}", kNow).error().code, "malformed");
    EXPECT_EQ(trust_root_parse(R"({"signed": {"type": 1}, "signatures": []})", kNow).error().code, "malformed");
    EXPECT_EQ(signing_key_parse(R"({"type": "localdx-signing-key", "secret_key": 7})").error().code, "bad_key");
}

TEST(TrustRoot, RotationNeedsTheThresholdOfThePreviousRoot) {
    Fixture f;
    const TrustRoot v1 = f.root({f.a, f.b}, 2);
    // v2 replaces b by c; signed by a and b (old threshold) and a and c (its own).
    const TrustRoot v2 = f.root({f.a, f.c}, 2, 2);
    auto ok = trust_root_update(v1, trust_root_create(v2, {f.a, f.b, f.c}), kNow);
    ASSERT_TRUE(ok.ok()) << ok.error().describe();
    EXPECT_EQ(ok->version, 2);
    // Only one old key signed: refused.
    EXPECT_EQ(trust_root_update(v1, trust_root_create(v2, {f.a, f.c}), kNow).error().code, "below_threshold");
    // Signed by the old keys but not by its own new key c.
    EXPECT_EQ(trust_root_update(v1, trust_root_create(v2, {f.a, f.b}), kNow).error().code, "below_threshold");
    // A version jump.
    EXPECT_EQ(trust_root_update(v1, trust_root_create(f.root({f.a, f.c}, 2, 3), {f.a, f.b, f.c}), kNow).error().code,
              "root_version");
    // Only an attacker's key.
    EXPECT_EQ(trust_root_update(v1, trust_root_create(f.root({f.c}, 1, 2), {f.c}), kNow).error().code, "unknown_key");
    // A bundle signed by the new key verifies against the new root, not the old.
    auto bundle = bundle_write(f.manifest(), f.members(), {f.a, f.c});
    EXPECT_TRUE(bundle_verify(*bundle, *ok, policy()).ok());
    EXPECT_EQ(bundle_verify(*bundle, v1, policy()).error().code, "below_threshold");
}

TEST(SigningKey, RoundTripsAndRejectsCorruptFiles) {
    Fixture f;
    auto k = signing_key_parse(signing_key_to_json(f.a));
    ASSERT_TRUE(k.ok()) << k.error().describe();
    EXPECT_EQ(k->keyid, f.a.keyid);
    EXPECT_EQ(signing_key_parse("not json").error().code, "bad_key");
    std::string corrupt = signing_key_to_json(f.a);
    corrupt[corrupt.find("secret_key") + 20] ^= 0x01;
    EXPECT_EQ(signing_key_parse(corrupt).error().code, "bad_key");
}

TEST(ModelsIndex, SignedByTheServerVerifiedByTheClientWithEveryRefusal) {
    const Fixture f;
    const Json models =
        Json::array({{{"name", "demo"}, {"title", "Demo"}, {"version", 3}, {"url", "/api/v1/bundles/ab"}}});
    const std::string text = models_index_sign(models, kNow, 3600, f.a);
    auto ok = models_index_verify(text, f.root({f.a}, 1), kNow, 0);
    ASSERT_TRUE(ok.ok()) << ok.error().describe();
    EXPECT_EQ(ok->version, kNow);
    EXPECT_EQ(ok->models, models);
    EXPECT_FALSE(ok->stale);
    EXPECT_TRUE(models_index_verify(text, f.root({f.a}, 1), kNow + 7200, 0)->stale);  // usable offline, marked stale
    EXPECT_EQ(models_index_verify(text, f.root({f.b}, 1), kNow, 0).error().code, "unknown_key");
    EXPECT_EQ(models_index_verify(text, f.root({f.a}, 1), kNow, kNow + 1).error().code, "rollback");
    std::string tampered = text;
    tampered.replace(tampered.find("\"demo\""), 6, "\"evil\"");
    EXPECT_NE(test::codes(models_index_verify(tampered, f.root({f.a}, 1), kNow, 0)), "ok");
    EXPECT_NE(test::codes(models_index_verify("{\"signed\": 1}", f.root({f.a}, 1), kNow, 0)), "ok");
    EXPECT_NE(test::codes(models_index_verify("\xff", f.root({f.a}, 1), kNow, 0)), "ok");
}

TEST(Time, UtcParseAndFormatRoundTrip) {
    EXPECT_EQ(utc_format(*utc_parse("2024-02-29T23:59:59Z")), "2024-02-29T23:59:59Z");
    EXPECT_EQ(*utc_parse("1970-01-01T00:00:00Z"), 0);
    EXPECT_FALSE(utc_parse("2026-02-30T00:00:00Z"));
    EXPECT_FALSE(utc_parse("2026-11-22 00:00:00"));
    EXPECT_EQ(utc_day(kNow), "2026-11-22");
}

}  // namespace
}  // namespace ldx
