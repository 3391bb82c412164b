// wasm/core/boundary.h — the one guard every embind binding goes through: nothing throws across.
//
// Index of this file
//   [SECTION] The failure answer
//   [SECTION] Arguments from JavaScript, checked
//   [SECTION] guard: a binding that answers, whatever it is given
//   [SECTION] Registering bindings (boundary::function, boundary::Class)
//
// Like ONNX Runtime's and XGBoost's C APIs, every entry point answers with a value or the one
// problem envelope {"ok": false, "problems": [{code, message, ...}]}; never an exception:
//   - Arguments arrive as JavaScript values and are checked here, in C++, before the function
//     runs: text where text is expected, finite numbers (at most 2^53 in size), whole numbers for
//     int, typed arrays (bytes_from_js, array_from_js). So embind itself never refuses a call's
//     argument types (a BindingError thrown in JavaScript, halfway through converting arguments,
//     would leak the ones already copied into the wasm heap).
//   - Any C++ exception the function throws is caught here.
//   - A function that returns text answers the envelope as JSON text (its callers parse it);
//     every other one (void, numbers, bool, emscripten::val, a class handle) answers the
//     envelope as a JavaScript object, so `x.ok === false` tells a failure from a handle or value.
//   - What embind still checks in JavaScript before C++ runs (the number of arguments, a deleted
//     or foreign handle as `this` or as a class argument) is caught by wasm/core/boundary.js, the
//     module's post-js, which wraps every entry of boundary::table() the same way.
#pragma once
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "base/text.h"

namespace ldx::boundary {

//-----------------------------------------------------------------------------
// [SECTION] The failure answer
//-----------------------------------------------------------------------------
// An argument of the wrong kind: the caller's mistake, said as such ("bad_argument").
struct BadArgument : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The envelope as JSON text (for text answers) or as a JavaScript object (for every other answer).
template <class Out>
Out failure(const std::vector<Problem>& problems) {
    const std::string text = json_dump(Json{{"ok", false}, {"problems", problems_json(problems)}});
    if constexpr (std::is_same_v<Out, std::string>) return text;
    else return emscripten::val::global("JSON").call<emscripten::val>("parse", text);
}
template <class Out>
Out failure(const std::string& code, const std::string& message) {
    return failure<Out>({problem(code, message)});
}

//-----------------------------------------------------------------------------
// [SECTION] Arguments from JavaScript, checked
//-----------------------------------------------------------------------------
inline bool is_typed_array(const emscripten::val& v) {
    return v.isArray() || (emscripten::val::global("ArrayBuffer").call<bool>("isView", v) && !v.instanceof
                           (emscripten::val::global("DataView")));
}

// The bytes of a Uint8Array, or its first `most` (a copy: the wasm memory may move when it grows).
inline std::string bytes_from_js(const emscripten::val& u8, size_t most = SIZE_MAX) {
    if (!u8.instanceof (emscripten::val::global("Uint8Array"))) throw BadArgument("expected bytes (a Uint8Array)");
    const size_t n = std::min(u8["length"].as<size_t>(), most);
    std::string bytes(n, '\0');
    if (n == 0) return bytes;  // set() from a detached buffer (length 0) would throw in JavaScript
    emscripten::val view(emscripten::typed_memory_view(n, reinterpret_cast<unsigned char*>(bytes.data())));
    view.call<void>("set", n == u8["length"].as<size_t>() ? u8 : u8.call<emscripten::val>("subarray", 0, n));
    return bytes;
}

// The numbers of a typed array or an array (a copy; what is not a number becomes NaN).
template <class T>
std::vector<T> array_from_js(const emscripten::val& typed) {
    if (!is_typed_array(typed)) throw BadArgument("expected numbers (a typed array)");
    const size_t n = typed["length"].as<size_t>();
    std::vector<T> out(n);
    if (n == 0) return out;  // as above
    emscripten::val view(emscripten::typed_memory_view(n, out.data()));
    view.call<void>("set", typed);
    return out;
}

// A number from JavaScript (finite, at most 2^53 in size: from_js below) as the whole number the
// core checks against its own limits; `otherwise` when it has a fraction.
inline int64_t whole_or(double x, int64_t otherwise) {
    return std::isfinite(x) && std::fabs(x) <= 9007199254740992.0 && x == std::floor(x) ? static_cast<int64_t>(x)
                                                                                        : otherwise;
}

template <class T>
inline constexpr bool kFromAnyJs =
    std::is_same_v<T, std::string> || std::is_same_v<T, double> || std::is_same_v<T, int> || std::is_same_v<T, bool> ||
    std::is_same_v<T, emscripten::val>;

// What embind is asked to pass: any JavaScript value for text, numbers, bool and val (checked
// below); a class argument as itself (embind checks its type before C++ runs).
template <class T>
using Param = std::conditional_t<kFromAnyJs<std::decay_t<T>>, const emscripten::val&, T>;

template <class T>
decltype(auto) from_js(Param<T> v, size_t i) {
    using D = std::decay_t<T>;
    const std::string which = "argument " + std::to_string(i + 1);
    if constexpr (std::is_same_v<D, emscripten::val>) {
        return D(v);
    } else if constexpr (std::is_same_v<D, std::string>) {
        if (v.isString()) return v.template as<std::string>();
        if (v.instanceof (emscripten::val::global("Uint8Array"))) return bytes_from_js(v);  // as embind does
        throw BadArgument(which + " must be text");
    } else if constexpr (std::is_same_v<D, bool>) {
        if (v.isTrue() || v.isFalse()) return v.isTrue();
        throw BadArgument(which + " must be true or false");
    } else if constexpr (std::is_same_v<D, double> || std::is_same_v<D, int>) {
        const double x = v.isNumber() ? v.template as<double>() : NAN;
        constexpr double kLimit = std::is_same_v<D, int> ? 2147483647.0 : 9007199254740992.0;  // 2^31-1, 2^53
        if (!std::isfinite(x) || std::fabs(x) > kLimit)
            throw BadArgument(which + " must be a finite number of at most " +
                              std::to_string(static_cast<int64_t>(kLimit)) + " in size");
        if constexpr (std::is_same_v<D, int>) {
            if (x != std::floor(x)) throw BadArgument(which + " must be a whole number");
            return static_cast<int>(x);
        } else {
            return x;
        }
    } else {
        return static_cast<Param<T>>(v);
    }
}

//-----------------------------------------------------------------------------
// [SECTION] guard
//-----------------------------------------------------------------------------
template <class R>
using Out = std::conditional_t<std::is_same_v<std::decay_t<R>, std::string>, std::string, emscripten::val>;

template <class R, class Fn>
Out<R> answer(Fn&& fn) {
    try {
        if constexpr (std::is_void_v<R>) {
            fn();
            return emscripten::val::undefined();
        } else if constexpr (std::is_same_v<Out<R>, std::string>) {
            return fn();
        } else {
            return emscripten::val(fn());
        }
    } catch (const BadArgument& e) {
        return failure<Out<R>>("bad_argument", e.what());
    } catch (const std::exception& e) {
        return failure<Out<R>>("internal", std::string("the core could not handle this input: ") + printable(e.what()));
    } catch (...) { return failure<Out<R>>("internal", "the core could not handle this input"); }
}

// Which arguments embind itself checks (class arguments), 0-based: the rest come as any value.
template <class... A>
Json class_arguments() {
    Json out = Json::array();
    size_t i = 0;
    ((kFromAnyJs<std::decay_t<A>> ? void() : out.push_back(i), ++i), ...);
    return out;
}

template <auto F>
struct Guard;

template <class R, class... A, R (*F)(A...)>
struct Guard<F> {
    static constexpr bool kText = std::is_same_v<Out<R>, std::string>;
    static constexpr size_t kArity = sizeof...(A);
    static Json entry() {
        return {{"answer", kText ? "text" : "value"}, {"arity", kArity}, {"class_arguments", class_arguments<A...>()}};
    }
    static Out<R> call(Param<A>... a) { return with(std::index_sequence_for<A...>{}, a...); }
    template <size_t... I>
    static Out<R> with(std::index_sequence<I...>, Param<A>... a) {
        return answer<R>([&]() -> R { return F(from_js<A>(a, I)...); });
    }
};

template <class C, class R, class... A, R (C::*F)(A...) const>
struct Guard<F> {
    static constexpr bool kText = std::is_same_v<Out<R>, std::string>;
    static constexpr size_t kArity = sizeof...(A);
    static Json entry() {
        return {{"answer", kText ? "text" : "value"}, {"arity", kArity}, {"class_arguments", class_arguments<A...>()}};
    }
    static Out<R> call(const C& self, Param<A>... a) { return with(std::index_sequence_for<A...>{}, self, a...); }
    template <size_t... I>
    static Out<R> with(std::index_sequence<I...>, const C& self, Param<A>... a) {
        return answer<R>([&]() -> R { return (self.*F)(from_js<A>(a, I)...); });
    }
};

template <class C, class R, class... A, R (C::*F)(A...)>
struct Guard<F> {
    static constexpr bool kText = std::is_same_v<Out<R>, std::string>;
    static constexpr size_t kArity = sizeof...(A);
    static Json entry() {
        return {{"answer", kText ? "text" : "value"}, {"arity", kArity}, {"class_arguments", class_arguments<A...>()}};
    }
    static Out<R> call(C& self, Param<A>... a) { return with(std::index_sequence_for<A...>{}, self, a...); }
    template <size_t... I>
    static Out<R> with(std::index_sequence<I...>, C& self, Param<A>... a) {
        return answer<R>([&]() -> R { return (self.*F)(from_js<A>(a, I)...); });
    }
};

//-----------------------------------------------------------------------------
// [SECTION] Registering bindings
//-----------------------------------------------------------------------------
// Every guarded entry point: "name" or "Class.method" -> {"answer": "text" | "value", "arity": n,
// "class_arguments": [i, ...]},
// for boundary.js (which wraps each the same way) and the Node test (which calls each).
inline Json& table() {
    static Json t = Json::object();
    return t;
}
inline std::string table_json() { return json_dump(table()); }

template <auto F>
void function(const char* name) {
    emscripten::function(name, &Guard<F>::call);
    table()[name] = Guard<F>::entry();
}

// A class whose methods are all guarded: Class<CoreModel>("CoreModel").method<&CoreModel::info>("info").
template <class C>
class Class {
public:
    explicit Class(const char* name) : c_(name), name_(name) {}
    template <auto F>
    Class& method(const char* name) {
        c_.function(name, &Guard<F>::call);
        table()[name_ + "." + name] = Guard<F>::entry();
        return *this;
    }

private:
    emscripten::class_<C> c_;
    std::string name_;
};

}  // namespace ldx::boundary
