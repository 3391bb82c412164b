// server/http/error_body.h — the one shape of every error the server answers with.
//
// The Problem shape every front end uses (base/json.h problem_json: "code", "message", "text",
// "field" when there is one), plus "error", the message again under the name HTTP clients read:
// {"code": "stable_code", "message": "what happened, for a person", "text": ..., "field": ...,
//  "error": "what happened, for a person"}
// The same shape comes from the routes, from the refusals decided on headers alone, and from the
// connection front (busy, too many connections, request timeout).
#pragma once
#include <string>

#include "base/json.h"

namespace ldx {

inline Json error_body(const std::string& code, const std::string& message, const std::string& field = {}) {
    Json j = problem_json(problem(code, message, field));
    j["error"] = message;
    return j;
}

}  // namespace ldx
