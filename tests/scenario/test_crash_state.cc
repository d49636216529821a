// The crash-state key (docs/campaigns.md): equal states share a key, and a
// one-bit difference in any component the recovery can observe changes it.
#include "scenario/crash_state.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace trustsim;

namespace {

// A board's state after a cut, as the runner feeds it in (small stand-ins
// for the arrays).
struct State {
  std::string phase = "recovery";
  uint64_t run_seed = 1;
  std::vector<uint8_t> nvram = std::vector<uint8_t>(64, 0x5a);
  std::vector<uint8_t> rom_nor = std::vector<uint8_t>(128, 0xff);
  std::vector<uint8_t> nand = std::vector<uint8_t>(256, 0x00);
  std::vector<uint8_t> nand_side = std::vector<uint8_t>(16, 0x01);
  std::vector<uint8_t> tpm_nv = std::vector<uint8_t>(32, 0x33);
  std::map<std::string, uint64_t> operations = {{"nvram", 7}, {"rom_nor", 0}, {"bootflash_nand", 12}};
  uint64_t boot_count = 3;

  std::string key() const {
    CrashStateHasher h;
    h.add("phase", phase.data(), phase.size());
    h.add("run-seed", run_seed);
    h.add("nvram", nvram);
    for (const auto& kv : operations) h.add("operations:" + kv.first, kv.second);
    // As the runner does: the digests of the array's blocks (here 32 bytes).
    BlockDigests nor;
    h.add("rom_nor-blocks", nor.update(rom_nor.data(), 32, rom_nor.size() / 32, [](size_t) { return 1; }));
    h.add("bootflash_nand", nand);
    h.add("bootflash_nand-side", nand_side);
    h.add("tpm-nv", tpm_nv);
    h.add("boot-count", boot_count);
    return h.key();
  }
};

}  // namespace

TEST(CrashState, EqualStatesShareAKey) {
  State a, b;
  EXPECT_EQ(a.key(), b.key());
  EXPECT_EQ(a.key().size(), 64u);
}

TEST(CrashState, OneBitInAnyComponentGivesADifferentKey) {
  const std::string base = State().key();
  std::map<std::string, std::function<void(State&)>> flips = {
      {"nvram", [](State& s) { s.nvram[63] ^= 0x80; }},
      {"rom_nor", [](State& s) { s.rom_nor[0] ^= 0x01; }},
      {"bootflash_nand", [](State& s) { s.nand[100] ^= 0x10; }},
      {"bootflash_nand side file (wear, bad blocks)", [](State& s) { s.nand_side[3] ^= 0x02; }},
      {"tpm NV", [](State& s) { s.tpm_nv[31] ^= 0x04; }},
      {"an operation counter", [](State& s) { s.operations["bootflash_nand"] ^= 1; }},
      {"the run seed", [](State& s) { s.run_seed ^= 1ull << 63; }},
      {"the boot count", [](State& s) { s.boot_count ^= 1; }},
      {"the recovery that follows", [](State& s) { s.phase = "second-recovery"; }},
  };
  for (const auto& f : flips) {
    State s;
    f.second(s);
    EXPECT_NE(s.key(), base) << f.first;
  }
}

TEST(CrashState, ComponentsAreFramedSoBytesCannotMoveBetweenThem) {
  State a, b;
  b.nvram.push_back(b.rom_nor.front());  // the same bytes in sequence, split differently
  b.rom_nor.erase(b.rom_nor.begin());
  EXPECT_NE(a.key(), b.key());
}

TEST(CrashState, BlockDigestsHashABlockAgainOnlyWhenItsVersionMoves) {
  std::vector<uint8_t> data(4 * 64);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13);
  std::vector<uint64_t> versions = {1, 1, 1, 1};
  auto version = [&](size_t b) { return versions[b]; };
  auto sha = [&](size_t b) {
    std::vector<uint8_t> d(32);
    unsigned int n = 0;
    EVP_Digest(&data[b * 64], 64, d.data(), &n, EVP_sha256(), nullptr);
    return d;
  };
  BlockDigests bd;
  std::vector<uint8_t> first = bd.update(data.data(), 64, 4, version);
  ASSERT_EQ(first.size(), 4u * 32);
  EXPECT_EQ(bd.blocks_hashed(), 4u);
  for (size_t b = 0; b < 4; ++b)
    EXPECT_EQ(std::vector<uint8_t>(first.begin() + long(b * 32), first.begin() + long(b * 32 + 32)), sha(b)) << b;
  EXPECT_EQ(bd.update(data.data(), 64, 4, version), first);
  EXPECT_EQ(bd.blocks_hashed(), 4u) << "no version moved: nothing hashed again";
  data[2 * 64 + 5] ^= 0x40;
  versions[2] = 7;
  std::vector<uint8_t> second = bd.update(data.data(), 64, 4, version);
  EXPECT_EQ(bd.blocks_hashed(), 5u) << "only block 2 hashed again";
  EXPECT_EQ(std::vector<uint8_t>(second.begin() + 64, second.begin() + 96), sha(2));
  EXPECT_NE(second, first);
  EXPECT_TRUE(std::equal(second.begin(), second.begin() + 64, first.begin()));
  EXPECT_TRUE(std::equal(second.begin() + 96, second.end(), first.begin() + 96));
}
