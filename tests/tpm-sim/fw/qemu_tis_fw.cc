// Test firmware for stock QEMU with `-tpmdev emulator` + `tpm-tis-device`
// backed by `trustsim tpm serve`: no trustsim board, no mailbox. It drives
// QEMU's own TIS registers (virt platform bus, 0x0C000000) byte by byte,
// sends Startup(CLEAR), PCR_Extend(PCR0, bytes 00..1F) and
// PCR_Read(PCR0), and prints the result on the PL011 UART.
#include "fwlib/fw.h"
#include "trustsim/tpm2.h"

namespace {
namespace tpm2 = trustsim::tpm2;

constexpr uint64_t kUart = 0x09000000;
constexpr uint64_t kTis = 0x0C000000;  // first dynamic sysbus device on virt

volatile uint8_t* reg8(uint64_t off) { return reinterpret_cast<volatile uint8_t*>(kTis + off); }
volatile uint32_t* reg32(uint64_t off) { return reinterpret_cast<volatile uint32_t*>(kTis + off); }

void out(const char* s) {
  auto* dr = reinterpret_cast<volatile uint32_t*>(kUart);
  while (*s) *dr = uint32_t(*s++);
}

uint8_t g_cmd[1024];
uint8_t g_resp[1024];

// One command over TIS; returns the response length, 0 on a protocol error.
size_t transact(size_t len) {
  *reg32(0x18) = 0x40;  // commandReady
  for (int i = 0; i < 100000 && !(*reg32(0x18) & 0x40); ++i) {
  }
  for (size_t i = 0; i < len; ++i) *reg8(0x24) = g_cmd[i];
  *reg32(0x18) = 0x20;  // tpmGo
  int spins = 0;
  while ((*reg32(0x18) & 0x90) != 0x90)
    if (++spins > 50000000) return 0;
  size_t got = 0, want = 10;
  while (got < want && got < sizeof g_resp) {
    g_resp[got++] = *reg8(0x24);
    if (got == 10) {
      tpm2::Header h;
      if (!tpm2::parse_header(g_resp, 10, &h) || h.size > sizeof g_resp) return 0;
      want = h.size;
    }
  }
  *reg32(0x18) = 0x40;
  return got;
}

uint32_t rc(size_t n) {
  tpm2::Header h;
  return n && tpm2::parse_header(g_resp, n, &h) ? h.code : 0xFFFFFFFFu;
}

}  // namespace

int fw_main() {
  char line[160];
  out("qemu-tis: start\n");
  *reg8(0x00) = 0x02;  // ACCESS.requestUse, locality 0
  if (!(*reg8(0x00) & 0x20)) {
    out("qemu-tis: locality 0 not granted\n");
    return 0;
  }
  fw::snprintf(line, sizeof line, "qemu-tis: DID_VID %08x\n", *reg32(0xF00));
  out(line);
  size_t n = transact(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear));
  fw::snprintf(line, sizeof line, "qemu-tis: Startup rc 0x%x\n", rc(n));
  out(line);
  uint8_t kDigest[32];
  for (int i = 0; i < 32; ++i) kDigest[i] = uint8_t(i);  // the test expects SHA-256(0^32 || 00 01 .. 1F)
  n = transact(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, kDigest));
  fw::snprintf(line, sizeof line, "qemu-tis: PCR_Extend rc 0x%x\n", rc(n));
  out(line);
  n = transact(tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, tpm2::pcr_bit(0)));
  tpm2::Response r;
  tpm2::PcrValues v;
  if (!n || !tpm2::parse_response(g_resp, n, 0, &r) || r.rc || !tpm2::parse_pcr_read(r, &v)) {
    out("qemu-tis: PCR_Read failed\n");
    return 0;
  }
  out("qemu-tis: PCR0 ");
  for (int i = 0; i < 32; ++i) {
    fw::snprintf(line, sizeof line, "%02X", v.digest[0][i]);
    out(line);
  }
  out("\nqemu-tis: done\n");
  return 0;
}
