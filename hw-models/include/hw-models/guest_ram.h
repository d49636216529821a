#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace trustsim {

// What a guest RAM clear did (docs/performance.md, section "sys").
struct RamClear {
  uint64_t zeroed = 0;   // bytes set to zero in place, through the mapping
  bool punched = false;  // the file's pages were released instead
};

// Makes the guest RAM file (a tmpfs file shared with QEMU) read as all
// zeros. The pages the file holds are those a guest (or a
// mailbox DMA) has touched since they were last released; while they add
// up to at most `in_place_limit` bytes they are zeroed in place, so the next
// guest finds them mapped and QEMU takes no page fault to get them back.
// Above the limit the file's pages are released (a punched hole), which
// keeps the cost of a clear bounded after one run that touched much of RAM.
// False with `why` set when the file cannot be cleared.
bool clear_guest_ram(int fd, size_t size, size_t in_place_limit, RamClear& done, std::string& why);

}  // namespace trustsim
