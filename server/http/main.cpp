// server/http/main.cpp — localdx-server's entry point: configuration, signals, run.
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include "http/server.h"

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the access log is read line by line
    std::string help;
    auto cfg = ldx::server_config_parse(std::vector<std::string>(argv + 1, argv + argc), help);
    if (!help.empty()) {
        std::fputs(help.c_str(), stdout);
        return 0;
    }
    if (!cfg) {
        for (const auto& p : cfg.problems()) std::fprintf(stderr, "localdx-server: %s\n", p.describe().c_str());
        return 2;
    }
    // Block SIGTERM/SIGINT in every thread; one watcher thread waits for them and stops the
    // server from ordinary code (httplib's stop() is not async-signal-safe).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto app = ldx::HttpServer::create(*cfg);
    if (!app) {
        for (const auto& p : app.problems()) std::fprintf(stderr, "localdx-server: %s\n", p.describe().c_str());
        return 1;
    }
    std::thread watcher([&] {
        int sig = 0;
        sigwait(&set, &sig);
        std::fprintf(stdout, "localdx-server: signal %d, finishing in-flight requests\n", sig);
        std::fflush(stdout);
        (*app)->stop();
    });
    auto ran = (*app)->run();
    if (!ran) {
        for (const auto& p : ran.problems()) std::fprintf(stderr, "localdx-server: %s\n", p.describe().c_str());
        pthread_kill(watcher.native_handle(), SIGTERM);
        watcher.join();
        return 1;
    }
    watcher.join();
    std::fprintf(stdout, "localdx-server: stopped; every acknowledged report is committed\n");
    return 0;
}
