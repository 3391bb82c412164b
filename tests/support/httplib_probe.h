// tests/support/httplib_probe.h — cpp-httplib's own request processing, run in process on bytes
// held in memory: where it ends a request, and what it makes of it. The server's connection front
// must agree with it on every head the front accepts (tests/server/test_front_door.cpp, and the
// fuzz target tests/fuzz/fuzz_http_head.cpp).
#pragma once
#include <httplib.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace ldx::test {

// A stream over fixed bytes: reads take from them (then end), writes are kept.
class MemoryStream : public httplib::Stream {
public:
    explicit MemoryStream(std::string_view in) : in_(in) {}
    bool is_readable() const override { return at_ < in_.size(); }
    bool is_writable() const override { return true; }
    ssize_t read(char* ptr, size_t size) override {
        const size_t n = std::min(size, in_.size() - at_);
        std::memcpy(ptr, in_.data() + at_, n);
        at_ += n;
        return static_cast<ssize_t>(n);
    }
    ssize_t write(const char* ptr, size_t size) override {
        out_.append(ptr, size);
        return static_cast<ssize_t>(size);
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = "127.0.0.1";
        port = 1;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip = "127.0.0.1";
        port = 2;
    }
    socket_t socket() const override { return 0; }
    size_t consumed() const { return at_; }
    const std::string& written() const { return out_; }

private:
    std::string_view in_;
    size_t at_ = 0;
    std::string out_;
};

// What cpp-httplib made of the first request in some bytes.
struct HttplibParse {
    int status = 0;       // of its final answer (200, 206: routed to a handler; 400, 414, 416...: refused)
    size_t consumed = 0;  // bytes it read
    std::string method, path;
    size_t body = 0;  // body bytes the handler saw
};

// Every method routed to one handler that records the request.
class HttplibProbe : public httplib::Server {
public:
    HttplibProbe() {
        auto record = [this](const httplib::Request& req, httplib::Response& res) {
            method_ = req.method;
            path_ = req.path;
            body_ = req.body.size();
            res.set_content("ok", "text/plain");
        };
        Get(".*", record);
        Post(".*", record);
        Put(".*", record);
        Delete(".*", record);
        Options(".*", record);
        Patch(".*", record);
    }
    HttplibParse parse(std::string_view bytes) {
        method_.clear();
        path_.clear();
        body_ = 0;
        MemoryStream s(bytes);
        bool closed = false;
        process_request(s, false, closed, nullptr);
        HttplibParse out;
        const std::string& w = s.written();
        // The last status line (an interim "100 Continue" may come first).
        if (const size_t at = w.rfind("HTTP/1.1 "); at != std::string::npos && at + 12 <= w.size())
            out.status = std::atoi(w.c_str() + at + 9);
        out.consumed = s.consumed();
        out.method = method_;
        out.path = path_;
        out.body = body_;
        return out;
    }

private:
    std::string method_, path_;
    size_t body_ = 0;
};

}  // namespace ldx::test
