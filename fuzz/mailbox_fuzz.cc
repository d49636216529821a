// libFuzzer target: the mailbox bridge's request decoding, with the board's
// real devices behind it. The SystemC model is elaborated once (first
// input); every input is then a sequence of up to 16 records of 128 bytes:
//   bytes 0..63    the raw ts_mbox_request the guest writes at the mailbox
//   bytes 64..127  data placed at its dma_addr first (when that lies in
//                  guest RAM outside the mailbox window), for writes
// Each record is serviced by MailboxService::service() in an SC_THREAD,
// driven with sc_start() in steps of at most 1 s of board time. A request a
// device keeps waiting on (a console read without a timeout, a long sleep)
// is ended the way the real board ends it: by a power cycle.
//
// Checked after each request, besides ASan/UBSan:
//  - the response echoes seq; its status is one of the ABI's;
//  - bad magic/op/flags/length gives BAD_REQUEST and a DMA range outside RAM
//    or touching the mailbox window gives DMA_ERROR, by a reference check
//    written here with 128-bit arithmetic;
//  - an address no device covers gives ADDRESS_ERROR;
//  - a failed request moved nothing (actual_len 0), a good one at most len;
//  - the mailbox window, except the response, is unchanged.
//
// The board is boards/default.yaml with smaller boot flash, NAND and RAM so
// that set-up stays fast; state files live in a temporary directory.
// Seeds: TRUSTSIM_MBOX_SEEDS=DIR ./fuzz-mailbox writes valid requests for
// every device's registers into DIR and exits.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/console.h"
#include "devices/crypto_engine.h"
#include "devices/nvram.h"
#include "devices/power_ctrl.h"
#include "devkit/trace.h"
#include "flash-sim/boot_flash.h"
#include "flash-sim/nand_flash.h"
#include "hw-models/board_config.h"
#include "hw-models/boardinfo_rom.h"
#include "hw-models/bus.h"
#include "hw-models/mailbox_service.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nand_regs.h"
#include "trustsim/nor_regs.h"

extern "C" int sc_main(int, char**) { return 0; }  // libsystemc refers to it; libFuzzer owns main

// At exit LeakSanitizer reports one 41-byte string allocated by libFuzzer's
// own driver (FuzzerDriver, before any input) once the SystemC kernel has
// switched stacks; it is not ours. Everything else is still leak-checked.
extern "C" const char* __lsan_default_suppressions() { return "leak:fuzzer::FuzzerDriver\n"; }

using namespace trustsim;

namespace {

constexpr uint64_t kRamSize = 16ull << 20;
constexpr size_t kRecord = 128;
constexpr size_t kMaxRecords = 16;

struct DevRange {
  uint64_t base, size;
};

BoardConfig small_board() {
  BoardConfig cfg = load_board_config(TRUSTSIM_SOURCE_DIR "/boards/default.yaml");
  cfg.ram_size = kRamSize;
  cfg.boot_flash.size = 1ull << 20;
  cfg.nand.block_count = 32;
  cfg.nand.factory_bad_blocks.clear();
  return cfg;
}

ts_boardinfo board_table(const BoardConfig& c) {
  ts_boardinfo b{};
  b.magic = TS_BOARDINFO_MAGIC;
  b.version = 1;
  b.platform_id = c.platform_id;
  b.ram_base = c.ram_base;
  b.ram_size = c.ram_size;
  auto add = [&](uint32_t type, uint64_t base, uint64_t size) {
    b.entries[b.count].type = type;
    b.entries[b.count].base = base;
    b.entries[b.count].size = size;
    ++b.count;
  };
  add(TS_DEV_CONSOLE, c.console.bus_base, TS_CONSOLE_SIZE);
  add(TS_DEV_POWER, c.power.bus_base, TS_POWER_SIZE);
  add(TS_DEV_BOOT_FLASH, c.boot_flash.bus_base, c.boot_flash.size);
  add(TS_DEV_NVRAM, c.nvram.bus_base, c.nvram.size);
  add(TS_DEV_CRYPTO, c.crypto.bus_base, TS_CRYPTO_SIZE);
  add(TS_DEV_BOOTFLASH_NAND, c.nand.bus_base,
      TS_NAND_BUS_SIZE(c.nand.page_size, c.nand.pages_per_block * c.nand.block_count));
  return b;
}

// A crashed run (a finding) cannot clean up: the next one removes state
// directories whose fuzzer process is gone.
void sweep_stale_state_dirs(const std::string& base) {
  DIR* d = opendir(base.c_str());
  const std::string prefix = "trustsim-fuzz-mbox-";
  while (dirent* e = d ? readdir(d) : nullptr) {
    std::string n = e->d_name;
    if (n.rfind(prefix, 0) != 0) continue;
    long pid = strtol(n.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && kill(pid_t(pid), 0) != 0 && errno == ESRCH) std::system(("rm -rf '" + base + "/" + n + "'").c_str());
  }
  if (d) closedir(d);
}

std::string make_state_dir(const BoardConfig& cfg) {
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  sweep_stale_state_dirs(base);
  std::string dir = std::string(base) + "/trustsim-fuzz-mbox-" + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(&dir[0])) abort();
  std::vector<uint8_t> flash(cfg.boot_flash.size, 0xFF), nv(cfg.nvram.size, 0);
  FILE* f = fopen((dir + "/boot-flash.bin").c_str(), "wb");
  fwrite(flash.data(), 1, flash.size(), f);
  fclose(f);
  f = fopen((dir + "/nvram.bin").c_str(), "wb");
  fwrite(nv.data(), 1, nv.size(), f);
  fclose(f);
  NandFlash::create_image(cfg.nand, dir + "/bootflash.nand");
  return dir;
}

std::string g_state_dir;
void remove_state_dir() {
  if (!g_state_dir.empty()) std::system(("rm -rf '" + g_state_dir + "'").c_str());
}

struct Rig : sc_core::sc_module {
  SC_HAS_PROCESS(Rig);
  BoardConfig cfg;
  std::string dir;
  PowerDomain power;
  DeviceTrace trace;
  ConsoleLog console_log;
  Bus bus{"bus"};
  BoardInfoRom info;
  ConsoleUart console;
  PowerController power_ctrl;
  BootFlash boot_flash;
  Nvram nvram;
  CryptoEngine crypto;
  NandFlash nand;
  MailboxService mbox;
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize, 0);
  std::vector<Device*> devices;
  std::vector<DevRange> ranges;
  sc_core::sc_event go;
  bool done = false;
  ts_mbox_response last{};

  Rig(sc_core::sc_module_name name, const BoardConfig& c, const std::string& d)
      : sc_module(name),
        cfg(c),
        dir(d),
        info("boardinfo", power, board_table(cfg)),
        console("console", power, console_log, cfg.console.baud),
        power_ctrl("power", power, cfg.rtc_base),
        boot_flash("rom_nor", power, cfg.boot_flash, dir + "/boot-flash.bin", trace),
        nvram("nvram", power, cfg.nvram, dir + "/nvram.bin", trace),
        crypto("crypto", power, cfg.crypto),
        nand("bootflash_nand", power, cfg.nand, dir + "/bootflash.nand", trace),
        mbox("mailbox", bus, trace, cfg.ram_base, cfg.ram_size, mailbox_base()) {
    bus.map(info, 0);
    bus.map(console, cfg.console.bus_base);
    bus.map(power_ctrl, cfg.power.bus_base);
    bus.map(boot_flash, cfg.boot_flash.bus_base);
    bus.map(nvram, cfg.nvram.bus_base);
    bus.map(crypto, cfg.crypto.bus_base);
    bus.map(nand, cfg.nand.bus_base);
    mbox.socket.bind(bus.target);
    mbox.attach_ram(ram.data());
    devices = {&console, &power_ctrl, &boot_flash, &nvram, &crypto, &nand};
    ranges = {
        {0, 0x1000},
        {cfg.console.bus_base, TS_CONSOLE_SIZE},
        {cfg.power.bus_base, TS_POWER_SIZE},
        {cfg.boot_flash.bus_base, cfg.boot_flash.size + TS_NOR_CONTROL_SIZE},
        {cfg.nvram.bus_base, cfg.nvram.size},
        {cfg.crypto.bus_base, TS_CRYPTO_SIZE},
        {cfg.nand.bus_base, TS_NAND_BUS_SIZE(cfg.nand.page_size, cfg.nand.pages_per_block * cfg.nand.block_count)}};
    SC_THREAD(driver);
  }
  uint64_t mailbox_base() const { return cfg.ram_base + kRamSize - TS_MBOX_WINDOW_SIZE; }
  uint8_t* mailbox() { return ram.data() + (kRamSize - TS_MBOX_WINDOW_SIZE); }

  void driver() {
    switch_on();
    for (;;) {
      wait(go);
      last = mbox.service();
      done = true;
    }
  }
  void switch_on() {
    power.switch_on(TS_RESET_POWER_ON);
    for (Device* d : devices) d->powered_on();
  }

  // Services the request now in the mailbox; false if it never completed.
  bool service() {
    done = false;
    go.notify(sc_core::SC_ZERO_TIME);
    for (int step = 0; step < 4 && !done; ++step)
      sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_SEC), sc_core::SC_EXIT_ON_STARVATION);
    if (!done) {
      // Still waiting (console input that never comes, a long sleep):
      // remove power, as the board does, and let the transaction end.
      power.switch_off();
      for (int step = 0; step < 4 && !done; ++step)
        sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_SEC), sc_core::SC_EXIT_ON_STARVATION);
      for (Device* d : devices) d->power_lost();
      switch_on();
      sc_core::sc_start(sc_core::SC_ZERO_TIME);
    } else if (power.pending() != PowerDomain::Request::kNone) {
      // The guest asked for reset/off: the bridge would power-cycle.
      power.clear_request();
      power.switch_off();
      sc_core::sc_start(sc_core::SC_ZERO_TIME);
      for (Device* d : devices) d->power_lost();
      switch_on();
      sc_core::sc_start(sc_core::SC_ZERO_TIME);
    }
    return done;
  }

  bool mapped(uint64_t addr) const {
    for (const DevRange& r : ranges)
      if (addr >= r.base && addr - r.base < r.size) return true;
    return false;
  }
};

Rig* g_rig = nullptr;

void fail(const char* what, const ts_mbox_request& q, const ts_mbox_response& r) {
  fprintf(stderr,
          "mailbox invariant broken: %s\n  request: magic 0x%x seq %u op %u flags 0x%x bus 0x%llx len %llu dma 0x%llx\n"
          "  response: seq %u status %u actual %llu\n",
          what, q.magic, q.seq, q.op, q.flags, (unsigned long long)q.bus_addr, (unsigned long long)q.len,
          (unsigned long long)q.dma_addr, r.seq, r.status, (unsigned long long)r.actual_len);
  abort();
}

void write_seeds(const char* dir) {
  const BoardConfig& c = g_rig->cfg;
  uint64_t buf = c.ram_base + 0x1000;
  struct Seed {
    const char* name;
    uint32_t op;
    uint64_t addr, len;
  } seeds[] = {
      {"boardinfo", TS_MBOX_OP_READ, 0, sizeof(ts_boardinfo)},
      {"console-tx", TS_MBOX_OP_WRITE, c.console.bus_base + TS_CONSOLE_TX, 16},
      {"console-rx-timeout", TS_MBOX_OP_WRITE, c.console.bus_base + TS_CONSOLE_RX_TIMEOUT, 8},
      {"console-avail", TS_MBOX_OP_READ, c.console.bus_base + TS_CONSOLE_RX_AVAIL, 8},
      {"power-uptime", TS_MBOX_OP_READ, c.power.bus_base + TS_POWER_UPTIME_NS, 8},
      {"power-sleep", TS_MBOX_OP_WRITE, c.power.bus_base + TS_POWER_SLEEP_NS, 8},
      {"power-rtc", TS_MBOX_OP_READ, c.power.bus_base + TS_POWER_RTC_SECONDS, 8},
      {"nvram-read", TS_MBOX_OP_READ, c.nvram.bus_base + 0x100, 64},
      {"nvram-write", TS_MBOX_OP_WRITE, c.nvram.bus_base + 0x100, 40},
      {"boot-flash-read", TS_MBOX_OP_READ, c.boot_flash.bus_base + 0x2000, 64},
      {"boot-flash-control", TS_MBOX_OP_READ, c.boot_flash.bus_base + c.boot_flash.size, 8},
      {"crypto-regs", TS_MBOX_OP_READ, c.crypto.bus_base, 8},
      {"nand-regs", TS_MBOX_OP_READ, c.nand.bus_base, 8},
      {"nand-buffer", TS_MBOX_OP_READ, c.nand.bus_base + TS_NAND_BUFFER, 64},
      {"nand-ready-status", TS_MBOX_OP_READ, c.nand.bus_base + TS_NAND_READY_STATUS, 4},
      {"nand-array", TS_MBOX_OP_READ, c.nand.bus_base + TS_NAND_ARRAY + 64ull * c.nand.page_size,
       2ull * c.nand.page_size},
  };
  for (const Seed& s : seeds) {
    uint8_t rec[kRecord] = {};
    ts_mbox_request q{};
    q.magic = TS_MBOX_MAGIC;
    q.seq = 1;
    q.op = s.op;
    q.bus_addr = s.addr;
    q.len = s.len;
    q.dma_addr = buf;
    memcpy(rec, &q, sizeof q);
    for (size_t i = 64; i < kRecord; ++i) rec[i] = uint8_t(i);
    if (!strcmp(s.name, "power-sleep")) memset(rec + 64, 0, 8), rec[65] = 0x10;  // 4096 ns
    if (!strcmp(s.name, "console-rx-timeout")) memset(rec + 64, 0, 8), rec[66] = 0x10;
    std::string path = std::string(dir) + "/" + s.name;
    FILE* f = fopen(path.c_str(), "wb");
    if (!f) {
      perror(path.c_str());
      exit(1);
    }
    fwrite(rec, 1, sizeof rec, f);
    fclose(f);
  }
}

void init() {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  // sc_start() after the request already completed has nothing to do: expected.
  sc_core::sc_report_handler::set_actions(sc_core::SC_ID_NO_SC_START_ACTIVITY_, sc_core::SC_DO_NOTHING);
  BoardConfig cfg = small_board();
  g_state_dir = make_state_dir(cfg);
  atexit(remove_state_dir);
  g_rig = new Rig("rig", cfg, g_state_dir);
  sc_core::sc_start(sc_core::SC_ZERO_TIME);  // elaboration; the driver switches power on
  if (const char* seeds = getenv("TRUSTSIM_MBOX_SEEDS")) {
    write_seeds(seeds);
    exit(0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Rig& rig = *g_rig;
  const uint64_t ram_base = rig.cfg.ram_base, mb = rig.mailbox_base();
  const unsigned __int128 ram_end = (unsigned __int128)ram_base + kRamSize,
                          mb_end = (unsigned __int128)mb + TS_MBOX_WINDOW_SIZE;
  std::vector<uint8_t> window_before(TS_MBOX_WINDOW_SIZE);
  for (size_t rec = 0; rec < kMaxRecords && rec * kRecord < size; ++rec) {
    const uint8_t* r = data + rec * kRecord;
    size_t n = size - rec * kRecord < kRecord ? size - rec * kRecord : kRecord;
    uint8_t* mbox = rig.mailbox();
    memset(mbox, 0, sizeof(ts_mbox_request));
    memcpy(mbox, r, n < sizeof(ts_mbox_request) ? n : sizeof(ts_mbox_request));
    ts_mbox_request q;
    memcpy(&q, mbox, sizeof q);
    // Data for a write, where the request says it is (if that is legal RAM).
    if (n > 64 && q.dma_addr >= ram_base && (unsigned __int128)q.dma_addr + (n - 64) <= ram_end &&
        ((unsigned __int128)q.dma_addr + (n - 64) <= mb || q.dma_addr >= mb_end))
      memcpy(rig.ram.data() + (q.dma_addr - ram_base), r + 64, n - 64);
    memcpy(window_before.data(), mbox, window_before.size());

    rig.service();
    const ts_mbox_response& rsp = rig.last;
    if (!rig.done) fail("the request never completed, even after a power cycle", q, rsp);

    ts_mbox_response seen;
    memcpy(&seen, mbox + TS_MBOX_RESPONSE_OFFSET, sizeof seen);
    if (memcmp(&seen, &rsp, sizeof seen) != 0) fail("the response in guest RAM is not the one returned", q, rsp);
    if (rsp.seq != q.seq) fail("response seq does not echo the request", q, rsp);
    if (rsp.status > TS_MBOX_DEVICE_ERROR) fail("unknown status", q, rsp);

    bool bad = q.magic != TS_MBOX_MAGIC || (q.op != TS_MBOX_OP_READ && q.op != TS_MBOX_OP_WRITE) || q.flags != 0 ||
               q.len == 0 || q.len > TS_MBOX_MAX_LEN;
    unsigned __int128 end = (unsigned __int128)q.dma_addr + q.len;
    bool dma_bad = q.dma_addr < ram_base || end > ram_end || !(end <= mb || q.dma_addr >= mb_end);
    if (bad != (rsp.status == TS_MBOX_BAD_REQUEST)) fail("BAD_REQUEST does not match the reference check", q, rsp);
    if (!bad && dma_bad != (rsp.status == TS_MBOX_DMA_ERROR))
      fail("DMA_ERROR does not match the reference check", q, rsp);
    if (!bad && !dma_bad && !rig.mapped(q.bus_addr) && rsp.status != TS_MBOX_ADDRESS_ERROR)
      fail("an unmapped bus address did not give ADDRESS_ERROR", q, rsp);
    if (rsp.status != TS_MBOX_OK && rsp.actual_len != 0) fail("a failed request reports bytes moved", q, rsp);
    if (rsp.status == TS_MBOX_OK && rsp.actual_len > q.len) fail("more bytes moved than requested", q, rsp);
    if (rsp.t_done_ns < rsp.t_start_ns) fail("completion before start", q, rsp);
    memcpy(window_before.data() + TS_MBOX_RESPONSE_OFFSET, mbox + TS_MBOX_RESPONSE_OFFSET, sizeof(ts_mbox_response));
    if (memcmp(window_before.data(), mbox, window_before.size()) != 0)
      fail("the mailbox window changed outside the response", q, rsp);
  }
  return 0;
}
