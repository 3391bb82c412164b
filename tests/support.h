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

// A 1 x 1 grey PNG (written by Pillow) and the segments of a 1 x 1 JPEG, whole files.
inline std::string tiny_png() {
    return std::string(
        "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00"
        "\x00\x00\x3a\x7e\x9b\x55\x00\x00\x00\x0a\x49\x44\x41\x54\x78\x9c\x63\x60\x07\x00\x00\x09\x00\x08\x20\x23\xc3"
        "\x8c\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82",
        67);
}
inline std::string tiny_jpeg() {
    return std::string(
        "\xff\xd8\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x00\xff"
        "\xd9",
        28);
}

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
