#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "trustsim/romvars.h"

namespace rv = trustsim::romvars;

namespace {

std::vector<uint8_t> erased_region() { return std::vector<uint8_t>(rv::kRegionSize, 0xFF); }

// Applies the next generation to `region` the way ROMmon writes NVRAM.
void commit(rv::Store& s, std::vector<uint8_t>& region, size_t torn_at = SIZE_MAX) {
  uint8_t slot[rv::kSlotSize];
  rv::SlotImage img = rv::serialize_next(s, slot);
  size_t n = std::min<size_t>(img.write_len, torn_at);
  memcpy(region.data() + img.nvram_offset, slot, n);
  if (n == img.write_len) rv::mark_written(s, img);
}

std::vector<std::string> entries(const rv::Store& s) {
  std::vector<std::string> out;
  uint32_t cur = 0;
  while (const char* e = rv::next_entry(s, &cur)) out.push_back(e);
  return out;
}

}  // namespace

TEST(RomVars, ErasedNvramGivesDefaultStore) {
  auto region = erased_region();
  rv::Store s;
  rv::load(s, region.data(), region.size());
  EXPECT_EQ(s.active_slot, -1);
  EXPECT_EQ(s.confreg, 0x2102);
  EXPECT_EQ(s.data_len, 0u);
}

TEST(RomVars, SetReplacesAndUnsetRemoves) {
  rv::Store s;
  rv::init_default(s);
  ASSERT_EQ(rv::set(s, "BOOT", "bootflash:a.bin"), rv::Status::kOk);
  ASSERT_EQ(rv::set(s, "X", "1"), rv::Status::kOk);
  ASSERT_EQ(rv::set(s, "BOOT", "bootflash:b.bin"), rv::Status::kOk);
  EXPECT_STREQ(rv::get(s, "BOOT"), "bootflash:b.bin");
  EXPECT_EQ(entries(s), (std::vector<std::string>{"X=1", "BOOT=bootflash:b.bin"}));
  EXPECT_EQ(rv::unset(s, "X"), rv::Status::kOk);
  EXPECT_EQ(rv::get(s, "X"), nullptr);
  EXPECT_EQ(rv::unset(s, "X"), rv::Status::kNotFound);
}

TEST(RomVars, NamePrefixDoesNotMatchLongerName) {
  rv::Store s;
  rv::init_default(s);
  ASSERT_EQ(rv::set(s, "BOOTX", "1"), rv::Status::kOk);
  EXPECT_EQ(rv::get(s, "BOOT"), nullptr);
}

TEST(RomVars, RejectsBadNamesAndValues) {
  rv::Store s;
  rv::init_default(s);
  EXPECT_EQ(rv::set(s, "", "v"), rv::Status::kBadName);
  EXPECT_EQ(rv::set(s, "9LIVES", "v"), rv::Status::kBadName);
  EXPECT_EQ(rv::set(s, "A-B", "v"), rv::Status::kBadName);
  EXPECT_EQ(rv::set(s, std::string(32, 'A').c_str(), "v"), rv::Status::kBadName);
  EXPECT_EQ(rv::set(s, "A", std::string(256, 'v').c_str()), rv::Status::kBadValue);
  EXPECT_EQ(rv::set(s, "A", "tab\there"), rv::Status::kBadValue);
  EXPECT_EQ(rv::set(s, "A", "caf\xc3\xa9"), rv::Status::kBadValue);
  EXPECT_EQ(s.data_len, 0u);
}

TEST(RomVars, FullStoreRefusesAndKeepsContents) {
  rv::Store s;
  rv::init_default(s);
  std::string value(200, 'v');
  int stored = 0;
  for (int i = 0; i < 100; ++i) {
    std::string name = "V" + std::to_string(i);
    rv::Status st = rv::set(s, name.c_str(), value.c_str());
    if (st == rv::Status::kFull) break;
    ASSERT_EQ(st, rv::Status::kOk);
    ++stored;
  }
  EXPECT_GT(stored, 5);
  EXPECT_LT(stored, 100);
  EXPECT_EQ(entries(s).size(), size_t(stored));
  EXPECT_LE(s.data_len, rv::kDataCapacity);
}

TEST(RomVars, CommitAlternatesSlotsAndReloadsNewest) {
  auto region = erased_region();
  rv::Store s;
  rv::load(s, region.data(), region.size());
  rv::set(s, "A", "1");
  commit(s, region);
  EXPECT_EQ(s.active_slot, 0);
  rv::set(s, "A", "2");
  s.confreg = 0x2142;
  commit(s, region);
  EXPECT_EQ(s.active_slot, 1);

  rv::Store r;
  rv::load(r, region.data(), region.size());
  EXPECT_EQ(r.active_slot, 1);
  EXPECT_EQ(r.generation, 2u);
  EXPECT_STREQ(rv::get(r, "A"), "2");
  EXPECT_EQ(r.confreg, 0x2142);
}

TEST(RomVars, TornWriteAtEveryByteKeepsOldOrNewCopy) {
  for (size_t cut = 0; cut < 64; ++cut) {
    auto region = erased_region();
    rv::Store s;
    rv::load(s, region.data(), region.size());
    rv::set(s, "A", "old");
    commit(s, region);
    commit(s, region);  // both slots valid, generation 2 in slot 1
    rv::set(s, "A", "new");
    commit(s, region, cut);  // torn write into slot 0
    rv::Store r;
    rv::load(r, region.data(), region.size());
    ASSERT_NE(r.active_slot, -1) << "cut at byte " << cut;
    const char* v = rv::get(r, "A");
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(!strcmp(v, "old") || !strcmp(v, "new")) << "cut " << cut << " gave " << v;
  }
}

TEST(RomVars, FailedWriteDoesNotRetargetTheGoodCopy) {
  auto region = erased_region();
  rv::Store s;
  rv::load(s, region.data(), region.size());
  rv::set(s, "A", "1");
  commit(s, region);  // slot 0, generation 1
  rv::set(s, "A", "2");
  commit(s, region, 3);  // torn: slot 1 garbage, store not advanced
  rv::set(s, "A", "3");
  commit(s, region, 5);  // torn again: must target slot 1 again, never slot 0
  rv::Store r;
  rv::load(r, region.data(), region.size());
  EXPECT_EQ(r.active_slot, 0);
  EXPECT_STREQ(rv::get(r, "A"), "1");
}

TEST(RomVars, CorruptedSlotIsRejectedWithReason) {
  auto region = erased_region();
  rv::Store s;
  rv::load(s, region.data(), region.size());
  rv::set(s, "A", "1");
  commit(s, region);
  EXPECT_EQ(rv::check_slot(region.data(), rv::kSlotSize), rv::SlotState::kValid);
  region[rv::kHeaderSize] ^= 0x01;
  EXPECT_EQ(rv::check_slot(region.data(), rv::kSlotSize), rv::SlotState::kBadCrc);
  EXPECT_EQ(rv::check_slot(region.data() + rv::kSlotSize, rv::kSlotSize), rv::SlotState::kErased);
  region[0] = 'X';
  EXPECT_EQ(rv::check_slot(region.data(), rv::kSlotSize), rv::SlotState::kBadMagic);
  rv::Store r;
  rv::load(r, region.data(), region.size());
  EXPECT_EQ(r.active_slot, -1);
}

TEST(RomVars, GenerationComparisonSurvivesWrap) {
  auto region = erased_region();
  rv::Store s;
  rv::init_default(s);
  s.generation = 0xFFFFFFFEu;
  rv::set(s, "A", "before-wrap");
  commit(s, region);  // gen 0xFFFFFFFF, slot 0
  rv::set(s, "A", "after-wrap");
  commit(s, region);  // gen 0, slot 1
  rv::Store r;
  rv::load(r, region.data(), region.size());
  EXPECT_STREQ(rv::get(r, "A"), "after-wrap");
}

namespace {

// Every path next_boot_entry() yields, with its list position.
std::vector<std::string> boot_paths(const char* boot) {
  std::vector<std::string> out;
  size_t cursor = 0;
  rv::BootEntry e{};
  while (rv::next_boot_entry(boot, &cursor, &e))
    out.push_back(std::to_string(e.index) + ":" + std::string(e.path, e.len));
  return out;
}

}  // namespace

TEST(RomVars, BootListEntriesArePathsBeforeTheCount) {
  using V = std::vector<std::string>;
  EXPECT_EQ(boot_paths("bootflash:a.bin,1;bootflash:b.bin,1;"), (V{"1:bootflash:a.bin", "2:bootflash:b.bin"}));
  // No count, no final ';', empty entries skipped but counted.
  EXPECT_EQ(boot_paths("bootflash:a.bin;;,1;bootflash:c.bin"), (V{"1:bootflash:a.bin", "4:bootflash:c.bin"}));
  EXPECT_EQ(boot_paths(""), V{});
  EXPECT_EQ(boot_paths(nullptr), V{});
  EXPECT_EQ(boot_paths(";;;"), V{});

  size_t cursor = 0;
  rv::BootEntry e{};
  ASSERT_TRUE(rv::next_boot_entry("bootflash:long-name.bin,1;", &cursor, &e));
  char fits[24], small[8];
  EXPECT_TRUE(rv::copy_boot_path(e, fits, sizeof fits));
  EXPECT_STREQ(fits, "bootflash:long-name.bin");
  EXPECT_FALSE(rv::copy_boot_path(e, small, sizeof small));  // never a truncated path
  EXPECT_STREQ(small, "");
  EXPECT_FALSE(rv::copy_boot_path(e, fits, 23));  // one byte short of the NUL
  EXPECT_FALSE(rv::next_boot_entry("bootflash:long-name.bin,1;", &cursor, &e));
}
