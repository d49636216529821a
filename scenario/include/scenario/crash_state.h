// The crash-state key of a campaign run (docs/campaigns.md, "Each distinct
// crash state once"): a SHA-256 over everything the recovery after a cut can
// observe, fed in named, length-framed components so that no two different
// sets of components hash alike. No SystemC here: unit tests feed it bytes.
#pragma once
#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace trustsim {

class CrashStateHasher {
 public:
  CrashStateHasher();
  ~CrashStateHasher();
  CrashStateHasher(const CrashStateHasher&) = delete;
  CrashStateHasher& operator=(const CrashStateHasher&) = delete;

  void add(const std::string& name, const void* data, size_t len);
  void add(const std::string& name, const std::vector<uint8_t>& data) { add(name, data.data(), data.size()); }
  void add(const std::string& name, uint64_t value);
  // A file by its contents, in units of `unit` bytes: each unit that is not
  // all zero bytes, with its index. A hole and written zeros hash alike, so
  // a sparse image (NAND pages, stored inverted: erased is zero) costs only
  // its written extents. Throws std::runtime_error naming the file.
  void add_file_nonzero(const std::string& name, const std::string& path, size_t unit);
  // 64 hex digits; the hasher is spent afterwards.
  std::string key();

 private:
  EVP_MD_CTX* ctx_;
};

// The SHA-256 of each block of an array, kept from one key to the next: a
// block is hashed again only when its version (from the device, e.g.
// BootFlash::block_version) differs from the one its digest was taken at.
// A forked run inherits the walker's digests, so the key after its cut
// hashes only the blocks the cut changed.
class BlockDigests {
 public:
  // All digests, 32 bytes per block in block order, for `count` blocks of
  // `block_bytes` at `data`; version(i) is block i's version.
  const std::vector<uint8_t>& update(const uint8_t* data, size_t block_bytes, size_t count,
                                     const std::function<uint64_t(size_t)>& version);
  // Blocks hashed by update() so far (for tests and measurements).
  uint64_t blocks_hashed() const { return hashed_; }

 private:
  std::vector<uint64_t> versions_;
  std::vector<bool> valid_;
  std::vector<uint8_t> digests_;
  size_t block_bytes_ = 0;
  uint64_t hashed_ = 0;
};

}  // namespace trustsim
