#include "scenario/crash_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "devices/openssl_util.h"
#include "devkit/state_file.h"

namespace trustsim {

CrashStateHasher::CrashStateHasher() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("crash-state key: SHA-256 is not available");
}

CrashStateHasher::~CrashStateHasher() { EVP_MD_CTX_free(ctx_); }

// Each component is its name, a NUL, its length (8 bytes, little endian)
// and its bytes: moving a byte from one component to the next changes the key.
void CrashStateHasher::add(const std::string& name, const void* data, size_t len) {
  uint8_t n[8];
  for (int i = 0; i < 8; ++i) n[i] = uint8_t(uint64_t(len) >> (8 * i));
  EVP_DigestUpdate(ctx_, name.c_str(), name.size() + 1);
  EVP_DigestUpdate(ctx_, n, sizeof n);
  if (len) EVP_DigestUpdate(ctx_, data, len);
}

void CrashStateHasher::add(const std::string& name, uint64_t value) {
  uint8_t v[8];
  for (int i = 0; i < 8; ++i) v[i] = uint8_t(value >> (8 * i));
  add(name, v, sizeof v);
}

void CrashStateHasher::add_file_nonzero(const std::string& name, const std::string& path, size_t unit) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("crash-state key: " + path + ": " + strerror(errno));
  off_t end = lseek(fd, 0, SEEK_END);
  add(name + ":size", uint64_t(end));
  std::vector<uint8_t> buf(unit);
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  data_extents(fd, uint64_t(end), extents);  // where it cannot say: all of the file
  for (const auto& [data, hole] : extents) {
    for (uint64_t u = data / unit; u * unit < hole; ++u) {
      ssize_t n = pread(fd, buf.data(), unit, off_t(u * unit));
      if (n <= 0) break;
      bool zero = true;
      for (ssize_t i = 0; i < n && zero; ++i) zero = buf[size_t(i)] == 0;
      if (zero) continue;
      add(name, u);
      add(name, buf.data(), size_t(n));
    }
  }
  close(fd);
}

const std::vector<uint8_t>& BlockDigests::update(const uint8_t* data, size_t block_bytes, size_t count,
                                                 const std::function<uint64_t(size_t)>& version) {
  if (block_bytes != block_bytes_ || count != versions_.size()) {
    block_bytes_ = block_bytes;
    versions_.assign(count, 0);
    valid_.assign(count, false);
    digests_.assign(count * 32, 0);
  }
  for (size_t i = 0; i < count; ++i) {
    uint64_t v = version(i);
    if (valid_[i] && versions_[i] == v) continue;
    unsigned int n = 0;
    if (EVP_Digest(data + i * block_bytes, block_bytes, &digests_[i * 32], &n, EVP_sha256(), nullptr) != 1 || n != 32)
      throw std::runtime_error("crash-state key: SHA-256 of a block failed");
    versions_[i] = v;
    valid_[i] = true;
    ++hashed_;
  }
  return digests_;
}

std::string CrashStateHasher::key() {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, md, &n);
  return ossl::hex(md, n);
}

}  // namespace trustsim
