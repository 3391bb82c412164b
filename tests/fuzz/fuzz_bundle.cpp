// Fuzz target: the bundle reader, verified against a fixed trust root. The seed corpus holds a
// valid bundle signed by that root's key (fuzz_seeds writes it), so mutations start from a
// well-formed layout and reach every length, structure and hash check.
#include <cstdint>
#include <string_view>

#include "bundle/bundle.h"
#include "predict/predict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const ldx::SigningKey key = ldx::signing_key_from_pair(ldx::ed25519_keypair_from_seed(std::string(32, 'k')));
    static const ldx::TrustRoot root = [] {
        ldx::TrustRoot r;
        r.expires = 4102444800;  // 2100
        r.keys.push_back({key.keyid, key.public_key()});
        return r;
    }();
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    (void)ldx::bundle_peek_manifest(bytes);
    auto v = ldx::bundle_verify(bytes, root, ldx::VerifyPolicy{1790000000, 0, {}});
    if (v.ok()) (void)ldx::model_from_bundle(*v);
    return 0;
}
