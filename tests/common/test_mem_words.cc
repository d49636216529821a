#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "trustsim/mem_words.h"

namespace mem = trustsim::mem;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t salt) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 37 + salt);
  return v;
}

}  // namespace

// Every length up to a few words, at every source and destination offset
// within a word: the bytes inside the range are the source's, the guard
// bytes around it are untouched.
TEST(MemWords, CopyMatchesAByteLoopAtEveryOffsetAndLength) {
  const size_t kMax = 80, kPad = 16;
  for (size_t so = 0; so < 8; ++so)
    for (size_t doff = 0; doff < 8; ++doff)
      for (size_t n = 0; n <= kMax; ++n) {
        alignas(8) uint8_t src[kMax + 2 * kPad];
        alignas(8) uint8_t dst[kMax + 2 * kPad];
        std::vector<uint8_t> s = pattern(sizeof src, 1), d = pattern(sizeof dst, 200);
        std::copy(s.begin(), s.end(), src);
        std::copy(d.begin(), d.end(), dst);
        std::vector<uint8_t> want = d;
        for (size_t i = 0; i < n; ++i) want[kPad + doff + i] = s[kPad + so + i];
        mem::copy_forward(dst + kPad + doff, src + kPad + so, n);
        ASSERT_EQ(std::vector<uint8_t>(dst, dst + sizeof dst), want) << "src +" << so << " dst +" << doff << " n " << n;
      }
}

TEST(MemWords, FillMatchesAByteLoopAtEveryOffsetAndLength) {
  const size_t kMax = 80, kPad = 16;
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; n <= kMax; ++n) {
      alignas(8) uint8_t buf[kMax + 2 * kPad];
      std::vector<uint8_t> b = pattern(sizeof buf, 9);
      std::copy(b.begin(), b.end(), buf);
      std::vector<uint8_t> want = b;
      for (size_t i = 0; i < n; ++i) want[kPad + off + i] = 0xA5;
      mem::fill(buf + kPad + off, 0xA5, n);
      ASSERT_EQ(std::vector<uint8_t>(buf, buf + sizeof buf), want) << "+" << off << " n " << n;
    }
}

// memmove's forward case: the destination below an overlapping source.
TEST(MemWords, ForwardCopyIntoAnOverlappingLowerDestination) {
  for (size_t shift = 1; shift <= 40; ++shift)
    for (size_t n = 0; n <= 100; ++n) {
      alignas(8) uint8_t buf[160];
      std::vector<uint8_t> b = pattern(sizeof buf, 3);
      std::copy(b.begin(), b.end(), buf);
      std::vector<uint8_t> want = b;
      for (size_t i = 0; i < n; ++i) want[8 + i] = b[8 + shift + i];
      mem::copy_forward(buf + 8, buf + 8 + shift, n);
      ASSERT_EQ(std::vector<uint8_t>(buf, buf + sizeof buf), want) << "shift " << shift << " n " << n;
    }
}

TEST(MemWords, AllEqualFindsADifferentByteAnywhere) {
  const size_t kMax = 80;
  alignas(8) uint8_t buf[kMax + 16];
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; n <= kMax; ++n) {
      std::fill(buf, buf + sizeof buf, 0xFF);
      buf[off + n] = 0x00;  // just past the range: must not be looked at
      if (off) buf[off - 1] = 0x00;
      ASSERT_TRUE(mem::all_equal(buf + off, 0xFF, n)) << "+" << off << " n " << n;
      for (size_t i = 0; i < n; ++i) {
        buf[off + i] = 0xFE;
        ASSERT_FALSE(mem::all_equal(buf + off, 0xFF, n)) << "+" << off << " n " << n << " at " << i;
        buf[off + i] = 0xFF;
      }
    }
}
