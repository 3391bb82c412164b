// tests/server/server_process.h — runs the real localdx-server binary for integration tests.
#pragma once
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace ldx::test {

class ServerProcess {
public:
    ServerProcess(std::string binary, std::vector<std::string> args)
        : binary_(std::move(binary)), args_(std::move(args)) {}
    ~ServerProcess() {
        if (pid_ > 0) kill9();
    }

    // Starts the server and waits until /readyz answers.
    bool start(int port, const std::string& ready_path = "/readyz", bool tls = false) {
        std::vector<std::string> argv_s{binary_};
        argv_s.insert(argv_s.end(), args_.begin(), args_.end());
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        const int rc = posix_spawn(&pid_, binary_.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) return false;
        httplib::Client c(std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port));
        c.enable_server_certificate_verification(false);  // the tests' self-signed certificate
        c.set_connection_timeout(0, 200000);
        for (int i = 0; i < 300; ++i) {
            if (!alive()) return false;  // it could not start (its port taken meanwhile, say)
            if (auto r = c.Get(ready_path); r && r->status == 200) {
                // The answer must be this process's: one that lost its port to another server
                // exits at once, while the other one answers.
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                return alive();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }
    // The process is still running (not exited, not reaped).
    bool alive() {
        if (pid_ <= 0) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }
    int terminate() { return signal_and_wait(SIGTERM); }
    pid_t pid() const { return pid_; }
    // Resident memory now, in bytes (VmRSS), or 0 when not running.
    uint64_t rss() const {
        std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
        for (std::string line; std::getline(f, line);)
            if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
        return 0;
    }
    int kill9() { return signal_and_wait(SIGKILL); }
    std::string log_path() const { return "/tmp/localdx-server-test-" + std::to_string(getpid()) + ".log"; }

private:
    int signal_and_wait(int sig) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, sig);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }
    std::string binary_;
    std::vector<std::string> args_;
    pid_t pid_ = -1;
};

// A port that was free a moment ago: bind to port 0, read back the kernel's choice, close.
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

}  // namespace ldx::test
