// shared/base/text.cpp — see text.h.
#include "base/text.h"

namespace ldx {

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0: no overlong forms, no surrogates (a
// lone one from JavaScript), nothing past U+10FFFF.
size_t utf8_sequence(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
    if (len > 1) {
        const auto d = static_cast<unsigned char>(s[i + 1]);
        if ((len == 2 && c < 0xC2) || (c == 0xE0 && d < 0xA0) || (c == 0xED && d >= 0xA0) || (c == 0xF0 && d < 0x90) ||
            (c == 0xF4 && d >= 0x90) || c > 0xF4)
            return 0;
    }
    return len;
}
}  // namespace

std::string printable(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t len = c < 0x20 || c == 0x7F ? 0 : utf8_sequence(s, i);
        if (len) out.append(s.substr(i, len)), i += len;
        else out += '?', i += 1;
    }
    return out;
}

bool utf8_valid(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const size_t len = utf8_sequence(s, i);
        if (!len) return false;
        i += len;
    }
    return true;
}

long utf8_next(std::string_view s, size_t& i) {
    const size_t len = utf8_sequence(s, i);
    if (!len) return ++i, -1;
    const auto c = static_cast<unsigned char>(s[i]);
    long cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    return cp;
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim_blanks(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

}  // namespace ldx
