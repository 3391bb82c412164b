// tests/support.h — small helpers shared by the test files.
#pragma once
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "schema/schema.h"

namespace ldx::test {

inline std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

inline std::string source_path(const std::string& rel) { return std::string(LOCALDX_SOURCE_DIR) + "/" + rel; }

// A task name as a GoogleTest parameter name ("pima-diabetes" -> "pima_diabetes").
inline std::string test_name(std::string task) {
    for (char& c : task)
        if (c == '-') c = '_';
    return task;
}
inline std::string data_path(const std::string& task) { return std::string(LOCALDX_DATA_DIR) + "/" + task + ".csv"; }

inline Schema task_schema(const std::string& task) {
    auto s = schema_parse(read_file(source_path("models/" + task + "/schema.json")));
    if (!s) throw std::runtime_error(task + " schema: " + s.error().describe());
    return *s;
}

// Every problem code of a failed Result, joined: "out_of_range,required".
template <class R>
std::string codes(const R& r) {
    if (r.ok()) return "ok";
    std::string s;
    for (const auto& p : r.problems()) s += (s.empty() ? "" : ",") + p.code;
    return s;
}

inline std::string codes(const std::vector<Problem>& ps) {
    std::string s;
    for (const auto& p : ps) s += (s.empty() ? "" : ",") + p.code;
    return s;
}

}  // namespace ldx::test
