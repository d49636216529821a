// The guest RAM clear (hw-models/guest_ram.h): after it the file reads as
// zeros through every mapping; the pages it holds stay in the file when they
// fit the in-place limit and are released when they do not.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "hw-models/guest_ram.h"

namespace trustsim {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kSize = 256 * kPage;

struct RamFile {
  int fd = memfd_create("guest-ram-test", MFD_CLOEXEC);
  uint8_t* a = nullptr;  // trustsim's mapping
  uint8_t* b = nullptr;  // QEMU's
  RamFile() {
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, kSize), 0);
    a = static_cast<uint8_t*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    b = static_cast<uint8_t*>(mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  }
  ~RamFile() {
    munmap(a, kSize);
    munmap(b, kSize);
    close(fd);
  }
  // Bytes of the file that hold pages.
  uint64_t resident() const {
    uint64_t n = 0;
    for (off_t pos = 0;;) {
      off_t d = lseek(fd, pos, SEEK_DATA);
      if (d < 0) return n;
      off_t h = lseek(fd, d, SEEK_HOLE);
      n += uint64_t(h - d);
      pos = h;
    }
  }
  // Read with pread (a read through a mapping would give the file a page
  // at every hole it reads), and at the touched bytes through both mappings.
  bool all_zero() const {
    std::vector<uint8_t> file(kSize, 0xAA);
    if (pread(fd, file.data(), kSize, 0) != ssize_t(kSize)) return false;
    for (size_t i = 0; i < kSize; ++i)
      if (file[i]) return false;
    for (size_t i : {size_t(0), 5 * kPage + 17, 6 * kPage, 9 * kPage + 1, kSize - 1})
      if (a[i] || b[i]) return false;
    return true;
  }
};

// What a guest does: stores scattered over a few pages (one of them at the
// very end of RAM), and a read of a page it never writes.
void touch(RamFile& r) {
  r.b[0] = 1;
  r.b[5 * kPage + 17] = 0x5A;
  r.b[6 * kPage] = 0xFF;
  r.b[kSize - 1] = 7;
  volatile uint8_t v = r.b[100 * kPage];
  (void)v;
}

TEST(GuestRam, SmallTouchedSetIsZeroedInPlaceAndStaysInTheFile) {
  RamFile r;
  touch(r);
  uint64_t before = r.resident();
  ASSERT_EQ(before, 5 * kPage);
  RamClear done;
  std::string why;
  ASSERT_TRUE(clear_guest_ram(r.fd, kSize, kSize / 4, done, why)) << why;
  EXPECT_EQ(r.resident(), before);  // QEMU keeps them: no page fault to get them back
  EXPECT_FALSE(done.punched);
  EXPECT_EQ(done.zeroed, before);
  EXPECT_TRUE(r.all_zero());
  // A second guest's stores are cleared the same way.
  touch(r);
  r.b[9 * kPage + 1] = 3;
  ASSERT_TRUE(clear_guest_ram(r.fd, kSize, kSize / 4, done, why)) << why;
  EXPECT_TRUE(r.all_zero());
  EXPECT_EQ(done.zeroed, 6 * kPage);
}

TEST(GuestRam, TouchedSetOverTheLimitIsReleased) {
  RamFile r;
  touch(r);
  RamClear done;
  std::string why;
  ASSERT_TRUE(clear_guest_ram(r.fd, kSize, 4 * kPage, done, why)) << why;
  EXPECT_TRUE(done.punched);
  EXPECT_EQ(done.zeroed, 0u);
  EXPECT_EQ(r.resident(), 0u);
  EXPECT_TRUE(r.all_zero());
}

TEST(GuestRam, LimitZeroAlwaysReleases) {
  RamFile r;
  r.b[3] = 9;
  RamClear done;
  std::string why;
  ASSERT_TRUE(clear_guest_ram(r.fd, kSize, 0, done, why)) << why;
  EXPECT_TRUE(done.punched);
  EXPECT_TRUE(r.all_zero());
}

TEST(GuestRam, FileThatCannotBeClearedSaysWhy) {
  RamFile r;
  RamClear done;
  std::string why;
  EXPECT_FALSE(clear_guest_ram(-1, kSize, kSize, done, why));
  EXPECT_EQ(why, strerror(EBADF));
}

}  // namespace
}  // namespace trustsim
