// server/io/files.cpp — see files.h.
#include "io/files.h"

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <vector>

namespace ldx {

Result<std::string> file_read(const std::string& path, size_t max_bytes, FileStart start) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return problem("io", "cannot read " + path + ": " + std::strerror(errno), path);
    struct stat st {};
    const bool known_size = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        ::close(fd);
        return problem("io", path + " is a folder, not a file", path);
    }
    auto too_large = [&] {
        ::close(fd);
        const std::string limit = max_bytes % (1u << 20) == 0 ? std::to_string(max_bytes >> 20) + " MB"
                                                              : std::to_string(max_bytes) + " bytes";
        return problem("too_large", path + " is larger than " + limit);
    };
    // A regular file's size is known before reading: refuse it at once, or read it into exactly
    // its size. Anything else (a pipe, a device) grows, never past the limit.
    if (known_size && static_cast<uint64_t>(st.st_size) > max_bytes) return too_large();
    std::string out;
    if (known_size) out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    bool start_checked = start.bytes.empty();
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            return problem("io", "cannot read " + path + ": " + std::strerror(errno), path);
        }
        if (n == 0) break;
        if (out.size() + static_cast<size_t>(n) > max_bytes) return too_large();
        if (!known_size && out.capacity() < out.size() + static_cast<size_t>(n))
            out.reserve(std::min(max_bytes, std::max<size_t>(2 * out.capacity(), out.size() + static_cast<size_t>(n))));
        out.append(buf, static_cast<size_t>(n));
        if (!start_checked && out.size() >= start.bytes.size()) {
            start_checked = true;
            if (out.compare(0, start.bytes.size(), start.bytes) != 0) {
                ::close(fd);
                return problem(std::string(start.code), path + " is not " + std::string(start.what));
            }
        }
    }
    ::close(fd);
    if (!start_checked && out.compare(0, start.bytes.size(), start.bytes) != 0)
        return problem(std::string(start.code), path + " is not " + std::string(start.what));
    return out;
}

namespace {
// `data` in a new temporary file beside `path` (".name.tmp-N"), flushed to disk; its name.
Result<std::string> write_temporary(const std::string& path, std::string_view data, unsigned mode) {
    const std::filesystem::path target(path);
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    // Replacing is for files: a device, a folder or a pipe at `path` (/dev/null, say) is left alone.
    std::error_code ec;
    if (const auto st = std::filesystem::symlink_status(target, ec);
        !ec && std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
        return problem("io", path + " is not a regular file; it is not replaced", path);
    std::random_device rd;
    const std::string tmp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(rd()))).string();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return problem("io", "cannot write in " + dir.string() + ": " + std::strerror(errno), path);
    auto fail = [&](const char* what) {
        const std::string msg = std::string(what) + " " + path + ": " + std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return problem("io", msg, path);
    };
    size_t off = 0;
    while (off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("cannot write");
        }
        off += static_cast<size_t>(n);
    }
    if (::fchmod(fd, mode) != 0) return fail("cannot set the mode of");
    if (::fsync(fd) != 0) return fail("cannot flush");
    if (::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return problem("io", "cannot close " + path, path);
    }
    return tmp;
}

// The rename is durable once the folder is flushed.
void flush_folder(const std::string& path) {
    const std::filesystem::path target(path);
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}
}  // namespace

Result<Ok> file_write_atomic(const std::string& path, std::string_view data, unsigned mode) {
    auto tmp = write_temporary(path, data, mode);
    if (!tmp) return tmp.problems();
    if (::rename(tmp->c_str(), path.c_str()) != 0) {
        const std::string msg = std::string("cannot rename into ") + path + ": " + std::strerror(errno);
        ::unlink(tmp->c_str());
        return problem("io", msg, path);
    }
    flush_folder(path);
    return Ok{};
}

Result<Ok> files_write_atomic(const std::string& dir, std::span<const std::pair<std::string, std::string>> files,
                              unsigned mode, const std::function<void(const std::string&)>& written) {
    std::vector<std::string> temporary;
    auto remove_temporary = [&] {
        for (const auto& t : temporary) ::unlink(t.c_str());
    };
    for (const auto& [name, bytes] : files) {
        auto tmp = write_temporary(dir + "/" + name, bytes, mode);
        if (!tmp) {
            remove_temporary();
            return tmp.problems();
        }
        temporary.push_back(std::move(*tmp));
        if (written) written(name);
    }
    for (size_t i = 0; i < files.size(); ++i) {
        const std::string path = dir + "/" + files[i].first;
        if (::rename(temporary[i].c_str(), path.c_str()) != 0) {
            const std::string msg = std::string("cannot rename into ") + path + ": " + std::strerror(errno);
            for (size_t j = i; j < temporary.size(); ++j) ::unlink(temporary[j].c_str());
            return problem("io", msg, path);
        }
    }
    if (!files.empty()) flush_folder(dir + "/" + files[0].first);
    return Ok{};
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

Result<Ok> dir_create(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return problem("io", "cannot create folder " + path + ": " + ec.message(), path);
    return Ok{};
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace ldx
