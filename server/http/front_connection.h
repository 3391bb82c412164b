// server/http/front_connection.h — the front's connections and the stream cpp-httplib reads each
// request from and writes its answer to (front.h says why). Included by front.cpp only.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

#include "http/front.h"

namespace ldx {

using Clock = std::chrono::steady_clock;

//-----------------------------------------------------------------------------
// [SECTION] Connections and their stream
//-----------------------------------------------------------------------------
struct FrontServer::Connection {
    int fd = -1;
    std::string peer, local;
    std::string source;    // network_key(peer): what the cap on connections counts
    std::string busy_key;  // the request's network (behind a trusted proxy: X-Real-IP's): the busy cap
    int peer_port = 0, local_port = 0;
    std::string in;  // received bytes not yet consumed (a head, a pipelined request, a body's start)
    size_t used = 0;
    size_t checked = 0;      // bytes of the next head (from `used`) already scanned and sound
    uint64_t remaining = 0;  // bytes of the request being answered that cpp-httplib may still read
    Clock::time_point deadline;
    bool head_started = false;  // some bytes of the next request have arrived
    uint64_t served = 0;
    // Closing: the answer is sent and the write side shut; what still arrives is read and dropped.
    bool lingering = false;
    size_t lingered = 0;
};

inline std::string address_text(const sockaddr_storage& a, int& port) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (a.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
        inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
        port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
        inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
        port = ntohs(v6->sin6_port);
    }
    return buf;
}

// The stream cpp-httplib reads a request from and writes its response to: the connection's
// buffered bytes first, then the socket (non-blocking, waited on with poll). It gives cpp-httplib
// the request's head and announced body and then reports the end of the stream, so nothing
// cpp-httplib does can read past the request (or grow with what a client keeps sending). Every
// wait is bounded by the transfer rule: after the grace period, bytes moved must average the
// minimum rate. It also reads the status of each response written, so that the front closes the
// connection after any error.
class FrontServer::ConnectionStream : public httplib::Stream {
public:
    ConnectionStream(Connection& c, const FrontLimits& limits) : c_(c), limits_(limits), start_(Clock::now()) {}

    bool is_readable() const override { return c_.remaining > 0 && (c_.used < c_.in.size() || wait(POLLIN)); }
    bool is_writable() const override { return wait(POLLOUT); }

    ssize_t read(char* ptr, size_t size) override {
        size = static_cast<size_t>(std::min<uint64_t>(size, c_.remaining));
        if (size == 0) return 0;  // the request ends here
        if (c_.used == c_.in.size()) {
            c_.in.clear();
            c_.used = 0;
            if (size >= kChunk) return taken(receive(ptr, size));  // large reads straight into the caller's buffer
            char chunk[kChunk];
            const ssize_t n = receive(chunk, sizeof chunk);
            if (n <= 0) return n;
            c_.in.assign(chunk, static_cast<size_t>(n));
        }
        const size_t n = std::min(size, c_.in.size() - c_.used);
        std::memcpy(ptr, c_.in.data() + c_.used, n);
        c_.used += n;
        return taken(static_cast<ssize_t>(n));
    }

    ssize_t write(const char* ptr, size_t size) override {
        note_status(std::string_view(ptr, size));
        size_t done = 0;
        while (done < size) {
            const ssize_t n = ::send(c_.fd, ptr + done, size - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += static_cast<size_t>(n);
                moved_ += static_cast<uint64_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (!wait(POLLOUT)) return failed();
            } else {
                return failed();
            }
        }
        return static_cast<ssize_t>(size);
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = c_.peer;
        port = c_.peer_port;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip = c_.local;
        port = c_.local_port;
    }
    socket_t socket() const override { return c_.fd; }
    bool broken() const { return broken_; }
    int status() const { return status_; }  // of the response written (0: none yet)

private:
    static constexpr size_t kChunk = 16 * 1024;

    ssize_t taken(ssize_t n) {
        if (n > 0) c_.remaining -= static_cast<uint64_t>(n);
        return n;
    }
    // cpp-httplib writes a response's status line and headers in one write: "HTTP/1.1 NNN ...".
    // An interim 100 Continue is followed by the real status.
    void note_status(std::string_view bytes) {
        if ((status_ != 0 && status_ != 100) || !bytes.starts_with("HTTP/1.1 ") || bytes.size() < 12) return;
        int s = 0;
        for (size_t i = 9; i < 12; ++i) s = s * 10 + (bytes[i] - '0');
        status_ = s;
    }
    ssize_t receive(char* ptr, size_t size) {
        for (;;) {
            const ssize_t n = ::recv(c_.fd, ptr, size, 0);
            if (n > 0) {
                moved_ += static_cast<uint64_t>(n);
                return n;
            }
            if (n == 0) return 0;
            if (errno == EINTR) continue;
            if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLIN)) return failed();
        }
    }
    // Waits for the socket within what the transfer rule still allows.
    bool wait(short events) const {
        for (;;) {
            const auto allowed =
                start_ + limits_.transfer_grace +
                std::chrono::milliseconds(static_cast<int64_t>(1000.0 * moved_ / limits_.min_bytes_per_second));
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(allowed - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{c_.fd, events, 0};
            const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
            if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
            if (r < 0 && errno != EINTR) return false;
        }
    }
    ssize_t failed() {
        broken_ = true;
        return -1;
    }

    Connection& c_;
    const FrontLimits& limits_;
    Clock::time_point start_;
    uint64_t moved_ = 0;
    bool broken_ = false;
    int status_ = 0;
};

}  // namespace ldx
