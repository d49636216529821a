// Files in the board state directory. Every write goes to a temporary file
// that is renamed over the old one, so a trustsim killed at any instant
// leaves either the old or the new contents, never a torn file.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace trustsim {

// Throws InputError (naming the file) if it cannot be read, is a directory
// or holds more than max_bytes (limit_why, if given, says where the limit comes from).
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = UINT64_MAX,
                               const char* limit_why = nullptr);
void write_file_atomic(const std::string& path, const uint8_t* data, size_t len);  // throws std::runtime_error
// Overwrites len bytes at `offset` of an existing file in place (no
// temporary, no rename): NOT atomic. A writer killed inside it leaves some
// 4 KiB pages of the range new and the rest old; callers that use it say
// what such a file means (docs/board-state.md). Throws std::runtime_error.
void write_file_range(const std::string& path, uint64_t offset, const uint8_t* data, size_t len);
// For a file the user names as output: throws InputError if it is a
// directory or its directory does not exist or is not writable.
void check_output_path(const std::string& path);
bool file_exists(const std::string& path);
// The extents of open file `fd` that hold data, within [0, size): ordered
// [begin, end) pairs (lseek SEEK_DATA / SEEK_HOLE; on tmpfs exactly the
// pages present). False when the file system cannot say: `out` is then the
// whole range as one extent, so a caller that treats extents as "may hold
// data" stays right.
bool data_extents(int fd, uint64_t size, std::vector<std::pair<uint64_t, uint64_t>>& out);
// Copies a (possibly sparse) file, keeping its holes; replaces `to`.
// Throws std::runtime_error.
void copy_file_sparse(const std::string& from, const std::string& to);

}  // namespace trustsim
