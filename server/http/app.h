// server/http/app.h — localdx-server: the application (state in state.h, routes in routes.h).
//
// Index of this file
//   [SECTION] The application
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
// [SECTION] The application
//-----------------------------------------------------------------------------
class App {
public:
    static Result<std::unique_ptr<App>> create(const ServerConfig& cfg);
    ~App();
    // Blocks until stop(); then finishes in-flight requests and commits every pending report.
    Result<Ok> run();
    void stop();  // async-signal-safe to call from a watcher thread, not from a signal handler

    struct State;

private:
    App() = default;
    std::unique_ptr<State> s_;
};

}  // namespace ldx
