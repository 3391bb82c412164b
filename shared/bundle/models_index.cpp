// shared/bundle/models_index.cpp — see models_index.h.
#include "bundle/models_index.h"

#include "bundle/crypto.h"

namespace ldx {

std::string models_index_sign(const Json& models, int64_t now, int64_t ttl_seconds, const SigningKey& key) {
    const Json signed_part{{"type", "localdx-index"},
                           {"version", now},
                           {"issued", utc_format(now)},
                           {"expires", utc_format(now + ttl_seconds)},
                           {"models", models}};
    return signed_document(kModelsIndexDomain, signed_part, {key});
}

Result<ModelsIndex> models_index_verify(std::string_view text, const TrustRoot& root, int64_t now,
                                        int64_t min_version) {
    std::string bytes;
    std::vector<SignatureEntry> sigs;
    auto signed_part = signed_document_parse(text, "models index", bytes, sigs);
    if (!signed_part) return signed_part.problems();
    if (auto ok = signatures_check(kModelsIndexDomain, bytes, sigs, root, "the models index"); !ok)
        return ok.problems();
    const Json& s = *signed_part;
    const auto version = json_int_in(s, "version", 0, INT64_MAX);
    if (json_text_or(s, "type") != "localdx-index" || !version || !json_member(s, "models").is_array())
        return problem("malformed", "the models index is malformed");
    if (*version < min_version)
        return problem(
            "rollback",
            "the models index is older than one already seen: the server or a mirror may be replaying an old index");
    const auto expires = utc_parse(json_text_or(s, "expires"));
    if (!expires) return problem("malformed", "the models index has no valid expiry");
    return ModelsIndex{*version, json_text_or(s, "expires"), now > *expires, s["models"]};
}

}  // namespace ldx
