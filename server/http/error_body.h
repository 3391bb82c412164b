// server/http/error_body.h — the one shape of every error the server answers with.
//
// {"error": "what happened, for a person", "code": "stable_code", "field": "optional"}
// The same shape comes from the routes, from the refusals decided on headers alone, and from the
// connection front (busy, too many connections, request timeout).
#pragma once
#include <string>

#include "base/json.h"

namespace ldx {

inline Json error_body(const std::string& code, const std::string& message, const std::string& field = {}) {
    Json j{{"error", message}, {"code", code}};
    if (!field.empty()) j["field"] = field;
    return j;
}

}  // namespace ldx
