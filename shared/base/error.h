// shared/base/error.h — errors as values.
//
// Index of this file
//   [SECTION] Problem: one thing that is wrong, with where and why
//   [SECTION] Result<T>: a value or the problems that prevented it
//
// Every front end (CLI, server, browser) shows a Problem as-is: the message is written once,
// here in shared/, for a person to act on. `code` is a stable machine-readable token that tests
// and programs match on; `field` and `row` say where (empty / -1 when not applicable).
#pragma once
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Problem
//-----------------------------------------------------------------------------
struct Problem {
    std::string code;     // e.g. "out_of_range", "bad_signature"
    std::string message;  // a sentence a person can act on
    std::string field;    // schema field / JSON path / member name, when there is one
    long row = -1;        // 1-based data row (CSV), when there is one
    std::string patient;  // the row's patient id, when the file has one

    // "row 3 (patient P-17), field 'glucose': value 900 is above the maximum 600 mg/dL"
    std::string describe() const {
        std::string s;
        if (row >= 0) s += "row " + std::to_string(row);
        if (!patient.empty()) s += (s.empty() ? "patient " : " (patient ") + patient + (row >= 0 ? ")" : "");
        if (!field.empty()) s += (s.empty() ? "" : ", ") + std::string("field '") + field + "'";
        if (!s.empty()) s += ": ";
        return s + message;
    }
};

inline Problem problem(std::string code, std::string message, std::string field = {}, long row = -1) {
    return Problem{std::move(code), std::move(message), std::move(field), row, {}};
}

//-----------------------------------------------------------------------------
// [SECTION] Result<T>
//-----------------------------------------------------------------------------
// A minimal std::expected (C++23) for C++20: holds a T or a non-empty list of Problems. A failure
// given no problem at all (a bug: every refusal has a reason) holds one that says so, so that
// error() and every front end always have something to show.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Problem p) : v_(std::vector<Problem>{std::move(p)}) {}
    Result(std::vector<Problem> ps) : v_(ps.empty() ? std::vector<Problem>{unexplained()} : std::move(ps)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    const std::vector<Problem>& problems() const { return std::get<1>(v_); }
    const Problem& error() const { return problems().front(); }

private:
    static Problem unexplained() {
        return problem("internal", "the operation failed without saying why (a fault in LocalDx; please report it)");
    }
    std::variant<T, std::vector<Problem>> v_;
};

struct Ok {};  // Result<Ok> for operations that return nothing but may fail

}  // namespace ldx
