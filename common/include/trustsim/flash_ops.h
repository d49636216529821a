// The interface between the bootflash: file system (common/) and whatever
// flash sits under it: the NAND driver in firmware, a state-directory file
// in host tools, a fault-injecting RAM model in tests. Freestanding: no
// heap, no RTTI; implementations override the pure virtuals.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::flash {

struct Geometry {
  uint32_t page_size;        // main-area bytes per page (spare/ECC is the device's business)
  uint32_t pages_per_block;  // erase unit = pages_per_block * page_size
  uint32_t block_count;
};

enum class Result {
  kOk,
  kCorrected,      // read succeeded after the device corrected bit errors
  kEccError,       // read data uncorrectable
  kProgramFailed,  // the device reported a program failure
  kEraseFailed,    // the device reported an erase failure (block should be retired)
  kBadBlock,       // operation on a block marked bad
  kOutOfRange,     // page/block number outside the geometry
  kIoError,        // transport failure (mailbox, host file)
};

const char* result_text(Result r);

// NAND rules every implementation enforces (and the file system obeys):
// a page is programmed at most once between erases, pages of a block are
// programmed in increasing order, erase sets every byte of a block to 0xFF.
class Ops {
 public:
  virtual Geometry geometry() const = 0;
  virtual Result read_page(uint32_t page, uint8_t* buf) = 0;  // page_size bytes
  // Reads `count` consecutive pages into buf (count * page_size bytes).
  // Stops at the first page that fails and returns its result; otherwise
  // kCorrected if any page needed correcting, else kOk. *good: the pages
  // read before the one that failed (count on success). The default reads
  // page by page; a driver may read the whole run in one device operation.
  virtual Result read_pages(uint32_t first, uint32_t count, uint8_t* buf, uint32_t* good);
  virtual Result program_page(uint32_t page, const uint8_t* buf) = 0;
  virtual Result erase_block(uint32_t block) = 0;
  virtual bool is_bad_block(uint32_t block) = 0;
  virtual Result mark_bad_block(uint32_t block) = 0;
  // A hint: the caller will now call is_bad_block() for blocks first ..
  // first + count - 1 in order, reading at most pages 0 and 1 of each good
  // one before the next call, with no program or erase in between (a mount's
  // scan). A driver may read those pages ahead in fewer device operations;
  // results must be as without the hint. The default does nothing.
  virtual void scan_headers(uint32_t first, uint32_t count) {
    (void)first;
    (void)count;
  }

 protected:
  ~Ops() = default;
};

}  // namespace trustsim::flash
