// upgrade rom-monitor filename bootflash:FILE: writes a verified ROMmon
// image into the primary slot of the boot SPI NOR flash (docs/os-image.md,
// "upgrade rom-monitor"). The golden copy at size/2 is never touched, so a
// power cut in the middle leaves a primary copy that fails Boot0's
// signature check and Boot0 starts the golden one.
#include "os.h"

#include "trustsim/boot_flash_layout.h"
#include "trustsim/nor_regs.h"
#include "trustsim/verify.h"

namespace os {
namespace {

namespace verify = trustsim::verify;
namespace img = trustsim::image;

constexpr uint64_t kRommonLoad = 0x40200000;                // Boot0's ROMmon window start
constexpr uint64_t kReadback = kStaging + (8ull << 20);     // flash contents read back
constexpr uint64_t kGoldenCopy = kStaging + (16ull << 20);  // the golden ROMmon, for checking

verify::Result g_rr;

struct Nor {
  uint64_t array = 0;  // bus address of the array
  uint64_t size = 0;   // array bytes
  uint64_t ctl() const { return array + size; }
};

bool nor_find(Nor& n) {
  n.array = fw::dev_base(TS_DEV_BOOT_FLASH);
  for (uint32_t i = 0; i < fw::board_info().count && i < TS_BOARDINFO_MAX_ENTRIES; ++i)
    if (fw::board_info().entries[i].type == TS_DEV_BOOT_FLASH) n.size = fw::board_info().entries[i].size;
  return n.array && n.size;
}

bool rd32(uint64_t addr, uint32_t* v) { return fw::mbox_read(addr, v, 4).status == TS_MBOX_OK; }
bool wr32(uint64_t addr, uint32_t v) { return fw::mbox_write(addr, &v, 4).status == TS_MBOX_OK; }

// Waits until BUSY clears, at most `timeout_ns` of board time, sleeping on
// the flash's event line (raised the instant the operation ends) between
// STATUS reads (docs/mailbox-abi.md, "Event waits").
bool nor_wait(const Nor& n, uint64_t timeout_ns, uint32_t* status) {
  return fw::wait_until(TS_DEV_BOOT_FLASH, timeout_ns, [&] {
           if (!rd32(n.ctl() + TS_NOR_STATUS, status)) return -1;
           return (*status & TS_NOR_STATUS_BUSY) ? 0 : 1;
         }) == fw::Wait::kReady;
}

const char* nor_erase_sector(const Nor& n, uint64_t addr) {
  uint32_t st;
  if (!wr32(n.ctl() + TS_NOR_ADDRESS, uint32_t(addr)) || !wr32(n.ctl() + TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE) ||
      !wr32(n.ctl() + TS_NOR_COMMAND, TS_NOR_CMD_SECTOR_ERASE))
    return "sector erase command failed";
  if (!nor_wait(n, 100000 * 1000000ull, &st)) return "flash stayed busy after a sector erase";
  if (st & TS_NOR_STATUS_ERASE_FAIL) return "sector erase refused";
  return nullptr;
}

const char* nor_program_page(const Nor& n, uint64_t addr, const uint8_t* data, uint32_t len) {
  uint32_t st;
  if (fw::mbox_write(n.ctl() + TS_NOR_PAGE_BUFFER, data, len).status != TS_MBOX_OK) return "page buffer write failed";
  if (!wr32(n.ctl() + TS_NOR_ADDRESS, uint32_t(addr)) || !wr32(n.ctl() + TS_NOR_LENGTH, len) ||
      !wr32(n.ctl() + TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE) ||
      !wr32(n.ctl() + TS_NOR_COMMAND, TS_NOR_CMD_PAGE_PROGRAM))
    return "page program command failed";
  if (!nor_wait(n, 100000 * 50000ull, &st)) return "flash stayed busy after a page program";
  if (st & TS_NOR_STATUS_PROGRAM_FAIL) return "page program refused";
  return nullptr;
}

// Reads and verifies the ROMmon image in a slot into `buf`; nullptr or why not.
const char* check_slot(const Nor& n, uint64_t offset, uint8_t* buf, verify::Result& r) {
  if (fw::mbox_read(n.array + offset, buf, img::kHeaderSize).status != TS_MBOX_OK) return "flash read failed";
  img::Header h;
  img::Error e = img::parse_header(buf, img::kHeaderSize, h);
  if (e != img::Error::kOk) return img::error_text(e);
  if (h.image_type != uint32_t(img::Type::kRommon)) return "not a ROMmon image";
  uint64_t total = img::kHeaderSize + h.payload_len + h.envelope_len;
  if (total > trustsim::boot_flash::kMaxRommonImage) return "image larger than a ROMmon slot";
  if (fw::mbox_read(n.array + offset + img::kHeaderSize, buf + img::kHeaderSize, total - img::kHeaderSize).status !=
      TS_MBOX_OK)
    return "flash read failed";
  fw::EngineCrypto crypto;
  verify::verify_image(buf, total, g.keys, crypto, r);
  return r.verdict == verify::Verdict::kOk ? nullptr : verify::verdict_text(r.verdict);
}

}  // namespace

bool primary_rommon_signer(char* version, size_t cap, uint8_t* key_type, char* key_version) {
  Nor n;
  if (!nor_find(n)) return false;
  if (check_slot(n, trustsim::boot_flash::kPrimaryRommonOffset, reinterpret_cast<uint8_t*>(kReadback), g_rr))
    return false;
  fw::snprintf(version, cap, "%s", g_rr.header.version);
  *key_type = g_rr.key->type;
  *key_version = g_rr.key->version;
  return true;
}

bool golden_rommon_signer(uint8_t* key_type, char* key_version) {
  Nor n;
  if (!nor_find(n)) return false;
  if (check_slot(n, trustsim::boot_flash::golden_rommon_offset(n.size), reinterpret_cast<uint8_t*>(kGoldenCopy), g_rr))
    return false;
  *key_type = g_rr.key->type;
  *key_version = g_rr.key->version;
  return true;
}

void cmd_upgrade_rom_monitor(const cli::Args& a) {
  const char* path = a.text(cli::ArgTag::kPath);
  char name[bfs::kMaxNameLen + 1];
  Nor n;
  if (!nor_find(n)) {
    fw::printf("%%Error: this board has no boot flash\n");
    return;
  }
  if (!bootflash_mounted()) return;
  if (!local_name(path, name, sizeof name)) return;
  fw::printf("Upgrade rom-monitor\n\nTarget copying rom-monitor image file\n");
  uint64_t size;
  if (!load_file(name, &size)) return;
  fw::printf("Checking upgrade image...\n");
  const uint8_t* file = reinterpret_cast<const uint8_t*>(kStaging);
  fw::EngineCrypto crypto;
  verify::verify_image(file, size, g.keys, crypto, g_rr);
  if (g_rr.verdict != verify::Verdict::kOk) {
    fw::printf("%%Error: bootflash:%s: %s%s%s; boot flash not changed\n", name, verify::verdict_text(g_rr.verdict),
               g_rr.detail ? ": " : "", g_rr.detail ? g_rr.detail : "");
    return;
  }
  const img::Header& h = g_rr.header;
  uint64_t total = img::kHeaderSize + h.payload_len + h.envelope_len;
  const char* why = nullptr;
  if (h.image_type != uint32_t(img::Type::kRommon))
    why = "not a ROMmon image";
  else if (h.platform_id != fw::board_info().platform_id)
    why = "built for another platform";
  else if (h.load_addr != kRommonLoad)
    why = "load address is not the ROMmon window (0x40200000)";
  else if (total > trustsim::boot_flash::kMaxRommonImage || total > n.size / 2)
    why = "image larger than a ROMmon slot";
  if (why) {
    fw::printf("%%Error: bootflash:%s: %s; boot flash not changed\n", name, why);
    return;
  }
  fw::printf("Upgrade image is ROMmon %s, signed with %s key version %c\n", h.version,
             keys::key_type_name(g_rr.key->type), g_rr.key->version);
  uint64_t golden = trustsim::boot_flash::golden_rommon_offset(n.size);
  const char* golden_why = check_slot(n, golden, reinterpret_cast<uint8_t*>(kGoldenCopy), g_rr);
  if (golden_why)
    fw::printf(
        "%%Warning: the golden ROMmon does not verify (%s): a power cut during this upgrade leaves no "
        "bootable ROMmon\n",
        golden_why);
  if (!confirm("Proceed with the ROMmon upgrade? [confirm]")) {
    fw::printf("ROMmon upgrade aborted; boot flash not changed\n");
    return;
  }
  fw::printf("Burning upgrade partition...\n");
  fw::flush();
  uint64_t base = trustsim::boot_flash::kPrimaryRommonOffset;
  for (uint64_t off = 0; off < total && !why; off += TS_NOR_SECTOR_BYTES) why = nor_erase_sector(n, base + off);
  for (uint64_t off = 0; off < total && !why; off += TS_NOR_PAGE_BYTES) {
    uint32_t len = uint32_t(total - off < TS_NOR_PAGE_BYTES ? total - off : TS_NOR_PAGE_BYTES);
    why = nor_program_page(n, base + off, file + off, len);
  }
  if (why) {
    fw::printf(
        "%%Error: ROMmon upgrade failed: %s; the primary ROMmon is damaged and Boot0 will start the golden "
        "one\n",
        why);
    return;
  }
  fw::printf("Checking upgrade partition...\n");
  uint8_t* back = reinterpret_cast<uint8_t*>(kReadback);
  if (fw::mbox_read(n.array + base, back, total).status != TS_MBOX_OK || memcmp(back, file, total) != 0) {
    fw::printf("FAILURE: Upgraded ROMMON image failed verification check.\n");
    return;
  }
  const char* flash_why = check_slot(n, base, back, g_rr);
  if (flash_why) {
    fw::printf("FAILURE: Upgraded ROMMON image failed verification check: %s\n", flash_why);
    return;
  }
  fw::printf("ROMMON upgrade complete.\nTo make the new ROMMON permanent, you must restart the RP.\n");
}

}  // namespace os
