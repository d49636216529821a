// Keys, key storage, the signature envelope and the verification policy,
// with real OpenSSL and the committed development keys.
#include <gtest/gtest.h>

#include <cstring>

#include "../support/test_util.h"
#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "host/image_flash.h"
#include "host/signing.h"
#include "hw-models/board_config.h"
#include "trustsim/keys.h"
#include "trustsim/verify.h"

using namespace trustsim;

namespace {

std::string key_path(const char* name) { return std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev/" + name + ".pem"; }

struct Keys {
  ossl::Pkey prod_a = ossl::load_private_key(key_path("production-A"));
  ossl::Pkey prod_b = ossl::load_private_key(key_path("production-B"));
  ossl::Pkey special_a = ossl::load_private_key(key_path("special-A"));
  ossl::Pkey unknown = ossl::load_private_key(key_path("untrusted-production-A"));
  keys::Store trusted{};
  Keys() {
    keys::add_key(trusted, ossl::public_record(prod_a, keys::KeyType::kProduction, 'A'));
    keys::add_key(trusted, ossl::public_record(special_a, keys::KeyType::kSpecial, 'A'));
  }
};

std::vector<uint8_t> payload(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = uint8_t(i * 7 + 3);
  return p;
}

std::vector<uint8_t> os_image(const ossl::Pkey& key, keys::KeyType t = keys::KeyType::kProduction, char v = 'A') {
  signing::ImageSpec spec;
  spec.version = "17.3.1";
  spec.load_addr = 0x41000000;
  return signing::build_signed_image(spec, payload(5000), key, t, v);
}

verify::Verdict check(const std::vector<uint8_t>& img, const keys::Store& trusted) {
  return signing::inspect(img, trusted).verdict;
}

}  // namespace

TEST(Signing, SignedImageVerifiesAndCarriesSignerInfo) {
  Keys k;
  auto img = os_image(k.prod_a);
  EXPECT_EQ(img.size(), image::kHeaderSize + 5000 + keys::kEnvelopeLen);
  verify::Result r = signing::inspect(img, k.trusted);
  ASSERT_EQ(r.verdict, verify::Verdict::kOk);
  EXPECT_EQ(r.envelope.key_type, uint8_t(keys::KeyType::kProduction));
  EXPECT_EQ(r.envelope.key_version, 'A');
  EXPECT_STREQ(r.envelope.common_name, "TrustsimSystems");
  EXPECT_EQ(strlen(r.envelope.cert_serial), 8u);
  ASSERT_NE(r.key, nullptr);
  EXPECT_EQ(r.key->type, uint8_t(keys::KeyType::kProduction));
}

TEST(Signing, SigningIsDeterministic) {
  Keys k;
  EXPECT_EQ(os_image(k.prod_a), os_image(k.prod_a));
}

TEST(Signing, EveryTamperingHasItsOwnVerdict) {
  Keys k;
  auto good = os_image(k.prod_a);
  auto bad = good;
  bad[image::kHeaderSize + 100] ^= 0x01;  // payload bit flip
  EXPECT_EQ(check(bad, k.trusted), verify::Verdict::kDigestMismatch);
  bad = good;
  bad[20] ^= 0x01;  // header field: header CRC catches it first
  EXPECT_EQ(check(bad, k.trusted), verify::Verdict::kBadHeader);
  bad = good;
  bad[bad.size() - 10] ^= 0x01;  // signature bytes
  EXPECT_EQ(check(bad, k.trusted), verify::Verdict::kBadSignature);
  bad = good;
  bad[image::kHeaderSize + 5000 + 20] ^= 0x01;  // signer name inside the signed envelope
  EXPECT_EQ(check(bad, k.trusted), verify::Verdict::kBadSignature);
  bad = good;
  bad[image::kHeaderSize + 5000] ^= 0xFF;  // envelope magic
  EXPECT_EQ(check(bad, k.trusted), verify::Verdict::kBadEnvelope);
  for (size_t cut : {size_t(10), size_t(image::kHeaderSize + 10), good.size() - 1}) {
    std::vector<uint8_t> t(good.begin(), good.begin() + long(cut));
    EXPECT_EQ(check(t, k.trusted), verify::Verdict::kTruncated) << "cut at " << cut;
  }
}

TEST(Signing, UnknownRevokedAndMislabelledKeysAreRejected) {
  Keys k;
  EXPECT_EQ(check(os_image(k.unknown), k.trusted), verify::Verdict::kUnknownKey);
  EXPECT_EQ(check(os_image(k.prod_b, keys::KeyType::kProduction, 'B'), k.trusted), verify::Verdict::kUnknownKey);
  // Signed with production-A but claiming to be a special image.
  EXPECT_EQ(check(os_image(k.prod_a, keys::KeyType::kSpecial, 'A'), k.trusted), verify::Verdict::kWrongKeyType);
  keys::Store revoked = k.trusted;
  ASSERT_EQ(keys::revoke(revoked, uint8_t(keys::KeyType::kProduction), 'A'), keys::EditStatus::kOk);
  EXPECT_EQ(check(os_image(k.prod_a), revoked), verify::Verdict::kRevokedKey);
  // Special images need the special key installed.
  keys::Store no_special{};
  keys::add_key(no_special, ossl::public_record(k.prod_a, keys::KeyType::kProduction, 'A'));
  EXPECT_EQ(check(os_image(k.special_a, keys::KeyType::kSpecial, 'A'), no_special), verify::Verdict::kUnknownKey);
}

// The guide: "The ROMmon can boot any image signed using a rollover key".
// Revocation images only with the rollover key; ROMmon images with it too
// (the golden ROMmon, which survives any production revocation); OS images
// never (a rollover-signed full OS would sidestep the production key).
TEST(Signing, RolloverKeySignsRevocationImagesAndRommonsButNotOsImages) {
  Keys k;
  ossl::Pkey rollover = ossl::load_private_key(key_path("rollover-A"));
  keys::Store s = k.trusted;
  keys::add_key(s, ossl::public_record(rollover, keys::KeyType::kRollover, 'A'));
  EXPECT_EQ(check(os_image(rollover, keys::KeyType::kRollover, 'A'), s), verify::Verdict::kKeyNotForType);
  signing::ImageSpec spec;
  spec.type = image::Type::kRevocation;
  spec.version = "rev";
  spec.load_addr = 0x41000000;
  auto rev = signing::build_signed_image(spec, payload(300), rollover, keys::KeyType::kRollover, 'A');
  EXPECT_EQ(check(rev, s), verify::Verdict::kOk);
  auto rev_prod = signing::build_signed_image(spec, payload(300), k.prod_a, keys::KeyType::kProduction, 'A');
  EXPECT_EQ(check(rev_prod, s), verify::Verdict::kKeyNotForType);
  auto rev_special = signing::build_signed_image(spec, payload(300), k.special_a, keys::KeyType::kSpecial, 'A');
  EXPECT_EQ(check(rev_special, s), verify::Verdict::kKeyNotForType);
  signing::ImageSpec rom;
  rom.type = image::Type::kRommon;
  rom.version = "17.3(1r)";
  rom.load_addr = 0x40200000;
  auto rom_rollover = signing::build_signed_image(rom, payload(400), rollover, keys::KeyType::kRollover, 'A');
  EXPECT_EQ(check(rom_rollover, s), verify::Verdict::kOk);
  auto rom_prod = signing::build_signed_image(rom, payload(400), k.prod_a, keys::KeyType::kProduction, 'A');
  EXPECT_EQ(check(rom_prod, s), verify::Verdict::kOk);
  // Without the rollover key in storage, a rollover-signed image is unknown.
  EXPECT_EQ(check(rev, k.trusted), verify::Verdict::kUnknownKey);
  EXPECT_EQ(check(rom_rollover, k.trusted), verify::Verdict::kUnknownKey);
  EXPECT_TRUE(verify::key_may_sign(uint32_t(image::Type::kRommon), uint8_t(keys::KeyType::kRollover)));
  EXPECT_FALSE(verify::key_may_sign(uint32_t(image::Type::kOs), uint8_t(keys::KeyType::kRollover)));
  EXPECT_FALSE(verify::key_may_sign(uint32_t(image::Type::kRevocation), uint8_t(keys::KeyType::kProduction)));
}

TEST(Signing, KeyNamesAndSuffixes) {
  keys::KeyType t;
  char v;
  ASSERT_TRUE(signing::parse_key_name("keys/dev/production-B.pem", &t, &v));
  EXPECT_EQ(t, keys::KeyType::kProduction);
  EXPECT_EQ(v, 'B');
  EXPECT_FALSE(signing::parse_key_name("production-b", &t, &v));
  EXPECT_FALSE(signing::parse_key_name("master-A", &t, &v));
  ASSERT_TRUE(signing::parse_key_name("keys/dev/untrusted-production-A.pem", &t, &v));
  EXPECT_EQ(t, keys::KeyType::kProduction);
  EXPECT_EQ(signing::signed_suffix(keys::KeyType::kProduction, 'A'), ".SPA");
  EXPECT_EQ(signing::signed_suffix(keys::KeyType::kSpecial, 'B'), ".SSB");
}

TEST(KeyStorage, NewestValidCopyWinsAndTheOtherIsRepaired) {
  Keys k;
  keys::Store s = k.trusted;
  s.generation = 5;
  uint8_t primary[keys::kStoreRegionLen], backup[keys::kStoreRegionLen];
  keys::encode_copy(s, primary);
  s.generation = 6;
  keys::revoke(s, uint8_t(keys::KeyType::kSpecial), 'A');
  keys::encode_copy(s, backup);
  keys::Store out;
  keys::LoadResult r = keys::load(primary, backup, out);
  EXPECT_TRUE(r.any_valid);
  EXPECT_TRUE(r.from_backup);
  EXPECT_TRUE(r.repair_primary);
  EXPECT_EQ(out.generation, 6u);
  EXPECT_EQ(out.keys[1].flags, keys::kFlagRevoked);
}

TEST(KeyStorage, TornWriteOfOneCopyAtAnyByteLeavesTheOther) {
  Keys k;
  keys::Store s = k.trusted;
  s.generation = 1;
  uint8_t old_copy[keys::kStoreRegionLen], new_copy[keys::kStoreRegionLen];
  uint32_t n = keys::encode_copy(s, old_copy);
  keys::Store s2 = s;
  s2.generation = 2;
  keys::add_key(s2, ossl::public_record(k.prod_b, keys::KeyType::kProduction, 'B'));
  uint32_t n2 = keys::encode_copy(s2, new_copy);
  ASSERT_GT(n2, n);
  // Update protocol: backup first, then primary. Cut inside the backup write.
  for (uint32_t cut = 0; cut < n2; cut += 7) {
    uint8_t primary[keys::kStoreRegionLen], backup[keys::kStoreRegionLen];
    memcpy(primary, old_copy, sizeof primary);
    memcpy(backup, old_copy, sizeof backup);
    memcpy(backup, new_copy, cut);
    keys::Store out;
    keys::LoadResult r = keys::load(primary, backup, out);
    ASSERT_TRUE(r.any_valid) << cut;
    EXPECT_TRUE(out.generation == 1 || out.generation == 2) << cut;
    EXPECT_EQ(out.count, out.generation == 1 ? 2u : 3u);
  }
}

TEST(KeyStorage, CorruptCopiesAreNamed) {
  uint8_t region[keys::kStoreRegionLen];
  memset(region, 0xFF, sizeof region);
  keys::Store out;
  EXPECT_EQ(keys::decode_copy(region, sizeof region, out), keys::CopyState::kErased);
  keys::Store s{};
  s.generation = 1;
  keys::encode_copy(s, region);
  EXPECT_EQ(keys::decode_copy(region, sizeof region, out), keys::CopyState::kValid);
  region[9] ^= 1;
  EXPECT_EQ(keys::decode_copy(region, sizeof region, out), keys::CopyState::kBadCrc);
  region[0] = 'x';
  EXPECT_EQ(keys::decode_copy(region, sizeof region, out), keys::CopyState::kBadMagic);
}

TEST(KeyStorage, AddRefusesDuplicatesAndOverflow) {
  Keys k;
  keys::Store s{};
  keys::KeyRecord rec = ossl::public_record(k.prod_a, keys::KeyType::kProduction, 'A');
  EXPECT_EQ(keys::add_key(s, rec), keys::EditStatus::kOk);
  EXPECT_EQ(keys::add_key(s, rec), keys::EditStatus::kDuplicate);
  for (char v = 'B'; s.count < keys::kMaxKeys; ++v) {
    rec.version = v;
    ASSERT_EQ(keys::add_key(s, rec), keys::EditStatus::kOk);
  }
  rec.version = 'Z';
  EXPECT_EQ(keys::add_key(s, rec), keys::EditStatus::kFull);
  EXPECT_EQ(keys::revoke(s, uint8_t(keys::KeyType::kSpecial), 'A'), keys::EditStatus::kNotFound);
}

namespace {

TEST(KeyBundleImage, RevocationImageCarriesTheBundleVerifiedByTheRolloverKey) {
  ossl::Pkey rollover = ossl::load_private_key(key_path("rollover-A"));
  ossl::Pkey prod_b = ossl::load_private_key(key_path("production-B"));
  std::vector<uint8_t> bundle = signing::build_key_bundle({key_path("production-B")}, {key_path("production-A")});
  signing::ImageSpec spec;
  spec.type = image::Type::kRevocation;
  spec.version = "rev";
  spec.load_addr = 0x41000000;
  std::vector<uint8_t> img = signing::build_signed_image(spec, bundle, rollover, keys::KeyType::kRollover, 'A');
  keys::Store trusted{};
  keys::add_key(trusted, ossl::public_record(rollover, keys::KeyType::kRollover, 'A'));
  verify::Result r = signing::inspect(img, trusted);
  ASSERT_EQ(r.verdict, verify::Verdict::kOk);
  key_bundle::Bundle b{};
  ASSERT_EQ(key_bundle::find(img.data() + image::kHeaderSize, r.header.payload_len, b), key_bundle::Error::kOk);
  ASSERT_EQ(b.count, 2u);
  keys::KeyRecord want = ossl::public_record(prod_b, keys::KeyType::kProduction, 'B');
  EXPECT_EQ(b.entries[0].action, key_bundle::Action::kAdd);
  EXPECT_EQ(memcmp(b.entries[0].key.key_id, want.key_id, keys::kKeyIdLen), 0);
  EXPECT_EQ(memcmp(b.entries[0].key.modulus, want.modulus, keys::kModulusLen), 0);
  EXPECT_EQ(b.entries[1].action, key_bundle::Action::kRevoke);
  EXPECT_EQ(b.entries[1].key.version, 'A');
  // Signed with a production key, the same image is refused by the policy.
  std::vector<uint8_t> wrong = signing::build_signed_image(spec, bundle, prod_b, keys::KeyType::kProduction, 'B');
  keys::add_key(trusted, want);
  EXPECT_EQ(signing::inspect(wrong, trusted).verdict, verify::Verdict::kKeyNotForType);
}

TEST(KeyBundleImage, BadKeyNamesAndTooManyKeysAreInputErrors) {
  EXPECT_THROW(signing::build_key_bundle({key_path("production-B") + ".bak"}, {}), std::exception);
  std::vector<std::string> nine(9, key_path("production-B"));
  EXPECT_THROW(signing::build_key_bundle(nine, {}), std::exception);
}

}  // namespace

// read_file reads a regular file straight into a buffer of its size; the
// bytes, the size limit and files whose size stat does not know (/proc)
// must come out as with the chunked loop.
TEST(HostFiles, ReadFileReturnsEveryByteAndKeepsItsLimit) {
  test::TempDir dir;
  std::vector<uint8_t> big = payload((3u << 20) + 17);
  std::string path = dir.file("big.bin");
  write_file_atomic(path, big.data(), big.size());
  EXPECT_EQ(read_file(path), big);
  try {
    read_file(path, 1u << 20, "a test limit");
    ADD_FAILURE() << "a file over the limit was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("file too large"), std::string::npos) << e.what();
  }
  write_file_atomic(dir.file("empty.bin"), nullptr, 0);
  EXPECT_TRUE(read_file(dir.file("empty.bin")).empty());
  std::vector<uint8_t> status = read_file("/proc/self/status");  // stat says 0 bytes
  ASSERT_FALSE(status.empty());
  EXPECT_EQ(std::string(status.begin(), status.begin() + 5), "Name:");
}

// put_file erases a block per 64 pages; the wear side file is written once
// for the whole file, with the same counts the device would have kept.
TEST(HostVolumes, PutFileWritesTheWearFileOnceWithEveryErase) {
  test::TempDir dir;
  BoardConfig cfg = load_board_config(std::string(TRUSTSIM_SOURCE_DIR) + "/boards/default.yaml");
  std::string path = dir.file("bootflash.nand");
  NandFlash::create_image(cfg.nand, path);
  { HostVolume fresh = open_bootflash(cfg.nand, path, true); }
  HostVolume v = open_bootflash(cfg.nand, path);
  NandImage& image = v.flash->image();
  auto total_erases = [&](const NandImage& im) {
    uint64_t n = 0;
    for (uint32_t b = 0; b < cfg.nand.block_count; ++b) n += im.erase_count(b);
    return n;
  };
  uint64_t erases_before = total_erases(image);
  uint64_t writes_before = image.meta_writes();
  std::vector<uint8_t> data = payload(size_t(cfg.nand.page_size) * cfg.nand.pages_per_block * 5 + 999);
  put_file(v, "five-blocks.bin", data, 0);
  EXPECT_GE(total_erases(image), erases_before + 5) << "the file needed fresh blocks";
  EXPECT_EQ(image.meta_writes(), writes_before + 1) << "one side-file write for the whole file";
  NandImage reopened(cfg.nand, path);
  for (uint32_t b = 0; b < cfg.nand.block_count; ++b)
    ASSERT_EQ(reopened.erase_count(b), image.erase_count(b)) << "block " << b << ": the file lost an erase";
  EXPECT_EQ(get_file(*v.volume, "five-blocks.bin"), data);
}
