// Boot0: the immutable first stage in the boot ROM. It finds the board,
// reads the ROMmon image header from the boot SPI flash, loads the payload by
// DMA straight to its load address and jumps to it. This stage checks
// integrity (header and payload CRC); signature verification comes with the
// verified boot chain (docs/firmware.md).
#include "fwlib/fw.h"
#include "trustsim/image.h"

namespace {

constexpr uint64_t kPl011 = 0x09000000;  // QEMU virt UART: early debug only
constexpr uint64_t kRommonWindowStart = 0x40200000;
constexpr uint64_t kRommonWindowEnd = 0x40400000;
constexpr const char* kBoot0Version = "1.0(1)";

void debug_print(const char* s) {
  auto* dr = reinterpret_cast<volatile uint32_t*>(kPl011);
  while (*s) *dr = uint32_t(*s++);
}

[[noreturn]] void halt(const char* why) {
  fw::printf("Boot0: %s\nBoot0: no bootable ROMmon; halted.\n", why);
  fw::flush();
  for (;;) fw::sleep_ns(1000000000ull);
}

uint8_t g_header[trustsim::image::kHeaderSize];

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

  fw::Xfer x = fw::mbox_read(flash, g_header, sizeof g_header);
  if (x.status != TS_MBOX_OK) halt(fw::mbox_status_text(x.status));
  trustsim::image::Header h;
  trustsim::image::Error err = trustsim::image::parse_header(g_header, sizeof g_header, h);
  if (err != trustsim::image::Error::kOk) halt(trustsim::image::error_text(err));
  if (h.image_type != uint32_t(trustsim::image::Type::kRommon)) halt("boot flash image is not a ROMmon image");
  if (h.load_addr < kRommonWindowStart || h.load_addr >= kRommonWindowEnd ||
      h.payload_len > kRommonWindowEnd - h.load_addr)
    halt("ROMmon load address or size outside the ROMmon window");

  auto* dest = reinterpret_cast<uint8_t*>(h.load_addr);
  x = fw::mbox_read(flash + trustsim::image::kHeaderSize, dest, h.payload_len);
  if (x.status != TS_MBOX_OK) halt(fw::mbox_status_text(x.status));
  err = trustsim::image::check_payload(h, dest, x.actual);
  if (err != trustsim::image::Error::kOk) halt(trustsim::image::error_text(err));
  fw::printf("Boot0: ROMmon %s loaded (%lu bytes), starting\n", h.version, h.payload_len);
  fw::flush();
  fw_jump(h.entry);
}
