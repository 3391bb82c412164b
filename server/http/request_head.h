// server/http/request_head.h — where a request ends: the one strict reading of an HTTP/1.1
// request head, and the network an address belongs to.
//
// Index of this file
//   [SECTION] Refusals (the server's one refusal shape)
//   [SECTION] Limits
//   [SECTION] Scanning a request head
//   [SECTION] Networks (per-address controls)
//
// The connection front (front.h) reads bytes until head_scan() says a head is complete, then lets
// cpp-httplib read exactly that head and the body it announced, and nothing more. So the front
// alone decides where a request ends, and it is stricter than cpp-httplib everywhere the two could
// differ: a head ends only at CRLF CRLF; a bare LF, a bare CR, a NUL or another control byte, a
// folded or nameless header line, a second Content-Length or one that is not plain digits, any
// Transfer-Encoding or Content-Encoding, a body-capable method without a Content-Length, and a
// body on a method cpp-httplib would not read one for are refused from the head alone. Whatever
// head_scan() accepts, cpp-httplib parses to the same method, target and framing (tested, and
// fuzzed by tests/fuzz/fuzz_http_head.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Refusals
//-----------------------------------------------------------------------------
// An answer the server gives instead of processing a request: the HTTP status and the Problem
// (base/error.h: a stable code for programs and a sentence for people). The one refusal type of
// the server: the pre-routing checks (server.cpp, refuse_before_body), the head scan and the
// connection front (front.cpp) all answer with it, its body the problem envelope (error_body.h).
struct Refusal {
    int status = 400;
    Problem problem;
    Refusal() = default;
    Refusal(int status_, std::string code, std::string message)
        : status(status_), problem(ldx::problem(std::move(code), std::move(message))) {}
};

// The status line's text for the statuses the server refuses with.
std::string_view http_status_text(int status);

//-----------------------------------------------------------------------------
// [SECTION] Limits
//-----------------------------------------------------------------------------
struct HeadLimits {
    size_t max_head_bytes = 24 * 1024;  // request line and headers together, with the final CRLF CRLF
    size_t max_line_bytes = 8192;       // one line with its CRLF (cpp-httplib refuses longer ones)
    size_t max_headers = 64;
    uint64_t max_body_bytes = 256ull << 20;  // the largest body any route takes (a bundle)
};

//-----------------------------------------------------------------------------
// [SECTION] Scanning a request head
//-----------------------------------------------------------------------------
enum class HeadState { incomplete, complete, refused };

struct HeadScan {
    HeadState state = HeadState::incomplete;
    size_t head_bytes = 0;    // complete: the head's length, CRLF CRLF included
    uint64_t body_bytes = 0;  // complete: the body that follows (its Content-Length, or 0)
    std::string method;       // complete: the request's method
    std::string real_ip;      // complete: the X-Real-IP header a reverse proxy set (if exactly one)
    size_t checked = 0;       // incomplete: bytes already seen to be sound (pass back as `from`)
    Refusal refusal;          // refused: why
};

// Reads the request head at the start of `in`. `from` may be the `checked` of an earlier scan of
// the same bytes, so that a head arriving a byte at a time is not scanned again from its start.
HeadScan head_scan(std::string_view in, const HeadLimits& limits, size_t from = 0);

//-----------------------------------------------------------------------------
// [SECTION] Networks
//-----------------------------------------------------------------------------
// The key every per-address control uses (connections per source, rate limits, report sources):
// an IPv4 address as it is, an IPv4-mapped IPv6 address as its IPv4 address, any other IPv6
// address as its /64 ("2001:db8:1:2::/64"), since one host is routinely given a whole /64.
// Text that is not an address is returned unchanged.
std::string network_key(std::string_view address);

}  // namespace ldx
