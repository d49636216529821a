// The on-die ECC code (common/src/ecc.cc): SEC-DED over one NAND sector.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "trustsim/ecc.h"

using namespace trustsim;

namespace {

// 512 main bytes + 12 protected spare bytes: the sector of a 2048+64 page.
constexpr size_t kSector = 524;

std::vector<uint8_t> sector_data(size_t len, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> d(len);
  for (auto& b : d) b = uint8_t(gen());
  return d;
}

}  // namespace

TEST(Ecc, ErasedDataHasAnErasedCodeAndChecksClean) {
  std::vector<uint8_t> d(kSector, 0xFF);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  EXPECT_EQ(code[0], 0xFF);
  EXPECT_EQ(code[1], 0xFF);
  EXPECT_EQ(ecc::check(d.data(), d.size(), code), ecc::Status::kClean);
}

// Erased data takes a shortcut in the model (all ones sums to zero): a
// single flipped bit in it, or an erased sector under another sector's
// code, must still be seen.
TEST(Ecc, ErasedDataWithOneBitFlippedIsCorrectedAndUnderAForeignCodeIsNotClean) {
  std::vector<uint8_t> erased(kSector, 0xFF);
  const uint8_t erased_code[ecc::kCodeBytes] = {0xFF, 0xFF};
  for (uint32_t bit = 0; bit < kSector * 8; ++bit) {
    std::vector<uint8_t> bad = erased;
    bad[bit / 8] ^= uint8_t(1u << (bit % 8));
    uint32_t where = 0xFFFFFFFFu;
    ASSERT_EQ(ecc::check(bad.data(), bad.size(), erased_code, &where), ecc::Status::kCorrected) << "bit " << bit;
    ASSERT_EQ(where, bit);
    ASSERT_EQ(bad, erased);
  }
  std::vector<uint8_t> d = sector_data(kSector, 9);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  std::vector<uint8_t> copy = erased;
  EXPECT_NE(ecc::check(copy.data(), copy.size(), code), ecc::Status::kClean);
}

TEST(Ecc, IntactDataChecksClean) {
  std::vector<uint8_t> d = sector_data(kSector, 1);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  std::vector<uint8_t> copy = d;
  EXPECT_EQ(ecc::check(copy.data(), copy.size(), code), ecc::Status::kClean);
  EXPECT_EQ(copy, d);
}

TEST(Ecc, EveryDataBitFlipIsCorrectedAtItsIndex) {
  std::vector<uint8_t> d = sector_data(kSector, 2);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  for (uint32_t bit = 0; bit < kSector * 8; ++bit) {
    std::vector<uint8_t> bad = d;
    bad[bit / 8] ^= uint8_t(1u << (bit % 8));
    uint32_t where = 0xFFFFFFFFu;
    ASSERT_EQ(ecc::check(bad.data(), bad.size(), code, &where), ecc::Status::kCorrected) << "bit " << bit;
    ASSERT_EQ(where, bit);
    ASSERT_EQ(bad, d) << "bit " << bit;
  }
}

TEST(Ecc, EveryCodeBitFlipIsCorrectedWithoutTouchingTheData) {
  std::vector<uint8_t> d = sector_data(kSector, 3);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  for (unsigned bit = 0; bit < 15; ++bit) {  // 14 check bits + the overall parity
    uint8_t bad_code[ecc::kCodeBytes] = {code[0], code[1]};
    bad_code[bit / 8] ^= uint8_t(1u << (bit % 8));
    std::vector<uint8_t> copy = d;
    uint32_t where = 0xFFFFFFFFu;
    EXPECT_EQ(ecc::check(copy.data(), copy.size(), bad_code, &where), ecc::Status::kCorrected) << "code bit " << bit;
    EXPECT_EQ(where, 0xFFFFFFFFu) << "no data bit should be reported";
    EXPECT_EQ(copy, d);
  }
}

TEST(Ecc, TheUnusedTopBitOfTheCodeIsIgnored) {
  std::vector<uint8_t> d = sector_data(kSector, 6);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  EXPECT_EQ(code[1] & 0x80, 0x80) << "stored as 1, like an erased cell";
  code[1] ^= 0x80;
  EXPECT_EQ(ecc::check(d.data(), d.size(), code), ecc::Status::kClean);
}

TEST(Ecc, LargestSectorCorrectsItsLastBit) {
  std::vector<uint8_t> d = sector_data(ecc::kMaxDataBytes, 7);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  std::vector<uint8_t> bad = d;
  bad.back() ^= 0x80;
  uint32_t where = 0;
  EXPECT_EQ(ecc::check(bad.data(), bad.size(), code, &where), ecc::Status::kCorrected);
  EXPECT_EQ(where, ecc::kMaxDataBytes * 8 - 1);
  EXPECT_EQ(bad, d);
}

TEST(Ecc, DoubleBitFlipsAreDetectedNotMiscorrected) {
  std::vector<uint8_t> d = sector_data(kSector, 4);
  uint8_t code[ecc::kCodeBytes];
  ecc::encode(d.data(), d.size(), code);
  std::mt19937 gen(5);
  const uint32_t total = kSector * 8 + 15;  // data bits, then code bits
  for (int trial = 0; trial < 20000; ++trial) {
    uint32_t a = gen() % total, b = gen() % total;
    if (a == b) continue;
    std::vector<uint8_t> bad = d;
    uint8_t bad_code[ecc::kCodeBytes] = {code[0], code[1]};
    for (uint32_t bit : {a, b}) {
      if (bit < kSector * 8)
        bad[bit / 8] ^= uint8_t(1u << (bit % 8));
      else
        bad_code[(bit - kSector * 8) / 8] ^= uint8_t(1u << ((bit - kSector * 8) % 8));
    }
    std::vector<uint8_t> before = bad;
    ASSERT_EQ(ecc::check(bad.data(), bad.size(), bad_code), ecc::Status::kUncorrectable) << a << "," << b;
    ASSERT_EQ(bad, before) << "uncorrectable data must be left as read";
  }
}
