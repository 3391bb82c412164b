// Fuzz target: where a request ends. Arbitrary bytes through the connection front's head scanner
// (server/http/request_head.h) and cpp-httplib's own request processing, in process. Whatever the
// front accepts, cpp-httplib must never read past the end the front gives it (head and announced
// body); when it answers the request (not one of its own early errors, after which the front
// closes the connection) it must parse the same method and end at exactly that byte. A head
// arriving in two pieces must get the same verdict as in one; nothing the front accepts may exceed
// its limits.
#include <cstdint>
#include <string_view>

#include "http/request_head.h"
#include "support/httplib_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static ldx::test::HttplibProbe probe;
    const ldx::HeadLimits limits;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const ldx::HeadScan s = ldx::head_scan(in, limits);
    // The same bytes in two pieces: scanning may resume where it stopped, never changing the verdict.
    const size_t cut = size ? data[0] % (size + 1) : 0;
    const ldx::HeadScan first = ldx::head_scan(in.substr(0, cut), limits);
    if (first.state == ldx::HeadState::incomplete) {
        const ldx::HeadScan again = ldx::head_scan(in, limits, first.checked);
        if (again.state != s.state || again.head_bytes != s.head_bytes ||
            again.refusal.problem.code != s.refusal.problem.code)
            __builtin_trap();
    }
    if (s.state != ldx::HeadState::complete) return 0;
    if (s.head_bytes > limits.max_head_bytes || s.body_bytes > limits.max_body_bytes) __builtin_trap();
    if (s.body_bytes > size - s.head_bytes) return 0;  // the body has not all arrived: nothing to compare
    const ldx::test::HttplibParse p = probe.parse(in);
    const size_t end = s.head_bytes + static_cast<size_t>(s.body_bytes);
    if (p.status == 0 || p.consumed > end) __builtin_trap();
    if (p.status < 400 && (p.consumed != end || p.method != s.method || p.body != s.body_bytes)) __builtin_trap();
    return 0;
}
