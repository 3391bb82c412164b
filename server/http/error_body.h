// server/http/error_body.h — the one shape of every error the server answers with.
//
// The problem envelope every LocalDx front end uses (the core, the CLI's --format json, the page):
//   {"ok": false, "problems": [{"code": "stable_code", "message": "what happened, for a person",
//                               "field"?: ..., "row"?: ..., "patient"?: ...}]}
// (base/json.h problems_json). The same shape comes from the routes, from the refusals decided on
// headers alone (request_head.h Refusal, before any body is read), and from the connection front
// (busy, too many connections, request timeout).
#pragma once
#include <string>
#include <vector>

#include "base/json.h"
#include "http/request_head.h"

namespace ldx {

inline Json error_body(const std::vector<Problem>& problems) {
    return Json{{"ok", false}, {"problems", problems_json(problems)}};
}

inline Json error_body(const Problem& p) { return error_body(std::vector<Problem>{p}); }

inline Json error_body(const std::string& code, const std::string& message, const std::string& field = {}) {
    return error_body(problem(code, message, field));
}

inline Json error_body(const Refusal& r) { return error_body(r.problem); }

}  // namespace ldx
