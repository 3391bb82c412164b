// shared/base/text.h — text from outside, made safe to show.
//
// Messages quote what a person typed or a file held ("'12a' is not a number"). Such text may be
// invalid UTF-8 or carry control characters (a terminal escape in a CSV header, a 0xFF byte from a
// hostile client): quoted raw, it breaks JSON output and terminals. Every message that quotes
// outside text passes it through printable().
#pragma once
#include <string>
#include <string_view>

namespace ldx {

// Valid UTF-8 kept as it is; each control character (below 0x20, and 0x7F) and each byte that is
// not part of a valid UTF-8 sequence becomes '?'.
std::string printable(std::string_view text);

// True when the text is valid UTF-8 (the check printable() makes, without the control characters).
bool utf8_valid(std::string_view text);

// The code point that starts at text[i], moving i past it; -1 for a byte that does not start a
// valid UTF-8 sequence (i moves past that one byte). Callers stop at i == text.size().
long utf8_next(std::string_view text, size_t& i);

// ASCII letters lowered, for names a person types compared without case ("Yes" is "yes").
std::string ascii_lower(std::string_view text);

// True when the two are equal with ASCII letters compared without case (an HTTP header's name or
// token: "Content-Length" is "content-length").
bool equal_ignoring_case(std::string_view a, std::string_view b);

// Without the spaces and tabs around it, nor a carriage return at its end (a cell of a CSV file
// written on Windows).
std::string_view trim_blanks(std::string_view text);

}  // namespace ldx
