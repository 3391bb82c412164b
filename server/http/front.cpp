// server/http/front.cpp — see front.h.
//
// Index of this file
//   (Connections and their stream: front_connection.h)
//   [SECTION] Refusals written by the front
//   [SECTION] Reception (one epoll thread)
//   [SECTION] Workers
//   [SECTION] Accept hand-off, counts, drain
#include "http/front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/json.h"
#include "http/error_body.h"
#include "http/front_connection.h"

namespace ldx {

//-----------------------------------------------------------------------------
// [SECTION] Refusals written by the front
//-----------------------------------------------------------------------------
namespace {

const Refusal kTooManyFromSource{503, "too_many_connections",
                                 "too many connections from this address; close some and try again"};
const Refusal kTooManyConnections{503, "busy", "the server has too many open connections; try again shortly"};
const Refusal kBusy{503, "busy", "the server is busy; try again shortly"};
const Refusal kHeadTimeout{408, "request_timeout", "the request's headers did not arrive in time"};

// Best effort, never blocking: the connection closes right after.
void send_refusal(int fd, const Refusal& r) {
    const std::string body = json_dump(error_body(r)) + "\n";
    const std::string msg = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(http_status_text(r.status)) +
                            "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\nCache-Control: no-store\r\nConnection: close\r\n" +
                            (r.status == 503 ? "Retry-After: 5\r\n" : "") + "\r\n" + body;
    [[maybe_unused]] const ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// cpp-httplib's accept loop runs each accepted socket's task inline: the front returns at once.
class InlineQueue : public httplib::TaskQueue {
public:
    void enqueue(std::function<void()> fn) override { fn(); }
    void shutdown() override {}
};

}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Reception (one epoll thread)
//-----------------------------------------------------------------------------
struct FrontServer::Impl {
    FrontServer& front;
    FrontLimits limits;
    int epoll_fd = -1, wake_fd = -1;
    std::thread reception;
    std::vector<std::thread> workers;

    mutable std::mutex mu;  // guards everything below
    std::condition_variable work_ready;
    bool stopping = false;
    std::vector<std::unique_ptr<Connection>> arriving;   // new, returned or closing, for reception to hold
    std::deque<std::unique_ptr<Connection>> ready;       // complete heads waiting for a worker
    std::unordered_map<std::string, size_t> per_source;  // open connections by network
    std::unordered_map<std::string, size_t> busy;        // requests being answered by network
    std::unordered_set<int> serving;                     // descriptors being answered (drain's deadline)
    FrontCounts counts;

    Impl(FrontServer& f, FrontLimits l) : front(f), limits(l) {
        epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
        wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = wake_fd;
        ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
        reception = std::thread([this] { receive_loop(); });
        for (int i = 0; i < limits.workers; ++i) workers.emplace_back([this] { work_loop(); });
    }

    void wake() {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
    }

    // Closes a connection for good and forgets its network's share.
    void close_now(std::unique_ptr<Connection> c) {
        ::close(c->fd);
        std::lock_guard lock(mu);
        --counts.open;
        if (--per_source[c->source] == 0) per_source.erase(c->source);
    }

    // Ends a connection: with a refusal written first, if any. A connection whose peer may still be
    // sending (an unread body, a refused head) is not closed at once, which would answer its next
    // bytes with a reset that can destroy the answer before the client reads it: its write side is
    // shut and reception reads and drops what arrives for a moment (FrontLimits::linger).
    void finish(std::unique_ptr<Connection> c, const Refusal* refusal = nullptr, bool linger = false) {
        if (refusal) {
            send_refusal(c->fd, *refusal);
            std::lock_guard lock(mu);
            ++counts.refused[refusal->problem.code];
        }
        if (!linger || is_stopping()) return close_now(std::move(c));
        ::shutdown(c->fd, SHUT_WR);
        c->lingering = true;
        c->lingered = 0;
        c->deadline = Clock::now() + limits.linger;
        {
            std::lock_guard lock(mu);
            arriving.push_back(std::move(c));
        }
        wake();
    }

    // The network a request counts against: its peer's, or, from a trusted reverse proxy, its client's.
    std::string request_network(const Connection& c, const HeadScan& scan) const {
        const auto& proxies = limits.trusted_proxies;
        if (scan.real_ip.empty() || std::find(proxies.begin(), proxies.end(), c.peer) == proxies.end()) return c.source;
        return network_key(scan.real_ip);
    }

    // A head is complete: to the workers, or 503 when too many already wait.
    void dispatch(std::unique_ptr<Connection> c) {
        {
            std::lock_guard lock(mu);
            if (ready.size() < limits.max_waiting && !stopping) {
                ready.push_back(std::move(c));
                work_ready.notify_all();
                return;
            }
        }
        finish(std::move(c), &kBusy, true);
    }

    // Looks at what a held connection has received: a complete head, a refused one, or more to come.
    void examine(std::unique_ptr<Connection>& c, std::unordered_map<int, std::unique_ptr<Connection>>& held) {
        const int fd = c->fd;
        const std::string_view pending = std::string_view(c->in).substr(c->used);
        const HeadScan scan = head_scan(pending, limits.head, c->checked);
        if (scan.state == HeadState::incomplete) {
            c->checked = scan.checked;
            if (!c->head_started && !pending.empty()) {
                c->head_started = true;
                c->deadline = Clock::now() + limits.head_timeout;
            }
            return;
        }
        ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
        auto owned = std::move(c);
        held.erase(fd);
        owned->checked = 0;
        if (scan.state == HeadState::refused) return finish(std::move(owned), &scan.refusal, true);
        owned->remaining = scan.head_bytes + scan.body_bytes;
        owned->busy_key = request_network(*owned, scan);
        dispatch(std::move(owned));
    }

    void receive_loop() {
        std::unordered_map<int, std::unique_ptr<Connection>> held;
        std::vector<epoll_event> events(256);
        for (;;) {
            const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 100);
            std::vector<std::unique_ptr<Connection>> incoming;
            {
                std::lock_guard lock(mu);
                if (stopping) break;
                incoming.swap(arriving);
            }
            for (auto& c : incoming) {
                const int fd = c->fd;
                epoll_event ev{};
                ev.events = EPOLLIN | EPOLLRDHUP;
                ev.data.fd = fd;
                if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
                    close_now(std::move(c));
                    continue;
                }
                auto& slot = held[fd];
                slot = std::move(c);
                if (!slot->lingering) examine(slot, held);  // a returned connection may hold a pipelined request
            }
            for (int i = 0; i < n; ++i) {
                const int fd = events[static_cast<size_t>(i)].data.fd;
                if (fd == wake_fd) {
                    uint64_t v;
                    [[maybe_unused]] const ssize_t r = ::read(wake_fd, &v, sizeof v);
                    continue;
                }
                auto it = held.find(fd);
                if (it == held.end()) continue;
                Connection& c = *it->second;
                const Received got = c.lingering ? drop_bytes(c) : take_bytes(c);
                // A peer that half-closes after its request still gets the answer.
                const bool done =
                    c.lingering ? got != Received::more
                                : got == Received::failed ||
                                      (got == Received::ended &&
                                       head_scan(std::string_view(c.in).substr(c.used), limits.head, c.checked).state ==
                                           HeadState::incomplete);
                if (done) {
                    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
                    auto owned = std::move(it->second);
                    held.erase(it);
                    close_now(std::move(owned));
                    continue;
                }
                if (!c.lingering) examine(it->second, held);
            }
            // Deadlines: an unfinished head gets 408; an idle or lingering connection is closed quietly.
            const auto now = Clock::now();
            for (auto it = held.begin(); it != held.end();) {
                if (it->second->deadline > now) {
                    ++it;
                    continue;
                }
                ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->first, nullptr);
                auto owned = std::move(it->second);
                it = held.erase(it);
                if (owned->head_started && !owned->lingering) finish(std::move(owned), &kHeadTimeout, true);
                else close_now(std::move(owned));
            }
        }
        for (auto& [fd, c] : held) close_now(std::move(c));
        std::vector<std::unique_ptr<Connection>> left;
        {
            std::lock_guard lock(mu);
            left.swap(arriving);
        }
        for (auto& c : left) close_now(std::move(c));
    }

    // Reads what has arrived, up to one byte past the head limit.
    enum class Received { more, ended, failed };  // ended: the peer closed its side
    Received take_bytes(Connection& c) {
        char buf[8192];
        while (c.in.size() - c.used <= limits.head.max_head_bytes) {
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                c.in.append(buf, static_cast<size_t>(n));
                continue;
            }
            if (n == 0) return Received::ended;
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? Received::more : Received::failed;
        }
        return Received::more;
    }
    // A closing connection: what arrives is dropped, up to the linger allowance.
    Received drop_bytes(Connection& c) {
        char buf[8192];
        for (;;) {
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                c.lingered += static_cast<size_t>(n);
                if (c.lingered > limits.linger_bytes) return Received::failed;
                continue;
            }
            if (n == 0) return Received::ended;
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? Received::more : Received::failed;
        }
    }

    //-------------------------------------------------------------------------
    // [SECTION] Workers
    //-------------------------------------------------------------------------
    // The first waiting request whose network has fewer than max_busy_per_source being answered:
    // one network's slow downloads cannot take every worker, and others' requests pass its queue.
    std::unique_ptr<Connection> take_ready() {
        for (auto it = ready.begin(); it != ready.end(); ++it) {
            if (limits.max_busy_per_source && busy[(*it)->busy_key] >= limits.max_busy_per_source) continue;
            auto c = std::move(*it);
            ready.erase(it);
            ++busy[c->busy_key];
            serving.insert(c->fd);
            return c;
        }
        return nullptr;
    }
    void work_loop() {
        for (;;) {
            std::unique_ptr<Connection> c;
            {
                std::unique_lock lock(mu);
                // While stopping, the requests already waiting are still answered; those a busy
                // network holds back are refused by drain().
                work_ready.wait(lock, [&] { return (c = take_ready()) != nullptr || stopping; });
                if (!c) return;
            }
            const std::string source = c->busy_key;
            const int fd = c->fd;
            const Next next = serve(*c);
            // Out of service before the descriptor can be closed (and its number reused).
            {
                std::lock_guard lock(mu);
                serving.erase(fd);
                if (--busy[source] == 0) busy.erase(source);
            }
            work_ready.notify_all();  // a request of that network may be waiting for this worker
            switch (next) {
                case Next::close:
                    finish(std::move(c));
                    break;
                case Next::close_after_answer:
                    finish(std::move(c), nullptr, true);
                    break;
                case Next::reception:
                    back_to_reception(std::move(c));
                    break;
            }
        }
    }

    // Answers the connection's buffered request, then any pipelined ones in order, and says what
    // becomes of the connection: back to reception between requests, or closed. A request answered
    // with an error, or whose body was not read to its end, closes the connection (its unread
    // bytes dropped, never parsed).
    enum class Next { close, close_after_answer, reception };
    Next serve(Connection& c) {
        constexpr int kRequestsPerTurn = 100;  // then back to reception, so one connection cannot hold a worker
        for (int turn = 0;; ++turn) {
            bool keep_open = false;
            const bool ok = front.serve_one(c, keep_open);
            if (!ok) return Next::close;
            if (!keep_open) return Next::close_after_answer;
            if (is_stopping()) return Next::close;
            c.in.erase(0, c.used);
            c.used = 0;
            if (turn + 1 >= kRequestsPerTurn) break;
            if (next_request(c)) continue;  // pipelined: answered in order
            // A busy keep-alive client sends its next request within moments of the answer: wait a
            // little for it here rather than hand the connection to reception and back (two
            // thread hops per request). The wait is short and once per request, so idle or slow
            // clients still hold no worker.
            if (!linger(c)) return Next::close;
            if (next_request(c)) continue;
            break;
        }
        return Next::reception;
    }
    void back_to_reception(std::unique_ptr<Connection> c) {
        c->head_started = !c->in.empty();
        c->checked = 0;
        c->deadline = Clock::now() + (c->head_started ? limits.head_timeout : limits.idle_timeout);
        {
            std::lock_guard lock(mu);
            arriving.push_back(std::move(c));
        }
        wake();
    }
    // A complete, acceptable head is buffered: set up its request. (Anything else goes back to
    // reception, which waits for the rest or refuses it.)
    bool next_request(Connection& c) {
        const HeadScan scan = head_scan(c.in, limits.head);
        if (scan.state != HeadState::complete) return false;
        c.remaining = scan.head_bytes + scan.body_bytes;
        const std::string network = request_network(c, scan);
        if (network == c.busy_key) return true;
        // Another client behind the same proxy connection: its turn comes through the queue.
        return false;
    }

    // Waits up to kLinger for more bytes and takes what came. False: the peer closed or failed.
    static constexpr int kLingerMs = 2;
    bool linger(Connection& c) {
        pollfd p{c.fd, POLLIN, 0};
        if (::poll(&p, 1, kLingerMs) <= 0) return true;
        char buf[8192];
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) c.in.append(buf, static_cast<size_t>(n));
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
    }

    bool is_stopping() const {
        std::lock_guard lock(mu);
        return stopping;
    }
};

namespace {
thread_local bool close_requested = false;
}

void front_close_after_response() { close_requested = true; }

bool FrontServer::serve_one(Connection& c, bool& keep_open) {
    ConnectionStream stream(c, impl_->limits);
    bool close_after = false;
    close_requested = false;
    const bool ok = process_request(stream, impl_->is_stopping(), close_after, nullptr);
    ++c.served;
    keep_open = ok && !close_after && !close_requested && !stream.broken() && stream.status() < 400 && c.remaining == 0;
    return ok && !stream.broken();
}

//-----------------------------------------------------------------------------
// [SECTION] Accept hand-off, counts, drain
//-----------------------------------------------------------------------------
FrontServer::FrontServer(FrontLimits limits) {
    // Every held connection is a descriptor: use what the hard limit allows, keep some for files.
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &rl);
            ::getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur != RLIM_INFINITY)
            limits.max_connections =
                std::min<size_t>(limits.max_connections, rl.rlim_cur > 256 ? rl.rlim_cur - 128 : 64);
    }
    impl_ = std::make_unique<Impl>(*this, limits);
    // cpp-httplib owns the queue it asks for (its API takes a raw pointer).
    new_task_queue = [] { return new InlineQueue; };
}

FrontServer::~FrontServer() { drain(); }

bool FrontServer::process_and_close_socket(socket_t sock) {
    auto c = std::make_unique<Connection>();
    c->fd = sock;
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(sock, reinterpret_cast<sockaddr*>(&a), &len) == 0) c->peer = address_text(a, c->peer_port);
    len = sizeof a;
    if (::getsockname(sock, reinterpret_cast<sockaddr*>(&a), &len) == 0) c->local = address_text(a, c->local_port);
    c->source = c->busy_key = network_key(c->peer);
    ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
    c->deadline = Clock::now() + impl_->limits.head_timeout;  // a new connection must start its request
    const Refusal* refusal = nullptr;
    {
        std::lock_guard lock(impl_->mu);
        ++impl_->counts.accepted;
        size_t& mine = impl_->per_source[c->source];
        if (impl_->stopping || impl_->counts.open >= impl_->limits.max_connections) refusal = &kTooManyConnections;
        else if (impl_->limits.max_per_source && mine >= impl_->limits.max_per_source) refusal = &kTooManyFromSource;
        ++mine;
        ++impl_->counts.open;
        if (!refusal) impl_->arriving.push_back(std::move(c));
    }
    if (refusal) impl_->finish(std::move(c), refusal, true);
    else impl_->wake();
    return true;
}

FrontCounts FrontServer::counts() const {
    std::lock_guard lock(impl_->mu);
    return impl_->counts;
}

void FrontServer::drain(std::chrono::milliseconds deadline) {
    if (!impl_) return;
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->work_ready.notify_all();
    impl_->wake();
    if (impl_->reception.joinable()) impl_->reception.join();
    // Requests being answered get until the deadline; then their connections are cut, so that a
    // slow download cannot hold the stop (the report route's commit wait is bounded by the store).
    const auto until = Clock::now() + deadline;
    for (;;) {
        {
            std::lock_guard lock(impl_->mu);
            if (impl_->serving.empty()) break;
            if (Clock::now() >= until) {
                for (int fd : impl_->serving) ::shutdown(fd, SHUT_RDWR);
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto& w : impl_->workers)
        if (w.joinable()) w.join();
    impl_->workers.clear();
    // Requests that were complete but not yet taken: refused now, as the server is stopping.
    std::deque<std::unique_ptr<Connection>> left;
    {
        std::lock_guard lock(impl_->mu);
        left.swap(impl_->ready);
    }
    for (auto& c : left) impl_->finish(std::move(c), &kBusy);
    std::vector<std::unique_ptr<Connection>> returned;  // handed back by a worker as reception stopped
    {
        std::lock_guard lock(impl_->mu);
        returned.swap(impl_->arriving);
    }
    for (auto& c : returned) impl_->close_now(std::move(c));
    if (impl_->epoll_fd >= 0) ::close(impl_->epoll_fd);
    if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
    impl_->epoll_fd = impl_->wake_fd = -1;
}

}  // namespace ldx
