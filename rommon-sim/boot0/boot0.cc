// Boot0: the immutable first stage in the boot ROM. It finds the board,
// reads the primary ROMmon image from the boot SPI flash so that its
// payload lands at its load address (the header just below it), verifies
// it there against key storage (common/verify, with the crypto engine),
// and only then jumps: what runs is exactly what was verified, with no
// copy. An image that does not fit there is verified in a staging buffer
// and copied. A primary that fails verification is reported and the golden
// ROMmon is tried the same way. docs/firmware.md.
#include "fwlib/fw.h"
#include "fwlib/secure.h"
#include "fwlib/tpm.h"
#include "trustsim/boot_flash_layout.h"
#include "trustsim/handoff.h"
#include "trustsim/image.h"
#include "trustsim/verify.h"
#include "trustsim/versions.h"

namespace {

namespace img = trustsim::image;
namespace keys = trustsim::keys;
namespace verify = trustsim::verify;
namespace handoff = trustsim::handoff;

constexpr uint64_t kPl011 = 0x09000000;  // QEMU virt UART: early debug only
constexpr uint64_t kRommonWindowStart = 0x40200000;
constexpr uint64_t kRommonWindowEnd = 0x40400000;
constexpr uint64_t kStaging = 0x44000000;  // never executed: safe to DMA into
// The lowest address an in-place read may start at: the end of the hand-off
// block. A ROMmon loading at the window's start has its header at the top of
// the hand-off area, which the block does not use (docs/firmware.md).
constexpr uint64_t kInPlaceStart = handoff::kAddress + sizeof(handoff::Block);
static_assert(kInPlaceStart <= kRommonWindowStart - trustsim::image::kHeaderSize, "hand-off block reaches ROMmon");
constexpr const char* kBoot0Version = trustsim::versions::kBoot0;

void debug_print(const char* s) {
  auto* dr = reinterpret_cast<volatile uint32_t*>(kPl011);
  while (*s) *dr = uint32_t(*s++);
}

[[noreturn]] void halt(const char* why) {
  fw::printf("Boot0: %s\nBoot0: no bootable ROMmon; halted.\n", why);
  fw::flush();
  for (;;) fw::sleep_ns(1000000000ull);
}

keys::Store g_keys;
verify::Result g_result;
const uint8_t* g_image;  // where the verified image was read: in place or the staging buffer

void copy_string(char* dst, const char* src, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap && src[n]) {
    dst[n] = src[n];
    ++n;
  }
  dst[n] = '\0';
}

// Loads and verifies the ROMmon image at `offset` (g_image: where); returns
// nullptr on success or the reason it was rejected.
const char* try_rommon(uint64_t flash, uint64_t offset, verify::Verdict* verdict) {
  auto* stage = reinterpret_cast<uint8_t*>(kStaging);
  *verdict = verify::Verdict::kBadHeader;
  fw::Xfer x = fw::mbox_read(flash + offset, stage, img::kHeaderSize);
  if (x.status != TS_MBOX_OK) return fw::mbox_status_text(x.status);
  img::Header h;
  img::Error e = img::parse_header(stage, img::kHeaderSize, h);
  if (e != img::Error::kOk) return img::error_text(e);
  if (h.image_type != uint32_t(img::Type::kRommon)) return "not a ROMmon image";
  uint64_t total = img::kHeaderSize + h.payload_len + h.envelope_len;
  if (h.payload_len > trustsim::boot_flash::kMaxRommonImage || total > trustsim::boot_flash::kMaxRommonImage)
    return "image larger than a ROMmon slot";
  if (h.load_addr < kRommonWindowStart || h.load_addr >= kRommonWindowEnd ||
      h.payload_len > kRommonWindowEnd - h.load_addr)
    return "load address or size outside the ROMmon window";
  // In place when the whole file fits between kInPlaceStart and the window's
  // end (the envelope follows the payload): the header goes below the load
  // address by CPU stores (no code is there), the rest by DMA.
  uint8_t* place = stage;
  uint64_t base = h.load_addr - img::kHeaderSize;
  if (base >= kInPlaceStart && total <= kRommonWindowEnd - base) {
    place = reinterpret_cast<uint8_t*>(base);
    memcpy(place, stage, img::kHeaderSize);
  }
  g_image = place;
  x = fw::mbox_read(flash + offset + img::kHeaderSize, place + img::kHeaderSize, total - img::kHeaderSize);
  if (x.status != TS_MBOX_OK) return fw::mbox_status_text(x.status);
  fw::EngineCrypto crypto;
  verify::verify_image(place, total, g_keys, crypto, g_result);
  *verdict = g_result.verdict;
  if (g_result.verdict != verify::Verdict::kOk) return verify::verdict_text(g_result.verdict);
  return nullptr;
}

void record(handoff::StageInfo& s, const char* version) {
  copy_string(s.version, version, sizeof s.version);
  memcpy(s.digest, g_result.envelope.image_digest, 64);
  s.key_type = g_result.envelope.key_type;
  s.key_version = g_result.envelope.key_version;
  copy_string(s.signer_common_name, g_result.envelope.common_name, sizeof s.signer_common_name);
  copy_string(s.signer_org_unit, g_result.envelope.org_unit, sizeof s.signer_org_unit);
  copy_string(s.signer_org_name, g_result.envelope.org_name, sizeof s.signer_org_name);
  copy_string(s.cert_serial, g_result.envelope.cert_serial, sizeof s.cert_serial);
}

extern "C" char __rom_end[];

// Boot0 is the root of trust for measurement: it starts the TPM, extends
// PCR0 with its own image, and later with the ROMmon it verified. A TPM
// that fails does not stop the boot; the OS reports the missing data.
void tpm_start(handoff::Block* ho) {
  fw::TpmStatus s = fw::tpm_open(1000000000ull);
  if (s == fw::TpmStatus::kNoTpm) return;
  if (s == fw::TpmStatus::kOk) s = fw::tpm_startup_clear();
  if (s == fw::TpmStatus::kOk) {
    uint64_t size = reinterpret_cast<uint64_t>(__rom_end);
    const void* rom = reinterpret_cast<const void*>(uintptr_t(0));
    asm volatile("" : "+r"(rom));                          // the boot ROM really is at address 0
    memcpy(reinterpret_cast<void*>(kStaging), rom, size);  // DMA reads RAM only, so hash a copy
    if (!fw::sha256(reinterpret_cast<const void*>(kStaging), size, ho->boot0_sha256)) {
      fw::printf("Boot0: cannot hash Boot0 for measurement\n");
      return;
    }
    s = fw::tpm_pcr_extend(0, ho->boot0_sha256);
    if (s == fw::TpmStatus::kOk) ho->measure_flags |= handoff::kMeasuredBoot0;
  }
  if (s != fw::TpmStatus::kOk) {
    ho->tpm_error = uint32_t(s);
    fw::printf("Boot0: TPM: %s (rc 0x%x); boot continues unmeasured\n", fw::tpm_status_text(s), fw::tpm_last_rc());
  }
}

void measure_rommon(handoff::Block* ho, const uint8_t* image, uint64_t len) {
  if (!(ho->measure_flags & handoff::kMeasuredBoot0)) return;
  if (!fw::sha256(image, len, ho->rommon_sha256)) return;
  fw::TpmStatus s = fw::tpm_pcr_extend(0, ho->rommon_sha256);
  if (s == fw::TpmStatus::kOk)
    ho->measure_flags |= handoff::kMeasuredRommon;
  else
    ho->tpm_error = uint32_t(s);
}

}  // namespace

int fw_main() {
  debug_print("Boot0: start\r\n");
  if (!fw::board_init()) {
    debug_print("Boot0: board discovery failed (mailbox unanswered)\r\n");
    for (;;) asm volatile("wfi");
  }
  fw::printf("Boot0 Version %s, trustsim boot ROM\n", kBoot0Version);
  uint64_t flash = fw::dev_base(TS_DEV_BOOT_FLASH);
  if (!flash) halt("board has no boot flash");
  uint64_t flash_size = 0;
  for (uint32_t i = 0; i < fw::board_info().count && i < TS_BOARDINFO_MAX_ENTRIES; ++i)
    if (fw::board_info().entries[i].type == TS_DEV_BOOT_FLASH) flash_size = fw::board_info().entries[i].size;

  keys::LoadResult kr;
  if (!fw::keystore_load(g_keys, kr)) {
    fw::printf("Boot0: key storage invalid (primary: %s, backup: %s)\n", keys::copy_state_text(kr.primary),
               keys::copy_state_text(kr.backup));
    halt("no trusted keys");
  }
  if (kr.repair_primary || kr.repair_backup)
    fw::printf("Boot0: key storage %s copy repaired from the %s copy\n", kr.repair_primary ? "primary" : "backup",
               kr.repair_primary ? "backup" : "primary");

  auto* ho = reinterpret_cast<handoff::Block*>(handoff::kAddress);
  memset(ho, 0, sizeof *ho);
  ho->magic = handoff::kMagic;
  copy_string(ho->boot0.version, kBoot0Version, sizeof ho->boot0.version);
  tpm_start(ho);

  const uint64_t offsets[2] = {trustsim::boot_flash::kPrimaryRommonOffset,
                               trustsim::boot_flash::golden_rommon_offset(flash_size)};
  const char* names[2] = {"primary", "golden"};
  for (uint32_t slot = 0; slot < 2; ++slot) {
    verify::Verdict verdict;
    const char* why = try_rommon(flash, offsets[slot], &verdict);
    if (why) {
      fw::printf("Boot0: %s ROMmon failed verification: %s\n", names[slot], why);
      if (slot == 0) ho->primary_failed_verdict = uint32_t(verdict);
      continue;
    }
    const img::Header& h = g_result.header;
    fw::printf("Boot0: %s ROMmon %s verified (%s key %c), starting\n", names[slot], h.version,
               keys::key_type_name(g_result.envelope.key_type), g_result.envelope.key_version);
    ho->rommon_slot = slot;
    record(ho->rommon, h.version);
    measure_rommon(ho, g_image, img::kHeaderSize + h.payload_len + h.envelope_len);
    // Read in place, the verified payload already is at its load address;
    // from the staging buffer it is copied with CPU stores. Either way what
    // runs is exactly what was verified.
    if (g_image + img::kHeaderSize != reinterpret_cast<const uint8_t*>(h.load_addr))
      memcpy(reinterpret_cast<void*>(h.load_addr), g_image + img::kHeaderSize, h.payload_len);
    fw::flush();
    fw_jump(h.entry);
  }
  halt("both ROMmon images failed verification");
}
