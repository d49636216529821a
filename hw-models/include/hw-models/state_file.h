// Files in the board state directory. Every write goes to a temporary file
// that is renamed over the old one, so a trustsim killed at any instant
// leaves either the old or the new contents, never a torn file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace trustsim {

std::vector<uint8_t> read_file(const std::string& path);  // throws InputError
void write_file_atomic(const std::string& path, const uint8_t* data, size_t len);  // throws std::runtime_error
bool file_exists(const std::string& path);
// Copies a (possibly sparse) file, keeping its holes; replaces `to`.
// Throws std::runtime_error.
void copy_file_sparse(const std::string& from, const std::string& to);

}  // namespace trustsim
