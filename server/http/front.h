// server/http/front.h — the server's own connection handling, in front of cpp-httplib's request
// processing.
//
// Index of this file
//   [SECTION] Limits
//   [SECTION] The front server
//
// Why this exists: Debian's cpp-httplib (0.11.4) gives every connection a pool thread from accept
// to close, with a timeout per read only. A client that sends its headers one byte a second, or
// keeps a connection open and idle, holds a thread; as many such clients as threads stop the
// server, and a trickle of one byte every few seconds is never timed out. It also answers only
// the first of several pipelined requests.
//
// Here one reception thread holds every connection (epoll, no thread per connection) until its
// request head (request line and headers) is complete, within one deadline for the whole head.
// The front alone decides where a request ends (request_head.h): a head is complete only at
// CRLF CRLF, and anything ambiguous (a bare LF, a compressed or chunked body, a body-capable
// method without a Content-Length) is refused from the head, before a worker sees it. Only
// complete heads go to the worker threads, which run cpp-httplib's own request processing
// (parsing, routing, handlers, responses) through a stream of ours that lets cpp-httplib read
// exactly that head and the body it announced, never a byte of the next request, and enforces a
// minimum transfer rate on bodies and responses. Any response of status 400 or more closes the
// connection, and a body left unread is discarded with it, never parsed as a request. Between
// requests a connection goes back to reception, so idle keep-alive connections hold no thread.
// Pipelined requests are answered in order. Per-address controls count a network (an IPv4
// address, an IPv6 /64: network_key): too many connections from one network are answered 503,
// and one network's requests occupy at most a few workers at once (the rest wait their turn).
// More complete requests waiting than the workers can take are answered 503 at once.
//
// HTTPS served by localdx-server itself (--tls-cert) keeps cpp-httplib's own connection handling;
// on a network, terminate TLS at a reverse proxy and let this front face it (docs/security.md).
#pragma once
#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/request_head.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Limits
//-----------------------------------------------------------------------------
struct FrontLimits {
    int workers = 64;                // threads that run complete requests
    size_t max_connections = 10000;  // open at once (lowered to what the descriptor limit allows)
    size_t max_per_source = 32;      // open at once from one network (network_key); 0: no cap
    size_t max_busy_per_source = 8;  // requests of one network being answered at once; 0: no cap
    // Peers that are reverse proxies: for their requests the network is that of X-Real-IP.
    std::vector<std::string> trusted_proxies;
    size_t max_waiting = 1024;                      // complete requests waiting for a worker; beyond: 503
    std::chrono::milliseconds head_timeout{10000};  // from a request's first byte to the end of its head
    std::chrono::milliseconds idle_timeout{5000};   // a connection with no request in progress
    HeadLimits head;                                // what a request head may be (request_head.h)
    // Bodies and responses must move at this average rate once the grace period is over.
    double min_bytes_per_second = 32 * 1024;
    std::chrono::milliseconds transfer_grace{3000};
    // After an error answer the connection is read (and the bytes dropped) for at most this long
    // and this much before it is closed, so that the client reads the answer rather than a reset.
    std::chrono::milliseconds linger{1000};
    size_t linger_bytes = 256 * 1024;
};

// What the front did, for /metrics.
struct FrontCounts {
    uint64_t open = 0;                        // connections open now
    uint64_t accepted = 0;                    // connections accepted since start
    std::map<std::string, uint64_t> refused;  // reason → connections the front answered or closed
};

// Called from a handler (pre-routing included) on the thread answering a request: close the
// connection once the response is written. For refusals decided before a body was read, whose
// unread bytes must not be taken for the next request. Harmless outside the front.
void front_close_after_response();

//-----------------------------------------------------------------------------
// [SECTION] The front server
//-----------------------------------------------------------------------------
// Configure it as any httplib::Server (routes, handlers, bind_to_port, listen_after_bind), but do
// not replace new_task_queue. After listen_after_bind() returns (stop() was called), call drain().
class FrontServer : public httplib::Server {
public:
    explicit FrontServer(FrontLimits limits);
    ~FrontServer() override;
    FrontServer(const FrontServer&) = delete;
    FrontServer& operator=(const FrontServer&) = delete;

    // Lets requests being processed finish for at most `deadline`, then cuts the connections still
    // being answered; closes every connection and joins the threads.
    void drain(std::chrono::milliseconds deadline = std::chrono::seconds(10));
    FrontCounts counts() const;

    struct Connection;
    class ConnectionStream;

private:
    // Called by cpp-httplib's accept loop, on its thread, for each accepted socket: hands the
    // connection to reception (or refuses it) and returns at once.
    bool process_and_close_socket(socket_t sock) override;
    // Runs one request of a connection whose head is buffered; false: close the connection.
    bool serve_one(Connection& c, bool& keep_open);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ldx
