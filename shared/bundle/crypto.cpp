// shared/bundle/crypto.cpp — see crypto.h.
#include "bundle/crypto.h"

#include <sodium.h>

#include <cstdio>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Bytes and hex
//-----------------------------------------------------------------------------
std::string hex_encode(std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        s += digits[c >> 4];
        s += digits[c & 15];
    }
    return s;
}

std::optional<Bytes> hex_decode(std::string_view hex) {
    if (hex.size() % 2) return std::nullopt;
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // lowercase only: one spelling per value
        return -1;
    };
    Bytes out;
    out.reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2) {
        const int hi = val(hex[i]), lo = val(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
    }
    return out;
}

bool crypto_ready() {
    static const bool ok = sodium_init() >= 0;  // sodium_init is idempotent and thread-safe
    return ok;
}

//-----------------------------------------------------------------------------
// [SECTION] SHA-256
//-----------------------------------------------------------------------------
Bytes sha256(std::string_view data) {
    crypto_ready();
    Bytes out(crypto_hash_sha256_BYTES, '\0');
    crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return out;
}

std::string sha256_hex(std::string_view data) { return hex_encode(sha256(data)); }

//-----------------------------------------------------------------------------
// [SECTION] Ed25519
//-----------------------------------------------------------------------------
namespace {
Bytes domain_message(std::string_view domain, std::string_view message) {
    Bytes m;
    m.reserve(domain.size() + 1 + message.size());
    m.append(domain);
    m += '\0';
    m.append(message);
    return m;
}
const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
}  // namespace

Bytes random_bytes(size_t n) {
    crypto_ready();
    Bytes b(n, '\0');
    randombytes_buf(b.data(), n);
    return b;
}

KeyPair ed25519_keypair() {
    crypto_ready();
    KeyPair k{Bytes(crypto_sign_PUBLICKEYBYTES, '\0'), Bytes(crypto_sign_SECRETKEYBYTES, '\0')};
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                        reinterpret_cast<unsigned char*>(k.secret_key.data()));
    return k;
}

KeyPair ed25519_keypair_from_seed(std::string_view seed32) {
    crypto_ready();
    KeyPair k{Bytes(crypto_sign_PUBLICKEYBYTES, '\0'), Bytes(crypto_sign_SECRETKEYBYTES, '\0')};
    Bytes seed(seed32.substr(0, crypto_sign_SEEDBYTES));
    seed.resize(crypto_sign_SEEDBYTES, '\0');
    crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                             reinterpret_cast<unsigned char*>(k.secret_key.data()), u8(seed));
    return k;
}

Bytes ed25519_sign(std::string_view domain, std::string_view message, std::string_view secret_key) {
    crypto_ready();
    if (secret_key.size() != crypto_sign_SECRETKEYBYTES) return {};
    const Bytes m = domain_message(domain, message);
    Bytes sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr, u8(m), m.size(), u8(secret_key));
    return sig;
}

bool ed25519_verify(std::string_view domain, std::string_view message, std::string_view signature,
                    std::string_view public_key) {
    crypto_ready();
    if (signature.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES) return false;
    const Bytes m = domain_message(domain, message);
    return crypto_sign_verify_detached(u8(signature), u8(m), m.size(), u8(public_key)) == 0;
}

std::string key_id(std::string_view public_key) { return hex_encode(sha256(public_key).substr(0, 16)); }

bool constant_time_equal(std::string_view a, std::string_view b) {
    crypto_ready();
    if (a.size() != b.size()) return false;
    return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace ldx
