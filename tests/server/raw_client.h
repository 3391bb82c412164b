// tests/server/raw_client.h — raw HTTP exchanges from a chosen loopback address, as a hostile
// client writes them byte by byte (the server tests' probes).
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>

namespace ldx::test {

// A raw connection from a chosen loopback address (all of 127.0.0.0/8 is this machine), so one
// test can play many sources.
struct RawClient {
    int fd = -1;
    // receive_buffer > 0: a small socket buffer, so that a client that does not read holds the
    // server's writes back at once (a slow reader).
    RawClient(int port, const std::string& from, int receive_buffer = 0) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    RawClient(RawClient&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    ~RawClient() {
        if (fd >= 0) ::close(fd);
    }
    bool send(const std::string& bytes) const {
        return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    // What the server sends within `ms`, stopping early once it closes or `enough` says so.
    std::string receive(int ms, const std::function<bool(const std::string&)>& enough = {}) const {
        std::string got;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
            if (left <= 0 || (enough && enough(got))) return got;
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) return got;
            char buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return got;
            got.append(buf, static_cast<size_t>(n));
        }
    }
    // True once the server has closed the connection (within `ms`).
    bool closed_within(int ms) const {
        pollfd p{fd, POLLIN, 0};
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < end) {
            if (::poll(&p, 1, 50) > 0) {
                char buf[4096];
                const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n <= 0) return true;
            }
        }
        return false;
    }
};

// A whole response has arrived: its headers, and as many body bytes as its Content-Length says
// (the server may send them in separate writes).
inline bool has_response(const std::string& got) {
    const size_t end = got.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string head = got.substr(0, end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const size_t at = head.find("content-length:");
    const size_t length = at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 15, nullptr, 10);
    return got.size() >= end + 4 + length;
}
inline int status_of(const std::string& got) { return got.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(got.c_str() + 9) : 0; }

// A raw HTTP exchange on a fresh connection, as a hostile client sends it: the request's bytes,
// then whatever the server answers before it closes (or 3 s pass). Returns the status line's code.
inline int raw_status(int port, const std::string& request, std::string* answer = nullptr) {
    RawClient c(port, "127.0.0.1");
    if (c.fd < 0) return -1;
    c.send(request);
    const std::string got =
        c.receive(3000, [](const std::string& g) { return g.find("\r\n\r\n") != std::string::npos; });
    if (answer) *answer = got;
    return status_of(got);
}

// Responses in what a connection received: the number of status lines ("HTTP/1.1 NNN").
inline int response_count(const std::string& got) {
    int n = 0;
    for (size_t at = got.find("HTTP/1.1 "); at != std::string::npos; at = got.find("HTTP/1.1 ", at + 1)) ++n;
    return n;
}

}  // namespace ldx::test
