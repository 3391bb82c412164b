// server/cli/commands/train_scale.cpp — `localdx train` and `localdx tune` beyond one process:
// --external-memory (XGBoost's external memory), --tracker (one worker of several machines) and
// --workers N (a tracker and N worker processes on this machine, for either command).
//
// Index of this file
//   [SECTION] Helpers (file digests, HOST:PORT)
//   [SECTION] Joining the workers (--tracker, --rank, --world, --stripe)
//   [SECTION] Streaming training: external memory, one worker
//   [SECTION] Workers on this machine
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/files.h"
#include "train/stream.h"

namespace ldx::cli {

//-----------------------------------------------------------------------------
// [SECTION] Helpers
//-----------------------------------------------------------------------------
namespace {
// The SHA-256 of a file read in pieces (the card records each data file's digest).
Result<std::string> sha256_file_hex(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return problem("cannot_read", "cannot open " + path);
    if (sodium_init() < 0) return problem("crypto", "libsodium did not start");
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    std::vector<unsigned char> buf(1 << 20);
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) crypto_hash_sha256_update(&st, buf.data(), n);
    std::fclose(f);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : digest) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

Result<std::pair<std::string, int>> host_port(const std::string& s) {
    const auto colon = s.rfind(':');
    const int port = colon == std::string::npos ? 0 : std::atoi(s.c_str() + colon + 1);
    if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535)
        return problem("usage", "--tracker takes HOST:PORT (the tracker's address), not '" + s + "'", "--tracker");
    return std::pair<std::string, int>{s.substr(0, colon), port};
}

// The tracker of python3-xgboost (xgboost.tracker.RabitTracker), ranks in the order of --rank.
const char* const kTrackerScript = R"(import sys
from xgboost.tracker import RabitTracker
t = RabitTracker(sys.argv[1], int(sys.argv[2]), port=int(sys.argv[3]), sortby="task")
print(t.port, flush=True)
t.start(int(sys.argv[2]))
t.join()
)";
}  // namespace

//-----------------------------------------------------------------------------
// [SECTION] Joining the workers
//-----------------------------------------------------------------------------
Result<Joined> join_workers(const Args& a, const std::string& command) {
    Joined out;
    if (!a.get("--tracker") && !a.get("--rank") && !a.get("--world")) return out;
    auto tracker = args_require(a, "--tracker");
    if (!tracker) return tracker.problems();
    auto at = host_port(*tracker);
    if (!at) return at.problems();
    if (!a.get("--rank") || !a.get("--world"))
        return problem("usage", "--tracker needs --rank R (0, 1, ...) and --world N (the workers)");
    auto w = positive_int(a, "--world", 1);
    if (!w) return w.problems();
    // positive_int refuses 0, which is a rank: read --rank by hand.
    const int rank = std::atoi(a.get("--rank")->c_str());
    const int world = static_cast<int>(*w);
    if (rank < 0 || rank >= world || *a.get("--rank") != std::to_string(rank))
        return problem("usage", "--rank must be a whole number from 0 to --world - 1", "--rank");
    std::fprintf(stderr, "localdx %s: worker %d of %d, joining the tracker at %s\n", command.c_str(), rank, world,
                 tracker->c_str());
    auto c = XgbCollective::join(at->first, at->second, rank, world);
    if (!c) return c.problems();
    out.collective.emplace(std::move(*c));
    out.rank = rank;
    out.world = world;
    if (a.has("--stripe")) {  // every worker reads the same files, each its own rows
        out.shard = rank;
        out.shards = world;
    }
    return out;
}

//-----------------------------------------------------------------------------
// [SECTION] Streaming training
//-----------------------------------------------------------------------------
int train_streaming(const Args& a, const Schema& schema, const TrainConfig& cfg, const std::string& task,
                    const std::vector<std::string>& data_files, const std::string& out) {
    StreamOptions o;
    o.files = data_files;
    auto batch = positive_int(a, "--batch-rows", 100000);
    if (!batch) return fail("train", batch.problems());
    o.batch_rows = static_cast<size_t>(*batch);
    auto joined = join_workers(a, "train");
    if (!joined) return fail("train", joined.problems());
    const int rank = joined->rank, world = joined->world;
    if (joined->collective) {
        o.collective = &*joined->collective;
        o.shard = joined->shard;
        o.shards = joined->shards;
    }
    if (auto dir = a.get("--external-memory")) {
        o.cache_dir = world > 1 ? *dir + "/worker-" + std::to_string(rank) : *dir;
        if (auto ok = dir_create(o.cache_dir); !ok) return fail("train", ok.problems());
    }
    const std::string who = world > 1 ? "[worker " + std::to_string(rank) + "] " : "";
    auto log = [&](const std::string& line) { progress(who + line); };
    auto result = train_stream(schema, cfg, o, log);
    if (!result) return fail("train", result.problems());
    if (!*result) {
        log("done; worker 0 writes the model");
        return 0;
    }
    Json files = Json::array();
    for (const auto& f : data_files) {
        auto digest = sha256_file_hex(f);
        if (!digest) return fail("train", digest.problems());
        files.push_back({{"file", std::filesystem::path(f).filename().string()}, {"sha256", *digest}});
    }
    Json record = {{"data_files", files}};
    if (files.size() == 1) record = {{"data_file", files[0]["file"]}, {"data_sha256", files[0]["sha256"]}};
    // With --tracker, the digests are of worker 0's own files.
    record["scale"] = {{"external_memory", !o.cache_dir.empty()},
                       {"batch_rows", o.batch_rows},
                       {"workers", world},
                       {"each_worker_reads",
                        o.shards > 1 ? "every " + std::to_string(world) + "th row of the files" : "its own files"}};
    return train_write(task, schema, cfg, **result, record, out);
}

//-----------------------------------------------------------------------------
// [SECTION] Workers on this machine
//-----------------------------------------------------------------------------
namespace {
// SIGTERM, SIGINT and SIGHUP held back (blocked) while the workers run, so that the wait below
// receives them and stops the workers and the tracker first; the previous mask comes back when
// it goes (a signal still pending then acts as usual).
class HeldSignals {
public:
    HeldSignals() {
        sigemptyset(&set_);
        for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set_, sig);
        sigprocmask(SIG_BLOCK, &set_, &old_);
    }
    ~HeldSignals() { sigprocmask(SIG_SETMASK, &old_, nullptr); }
    HeldSignals(const HeldSignals&) = delete;
    HeldSignals& operator=(const HeldSignals&) = delete;
    const sigset_t& set() const { return set_; }
    // In a child between fork and exec: the parent's mask, and SIGTERM when the parent dies.
    void child(pid_t parent) const {
        sigprocmask(SIG_SETMASK, &old_, nullptr);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(143);  // the parent died before prctl
    }

private:
    sigset_t set_{}, old_{};
};

// The next child to end (its pid, `status` set), or 0 with `sig` set when a held signal came.
pid_t wait_child_or_signal(const HeldSignals& held, int& status, int& sig) {
    while (true) {
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid != 0) return pid;
        const timespec tick{0, 100'000'000};
        const int got = sigtimedwait(&held.set(), nullptr, &tick);
        if (got > 0) {
            sig = got;
            return 0;
        }
    }
}

void stop(const std::map<pid_t, int>& running, pid_t tracker) {
    for (const auto& [pid, rank] : running) kill(pid, SIGKILL);
    for (const auto& [pid, rank] : running) waitpid(pid, nullptr, 0);
    if (tracker > 0) {
        kill(tracker, SIGKILL);
        waitpid(tracker, nullptr, 0);
    }
}

// A run's temporary folder (OUT.partial-PID) whose starter no longer runs on this machine: a
// starter killed by SIGKILL cannot remove its own, so the next run to the same --out does, and
// says so. A folder whose PID runs (another run's, or a reused PID) is left alone; one with this
// process's PID is a dead run's. (Runs to one --out from several machines sharing its folder are
// not told apart: give each its own --out.)
void remove_stale_partials(const char* cmd, const std::string& out) {
    namespace fs = std::filesystem;
    fs::path o(out);
    if (!o.has_filename()) o = o.parent_path();
    const fs::path dir = o.has_parent_path() ? o.parent_path() : fs::path(".");
    const std::string prefix = o.filename().string() + ".partial-";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), last; !ec && it != last; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string digits = name.substr(prefix.size());
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(digits));
        // This process's PID is stale too (a dead run's, reused: no worker of this run has
        // started yet); another PID is stale only when no process has it on this machine.
        if (pid <= 0 || (pid != getpid() && (kill(pid, 0) == 0 || errno != ESRCH))) continue;
        // Only a real folder of this user's (a run's), never a link or another user's.
        struct stat st {};
        if (lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        std::error_code removed;
        fs::remove_all(it->path(), removed);
        if (!removed)
            std::fprintf(stderr, "localdx %s: removed %s, left by a run (pid %d) that no longer runs\n", cmd,
                         (o.parent_path() / name).string().c_str(), static_cast<int>(pid));
    }
}
}  // namespace

int train_workers(const Args& a, const std::string& out) {
    const int world = std::atoi(a.get("--workers").value_or("1").c_str());
    if (int rc = run_workers(a, "train", out); rc != 0) return rc;
    std::printf("wrote %s/{model.xgb.json, model.onnx, schema.json, reference.json, card.json} (%d workers)\n",
                out.c_str(), world);
    return 0;
}

int run_workers(const Args& a, const std::string& command, const std::string& out) {
    const char* cmd = command.c_str();
    auto n = positive_int(a, "--workers", 1);
    if (!n) return fail(cmd, n.problems());
    if (a.get("--tracker") || a.get("--rank") || a.get("--world"))
        return fail(cmd, problem("usage", "--workers starts its own tracker: leave out --tracker, --rank, --world"));
    const int world = static_cast<int>(*n);
    // 1. The tracker (python3-xgboost), on loopback; it prints the port it listens on.
    int pipefd[2];
    if (pipe(pipefd) != 0) return fail(cmd, problem("system", "cannot make a pipe"));
    const HeldSignals held;
    const pid_t self = getpid();
    pid_t tracker = fork();
    if (tracker == 0) {
        held.child(self);
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        const std::string w = std::to_string(world);
        execl("/usr/bin/python3", "python3", "-c", kTrackerScript, "127.0.0.1", w.c_str(), "0", nullptr);
        std::perror("localdx: cannot start /usr/bin/python3 (the tracker of python3-xgboost)");
        _exit(127);
    }
    close(pipefd[1]);
    std::string line;
    char c = 0;
    while (read(pipefd[0], &c, 1) == 1 && c != '\n') line += c;
    close(pipefd[0]);
    const int port = std::atoi(line.c_str());
    if (tracker < 0 || port <= 0) {
        stop({}, tracker);
        return fail(cmd, problem("tracker",
                                 "the tracker did not start: is python3-xgboost installed "
                                 "(/usr/bin/python3 -c 'import xgboost')?"));
    }
    std::fprintf(stderr, "localdx %s: tracker on 127.0.0.1:%d (pid %d); %d workers\n", cmd, port, tracker, world);
    // 2. The workers: this program again, each reading every world-th row, writing to a temporary
    // folder that becomes `out` only when every worker has finished.
    remove_stale_partials(cmd, out);
    const std::string partial = out + ".partial-" + std::to_string(getpid());
    std::vector<std::string> base{command};
    for (const auto& [flag, value] : a.flags)
        if (flag != "--workers" && flag != "--out") base.insert(base.end(), {flag, value});
    for (const auto& f : a.all("--data")) base.insert(base.end(), {"--data", f});
    base.insert(base.end(), {"--out", partial, "--tracker", "127.0.0.1:" + std::to_string(port), "--world",
                             std::to_string(world), "--stripe"});
    std::map<pid_t, int> running;
    for (int r = 0; r < world; ++r) {
        std::vector<std::string> args = base;
        args.insert(args.end(), {"--rank", std::to_string(r)});
        const pid_t pid = fork();
        if (pid == 0) {
            held.child(self);
            dup2(2, 1);  // worker 0's summary goes with the progress; this process prints the result
            std::vector<char*> argv{const_cast<char*>("localdx")};
            for (auto& s : args) argv.push_back(s.data());
            argv.push_back(nullptr);
            execv("/proc/self/exe", argv.data());
            _exit(127);
        }
        if (pid < 0) {
            stop(running, tracker);
            return fail(cmd, problem("system", "cannot start worker " + std::to_string(r)));
        }
        running[pid] = r;
        std::fprintf(stderr, "localdx %s: worker %d: pid %d\n", cmd, r, pid);
    }
    // 3. Wait: the first worker to fail stops the others, and nothing is written. A worker that
    // loses a peer fails too ("Allreduce failed"), often first: the failures of the next half
    // second are collected, and a worker killed by a signal is named as the cause.
    auto words = [](int r, pid_t pid, int status) {
        return "worker " + std::to_string(r) + " (pid " + std::to_string(pid) + ") " +
               (WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                                          strsignal(WTERMSIG(status)) + ")"
                                    : "failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
    };
    while (!running.empty()) {
        int status = 0, sig = 0;
        const pid_t pid = wait_child_or_signal(held, status, sig);
        if (sig != 0) {  // this process was told to stop: the workers and the tracker stop first
            stop(running, tracker);
            std::error_code ec;
            std::filesystem::remove_all(partial, ec);
            std::fprintf(stderr,
                         "localdx %s: stopped by signal %d (%s); the workers and the tracker were stopped and %s\n",
                         cmd, sig, strsignal(sig), command == "train" ? "no model was written" : "nothing was written");
            signal(sig, SIG_DFL);
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            sigprocmask(SIG_UNBLOCK, &one, nullptr);
            raise(sig);
            _exit(128 + sig);
        }
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) break;
        if (pid == tracker) {  // reaped: not to be signalled again
            tracker = -1;
            continue;
        }
        auto it = running.find(pid);
        if (it == running.end()) continue;
        const int r = it->second;
        running.erase(it);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
        std::vector<std::pair<bool, std::string>> failures{{WIFSIGNALED(status), words(r, pid, status)}};
        for (int waited = 0; waited < 50 && !running.empty(); ++waited) {
            const pid_t other = waitpid(-1, &status, WNOHANG);
            if (other > 0 && other == tracker) tracker = -1;
            auto o = running.find(other);
            if (other > 0 && o != running.end()) {
                if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                    failures.push_back({WIFSIGNALED(status), words(o->second, other, status)});
                running.erase(o);
                continue;
            }
            usleep(10000);
        }
        stop(running, tracker);
        std::filesystem::remove_all(partial);
        std::stable_sort(failures.begin(), failures.end(),
                         [](const auto& x, const auto& y) { return x.first > y.first; });
        std::string why = failures[0].second;
        for (size_t i = 1; i < failures.size(); ++i) why += (i == 1 ? "; then " : ", ") + failures[i].second;
        return fail(cmd, problem("worker_failed", why + "; the other workers were stopped and " +
                                                      (command == "train" ? "no model" : "nothing") + " was written"));
    }
    if (tracker > 0) {
        kill(tracker, SIGTERM);
        waitpid(tracker, nullptr, 0);
    }
    // 4. The outputs into place, each file by an atomic rename.
    if (auto ok = dir_create(out); !ok) return fail(cmd, ok.problems());
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(partial, ec)) {
        std::filesystem::rename(e.path(), std::filesystem::path(out) / e.path().filename(), ec);
        if (ec) return fail(cmd, problem("cannot_write", "cannot move " + e.path().string() + " into " + out));
    }
    std::filesystem::remove_all(partial, ec);
    return 0;
}

}  // namespace ldx::cli
