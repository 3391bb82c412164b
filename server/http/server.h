// server/http/server.h — localdx-server: the HTTP server (state in state.h, routes in routes.h).
//
// Index of this file
//   [SECTION] The HTTP server
// (Its configuration: config.h.)
//
// The server is deliberately thin: it never sees a patient. It distributes signed bundles and
// aggregates anonymous reports; every parse and check is the shared core's.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "http/config.h"

namespace httplib {
class Server;
}

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] The HTTP server
//-----------------------------------------------------------------------------
class HttpServer {
public:
    static Result<std::unique_ptr<HttpServer>> create(const ServerConfig& cfg);
    ~HttpServer();
    // Blocks until stop(); then finishes in-flight requests and commits every pending report.
    Result<Ok> run();
    void stop();  // async-signal-safe to call from a watcher thread, not from a signal handler

    struct State;

private:
    HttpServer() = default;
    std::unique_ptr<State> s_;
};

}  // namespace ldx
