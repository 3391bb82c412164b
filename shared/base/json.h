// shared/base/json.h — strict JSON reading for untrusted input.
//
// Index of this file
//   [SECTION] Limits
//   [SECTION] Parsing (size, depth, duplicate keys checked)
//   [SECTION] Typed field access that reports the JSON path on failure
//   [SECTION] Problems as JSON (the one shape every front end shows)
//
// nlohmann::json accepts duplicate keys (last wins) and any depth; for schemas, manifests and
// metrics reports both are attack surface, so every untrusted document goes through here.
#pragma once
#include <nlohmann/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace ldx {

using Json = nlohmann::json;

//-----------------------------------------------------------------------------
// [SECTION] Limits
//-----------------------------------------------------------------------------
struct JsonLimits {
    size_t max_bytes = 16u << 20;  // whole document
    int max_depth = 32;            // nesting of objects and arrays
};

//-----------------------------------------------------------------------------
// [SECTION] Parsing
//-----------------------------------------------------------------------------
// Problems: "json_too_large", "json_syntax", "json_too_deep", "json_duplicate_key".
// `what` names the document in messages ("schema", "manifest", ...).
Result<Json> json_parse(std::string_view text, std::string_view what, JsonLimits limits = {});

// JSON text for output that never throws: text that is not valid UTF-8 (a lone surrogate from
// JavaScript, a 0xFF byte from a hostile client) is written with U+FFFD in its place. Every
// front end writes JSON through this (nlohmann's dump() throws on invalid UTF-8).
std::string json_dump(const Json& j, int indent = -1);

// Canonical form: keys sorted, no insignificant whitespace, UTF-8 as-is. Used for signed bytes.
std::string json_canonical(const Json& j);

//-----------------------------------------------------------------------------
// [SECTION] Typed field access
//-----------------------------------------------------------------------------
// Each returns the value, or a Problem whose field is `path` ("fields[3].min") and whose code is
// "missing_key" or "wrong_type". Optional variants return std::nullopt when the key is absent.
Result<std::string> json_string(const Json& obj, std::string_view key, const std::string& path);
Result<double> json_number(const Json& obj, std::string_view key, const std::string& path);
Result<int64_t> json_integer(const Json& obj, std::string_view key, const std::string& path);
Result<bool> json_bool(const Json& obj, std::string_view key, const std::string& path);
Result<std::optional<std::string>> json_opt_string(const Json& obj, std::string_view key, const std::string& path);
Result<std::optional<double>> json_opt_number(const Json& obj, std::string_view key, const std::string& path);
Result<std::optional<bool>> json_opt_bool(const Json& obj, std::string_view key, const std::string& path);

// Never throw, whatever the document holds (nlohmann's value() throws on a type mismatch):
// the member's text when `key` holds a string, else `fallback`; the member, else null.
std::string json_text_or(const Json& obj, std::string_view key, std::string_view fallback = {});
const Json& json_member(const Json& obj, std::string_view key);

// Never throw, never convert out of range: false unless `a` is an array of whole numbers within
// [lo, hi] (or, for doubles, of finite-or-not numbers).
bool json_int_array(const Json& a, std::vector<int>& out, int64_t lo, int64_t hi);
bool json_number_array(const Json& a, std::vector<double>& out);
// A whole number within [lo, hi] at `key`, or nullopt.
std::optional<int64_t> json_int_in(const Json& obj, std::string_view key, int64_t lo, int64_t hi);

// Problem "unknown_key" for the first key of `obj` not in `allowed` (catches typos in schemas).
std::optional<Problem> json_check_keys(const Json& obj, std::initializer_list<std::string_view> allowed,
                                       const std::string& path);

//-----------------------------------------------------------------------------
// [SECTION] Problems as JSON
//-----------------------------------------------------------------------------
// {"code", "message", "field"?, "row"?, "patient"?}: the CLI's JSON outputs, the server's error
// bodies ({"ok": false, "problems": [...]}), the browser core and the page all carry problems in
// this shape. (schema.h problems_json adds what the form shows: "text", the field's "label".)
Json problem_json(const Problem& p);
Json problems_json(const std::vector<Problem>& ps);
// The one failure envelope {"ok": false, "problems": [...]}, never with an empty list (as Result:
// no problems at all becomes the "internal" one that says so).
Json problems_envelope(const std::vector<Problem>& ps);
// The problems of an envelope {"ok": false, "problems": [...]} as problems_json writes them (a
// server's error body, a core answer); entries without a string "code" and "message" are left
// out. Empty when `j` is no such envelope.
std::vector<Problem> problems_from_json(const Json& j);

}  // namespace ldx
