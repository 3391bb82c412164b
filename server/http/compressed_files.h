// server/http/compressed_files.h — the PWA's text files (scripts, styles, pages, JSON) served
// Brotli-compressed from memory: each compressed once, when first asked for, and again only when
// the file changes.
//
// Index of this file
//   [SECTION] CompressedFiles
//
// cpp-httplib compresses a static file's answer on every request, at Brotli's slowest quality:
// about a second of a core for the app's 160 KB script on two busy cores, on the path of a cold
// start (the page waits for that script). Quality 5 compresses it in milliseconds, 10 % larger.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] CompressedFiles
//-----------------------------------------------------------------------------
// The web folder's file types whose Content-Type is set here (the static file handler's mapping,
// routes_files.cpp, and the compressed answers both read this table); `text`: served compressed.
struct WebType {
    const char* extension;
    const char* type;
    bool text;
};
inline constexpr WebType kWebTypes[] = {
    {"js", "text/javascript", true},
    {"mjs", "text/javascript", true},
    {"json", "application/json", true},
    {"html", "text/html", true},
    {"css", "text/css", true},
    {"wasm", "application/wasm", false},
    {"webmanifest", "application/manifest+json", false},
};

// A compressed answer: the bytes (Content-Encoding: br) and the file's Content-Type.
struct CompressedFile {
    std::shared_ptr<const std::string> body;
    std::string content_type;
};

// Whether an Accept-Encoding header value accepts Brotli ("br", not with q=0).
bool accepts_brotli(std::string_view accept_encoding);

class CompressedFiles {
public:
    static constexpr int kQuality = 5;
    static constexpr uint64_t kMaxBytes = 8u << 20;  // larger files are left to cpp-httplib

    // The answer for `file` (a path inside the web folder, already checked: routes.h, web_file),
    // or nullopt when it is not a text file this serves compressed, not a regular file, too large,
    // or unreadable (the static file handler answers then, as before).
    std::optional<CompressedFile> get(const std::filesystem::path& file);

private:
    struct Entry {
        std::filesystem::file_time_type time;
        uint64_t size = 0;
        std::shared_ptr<const std::string> body;
    };
    std::mutex mu_;
    std::map<std::string, Entry> entries_;  // by path
};

}  // namespace ldx
