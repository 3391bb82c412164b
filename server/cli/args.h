// server/cli/args.h — "--flag value" parsing for the command-line tools, with clear errors.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"

namespace ldx {

struct Args {
    std::map<std::string, std::string> flags;  // "--out" -> "dir"
    std::set<std::string> switches;            // "--explain"
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> repeated;  // "--gate" -> every value given

    std::vector<std::string> all(const std::string& flag) const {
        auto it = repeated.find(flag);
        return it == repeated.end() ? std::vector<std::string>{} : it->second;
    }

    std::optional<std::string> get(const std::string& flag) const {
        auto it = flags.find(flag);
        return it == flags.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    bool has(const std::string& sw) const { return switches.count(sw) > 0; }
};

// `with_value` lists the flags that take a value; `bare` the switches; `repeatable` the flags with
// a value that may be given more than once (read with all()). Anything else is an error that
// names the flag.
inline Result<Args> args_parse(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
                               const std::set<std::string>& bare, const std::set<std::string>& repeatable = {}) {
    Args a;
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& s = argv[i];
        if (s.rfind("--", 0) == 0) {
            if (repeatable.count(s)) {
                if (i + 1 >= argv.size()) return problem("usage", s + " needs a value");
                a.repeated[s].push_back(argv[++i]);
            } else if (with_value.count(s)) {
                if (i + 1 >= argv.size()) return problem("usage", s + " needs a value");
                if (a.flags.count(s)) return problem("usage", s + " is given twice");
                a.flags[s] = argv[++i];
            } else if (bare.count(s)) {
                a.switches.insert(s);
            } else {
                return problem("usage", "unknown option " + s + " (see --help)");
            }
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

inline Result<std::string> args_require(const Args& a, const std::string& flag) {
    if (auto v = a.get(flag)) return *v;
    return problem("usage", flag + " is required (see --help)");
}

}  // namespace ldx
