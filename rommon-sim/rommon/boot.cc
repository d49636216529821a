// ROMmon's image loading: bootflash: (the NAND file system), `dir`,
// `boot bootflash:NAME` (or `boot tftp://HOST/PATH`, through the transfer
// engine), and autoboot through the BOOT variable. A bootflash: image is
// read in place: the file goes by DMA to its load address less the header,
// so its payload lands where it runs, and is verified there (common/verify
// with the crypto engine); what runs is exactly what was verified, with no
// copy. A TFTP image, or one whose header does not fit below its load
// address, is verified in the staging buffer and its payload copied. A
// failing image is never jumped to.
#include "boot.h"

#include "fwlib/fw.h"
#include "fwlib/nand.h"
#include "fwlib/secure.h"
#include "fwlib/tpm.h"
#include "trustsim/bfs.h"
#include "trustsim/datetime.h"
#include "trustsim/handoff.h"
#include "trustsim/image.h"
#include "trustsim/netxfer_regs.h"
#include "trustsim/romvars.h"
#include "trustsim/verify.h"

namespace rommon {
namespace {

namespace bfs = trustsim::bfs;
namespace img = trustsim::image;
namespace keys = trustsim::keys;
namespace verify = trustsim::verify;

constexpr uint64_t kOsWindowStart = 0x41000000;
constexpr uint64_t kOsWindowEnd = 0x44000000;
constexpr uint64_t kStaging = 0x44000000;
constexpr uint64_t kStagingEnd = TS_MBOX_BASE;
// The lowest address an in-place read may start at: the end of the
// bootflash: hand-over area (docs/firmware.md, memory map). An image that
// loads at the OS window's start has its header just below the window.
constexpr uint64_t kInPlaceStart = 0x40440000;

fw::NandDriver g_nand;
bfs::Volume g_fs;
bool g_mounted;
bool g_tried_mount;
bfs::MountReport g_mount_report;
keys::Store g_keys;
bool g_keys_valid;
verify::Result g_result;

bool mount() {
  if (g_tried_mount) return g_mounted;
  g_tried_mount = true;
  if (!g_nand.init()) {
    fw::printf("bootflash: no such device on this board\n");
    return false;
  }
  g_fs.attach(g_nand);
  bfs::Status st = bfs::mount(g_fs, &g_mount_report);
  if (st != bfs::Status::kOk) {
    fw::printf("bootflash: cannot mount: %s\n", bfs::status_text(st));
    return false;
  }
  g_mounted = true;
  return true;
}

// "bootflash:NAME" / "flash:NAME" / "bootflash:/NAME" -> NAME
const char* file_name(const char* path) {
  if (fw::starts_with(path, "bootflash:"))
    path += 10;
  else if (fw::starts_with(path, "flash:"))
    path += 6;
  else
    return nullptr;
  while (*path == '/') ++path;
  return *path ? path : nullptr;
}

void copy_string(char* dst, const char* src, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap && src[n]) {
    dst[n] = src[n];
    ++n;
  }
  dst[n] = '\0';
}

// A failed image in the ISR/ASR ROMmon form of the captures
// (docs/firmware.md, "Boot verification messages"): the key-check line
// when no trusted key verifies the signature, the signature verdict named
// by the signing key's kind when the envelope says which, then the reason
// in one line.
void report_verification_failure(const char* path, const verify::Result& r) {
  switch (r.verdict) {
    case verify::Verdict::kUnknownKey:
    case verify::Verdict::kRevokedKey:
    case verify::Verdict::kWrongKeyType:
    case verify::Verdict::kBadSignature:
    case verify::Verdict::kKeyNotForType:
      fw::printf("Failed to validate digital signature\n");
      break;
    default:
      break;
  }
  if (r.have_envelope)
    fw::printf("RSA Signed %s Image Signature Verification Failed.\n", verify::signed_kind(r.envelope.key_type));
  fw::printf("Verification FAILED for %s, REASON: %s%s%s\n", path, verify::verdict_text(r.verdict),
             r.detail ? ": " : "", r.detail ? r.detail : "");
}

// A `tftp://HOST[:PORT]/PATH` boot entry: the image comes through the
// management port's transfer engine (docs/netxfer.md) into the staging
// buffer, then goes through the same checks as a bootflash: file. Only
// TFTP and only an address (ROMmon has no name server), as IOS ROMmon's
// own network boot. *size is the image's length.
// Where a bootflash: image of `size` bytes is read: its load address less the
// header when the header parses, the load address is in the OS window and
// the file fits between kInPlaceStart and the staging end; else the staging
// buffer (verification then reports what is wrong with the header).
uint8_t* load_place(const char* name, uint64_t size) {
  static uint8_t head[img::kHeaderSize];
  auto* staging = reinterpret_cast<uint8_t*>(kStaging);
  size_t got = 0;
  img::Header h;
  if (size < img::kHeaderSize || bfs::read(g_fs, name, 0, head, sizeof head, &got) != bfs::Status::kOk ||
      got != sizeof head || img::parse_header(head, sizeof head, h) != img::Error::kOk)
    return staging;
  if (h.load_addr < kOsWindowStart || h.load_addr >= kOsWindowEnd) return staging;
  uint64_t base = h.load_addr - img::kHeaderSize;
  if (base < kInPlaceStart || size > kStagingEnd - base) return staging;
  return reinterpret_cast<uint8_t*>(base);
}

bool load_tftp(const char* path, uint64_t* size) {
  uint64_t base = fw::dev_base(TS_DEV_NETXFER);
  size_t n = strlen(path);
  if (!base) {
    fw::printf("boot: cannot load \"%s\": no management transfer engine on this board\n", path);
    return false;
  }
  if (n > TS_NETXFER_MAX_URL || fw::mbox_write(base + TS_NETXFER_URL, path, n).status != TS_MBOX_OK) {
    fw::printf("boot: bad device or file name \"%s\" (expected bootflash:NAME or tftp://HOST/PATH)\n", path);
    return false;
  }
  fw::reg_write64(base + TS_NETXFER_NAMESERVER, 0);
  fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_OPEN);
  uint64_t st = fw::reg_read64(base + TS_NETXFER_STATUS);
  auto* stage = reinterpret_cast<uint8_t*>(kStaging);
  const uint64_t cap = kStagingEnd - kStaging;
  uint64_t total = 0;
  if (st == TS_NETXFER_OK) fw::printf("Loading %s ", path);
  while (st == TS_NETXFER_OK && total < cap) {
    uint64_t want = cap - total < (1u << 20) ? cap - total : (1u << 20);
    fw::Xfer x = fw::mbox_read(base + TS_NETXFER_DATA, stage + total, want);
    if (x.status != TS_MBOX_OK) break;
    total += x.actual;
    fw::putc('!');
    st = fw::reg_read64(base + TS_NETXFER_STATUS);
    if (st == TS_NETXFER_OK && x.actual == 0) st = TS_NETXFER_FAILED;
  }
  if (total) fw::putc('\n');
  if (st != TS_NETXFER_END) {
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    if (st == TS_NETXFER_OK)
      fw::printf("boot: \"%s\" is too large (more than %lu bytes)\n", path, cap);
    else
      fw::printf("boot: cannot load \"%s\": %s\n", path, ts_netxfer_status_name(st));
    return false;
  }
  fw::printf("Located %s\nImage size %lu\n", path, total);
  *size = total;
  return true;
}

}  // namespace

void cmd_dir(const char* arg) {
  if (!fw::starts_with(arg, "bootflash:") && !fw::starts_with(arg, "flash:")) {
    fw::printf("usage: dir bootflash:\n");
    return;
  }
  if (!mount()) return;
  fw::printf("Directory of bootflash:/\n\n");
  uint32_t cursor = 0;
  bfs::FileInfo fi;
  char date[32];
  while (bfs::next_file(g_fs, &cursor, &fi)) {
    trustsim::datetime::format_ios(fi.timestamp, date, sizeof date);
    fw::printf("%5u  -rw-  %15lu  %s  %s\n", fi.index, fi.size, date, fi.name);
  }
  uint64_t used, avail, total;
  bfs::space(g_fs, &used, &avail, &total);
  fw::printf("\n%lu bytes total (%lu bytes free)\n", total, avail);
}

bool boot_image(const char* path) {
  const bool net = fw::starts_with(path, "tftp://");
  const char* name = net ? path : file_name(path);
  if (!name) {
    fw::printf("boot: bad device or file name \"%s\" (expected bootflash:NAME)\n", path);
    return false;
  }
  if (!net && !mount()) return false;
  if (!g_keys_valid) {
    keys::LoadResult kr;
    g_keys_valid = fw::keystore_load(g_keys, kr);
    if (!g_keys_valid) {
      fw::printf("boot: key storage invalid (primary: %s, backup: %s)\n", keys::copy_state_text(kr.primary),
                 keys::copy_state_text(kr.backup));
      return false;
    }
  }
  auto* stage = reinterpret_cast<uint8_t*>(kStaging);  // bootflash: files: usually in place (load_place)
  uint64_t size = 0;
  if (net) {
    if (!load_tftp(path, &size)) return false;
  } else {
    bfs::FileInfo fi;
    bfs::Status st = bfs::stat(g_fs, name, &fi);
    if (st != bfs::Status::kOk) {
      fw::printf("boot: cannot open \"%s\": %s\n", path, bfs::status_text(st));
      return false;
    }
    if (fi.size > kStagingEnd - kStaging) {
      fw::printf("boot: \"%s\" is too large (%lu bytes)\n", path, fi.size);
      return false;
    }
    fw::printf("Located %s\nImage size %lu\n", name, fi.size);
    stage = load_place(name, fi.size);
    size_t got = 0;
    st = bfs::read(g_fs, name, 0, stage, size_t(fi.size), &got);
    if (st != bfs::Status::kOk || got != fi.size) {
      fw::printf("boot: error reading \"%s\": %s\n", path, bfs::status_text(st));
      return false;
    }
    size = fi.size;
  }
  fw::EngineCrypto crypto;
  verify::verify_image(stage, size, g_keys, crypto, g_result);
  bool skipped = false;
  if (g_result.verdict != verify::Verdict::kOk) {
    report_verification_failure(path, g_result);
    // Test option only (board file test_options.skip_os_verification): boot
    // it anyway, so measured boot can be shown to catch what verification would.
    if (!(fw::board_info().flags & TS_BOARDINFO_FLAG_SKIP_OS_VERIFY)) return false;
    img::Header hh;
    if (size < img::kHeaderSize || img::parse_header(stage, img::kHeaderSize, hh) != img::Error::kOk) return false;
    g_result.header = hh;
    skipped = true;
    fw::printf("boot: test option skip_os_verification: booting %s UNVERIFIED\n", path);
  }
  const img::Header& h = g_result.header;
  // A revocation image is a small build of the OS (signed with the rollover
  // key, which key_may_sign() allows for nothing else the ROMmon boots):
  // it loads and starts like an OS image (docs/keys-and-signing.md).
  if (h.image_type != uint32_t(img::Type::kOs) && h.image_type != uint32_t(img::Type::kRevocation)) {
    fw::printf("boot: %s is a %s image, not a bootable OS image\n", path, img::type_name(h.image_type));
    return false;
  }
  const ts_boardinfo& bi = fw::board_info();
  if (h.platform_id != bi.platform_id) {
    fw::printf("boot: %s is built for platform %s (0x%x), this board is %s (0x%x)\n", path, h.platform, h.platform_id,
               bi.platform, bi.platform_id);
    return false;
  }
  if (h.load_addr < kOsWindowStart || h.load_addr >= kOsWindowEnd || h.payload_len > kOsWindowEnd - h.load_addr) {
    fw::printf("boot: %s loads at 0x%lx, outside the OS window\n", path, h.load_addr);
    return false;
  }
  uint8_t kt = g_result.envelope.key_type;
  if (!skipped)
    fw::printf("RSA Signed %s Image Signature Verification Successful.\nImage validated\n", verify::signed_kind(kt));
  auto* ho = reinterpret_cast<trustsim::handoff::Block*>(trustsim::handoff::kAddress);
  // Measured boot: the whole image file, as loaded, into PCR8.
  if (skipped) ho->measure_flags |= trustsim::handoff::kOsVerifySkipped;
  if ((ho->measure_flags & trustsim::handoff::kMeasuredBoot0) && fw::sha256(stage, size, ho->os_sha256)) {
    fw::TpmStatus ts = fw::tpm_open(0);
    if (ts == fw::TpmStatus::kOk) ts = fw::tpm_pcr_extend(8, ho->os_sha256);
    if (ts == fw::TpmStatus::kOk)
      ho->measure_flags |= trustsim::handoff::kMeasuredOs;
    else {
      ho->tpm_error = uint32_t(ts);
      fw::printf("boot: TPM: %s; OS image not measured\n", fw::tpm_status_text(ts));
    }
  }
  trustsim::handoff::StageInfo& s = ho->os;
  copy_string(s.version, h.version, sizeof s.version);
  memcpy(s.digest, g_result.envelope.image_digest, 64);
  s.key_type = kt;
  s.key_version = g_result.envelope.key_version;
  copy_string(s.signer_common_name, g_result.envelope.common_name, sizeof s.signer_common_name);
  copy_string(s.signer_org_unit, g_result.envelope.org_unit, sizeof s.signer_org_unit);
  copy_string(s.signer_org_name, g_result.envelope.org_name, sizeof s.signer_org_name);
  copy_string(s.cert_serial, g_result.envelope.cert_serial, sizeof s.cert_serial);
  if (net)
    copy_string(ho->os_path, path, sizeof ho->os_path);
  else
    fw::snprintf(ho->os_path, sizeof ho->os_path, "bootflash:%s", name);
  // Read in place, the verified payload already is at its load address;
  // from the staging buffer it is copied with CPU stores. Either way what
  // runs is exactly what was verified.
  if (stage + img::kHeaderSize != reinterpret_cast<uint8_t*>(h.load_addr))
    memmove(reinterpret_cast<void*>(h.load_addr), stage + img::kHeaderSize, h.payload_len);
  // The mounted bootflash: for the OS, after the last flash operation, so
  // it describes the flash as the OS finds it (docs/bootflash-fs.md,
  // "Handing the mount over").
  static_assert(sizeof(bfs::Handover) <= trustsim::handoff::kBootflashMaxSize, "hand-over area too small");
  bfs::hand_over(g_fs, g_mount_report, reinterpret_cast<bfs::Handover*>(trustsim::handoff::kBootflashAddress));
  fw::flush();
  fw_jump(h.entry);
}

void autoboot(const char* boot_var) {
  // BOOT=bootflash:a.bin,1;bootflash:b.bin,1;
  char entry[160];
  size_t cursor = 0;
  trustsim::romvars::BootEntry e{};
  bool any = false;
  while (trustsim::romvars::next_boot_entry(boot_var, &cursor, &e)) {
    if (!trustsim::romvars::copy_boot_path(e, entry, sizeof entry)) {
      fw::printf("boot: BOOT entry of %lu characters is too long; skipped\n", uint64_t(e.len));
      continue;
    }
    any = true;
    fw::printf("boot: attempting to boot from [%s]\n", entry);
    boot_image(entry);  // returns only on failure
    fw::printf("boot: error executing \"boot %s\"\n", entry);
  }
  if (any) fw::printf("no valid BOOT image found\n");
  fw::printf(any ? "autoboot: boot failed, no bootable image in BOOT; staying in ROM Monitor\n"
                 : "autoboot: BOOT variable is empty; staying in ROM Monitor\n");
}

}  // namespace rommon
