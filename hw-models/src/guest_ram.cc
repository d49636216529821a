#include "hw-models/guest_ram.h"

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
  std::vector<std::pair<off_t, off_t>> extents;
  uint64_t resident = 0;
  bool known = true;
  for (off_t pos = 0; pos < off_t(size);) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      known = errno == ENXIO;  // ENXIO: only a hole is left
      break;
    }
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > off_t(size)) hole = off_t(size);
    extents.emplace_back(data, hole);
    resident += uint64_t(hole - data);
    pos = hole;
  }
  if (known && resident <= in_place_limit) {
    // Written into the file, not stored through `map`: a forked run's copy
    // of the mapping has no page table entries, and a store would take a
    // write fault per page to get them.
    static const std::vector<uint8_t> zeros(size_t(1) << 16, 0);
    for (const auto& e : extents)
      for (off_t at = e.first; at < e.second;) {
        ssize_t n = pwrite(fd, zeros.data(), size_t(std::min<off_t>(e.second - at, off_t(zeros.size()))), at);
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
