// The crash-state key (docs/campaigns.md): equal states share a key, and a
// one-bit difference in any component the recovery can observe changes it.
#include "scenario/crash_state.h"

#include <gtest/gtest.h>

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
    h.add("rom_nor", rom_nor);
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
