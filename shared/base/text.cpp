// shared/base/text.cpp — see text.h.
#include "base/text.h"

namespace ldx {

std::string printable(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size() && !(c < 0x20 || c == 0x7F);
        for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (ok && len > 1) {  // no overlong forms, no surrogates (a lone one from JavaScript), nothing past U+10FFFF
            const auto d = static_cast<unsigned char>(s[i + 1]);
            ok = !(len == 2 && c < 0xC2) && !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0) &&
                 !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90) && c <= 0xF4;
        }
        if (ok) out.append(s.substr(i, len)), i += len;
        else out += '?', i += 1;
    }
    return out;
}

}  // namespace ldx
