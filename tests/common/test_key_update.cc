// Key bundles, the key change plans, and the power-safety of the key
// storage update (common/src/key_bundle.cc).
//
// The power-cut sweep runs the firmware's own update sequence
// (key_update::commit) against an NVRAM model that writes page by page like
// devices/nvram/src/nvram.cc (64-byte pages, each its own write cycle) and cuts
// power at every page write of the update: before it, after it, or torn in
// the middle (a seeded part of the page's changing bytes new, the rest old,
// chosen by devkit's choose_torn() exactly as the board's NVRAM model does
// for an armed torn cut). After
// each cut the board "boots": key_update::load_and_repair, the code Boot0,
// ROMmon and the OS run. A second sweep also cuts power during that boot's
// repair. Invariant: a valid key set is always found, it is exactly the old
// or the new one, it is the new one as soon as the first copy was fully
// written (and so whenever commit() reported success), and after a boot
// without a cut both copies hold it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "devkit/power_loss.h"
#include "devkit/tear.h"
#include "trustsim/key_bundle.h"
#include "trustsim/keys.h"

namespace {

namespace keys = trustsim::keys;
namespace kb = trustsim::key_bundle;
namespace ku = trustsim::key_update;

constexpr uint32_t kNvramSize = 32 * 1024;
constexpr uint32_t kPageSize = 64;  // AT24C256C, boards/default.yaml

keys::KeyRecord make_key(keys::KeyType type, char version, uint32_t seed) {
  keys::KeyRecord k{};
  k.type = uint8_t(type);
  k.version = version;
  k.exponent = 65537;
  std::mt19937 rng(seed);
  for (uint8_t& b : k.modulus) b = uint8_t(rng());
  for (uint8_t& b : k.key_id) b = uint8_t(rng());
  return k;
}

keys::Store factory_store() {
  keys::Store s{};
  s.generation = 1;
  s.keys[s.count++] = make_key(keys::KeyType::kRollover, 'A', 1);
  s.keys[s.count++] = make_key(keys::KeyType::kProduction, 'A', 2);
  s.keys[s.count++] = make_key(keys::KeyType::kSpecial, 'A', 3);
  return s;
}

kb::Bundle bundle(std::initializer_list<std::pair<kb::Action, keys::KeyRecord>> entries) {
  kb::Bundle b{};
  for (const auto& e : entries) {
    b.entries[b.count].action = e.first;
    b.entries[b.count].key = e.second;
    ++b.count;
  }
  return b;
}

// ---- key bundle format ----

TEST(KeyBundle, RoundTripsAtTheEndOfAPayload) {
  kb::Bundle b = bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'B', 7)},
                         {kb::Action::kRevoke, make_key(keys::KeyType::kProduction, 'A', 2)}});
  std::vector<uint8_t> payload(1000, 0x5A);
  std::vector<uint8_t> enc(kb::encoded_len(b.count));
  ASSERT_EQ(kb::encode(b, enc.data()), enc.size());
  payload.insert(payload.end(), enc.begin(), enc.end());
  kb::Bundle got{};
  ASSERT_EQ(kb::find(payload.data(), payload.size(), got), kb::Error::kOk);
  ASSERT_EQ(got.count, 2u);
  EXPECT_EQ(got.entries[0].action, kb::Action::kAdd);
  EXPECT_EQ(got.entries[0].key.version, 'B');
  EXPECT_EQ(memcmp(got.entries[0].key.modulus, b.entries[0].key.modulus, keys::kModulusLen), 0);
  EXPECT_EQ(got.entries[1].action, kb::Action::kRevoke);
}

TEST(KeyBundle, OrdinaryPayloadHasNoneAndDamageIsNamed) {
  std::vector<uint8_t> plain(500, 0x11);
  kb::Bundle got{};
  EXPECT_EQ(kb::find(plain.data(), plain.size(), got), kb::Error::kNone);
  EXPECT_EQ(kb::find(plain.data(), 3, got), kb::Error::kNone);
  kb::Bundle b = bundle({{kb::Action::kAdd, make_key(keys::KeyType::kSpecial, 'B', 9)}});
  std::vector<uint8_t> enc(kb::encoded_len(1));
  kb::encode(b, enc.data());
  std::vector<uint8_t> bad = enc;
  bad[100] ^= 1;
  EXPECT_EQ(kb::find(bad.data(), bad.size(), got), kb::Error::kBadCrc);
  EXPECT_EQ(got.count, 0u);
  bad = enc;
  bad[enc.size() - 16 + 6] = 9;  // count 9 > 8
  EXPECT_EQ(kb::find(bad.data(), bad.size(), got), kb::Error::kBadCount);
  bad = enc;
  bad[enc.size() - 16 + 6] = 2;  // says 2 entries, holds 1
  EXPECT_EQ(kb::find(bad.data(), bad.size(), got), kb::Error::kTruncated);
  bad = enc;
  bad[enc.size() - 16 + 4] = 2;
  EXPECT_EQ(kb::find(bad.data(), bad.size(), got), kb::Error::kBadVersion);
  EXPECT_STRNE(kb::error_text(kb::Error::kBadCrc), kb::error_text(kb::Error::kBadEntry));
}

// ---- plans ----

TEST(KeyUpdatePlan, AddAppendsOnlyKeysOfTheCommandsTypeAndIsIdempotent) {
  keys::Store cur = factory_store();
  kb::Bundle b = bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'B', 7)},
                         {kb::Action::kAdd, make_key(keys::KeyType::kSpecial, 'B', 8)}});
  keys::Store next{};
  uint32_t changed = 0;
  ASSERT_EQ(ku::plan_add(cur, b, uint8_t(keys::KeyType::kProduction), next, &changed), ku::Status::kOk);
  EXPECT_EQ(changed, 1u);
  EXPECT_EQ(next.count, 4u);
  EXPECT_EQ(next.keys[3].version, 'B');
  EXPECT_EQ(next.keys[3].type, uint8_t(keys::KeyType::kProduction));
  keys::Store again{};
  EXPECT_EQ(ku::plan_add(next, b, uint8_t(keys::KeyType::kProduction), again, &changed), ku::Status::kAlreadyDone);
  EXPECT_EQ(ku::plan_add(cur, bundle({{kb::Action::kRevoke, make_key(keys::KeyType::kProduction, 'A', 2)}}),
                         uint8_t(keys::KeyType::kProduction), next, &changed),
            ku::Status::kNoEntries);
  // A different key under an existing type+version is a conflict.
  EXPECT_EQ(ku::plan_add(cur, bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'A', 99)}}),
                         uint8_t(keys::KeyType::kProduction), next, &changed),
            ku::Status::kConflict);
}

TEST(KeyUpdatePlan, RevokeRefusesKeysInUseUnknownKeysAndTheLastKey) {
  keys::Store cur = factory_store();
  keys::KeyRecord prod_a = make_key(keys::KeyType::kProduction, 'A', 2);
  keys::KeyRecord prod_b = make_key(keys::KeyType::kProduction, 'B', 7);
  kb::Bundle b = bundle({{kb::Action::kAdd, prod_b}, {kb::Action::kRevoke, prod_a}});
  const uint8_t P = uint8_t(keys::KeyType::kProduction);
  const uint8_t R = uint8_t(keys::KeyType::kRollover);
  keys::Store next{};
  uint32_t changed = 0;
  const ku::KeyUse* blocker = nullptr;
  ku::KeyUse on_a[] = {{P, 'A', "the running image"}, {P, 'B', "the upgradable ROMmon 17.3(2r)"}};
  ku::KeyUse rommon_a[] = {{P, 'B', "the running image"}, {P, 'A', "the upgradable ROMmon 17.3(1r)"}};
  ku::KeyUse golden_a[] = {
      {P, 'B', "the running image"}, {P, 'B', "the upgradable ROMmon 17.3(2r)"}, {P, 'A', "the golden ROMmon"}};
  ku::KeyUse on_b[] = {
      {P, 'B', "the running image"}, {P, 'B', "the upgradable ROMmon 17.3(2r)"}, {R, 'A', "the golden ROMmon"}};
  EXPECT_EQ(ku::plan_revoke(cur, b, P, on_b, 3, next, &changed), ku::Status::kLastKeyOfType);
  EXPECT_TRUE(ku::same_keys(next, cur));
  keys::Store with_b{};
  ASSERT_EQ(ku::plan_add(cur, b, P, with_b, &changed), ku::Status::kOk);
  // Each use of the key blocks it, named, and nothing is half-planned.
  EXPECT_EQ(ku::plan_revoke(with_b, b, P, on_a, 2, next, &changed, &blocker), ku::Status::kStillNeeded);
  ASSERT_NE(blocker, nullptr);
  EXPECT_STREQ(blocker->what, "the running image");
  EXPECT_EQ(ku::plan_revoke(with_b, b, P, rommon_a, 2, next, &changed, &blocker), ku::Status::kStillNeeded);
  ASSERT_NE(blocker, nullptr);
  EXPECT_STREQ(blocker->what, "the upgradable ROMmon 17.3(1r)");
  EXPECT_EQ(ku::plan_revoke(with_b, b, P, golden_a, 3, next, &changed, &blocker), ku::Status::kStillNeeded);
  ASSERT_NE(blocker, nullptr);
  EXPECT_STREQ(blocker->what, "the golden ROMmon");
  EXPECT_EQ(changed, 0u);
  EXPECT_TRUE(ku::same_keys(next, with_b));
  ASSERT_EQ(ku::plan_revoke(with_b, b, P, on_b, 3, next, &changed, &blocker), ku::Status::kOk);
  EXPECT_EQ(blocker, nullptr);
  EXPECT_EQ(changed, 1u);
  EXPECT_TRUE(next.keys[1].flags & keys::kFlagRevoked);
  EXPECT_FALSE(next.keys[3].flags & keys::kFlagRevoked);
  keys::Store again{};
  EXPECT_EQ(ku::plan_revoke(next, b, P, on_b, 3, again, &changed), ku::Status::kAlreadyDone);
  kb::Bundle stranger = bundle({{kb::Action::kRevoke, make_key(keys::KeyType::kProduction, 'C', 50)}});
  EXPECT_EQ(ku::plan_revoke(with_b, stranger, P, on_b, 3, next, &changed), ku::Status::kNotInStorage);
}

TEST(KeyUpdatePlan, AddTakesOnlyTheNextVersionAndNeverARevokedKey) {
  const uint8_t P = uint8_t(keys::KeyType::kProduction);
  keys::Store cur = factory_store();
  EXPECT_EQ(ku::next_version(cur, P), 'B');
  EXPECT_EQ(ku::next_version(keys::Store{}, P), 'A');
  keys::Store next{};
  uint32_t changed = 0;
  const kb::Entry* culprit = nullptr;
  // Skipping a letter (A -> C) and going back (a new key as A) are refused.
  kb::Bundle skip = bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'C', 11)}});
  EXPECT_EQ(ku::plan_add(cur, skip, P, next, &changed, &culprit), ku::Status::kNotNextVersion);
  ASSERT_NE(culprit, nullptr);
  EXPECT_EQ(culprit->key.version, 'C');
  EXPECT_EQ(changed, 0u);
  // B is next; after B is added and A revoked, C is next and A never returns.
  keys::KeyRecord prod_a = make_key(keys::KeyType::kProduction, 'A', 2);
  kb::Bundle add_b = bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'B', 7)}});
  keys::Store with_b{};
  ASSERT_EQ(ku::plan_add(cur, add_b, P, with_b, &changed), ku::Status::kOk);
  keys::Store revoked{};
  ku::KeyUse on_b{P, 'B', "the running image"};
  ASSERT_EQ(ku::plan_revoke_older(with_b, P, 'B', &on_b, 1, revoked, &changed), ku::Status::kOk);
  EXPECT_EQ(ku::next_version(revoked, P), 'C');
  EXPECT_EQ(ku::plan_add(revoked, bundle({{kb::Action::kAdd, prod_a}}), P, next, &changed, &culprit),
            ku::Status::kWasRevoked);
  // A different key filed as the revoked version is refused the same way.
  EXPECT_EQ(ku::plan_add(revoked, bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'A', 77)}}), P, next,
                         &changed),
            ku::Status::kWasRevoked);
  EXPECT_EQ(ku::plan_add(revoked, skip, P, next, &changed), ku::Status::kOk);  // C now is the next one
  EXPECT_STRNE(ku::status_text(ku::Status::kWasRevoked), ku::status_text(ku::Status::kNotNextVersion));
}

TEST(KeyUpdatePlan, RevokeOlderTakesEveryOlderVersionUnlessSomethingBootableNeedsIt) {
  const uint8_t P = uint8_t(keys::KeyType::kProduction);
  const uint8_t R = uint8_t(keys::KeyType::kRollover);
  keys::Store s = factory_store();
  s.keys[s.count++] = make_key(keys::KeyType::kProduction, 'B', 7);
  s.keys[s.count++] = make_key(keys::KeyType::kProduction, 'C', 8);
  keys::Store next{};
  uint32_t changed = 0;
  const ku::KeyUse* blocker = nullptr;
  ku::KeyUse uses[] = {{P, 'C', "the running image"},
                       {P, 'C', "the upgradable ROMmon"},
                       {R, 'A', "the golden ROMmon"},
                       {P, 'B', "the autoboot image bootflash:b.bin (BOOT entry 2)"}};
  EXPECT_EQ(ku::plan_revoke_older(s, P, 'C', uses, 4, next, &changed, &blocker), ku::Status::kStillNeeded);
  ASSERT_NE(blocker, nullptr);
  EXPECT_EQ(blocker->key_version, 'B');
  EXPECT_STREQ(blocker->what, "the autoboot image bootflash:b.bin (BOOT entry 2)");
  EXPECT_EQ(changed, 0u);
  EXPECT_TRUE(ku::same_keys(next, s));  // nothing half-planned
  ASSERT_EQ(ku::plan_revoke_older(s, P, 'C', uses, 3, next, &changed, &blocker), ku::Status::kOk);
  EXPECT_EQ(changed, 2u);  // A and B
  EXPECT_TRUE(next.keys[1].flags & keys::kFlagRevoked);
  EXPECT_TRUE(next.keys[3].flags & keys::kFlagRevoked);
  EXPECT_FALSE(next.keys[4].flags & keys::kFlagRevoked);
  EXPECT_FALSE(next.keys[0].flags & keys::kFlagRevoked);  // rollover untouched
  EXPECT_FALSE(next.keys[2].flags & keys::kFlagRevoked);  // special untouched
  keys::Store again{};
  EXPECT_EQ(ku::plan_revoke_older(next, P, 'C', uses, 3, again, &changed), ku::Status::kNothingOlder);
  // The kept version must itself be a usable stored key.
  EXPECT_EQ(ku::plan_revoke_older(s, P, 'D', uses, 0, again, &changed), ku::Status::kNotInStorage);
  EXPECT_EQ(ku::plan_revoke_older(next, P, 'B', uses, 0, again, &changed), ku::Status::kNotInStorage);
}

// ---- NVRAM with power cuts ----

class PowerCutNvram : public ku::NvramIo {
 public:
  using Mode = trustsim::PowerLoss::Mode;
  explicit PowerCutNvram(std::vector<uint8_t>& mem) : mem_(mem) {}
  void arm(uint64_t at_page_write, Mode mode, uint64_t seed) {
    cut_at_ = at_page_write;
    mode_ = mode;
    seed_ = seed;
  }
  uint64_t page_writes() const { return page_writes_; }
  bool powered() const { return powered_; }

  bool read(uint32_t offset, uint8_t* buf, uint32_t len) override {
    if (!powered_ || offset + uint64_t(len) > mem_.size()) return false;
    memcpy(buf, mem_.data() + offset, len);
    return true;
  }
  bool write(uint32_t offset, const uint8_t* buf, uint32_t len) override {
    if (!powered_ || offset + uint64_t(len) > mem_.size()) return false;
    uint32_t done = 0;
    while (done < len) {
      uint32_t addr = offset + done;
      uint32_t chunk = std::min(len - done, kPageSize - addr % kPageSize);
      ++page_writes_;
      if (page_writes_ == cut_at_) {
        powered_ = false;
        if (mode_ == Mode::kAfter) memcpy(mem_.data() + addr, buf + done, chunk);
        if (mode_ == Mode::kTorn) {
          // As devices/nvram/src/nvram.cc: a seeded instant, then that share of
          // the changing bytes.
          trustsim::SeededRng rng(seed_ ^ page_writes_);
          double fraction = trustsim::torn_instant(rng);
          std::vector<uint32_t> differ;
          for (uint32_t i = 0; i < chunk; ++i)
            if (mem_[addr + i] != buf[done + i]) differ.push_back(i);
          std::vector<bool> take = trustsim::choose_torn(rng, differ.size(), fraction);
          for (size_t k = 0; k < differ.size(); ++k)
            if (take[k]) mem_[addr + differ[k]] = buf[done + differ[k]];
        }
        return false;
      }
      memcpy(mem_.data() + addr, buf + done, chunk);
      done += chunk;
    }
    return true;
  }

 private:
  std::vector<uint8_t>& mem_;
  uint64_t cut_at_ = 0;
  Mode mode_ = Mode::kBefore;
  uint64_t seed_ = 0;
  uint64_t page_writes_ = 0;
  bool powered_ = true;
};

// Manufacturing: both copies, generation 1.
std::vector<uint8_t> manufactured(const keys::Store& s) {
  std::vector<uint8_t> mem(kNvramSize, 0xFF);
  std::vector<uint8_t> region(keys::kStoreRegionLen);
  uint32_t n = keys::encode_copy(s, region.data());
  memcpy(mem.data() + keys::kPrimaryOffset, region.data(), n);
  memcpy(mem.data() + keys::kBackupOffset, region.data(), n);
  return mem;
}

struct Boot {
  bool valid;
  keys::Store store;
  keys::LoadResult r;
};

Boot boot(std::vector<uint8_t>& mem, PowerCutNvram* io_with_cut = nullptr) {
  static std::vector<uint8_t> scratch(2 * keys::kStoreRegionLen);
  PowerCutNvram plain(mem);
  PowerCutNvram& io = io_with_cut ? *io_with_cut : plain;
  Boot b{};
  b.valid = ku::load_and_repair(io, b.store, b.r, scratch.data());
  return b;
}

// How the board looks when the update starts.
enum class Start { kBothCopiesCurrent, kBackupErased, kPrimaryTorn, kBackupOneGenerationBehind };
const char* start_name(Start s) {
  switch (s) {
    case Start::kBothCopiesCurrent:
      return "both copies current";
    case Start::kBackupErased:
      return "backup erased";
    case Start::kPrimaryTorn:
      return "primary torn";
    case Start::kBackupOneGenerationBehind:
      return "backup one generation behind";
  }
  return "?";
}

std::vector<uint8_t> start_state(Start st, const keys::Store& s0) {
  keys::Store s = s0;
  std::vector<uint8_t> mem = manufactured(s);
  std::vector<uint8_t> region(keys::kStoreRegionLen);
  switch (st) {
    case Start::kBothCopiesCurrent:
      break;
    case Start::kBackupErased:
      memset(mem.data() + keys::kBackupOffset, 0xFF, keys::kStoreRegionLen);
      break;
    case Start::kPrimaryTorn:
      mem[keys::kPrimaryOffset + 200] ^= 0x40;
      break;
    case Start::kBackupOneGenerationBehind: {
      keys::Store older = s0;
      older.generation -= 1;
      uint32_t n = keys::encode_copy(older, region.data());
      memcpy(mem.data() + keys::kBackupOffset, region.data(), n);
      break;
    }
  }
  return mem;
}

struct SweepStats {
  size_t runs = 0, failures = 0, old_set = 0, new_set = 0;
};

// Runs commit(s1) on a board holding s0 with one cut at `cut` (0 = none),
// boots, optionally cuts the boot's repair at `repair_cut`, and checks the
// invariant. Returns "" or what went wrong.
std::string one_run(Start st, const keys::Store& s0, const keys::Store& s1, uint64_t cut, PowerCutNvram::Mode mode,
                    uint64_t repair_cut, PowerCutNvram::Mode repair_mode, SweepStats& stats) {
  std::vector<uint8_t> mem = start_state(st, s0);
  std::vector<uint8_t> scratch(2 * keys::kStoreRegionLen);
  PowerCutNvram io(mem);
  if (cut) io.arm(cut, mode, 0x5EED0000 + cut);
  keys::Store next = s1;
  ku::CommitResult cr = ku::commit(io, next, scratch.data());
  // The first copy is fully in NVRAM once its pages are all written; the
  // readback that follows changes nothing.
  bool first_copy_complete = cr.step != ku::CommitStep::kNothing;
  if (!cr.ok && cut == 0) return "commit failed without a power cut";
  if (cr.ok && cut && !io.powered()) return "commit reported success although power was cut";
  if (repair_cut) {
    PowerCutNvram rio(mem);
    rio.arm(repair_cut, repair_mode, 0xB007 + repair_cut);
    Boot interrupted = boot(mem, &rio);
    if (!interrupted.valid) return "boot with a cut repair found no valid key storage";
  }
  Boot b = boot(mem);
  if (!b.valid) return "no valid key storage copy (bricked)";
  bool is_old = ku::same_keys(b.store, s0);
  bool is_new = ku::same_keys(b.store, s1);
  if (!is_old && !is_new) return "key set in force is neither the old nor the new one";
  if (first_copy_complete && !is_new) return "the new key set was written to one copy but the old one is in force";
  if (cr.ok && !is_new) return "the update was reported done but the old key set is in force";
  (is_new ? stats.new_set : stats.old_set)++;
  // After an uninterrupted boot both copies are valid and agree.
  Boot again = boot(mem);
  if (!again.valid || again.r.repair_primary || again.r.repair_backup || again.r.primary != keys::CopyState::kValid ||
      again.r.backup != keys::CopyState::kValid)
    return "the boot did not leave two valid, agreeing copies";
  if (!ku::same_keys(again.store, b.store)) return "the key set changed between two boots";
  return "";
}

uint64_t count_page_writes(Start st, const keys::Store& s0, const keys::Store& s1) {
  std::vector<uint8_t> mem = start_state(st, s0);
  std::vector<uint8_t> scratch(2 * keys::kStoreRegionLen);
  PowerCutNvram io(mem);
  keys::Store next = s1;
  EXPECT_TRUE(ku::commit(io, next, scratch.data()).ok);
  return io.page_writes();
}

// Page writes a boot's repair makes after a cut at `cut`.
uint64_t count_repair_writes(Start st, const keys::Store& s0, const keys::Store& s1, uint64_t cut,
                             PowerCutNvram::Mode mode) {
  std::vector<uint8_t> mem = start_state(st, s0);
  std::vector<uint8_t> scratch(2 * keys::kStoreRegionLen);
  PowerCutNvram io(mem);
  io.arm(cut, mode, 0x5EED0000 + cut);
  keys::Store next = s1;
  ku::commit(io, next, scratch.data());
  PowerCutNvram rio(mem);
  boot(mem, &rio);
  return rio.page_writes();
}

SweepStats sweep(const char* what, const keys::Store& s0, const keys::Store& s1, bool with_repair_cuts) {
  const PowerCutNvram::Mode modes[] = {PowerCutNvram::Mode::kBefore, PowerCutNvram::Mode::kAfter,
                                       PowerCutNvram::Mode::kTorn};
  SweepStats stats;
  for (Start st :
       {Start::kBothCopiesCurrent, Start::kBackupErased, Start::kPrimaryTorn, Start::kBackupOneGenerationBehind}) {
    uint64_t writes = count_page_writes(st, s0, s1);
    EXPECT_GT(writes, 2u);
    for (uint64_t cut = 0; cut <= writes; ++cut) {
      for (PowerCutNvram::Mode m : modes) {
        if (cut == 0 && m != PowerCutNvram::Mode::kBefore) continue;
        uint64_t repairs = with_repair_cuts && cut ? count_repair_writes(st, s0, s1, cut, m) : 0;
        for (uint64_t rc = 0; rc <= repairs; ++rc) {
          for (PowerCutNvram::Mode rm : modes) {
            if (rc == 0 && rm != PowerCutNvram::Mode::kBefore) continue;
            ++stats.runs;
            std::string why = one_run(st, s0, s1, cut, m, rc, rm, stats);
            if (!why.empty()) {
              ++stats.failures;
              ADD_FAILURE() << what << ", start: " << start_name(st) << ", cut at page write " << cut << " mode "
                            << int(m) << ", repair cut " << rc << " mode " << int(rm) << ": " << why;
            }
          }
        }
      }
    }
  }
  return stats;
}

keys::Store revoked_production_a() {
  keys::Store s = factory_store();
  s.keys[s.count++] = make_key(keys::KeyType::kProduction, 'B', 7);
  return s;
}

TEST(KeyStoragePowerCut, RevocationLeavesTheOldOrNewSetAtEveryCut) {
  keys::Store s0 = revoked_production_a();
  kb::Bundle b = bundle({{kb::Action::kRevoke, make_key(keys::KeyType::kProduction, 'A', 2)}});
  keys::Store s1{};
  uint32_t changed;
  const uint8_t P = uint8_t(keys::KeyType::kProduction);
  ASSERT_EQ(ku::plan_revoke(s0, b, P, nullptr, 0, s1, &changed), ku::Status::kOk);
  SweepStats st = sweep("revoke production-A", s0, s1, false);
  std::printf(
      "key revocation power-cut sweep: %zu runs (4 start states x every page write x before/after/torn), "
      "%zu old set, %zu new set, %zu failures\n",
      st.runs, st.old_set, st.new_set, st.failures);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_GT(st.old_set, 0u);  // the sweep really cut before the point of no return
  EXPECT_GT(st.new_set, 0u);
}

TEST(KeyStoragePowerCut, KeyAdditionLeavesTheOldOrNewSetAtEveryCut) {
  keys::Store s0 = factory_store();
  kb::Bundle b = bundle({{kb::Action::kAdd, make_key(keys::KeyType::kProduction, 'B', 7)}});
  keys::Store s1{};
  uint32_t changed;
  ASSERT_EQ(ku::plan_add(s0, b, uint8_t(keys::KeyType::kProduction), s1, &changed), ku::Status::kOk);
  SweepStats st = sweep("add production-B", s0, s1, false);
  std::printf("key addition power-cut sweep: %zu runs, %zu old set, %zu new set, %zu failures\n", st.runs, st.old_set,
              st.new_set, st.failures);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_GT(st.old_set, 0u);
  EXPECT_GT(st.new_set, 0u);
}

TEST(KeyStoragePowerCut, SecondCutDuringTheBootRepairChangesNothing) {
  keys::Store s0 = revoked_production_a();
  kb::Bundle b = bundle({{kb::Action::kRevoke, make_key(keys::KeyType::kProduction, 'A', 2)}});
  keys::Store s1{};
  uint32_t changed;
  const uint8_t P = uint8_t(keys::KeyType::kProduction);
  ASSERT_EQ(ku::plan_revoke(s0, b, P, nullptr, 0, s1, &changed), ku::Status::kOk);
  SweepStats st = sweep("revoke production-A, cut again during the repair", s0, s1, true);
  std::printf("key revocation double power-cut sweep: %zu runs, %zu failures\n", st.runs, st.failures);
  EXPECT_EQ(st.failures, 0u);
}

// The order matters: writing the copy in force first (here the backup,
// when the primary is the torn one) would brick the board at a cut. This
// checks the sweep can see such a bug, by doing the update that way.
TEST(KeyStoragePowerCut, SweepCatchesAnUpdateThatOverwritesTheOnlyValidCopyFirst) {
  keys::Store s0 = factory_store();
  std::vector<uint8_t> mem = start_state(Start::kPrimaryTorn, s0);
  PowerCutNvram io(mem);
  io.arm(2, PowerCutNvram::Mode::kBefore, 42);  // header page written, records not yet
  keys::Store s1 = s0;
  s1.generation += 1;
  s1.keys[1].flags |= keys::kFlagRevoked;
  std::vector<uint8_t> region(keys::kStoreRegionLen);
  uint32_t n = keys::encode_copy(s1, region.data());
  EXPECT_FALSE(io.write(keys::kBackupOffset, region.data(), n));  // the naive order: backup first, always
  Boot b = boot(mem);
  EXPECT_FALSE(b.valid);
}

}  // namespace
