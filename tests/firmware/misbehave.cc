// A deliberately badly behaved guest, for the system tests of how a run
// ends when the guest goes wrong (tests/system/test_guest_faults.cc). It is
// signed as an OS image by the test's scenario (`image-sign` with
// `payload:`), so the real Boot0 and ROMmon verify and start it. It prints
// `misbehave> `, reads one word from the console and then does that:
//
//   spin        loops forever without a device request: the board's
//               virtual time keeps moving, nothing else happens
//   halt        masks interrupts and waits for one (wfi): QEMU stops
//               executing, the plugin sends nothing, only the wall-time
//               watchdog can notice
//   flood       writes console bytes without a newline, forever
//   flood-lines writes numbered console lines, forever
//   badreq      sends malformed mailbox requests and DMA outside guest RAM
//               or into the mailbox window; prints each status, then
//               `badreq done`
//   wild-write  stores to a guest-physical address outside RAM
//   rom-write   stores into the read-only boot ROM
//   psci-off    asks QEMU to power off through PSCI (QEMU exits by itself)
//   exit        powers the board off
//   ram-peek    prints the RAM word at a fixed address no firmware uses,
//               then stores a marker there: a later boot must print 0 again
//               (RAM is cleared at every power-on, QEMU reused or not)
//   code-run    writes `mov w0, #42; ret` with CPU stores to a fixed page
//               no firmware uses, runs it and prints what it returned
//   code-rerun  runs that page again without writing it: after a power
//               cycle it holds zeros, so this must end in a CPU exception;
//               a translation of the old code kept across the power cycle
//               would return 42 instead
//   code-dma N  puts `mov w0, #N; ret` (N < 4096) into the code page by DMA
//               (written to the unassigned end of NVRAM, read back into the
//               page: stores QEMU does not see), runs it and prints what it
//               returned; a stale translation of the page's earlier code
//               would return that code's value
#include "fwlib/fw.h"

namespace {

volatile ts_mbox_request* const g_req = reinterpret_cast<volatile ts_mbox_request*>(kMailboxBase);
volatile ts_mbox_response* const g_rsp =
    reinterpret_cast<volatile ts_mbox_response*>(kMailboxBase + TS_MBOX_RESPONSE_OFFSET);
uint32_t g_seq = 0x1000;
uint8_t g_buf[64];

// One raw request with every field chosen by the caller; returns the status,
// or 99 if the board did not answer this request.
uint32_t raw(uint32_t magic, uint32_t op, uint32_t flags, uint64_t bus_addr, uint64_t len, uint64_t dma) {
  ++g_seq;
  g_req->magic = magic;
  g_req->seq = g_seq;
  g_req->op = op;
  g_req->flags = flags;
  g_req->bus_addr = bus_addr;
  g_req->len = len;
  g_req->dma_addr = dma;
  asm volatile("dmb sy\n\thint #0x2a\n\tdmb sy" ::: "memory");
  if (g_rsp->seq != g_seq) return 99;
  return g_rsp->status;
}

uint64_t dev_size(uint32_t type) {
  const ts_boardinfo& b = fw::board_info();
  for (uint32_t i = 0; i < b.count && i < TS_BOARDINFO_MAX_ENTRIES; ++i)
    if (b.entries[i].type == type) return b.entries[i].size;
  return 0;
}

void report(const char* what, uint32_t status) {
  fw::printf("badreq %s: status %u (%s)\n", what, status, fw::mbox_status_text(status));
}

void bad_requests() {
  const ts_boardinfo& b = fw::board_info();
  uint64_t buf = reinterpret_cast<uint64_t>(g_buf);
  uint64_t nvram = fw::dev_base(TS_DEV_NVRAM);
  uint64_t ram_end = b.ram_base + b.ram_size;
  report("bad-magic", raw(0xdeadbeef, TS_MBOX_OP_READ, 0, 0, 8, buf));
  report("unknown-op", raw(TS_MBOX_MAGIC, 7, 0, 0, 8, buf));
  report("flags-set", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 1, 0, 8, buf));
  report("zero-length", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, 0, buf));
  report("too-long", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, uint64_t(TS_MBOX_MAX_LEN) + 1, buf));
  report("dma-below-ram", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, 8, 0x1000));
  report("dma-past-ram", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, 16, ram_end - 8));
  report("dma-wraps", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, 16, ~uint64_t(0) - 4));
  report("dma-into-mailbox", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, 8, kMailboxBase + 0x100));
  report("dma-overlaps-mailbox", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0, 64, kMailboxBase - 32));
  report("unmapped-bus-address", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, 0x7fff000000ull, 8, buf));
  report("past-device-end", raw(TS_MBOX_MAGIC, TS_MBOX_OP_WRITE, 0, nvram + dev_size(TS_DEV_NVRAM) - 32, 64, buf));
  report("console-bad-register", raw(TS_MBOX_MAGIC, TS_MBOX_OP_WRITE, 0, fw::dev_base(TS_DEV_CONSOLE) + 0x300, 8, buf));
  // The board must still answer a good request after all that.
  report("good", raw(TS_MBOX_MAGIC, TS_MBOX_OP_READ, 0, fw::dev_base(TS_DEV_POWER) + TS_POWER_UPTIME_NS, 8, buf));
  fw::printf("badreq done\n");
}

// Fixed addresses near the top of RAM, far above every stage's image,
// stack and buffers.
uint64_t peek_addr() { return fw::board_info().ram_base + fw::board_info().ram_size - 0x200000; }
uint64_t code_page() { return fw::board_info().ram_base + fw::board_info().ram_size - 0x400000; }

int run_code_page() {
  asm volatile("dsb sy\n\tic iallu\n\tdsb sy\n\tisb" ::: "memory");
  auto fn = reinterpret_cast<int (*)()>(code_page());
  return fn();
}

}  // namespace

int fw_main() {
  if (!fw::board_init()) {
    for (;;) asm volatile("wfi");
  }
  fw::printf("misbehave: test guest running\n");
  char line[32];
  for (;;) {
    fw::printf("misbehave> ");
    fw::flush();
    size_t n = fw::readline(line, sizeof line);
    line[n < sizeof line ? n : sizeof line - 1] = '\0';
    if (!fw::strcmp(line, "spin")) {
      for (;;) asm volatile("" ::: "memory");
    } else if (!fw::strcmp(line, "halt")) {
      asm volatile("msr daifset, #0xf");
      for (;;) asm volatile("wfi");
    } else if (!fw::strcmp(line, "flood")) {
      char chunk[200];
      memset(chunk, 'F', sizeof chunk);
      for (;;) fw::mbox_write(fw::dev_base(TS_DEV_CONSOLE) + TS_CONSOLE_TX, chunk, sizeof chunk);
    } else if (!fw::strcmp(line, "flood-lines")) {
      for (uint64_t i = 0;; ++i) fw::printf("flood line %llu\n", (unsigned long long)i);
    } else if (!fw::strcmp(line, "badreq")) {
      bad_requests();
    } else if (!fw::strcmp(line, "wild-write")) {
      fw::printf("writing to 0x%llx\n",
                 (unsigned long long)(fw::board_info().ram_base + fw::board_info().ram_size + 0x10000000));
      fw::flush();
      *reinterpret_cast<volatile uint64_t*>(fw::board_info().ram_base + fw::board_info().ram_size + 0x10000000) = 1;
      fw::printf("wild-write returned\n");
    } else if (!fw::strcmp(line, "rom-write")) {
      fw::printf("writing to the boot ROM\n");
      fw::flush();
      volatile uint64_t rom = 0x100;  // volatile: the compiler may not reason about address 0x100
      *reinterpret_cast<volatile uint64_t*>(uint64_t(rom)) = 0x4242424242424242ull;
      fw::printf("rom-write returned\n");
    } else if (!fw::strcmp(line, "psci-off")) {
      // PSCI SYSTEM_OFF through QEMU's firmware interface: QEMU itself exits.
      fw::printf("calling PSCI SYSTEM_OFF\n");
      fw::flush();
      register uint64_t x0 asm("x0") = 0x84000008;
      asm volatile("hvc #0" : "+r"(x0)::"memory");
      fw::printf("psci-off returned %lld\n", (long long)x0);
    } else if (!fw::strcmp(line, "ram-peek")) {
      volatile uint64_t* w = reinterpret_cast<volatile uint64_t*>(peek_addr());
      fw::printf("ram word 0x%llx\n", (unsigned long long)*w);
      *w = 0x5245555345444d45ull;
    } else if (!fw::strcmp(line, "code-run")) {
      volatile uint32_t* code = reinterpret_cast<volatile uint32_t*>(code_page());
      code[0] = 0x52800540;  // mov w0, #42
      code[1] = 0xd65f03c0;  // ret
      fw::printf("code returned %d\n", run_code_page());
    } else if (!fw::strcmp(line, "code-rerun")) {
      fw::printf("running the code page again\n");
      fw::flush();
      fw::printf("code returned %d\n", run_code_page());
    } else if (!fw::strncmp(line, "code-dma ", 9)) {
      uint64_t n = 0;
      if (!fw::parse_u64(line + 9, &n) || n >= 4096) {
        fw::printf("code-dma: N must be below 4096\n");
        continue;
      }
      uint32_t code[2] = {0x52800000u | uint32_t(n << 5), 0xd65f03c0u};  // mov w0, #N; ret
      uint64_t at = fw::dev_base(TS_DEV_NVRAM) + dev_size(TS_DEV_NVRAM) - 0x100;
      if (fw::mbox_write(at, code, sizeof code).status != TS_MBOX_OK ||
          fw::mbox_read(at, reinterpret_cast<void*>(code_page()), sizeof code).status != TS_MBOX_OK) {
        fw::printf("code-dma: the NVRAM transfer failed\n");
        continue;
      }
      fw::printf("code returned %d\n", run_code_page());
    } else if (!fw::strcmp(line, "exit")) {
      fw::flush();
      fw::power_off();
    } else {
      fw::printf("unknown: %s\n", line);
    }
  }
}
