// server/http/compressed_files.cpp — see compressed_files.h.
//
// Index of this file
//   [SECTION] Accept-Encoding
//   [SECTION] CompressedFiles
#include "http/compressed_files.h"

#include <brotli/encode.h>

#include "base/text.h"

#include <cctype>
#include <fstream>
#include <iterator>
#include <vector>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Accept-Encoding
//-----------------------------------------------------------------------------
namespace {
// A weight of zero: "q=0", "q=0.", "q=0.0", "q=0.00", "q=0.000" (RFC 9110, 12.4.2).
bool zero_weight(std::string_view params) {
    for (size_t at = 0; at <= params.size();) {
        const size_t end = std::min(params.find(';', at), params.size());
        const std::string_view p = trim_blanks(params.substr(at, end - at));
        if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            const std::string_view v = trim_blanks(p.substr(2));
            return !v.empty() && v[0] == '0' && v.find_first_not_of("0.", 1) == std::string_view::npos;
        }
        at = end + 1;
    }
    return false;
}

// The Content-Type of a text file served compressed (kWebTypes); empty for any other file.
std::string text_type(const std::filesystem::path& file) {
    const std::string ext = file.extension().string();
    for (const WebType& t : kWebTypes)
        if (t.text && !ext.empty() && ext.substr(1) == t.extension) return t.type;
    return "";
}
}  // namespace

bool accepts_brotli(std::string_view accept_encoding) {
    for (size_t at = 0; at <= accept_encoding.size();) {
        const size_t end = std::min(accept_encoding.find(',', at), accept_encoding.size());
        const std::string_view item = accept_encoding.substr(at, end - at);
        const size_t semi = item.find(';');
        if (equal_ignoring_case(trim_blanks(item.substr(0, semi)), "br"))
            return semi == std::string_view::npos || !zero_weight(item.substr(semi + 1));
        at = end + 1;
    }
    return false;
}

//-----------------------------------------------------------------------------
// [SECTION] CompressedFiles
//-----------------------------------------------------------------------------
std::optional<CompressedFile> CompressedFiles::get(const std::filesystem::path& file) {
    std::string type = text_type(file);
    if (type.empty()) return std::nullopt;
    const std::string key = file.string();
    // A file gone, grown past the limit or unreadable is forgotten: a deploy's renamed (content
    // hashed) files do not stay in memory.
    const auto forget = [&] {
        std::lock_guard lock(mu_);
        entries_.erase(key);
        return std::nullopt;
    };
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return forget();
    const uint64_t size = std::filesystem::file_size(file, ec);
    if (ec || size > kMaxBytes) return forget();
    const auto time = std::filesystem::last_write_time(file, ec);
    if (ec) return forget();
    {
        std::lock_guard lock(mu_);
        const auto hit = entries_.find(key);
        if (hit != entries_.end() && hit->second.time == time && hit->second.size == size)
            return CompressedFile{hit->second.body, std::move(type)};
    }
    // Compressed outside the lock: other files are served meanwhile (two requests for the same
    // new file may both compress it; the answers are the same).
    std::ifstream in(file, std::ios::binary);
    const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return std::nullopt;
    if (raw.size() != size) return std::nullopt;  // changed while read: the next request tries again
    std::vector<uint8_t> out(BrotliEncoderMaxCompressedSize(raw.size()) + 16);
    size_t n = out.size();
    if (!BrotliEncoderCompress(kQuality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, raw.size(),
                               reinterpret_cast<const uint8_t*>(raw.data()), &n, out.data()))
        return std::nullopt;
    auto body = std::make_shared<const std::string>(reinterpret_cast<const char*>(out.data()), n);
    std::lock_guard lock(mu_);
    entries_[key] = Entry{time, size, body};
    return CompressedFile{std::move(body), std::move(type)};
}

}  // namespace ldx
