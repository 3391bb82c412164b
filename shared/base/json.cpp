// shared/base/json.cpp — see json.h.
#include "base/json.h"

#include "base/text.h"

#include <set>
#include <vector>

namespace ldx {

namespace {
// nlohmann's own DOM builder with the limits checked as it goes; parsing stops at the first
// failure. (nlohmann's callback parser, which once did this, scans the enclosing array or object
// for a discarded value each time an object ends: quadratic in the length of an array of objects,
// some 10^10 steps for a FHIR Bundle of 100,000 entries.)
class CheckedDom : public nlohmann::detail::json_sax_dom_parser<Json> {
    using Dom = nlohmann::detail::json_sax_dom_parser<Json>;

public:
    CheckedDom(Json& out, const std::string& doc, int max_depth) : Dom(out, true), doc_(doc), max_depth_(max_depth) {}
    std::optional<Problem> failure;

    bool start_object(std::size_t n) {
        if (!open()) return false;
        keys_.emplace_back();
        return Dom::start_object(n);
    }
    bool key(Json::string_t& k) {
        if (!keys_.back().insert(k).second) {
            failure = problem("json_duplicate_key", doc_ + " has the key '" + k + "' twice in one object", k);
            return false;
        }
        return Dom::key(k);
    }
    bool end_object() {
        keys_.pop_back();
        --depth_;
        return Dom::end_object();
    }
    bool start_array(std::size_t n) { return open() && Dom::start_array(n); }
    bool end_array() {
        --depth_;
        return Dom::end_array();
    }

private:
    bool open() {  // an object or array opens inside `depth_` others
        if (depth_ >= max_depth_) {
            failure = problem("json_too_deep", doc_ + " nests deeper than " + std::to_string(max_depth_) + " levels");
            return false;
        }
        ++depth_;
        return true;
    }
    const std::string& doc_;
    const int max_depth_;
    int depth_ = 0;
    std::vector<std::set<std::string>> keys_;  // one set per open object
};
}  // namespace

Result<Json> json_parse(std::string_view text, std::string_view what, JsonLimits limits) {
    const std::string doc(what);
    if (text.size() > limits.max_bytes)
        return problem("json_too_large", doc + " is " + std::to_string(text.size()) + " bytes; the limit is " +
                                             std::to_string(limits.max_bytes));
    Json j;
    CheckedDom dom(j, doc, limits.max_depth);
    try {
        const bool parsed = Json::sax_parse(text.begin(), text.end(), &dom);
        if (dom.failure) return *dom.failure;
        if (!parsed) return problem("json_syntax", doc + " is not valid JSON");
    } catch (const Json::exception& e) {
        if (dom.failure) return *dom.failure;
        std::string msg = e.what();
        if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
        msg = printable(msg);  // the parser quotes the bytes it last read, which may be anything
        return problem("json_syntax", doc + " is not valid JSON: " + msg);
    }
    return j;
}

std::string json_dump(const Json& j, int indent) { return j.dump(indent, ' ', false, Json::error_handler_t::replace); }

std::string json_canonical(const Json& j) {
    // nlohmann::json objects are std::map: keys come out sorted. dump() without indent has no
    // whitespace. error_handler strict: invalid UTF-8 throws rather than being silently replaced.
    return j.dump(-1, ' ', false, Json::error_handler_t::strict);
}

namespace {
std::string key_path(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}
const char* type_word(const Json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    return "an object";
}
template <class T, class Check, class Get>
Result<std::optional<T>> get_opt(const Json& obj, std::string_view key, const std::string& path, const char* want,
                                 Check check, Get get) {
    const std::string p = key_path(path, key);
    if (!obj.is_object()) return problem("wrong_type", "expected an object", path);
    auto it = obj.find(key);
    if (it == obj.end()) return std::optional<T>{};
    if (!check(*it)) return problem("wrong_type", std::string("expected ") + want + ", found " + type_word(*it), p);
    return std::optional<T>{get(*it)};
}
template <class T>
Result<T> require(Result<std::optional<T>> r, std::string_view key, const std::string& path) {
    if (!r) return r.problems();
    if (!r.value()) return problem("missing_key", "is required", key_path(path, key));
    return std::move(*r.value());
}
}  // namespace

Result<std::optional<std::string>> json_opt_string(const Json& obj, std::string_view key, const std::string& path) {
    return get_opt<std::string>(
        obj, key, path, "a string", [](const Json& v) { return v.is_string(); },
        [](const Json& v) { return v.get<std::string>(); });
}
Result<std::optional<double>> json_opt_number(const Json& obj, std::string_view key, const std::string& path) {
    return get_opt<double>(
        obj, key, path, "a number", [](const Json& v) { return v.is_number(); },
        [](const Json& v) { return v.get<double>(); });
}
Result<std::optional<bool>> json_opt_bool(const Json& obj, std::string_view key, const std::string& path) {
    return get_opt<bool>(
        obj, key, path, "true or false", [](const Json& v) { return v.is_boolean(); },
        [](const Json& v) { return v.get<bool>(); });
}
Result<std::string> json_string(const Json& obj, std::string_view key, const std::string& path) {
    return require(json_opt_string(obj, key, path), key, path);
}
Result<double> json_number(const Json& obj, std::string_view key, const std::string& path) {
    return require(json_opt_number(obj, key, path), key, path);
}
Result<bool> json_bool(const Json& obj, std::string_view key, const std::string& path) {
    return require(json_opt_bool(obj, key, path), key, path);
}
Result<int64_t> json_integer(const Json& obj, std::string_view key, const std::string& path) {
    auto r = get_opt<int64_t>(
        obj, key, path, "a whole number", [](const Json& v) { return v.is_number_integer(); },
        [](const Json& v) { return v.get<int64_t>(); });
    return require(std::move(r), key, path);
}

std::string json_text_or(const Json& obj, std::string_view key, std::string_view fallback) {
    if (!obj.is_object()) return std::string(fallback);
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return std::string(fallback);
    return it->get<std::string>();
}

const Json& json_member(const Json& obj, std::string_view key) {
    static const Json null_json;
    if (!obj.is_object()) return null_json;
    auto it = obj.find(key);
    return it == obj.end() ? null_json : *it;
}

namespace {
std::optional<int64_t> whole(const Json& v, int64_t lo, int64_t hi) {
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(INT64_MAX) || static_cast<int64_t>(u) > hi || static_cast<int64_t>(u) < lo)
            return std::nullopt;
        return static_cast<int64_t>(u);
    }
    if (v.is_number_integer()) {
        const int64_t x = v.get<int64_t>();
        if (x < lo || x > hi) return std::nullopt;
        return x;
    }
    return std::nullopt;
}
}  // namespace

bool json_int_array(const Json& a, std::vector<int>& out, int64_t lo, int64_t hi) {
    out.clear();
    if (!a.is_array()) return false;
    out.reserve(a.size());
    for (const Json& v : a) {
        auto x = whole(v, lo, hi);
        if (!x) return false;
        out.push_back(static_cast<int>(*x));
    }
    return true;
}

bool json_number_array(const Json& a, std::vector<double>& out) {
    out.clear();
    if (!a.is_array()) return false;
    out.reserve(a.size());
    for (const Json& v : a) {
        if (!v.is_number()) return false;
        out.push_back(v.get<double>());
    }
    return true;
}

std::optional<int64_t> json_int_in(const Json& obj, std::string_view key, int64_t lo, int64_t hi) {
    return whole(json_member(obj, key), lo, hi);
}

std::optional<Problem> json_check_keys(const Json& obj, std::initializer_list<std::string_view> allowed,
                                       const std::string& path) {
    if (!obj.is_object()) return problem("wrong_type", "expected an object", path);
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool known = false;
        for (auto a : allowed) known = known || a == it.key();
        if (!known) {
            std::string list;
            for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            return problem("unknown_key", "unknown key '" + it.key() + "' (allowed: " + list + ")",
                           key_path(path, it.key()));
        }
    }
    return std::nullopt;
}

//-----------------------------------------------------------------------------
// [SECTION] Problems as JSON
//-----------------------------------------------------------------------------
Json problem_json(const Problem& p) {
    Json j{{"code", p.code}, {"message", p.message}};
    if (!p.field.empty()) j["field"] = p.field;
    if (p.row >= 0) j["row"] = p.row;
    if (!p.patient.empty()) j["patient"] = p.patient;
    return j;
}

Json problems_json(const std::vector<Problem>& ps) {
    Json a = Json::array();
    for (const auto& p : ps) a.push_back(problem_json(p));
    return a;
}

Json problems_envelope(const std::vector<Problem>& ps) {
    return Json{{"ok", false}, {"problems", problems_json(Result<Ok>(ps).problems())}};
}

std::vector<Problem> problems_from_json(const Json& j) {
    std::vector<Problem> out;
    if (!j.is_object() || json_member(j, "ok") != Json(false)) return out;
    const Json& list = json_member(j, "problems");
    if (!list.is_array()) return out;
    for (const Json& e : list) {
        if (!e.is_object() || !json_member(e, "code").is_string() || !json_member(e, "message").is_string()) continue;
        Problem p = problem(json_text_or(e, "code"), json_text_or(e, "message"), json_text_or(e, "field"));
        if (auto row = json_int_in(e, "row", 0, int64_t{1} << 40)) p.row = static_cast<long>(*row);
        p.patient = json_text_or(e, "patient");
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace ldx
