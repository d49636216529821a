#include "hw-models/guest_ram.h"

#include "devkit/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace trustsim {

bool clear_guest_ram(int fd, size_t size, size_t in_place_limit, RamClear& done, std::string& why) {
  done = RamClear{};
  // The file's extents that hold pages (tmpfs answers SEEK_DATA from its
  // page cache: a hole is a page nobody touched).
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  bool known = data_extents(fd, size, extents);
  uint64_t resident = 0;
  for (const auto& e : extents) resident += e.second - e.first;
  if (known && resident <= in_place_limit) {
    // Written into the file, not stored through `map`: a forked run's copy
    // of the mapping has no page table entries, and a store would take a
    // write fault per page to get them.
    static const std::vector<uint8_t> zeros(size_t(1) << 16, 0);
    for (const auto& e : extents)
      for (uint64_t at = e.first; at < e.second;) {
        ssize_t n = pwrite(fd, zeros.data(), size_t(std::min<uint64_t>(e.second - at, zeros.size())), off_t(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          why = n < 0 ? strerror(errno) : "short write";
          return false;
        }
        at += n;
      }
    done.zeroed = resident;
    return true;
  }
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, off_t(size)) != 0) {
    why = strerror(errno);
    return false;
  }
  done.punched = true;
  return true;
}

}  // namespace trustsim
