// server/io/files.h — file reading and atomic writing for the native tools.
//
// Outputs are written to a temporary file in the same folder, flushed to disk (fsync), then
// renamed over the target: a reader sees the old file or the new one, never half of one, and a
// failed command leaves nothing behind.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"

namespace ldx {

// What a file must start with, checked as soon as those bytes are read (a device or a huge file
// that is not what was asked for is refused before it fills memory).
struct FileStart {
    std::string_view bytes;  // empty: no check
    std::string_view what;   // "a LocalDx bundle": the message says the file is not that
    std::string_view code = "wrong_kind";
};
// The whole file, at most max_bytes (a regular file larger than that is refused before reading).
Result<std::string> file_read(const std::string& path, size_t max_bytes = size_t{1} << 30, FileStart start = {});
// mode: permission bits of the new file (0600 for secret keys).
Result<Ok> file_write_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// Several files into one folder as a set (a model and its card): each written in full to a
// temporary name in the folder and flushed first, then all renamed into place. A failure before
// the renames replaces none of them and removes the temporary files; a process killed while
// writing leaves only hidden temporary files (".name.tmp-N"), never a half-written file, and the
// set can be left mixed only by a kill, or a failed rename, in the moment of the renames themselves.
// `written`, when given, is called with each file's name once its temporary copy is written.
Result<Ok> files_write_atomic(const std::string& dir, std::span<const std::pair<std::string, std::string>> files,
                              unsigned mode = 0644, const std::function<void(const std::string&)>& written = {});
bool file_exists(const std::string& path);
Result<Ok> dir_create(const std::string& path);  // like mkdir -p
int64_t unix_now();

}  // namespace ldx
