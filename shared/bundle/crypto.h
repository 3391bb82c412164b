// shared/bundle/crypto.h — the few primitives bundles need, over libsodium.
//
// Index of this file
//   [SECTION] Bytes and hex
//   [SECTION] SHA-256
//   [SECTION] Ed25519 (detached signatures, domain-separated)
//
// Thread-safety: every function here is safe to call from several threads (libsodium's own
// guarantee after sodium_init, which crypto_ready() performs once).
#pragma once
#include "base/calendar.h"  // utc_parse, utc_format, utc_day: the timestamps bundles carry

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Bytes and hex
//-----------------------------------------------------------------------------
// Bundles, keys and signatures are byte strings held in std::string (no text semantics).
using Bytes = std::string;

std::string hex_encode(std::string_view bytes);
std::optional<Bytes> hex_decode(std::string_view hex);  // lowercase only; nullopt on odd length or non-hex

bool crypto_ready();           // sodium_init; false only if libsodium cannot start
Bytes random_bytes(size_t n);  // from the system's random source (libsodium's randombytes_buf)

//-----------------------------------------------------------------------------
// [SECTION] SHA-256
//-----------------------------------------------------------------------------
inline constexpr size_t kSha256Bytes = 32;
Bytes sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

//-----------------------------------------------------------------------------
// [SECTION] Ed25519
//-----------------------------------------------------------------------------
inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSecretKeyBytes = 64;
inline constexpr size_t kSignatureBytes = 64;

struct KeyPair {
    Bytes public_key;  // 32 bytes
    Bytes secret_key;  // 64 bytes (seed || public key, libsodium's layout)
};

KeyPair ed25519_keypair();                                   // from the system's random source
KeyPair ed25519_keypair_from_seed(std::string_view seed32);  // deterministic (tests)

// Signatures cover  domain || 0x00 || message, so a signature made for one kind of document
// (a bundle manifest, a trust root, a models index) can never be replayed as another.
Bytes ed25519_sign(std::string_view domain, std::string_view message, std::string_view secret_key);
bool ed25519_verify(std::string_view domain, std::string_view message, std::string_view signature,
                    std::string_view public_key);

// A key's identifier: the first 16 bytes of SHA-256(public key), in hex.
std::string key_id(std::string_view public_key);

// Compares in constant time (for tokens).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace ldx
