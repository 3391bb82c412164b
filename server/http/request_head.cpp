// server/http/request_head.cpp — see request_head.h.
//
// Index of this file
//   [SECTION] Refusals
//   [SECTION] Scanning a request head (bytes, then lines)
//   [SECTION] Networks
#include "http/request_head.h"

#include "base/text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Refusals
//-----------------------------------------------------------------------------
std::string_view http_status_text(int status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 408:
            return "Request Timeout";
        case 411:
            return "Length Required";
        case 413:
            return "Payload Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Range Not Satisfiable";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

//-----------------------------------------------------------------------------
// [SECTION] Scanning a request head
//-----------------------------------------------------------------------------
namespace {

HeadScan refused(int status, std::string code, std::string message) {
    HeadScan s;
    s.state = HeadState::refused;
    s.refusal = Refusal{status, std::move(code), std::move(message)};
    return s;
}

bool is_tchar(unsigned char c) {  // RFC 9110 token characters
    if (std::isalnum(c)) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// The methods the server answers; cpp-httplib reads a body for exactly these of them.
constexpr std::array<std::string_view, 7> kMethods{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
bool takes_body(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE"; }

// The lines of a complete, byte-sound head: the request line, then the headers.
HeadScan parse_lines(std::string_view head, const HeadLimits& limits) {
    const size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const size_t sp1 = line.find(' '), sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos || sp1 == 0 ||
        sp2 == sp1 + 1 || sp2 + 1 == line.size())
        return refused(400, "bad_request_line",
                       "the request line must be: method, one space, path, one space, HTTP/1.1");
    const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                           version = line.substr(sp2 + 1);
    bool known = false;
    for (auto m : kMethods) known = known || m == method;
    // (400, not 501/505: whatever a client writes, the answer is never a 5xx.)
    if (!known) return refused(400, "bad_method", "the server answers GET, HEAD, POST and OPTIONS requests");
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return refused(400, "bad_http_version", "the server speaks HTTP/1.1 (and 1.0)");
    if (target.front() != '/') return refused(400, "bad_request_line", "the request target must be a path from /");
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f)
            return refused(400, "bad_request_line", "the path holds a byte that must be percent-encoded");
    if (target.find('?') != target.rfind('?'))
        return refused(400, "bad_request_line", "the request target has more than one '?'");

    HeadScan out;
    out.method = std::string(method);
    bool has_length = false, chunked = false, encoded = false;
    int real_ips = 0;
    uint64_t length = 0;
    size_t headers = 0;
    for (size_t at = line_end + 2; at + 2 < head.size();) {
        const size_t end = head.find("\r\n", at);
        const std::string_view h = head.substr(at, end - at);
        at = end + 2;
        if (++headers > limits.max_headers)
            return refused(431, "headers_too_large", "at most " + std::to_string(limits.max_headers) + " headers");
        if (h.front() == ' ' || h.front() == '\t')
            return refused(400, "bad_header", "a header line may not start with a space (folded headers)");
        const size_t colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return refused(400, "bad_header", "every header line is a name, a colon and a value");
        const std::string_view name = h.substr(0, colon), value = trim(h.substr(colon + 1));
        for (unsigned char c : name)
            if (!is_tchar(c)) return refused(400, "bad_header", "a header name holds a character names may not have");
        if (equal_ignoring_case(name, "Content-Length")) {
            if (has_length) return refused(400, "bad_framing", "a request has one Content-Length");
            if (value.empty() || value.size() > 19 || value.find_first_not_of("0123456789") != std::string_view::npos)
                return refused(400, "bad_framing", "Content-Length must be a number of bytes");
            has_length = true;
            for (char c : value) length = length * 10 + static_cast<uint64_t>(c - '0');
        } else if (equal_ignoring_case(name, "Transfer-Encoding")) {
            chunked = true;
        } else if (equal_ignoring_case(name, "Content-Encoding")) {
            encoded = true;
        } else if (equal_ignoring_case(name, "X-Real-IP") && ++real_ips == 1) {
            out.real_ip = std::string(value);
        }
    }
    if (chunked && has_length)
        return refused(400, "bad_framing", "a request has a Content-Length or a Transfer-Encoding, not both");
    if (chunked) return refused(411, "length_required", "send the body with a Content-Length (no chunked encoding)");
    if (encoded) return refused(415, "content_encoding", "request bodies are sent uncompressed (no Content-Encoding)");
    if (takes_body(method) && !has_length)
        return refused(411, "length_required", "send the body with a Content-Length");
    if (!takes_body(method) && length > 0) return refused(413, "no_body", "this request takes no body");
    if (length > limits.max_body_bytes)
        return refused(413, "too_large",
                       "a request body is at most " + std::to_string(limits.max_body_bytes >> 20) + " MiB");
    if (real_ips != 1) out.real_ip.clear();
    out.state = HeadState::complete;
    out.head_bytes = head.size();
    out.body_bytes = length;
    return out;
}

}  // namespace

HeadScan head_scan(std::string_view in, const HeadLimits& limits, size_t from) {
    // Bytes first: every line ends in CRLF, no control byte, no line or head over its limit.
    from = std::min(from, in.size());
    const size_t last_lf = from == 0 ? std::string_view::npos : in.rfind('\n', from - 1);
    size_t line_start = last_lf == std::string_view::npos ? 0 : last_lf + 1;
    for (size_t i = from; i < in.size(); ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (i >= limits.max_head_bytes)
            return refused(
                431, "headers_too_large",
                "the request line and headers are at most " + std::to_string(limits.max_head_bytes / 1024) + " KiB");
        if (i + 1 - line_start > limits.max_line_bytes)
            return line_start == 0 ? refused(414, "uri_too_long", "the request line is too long")
                                   : refused(431, "headers_too_large", "a header line is too long");
        if (c == '\r') {
            if (i + 1 == in.size()) {  // its LF may be on its way
                HeadScan s;
                s.checked = i;
                return s;
            }
            if (in[i + 1] != '\n') return refused(400, "bare_cr", "a line ends with CR LF; a CR alone is not allowed");
            continue;
        }
        if (c == '\n') {
            if (i == 0 || in[i - 1] != '\r')
                return refused(400, "bare_lf", "a line ends with CR LF; an LF alone is not allowed");
            if (i + 1 - line_start == 2) {  // an empty line: the end of the head
                if (line_start == 0) return refused(400, "bad_request_line", "the request starts with an empty line");
                return parse_lines(in.substr(0, i + 1), limits);
            }
            line_start = i + 1;
            continue;
        }
        if (c < 0x20 && c != '\t') return refused(400, "bad_byte", "the request head holds a control character");
        if (c == 0x7f) return refused(400, "bad_byte", "the request head holds a control character");
    }
    HeadScan s;
    s.checked = in.size();
    return s;
}

//-----------------------------------------------------------------------------
// [SECTION] Networks
//-----------------------------------------------------------------------------
std::string network_key(std::string_view address) {
    const std::string text(address);
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        char buf[INET_ADDRSTRLEN] = "";
        ::inet_ntop(AF_INET, &v4, buf, sizeof buf);
        return buf;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return text;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.s6_addr, kMapped, sizeof kMapped) == 0) {
        std::memcpy(&v4, v6.s6_addr + 12, 4);
        char buf[INET_ADDRSTRLEN] = "";
        ::inet_ntop(AF_INET, &v4, buf, sizeof buf);
        return buf;
    }
    std::memset(v6.s6_addr + 8, 0, 8);
    char buf[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(AF_INET6, &v6, buf, sizeof buf);
    return std::string(buf) + "/64";
}

}  // namespace ldx
