#include "hw-models/guest_ram.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace trustsim {

bool clear_guest_ram(int fd, uint8_t* map, size_t size, size_t in_place_limit, RamClear& done, std::string& why) {
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
    for (const auto& e : extents) memset(map + e.first, 0, size_t(e.second - e.first));
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
