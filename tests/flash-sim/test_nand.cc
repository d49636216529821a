// NAND flash model (W25N01GV-style SPI-NAND): register protocol, datasheet
// timing in virtual time, NAND program/erase rules, on-die ECC, bad blocks,
// wear, faults, persistence. Each TEST elaborates its own model, so meson
// runs each case as its own process.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>

#include "../support/test_util.h"
#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "flash-sim/nand_flash.h"
#include "tlm_utils/simple_initiator_socket.h"
#include "trustsim/bytes.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nand_regs.h"

using namespace trustsim;
using sc_core::sc_time;
using sc_core::SC_US;

namespace {

constexpr uint64_t kClockHz = 50000000;  // 20 ns per SPI clock
constexpr uint64_t kTr = 25000;          // ns
constexpr uint64_t kTprog = 250000;
constexpr uint64_t kTbers = 2000000;
constexpr uint32_t kFactoryBad = 5;

NandConfig figures(uint32_t blocks = 16) {
  NandConfig c;
  c.present = true;
  c.part = "W25N01GV";
  c.page_size = 2048;
  c.spare_size = 64;
  c.pages_per_block = 64;
  c.block_count = blocks;
  c.t_read_ps = kTr * 1000;
  c.t_prog_ps = kTprog * 1000;
  c.t_erase_ps = kTbers * 1000;
  c.bus_clock_hz = kClockHz;
  c.refuse_unerased_program = true;
  c.factory_bad_blocks = {kFactoryBad};
  return c;
}

constexpr uint32_t kRaw = 2048 + 64;
uint64_t clocks_ns(uint64_t n) { return n * 1000000000ull / kClockHz; }

struct Rig : sc_core::sc_module {
  SC_HAS_PROCESS(Rig);
  test::TempDir dir;
  PowerDomain power;
  DeviceTrace trace;
  NandConfig cfg;
  std::string path, trace_path;
  std::unique_ptr<NandFlash> nand;
  tlm_utils::simple_initiator_socket<Rig> socket{"socket"};
  std::function<void(Rig&)> body;
  bool finished = false;  // the body ran to its end (not stuck on an event that never came)

  Rig(sc_core::sc_module_name name, NandConfig c, std::function<void(Rig&)> b, std::string image = "")
      : sc_module(name), cfg(std::move(c)), body(std::move(b)) {
    trace_path = dir.file("trace.jsonl");
    trace.open(trace_path);
    path = image;
    if (path.empty()) {
      path = dir.file("bootflash.nand");
      NandFlash::create_image(cfg, path);
    }
    nand = std::make_unique<NandFlash>("bootflash", power, cfg, path, trace);
    socket.bind(nand->socket);
    SC_THREAD(run);
  }
  void run() {
    power.switch_on(TS_RESET_POWER_ON);
    body(*this);
    finished = true;
  }

  tlm::tlm_response_status access(bool write, uint64_t addr, void* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<uint8_t*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    sc_time d = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, d);
    wait(d);
    return gp.get_response_status();
  }
  uint32_t reg(uint32_t off) {
    uint8_t b[4] = {};
    EXPECT_EQ(access(false, off, b, 4), tlm::TLM_OK_RESPONSE) << "register " << off;
    return load_le32(b);
  }
  tlm::tlm_response_status set(uint32_t off, uint32_t v) {
    uint8_t b[4];
    store_le32(b, v);
    return access(true, off, b, 4);
  }
  uint32_t status() { return reg(TS_NAND_STATUS); }
  // Polls like the firmware: STATUS, then idle 10 us.
  uint32_t wait_ready() {
    for (;;) {
      uint32_t s = status();
      if (!(s & TS_NAND_STATUS_BUSY)) return s;
      wait(sc_time(10, SC_US));
    }
  }
  // Buffer, ROW, PROGRAM_PAGE: the program is running when this returns.
  void start_program(uint32_t page, const std::vector<uint8_t>& raw) {
    EXPECT_EQ(access(true, TS_NAND_BUFFER, const_cast<uint8_t*>(raw.data()), kRaw), tlm::TLM_OK_RESPONSE);
    set(TS_NAND_ROW, page);
    EXPECT_EQ(set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE), tlm::TLM_OK_RESPONSE);
  }
  uint32_t program(uint32_t page, const std::vector<uint8_t>& raw) {
    start_program(page, raw);
    return wait_ready();
  }
  uint32_t read(uint32_t page, std::vector<uint8_t>& out) {
    set(TS_NAND_ROW, page);
    EXPECT_EQ(set(TS_NAND_COMMAND, TS_NAND_CMD_READ_PAGE), tlm::TLM_OK_RESPONSE);
    uint32_t s = wait_ready();
    out.assign(kRaw, 0);
    EXPECT_EQ(access(false, TS_NAND_BUFFER, out.data(), kRaw), tlm::TLM_OK_RESPONSE);
    return s;
  }
  uint32_t erase(uint32_t block) {
    set(TS_NAND_ROW, block * cfg.pages_per_block);
    EXPECT_EQ(set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK), tlm::TLM_OK_RESPONSE);
    return wait_ready();
  }
  std::vector<uint8_t> raw(uint32_t page) {
    std::vector<uint8_t> r(kRaw);
    nand->read_raw(page, r.data());
    return r;
  }
  // Brings the board back after a fault cut the power, as the bridge does.
  void power_cycle() {
    nand->power_lost();
    power.switch_on(TS_RESET_POWER_ON);
    nand->powered_on();
  }
  std::string trace_text() {
    fflush(nullptr);
    return test::read_text(trace_path);
  }
};

void simulate(NandConfig cfg, std::function<void(Rig&)> body) {
  Rig rig("rig", std::move(cfg), std::move(body));
  sc_core::sc_start();
  EXPECT_TRUE(rig.finished) << "the simulation ran out of events before the test body ended";
}

// Runs `body` on an existing image in a child process, which has its own
// SystemC elaboration; the parent must not have elaborated anything yet.
// Returns 0 if the body ran to its end without a failed expectation.
int run_in_child(const NandConfig& cfg, const std::string& image, std::function<void(Rig&)> body) {
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) return 127;
  if (child == 0) {
    bool ok = false;
    {
      Rig rig("rig", cfg, std::move(body), image);
      sc_core::sc_start();
      ok = rig.finished && !::testing::Test::HasFailure();
    }
    fflush(nullptr);
    _exit(ok ? 0 : 1);
  }
  int st = 0;
  if (waitpid(child, &st, 0) != child) return 127;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

uint32_t ecc_of(uint32_t status) { return (status & TS_NAND_STATUS_ECC_MASK) >> TS_NAND_STATUS_ECC_SHIFT; }

// Random main area, spare user bytes 0xFF: what the device stores after
// adding its ECC is expected_stored().
std::vector<uint8_t> pattern(uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> p(kRaw, 0xFF);
  for (uint32_t i = 0; i < 2048; ++i) p[i] = uint8_t(gen());
  return p;
}
std::vector<uint8_t> expected_stored(const NandConfig& cfg, std::vector<uint8_t> p) {
  NandFlash::fill_ecc(cfg, p.data());
  return p;
}
std::vector<uint8_t> main_area(const std::vector<uint8_t>& raw) { return {raw.begin(), raw.begin() + 2048}; }
bool all_ff(const std::vector<uint8_t>& v) {
  for (uint8_t b : v)
    if (b != 0xFF) return false;
  return true;
}
size_t popcount(const std::vector<uint8_t>& v) {
  size_t n = 0;
  for (uint8_t b : v) n += size_t(__builtin_popcount(b));
  return n;
}

}  // namespace

TEST(NandFlash, GeometryRegistersDescribeThePart) {
  simulate(figures(), [](Rig& r) {
    EXPECT_EQ(r.reg(TS_NAND_PAGE_SIZE), 2048u);
    EXPECT_EQ(r.reg(TS_NAND_SPARE_SIZE), 64u);
    EXPECT_EQ(r.reg(TS_NAND_PAGES_PER_BLOCK), 64u);
    EXPECT_EQ(r.reg(TS_NAND_BLOCK_COUNT), 16u);
    EXPECT_EQ(r.reg(TS_NAND_ECC_SECTOR_SIZE), 512u);
    EXPECT_EQ(r.reg(TS_NAND_CONFIG), TS_NAND_CONFIG_ECC_EN);
    EXPECT_EQ(r.nand->size(), TS_NAND_ARRAY + 16ull * 64 * 2048) << "the bus range ends with the array window";
  });
}

TEST(NandFlash, ReadIdLatchesTheJedecId) {
  simulate(figures(), [](Rig& r) {
    EXPECT_EQ(r.reg(TS_NAND_ID), 0u);
    uint64_t t0 = now_ns();
    ASSERT_EQ(r.set(TS_NAND_COMMAND, TS_NAND_CMD_READ_ID), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(now_ns() - t0, clocks_ns(40));
    EXPECT_EQ(r.reg(TS_NAND_ID), TS_NAND_JEDEC_ID);
  });
}

TEST(NandFlash, ProgrammedPageReadsBackWithNoEccError) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(1);
    data[2048 + 2] = 0x42;  // a protected spare user byte
    EXPECT_EQ(r.program(3, data) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
    EXPECT_EQ(r.raw(3), expected_stored(r.cfg, data)) << "main, spare and the device's ECC bytes are stored";
    std::vector<uint8_t> back;
    uint32_t s = r.read(3, back);
    EXPECT_EQ(ecc_of(s), TS_NAND_ECC_NONE);
    EXPECT_EQ(main_area(back), main_area(data));
    EXPECT_EQ(back[2048 + 2], 0x42);
  });
}

TEST(NandFlash, ErasedPageReadsAllOnesWithNoEccError) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> back;
    uint32_t s = r.read(70, back);
    EXPECT_EQ(ecc_of(s), TS_NAND_ECC_NONE);
    EXPECT_TRUE(all_ff(back));
  });
}

TEST(NandFlash, ProgramOfAnUnerasedPageIsRefused) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> first = pattern(1), second = pattern(2);
    ASSERT_EQ(r.program(10, first) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
    EXPECT_NE(r.program(10, second) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
    EXPECT_EQ(r.raw(10), expected_stored(r.cfg, first)) << "a refused program leaves the page as it was";
    EXPECT_NE(r.trace_text().find("not erased since its last program (refused)"), std::string::npos);
  });
}

TEST(NandFlash, ProgramOfAnUnerasedPageAndsInWhenNotRefusing) {
  NandConfig nor_like = figures();
  nor_like.refuse_unerased_program = false;
  simulate(nor_like, [](Rig& r) {
    std::vector<uint8_t> first = pattern(1), second = pattern(2);
    ASSERT_EQ(r.program(10, first) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
    EXPECT_EQ(r.program(10, second) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
    std::vector<uint8_t> stored = r.raw(10);
    for (uint32_t i = 0; i < 2048; ++i) ASSERT_EQ(stored[i], uint8_t(first[i] & second[i])) << "byte " << i;
    EXPECT_NE(r.trace_text().find("not erased since its last program (data ANDed in)"), std::string::npos)
        << "still logged as a guest error";
  });
}

TEST(NandFlash, EraseSetsMainAndSpareOfTheWholeBlockToFF) {
  simulate(figures(), [](Rig& r) {
    for (uint32_t p = 64; p < 128; p += 21) r.program(p, pattern(p));
    uint32_t s = r.erase(1);
    EXPECT_EQ(s & TS_NAND_STATUS_ERASE_FAIL, 0u);
    for (uint32_t p = 64; p < 128; ++p) ASSERT_TRUE(all_ff(r.raw(p))) << "page " << p;
  });
}

TEST(NandFlash, EraseHoldsBusyForTbersPlusCommandClocks) {
  simulate(figures(), [](Rig& r) {
    // A second poller reads STATUS at exactly the completion instant from a
    // method process (SystemC runs those before threads, so before the
    // model's own timer thread): the erase must already be seen done.
    uint32_t status_at_end = 0xFFFFFFFFu;
    sc_core::sc_event at_end;
    sc_core::sc_spawn_options opts;
    opts.spawn_method();
    opts.dont_initialize();
    opts.set_sensitivity(&at_end);
    sc_core::sc_spawn(
        [&] {
          uint8_t b[4];
          tlm::tlm_generic_payload gp;
          gp.set_command(tlm::TLM_READ_COMMAND);
          gp.set_address(TS_NAND_STATUS);
          gp.set_data_ptr(b);
          gp.set_data_length(4);
          gp.set_streaming_width(4);
          sc_time d = sc_core::SC_ZERO_TIME;
          r.socket->b_transport(gp, d);
          if (gp.is_response_ok()) status_at_end = load_le32(b);
        },
        "status_at_end", &opts);
    at_end.notify(from_ns(clocks_ns(40) + kTbers));
    r.set(TS_NAND_ROW, 2 * 64);
    ASSERT_EQ(r.set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK), tlm::TLM_OK_RESPONSE);
    uint64_t cmd_ns = clocks_ns(40);  // 06h + D8h, dummy, 16-bit row
    EXPECT_EQ(now_ns(), cmd_ns);
    sc_time end = from_ns(cmd_ns + kTbers);
    wait(end - sc_core::sc_time_stamp() - sc_time::from_value(1));
    EXPECT_TRUE(r.nand->busy()) << "1 ps before tBERS ends";
    wait(sc_time::from_value(1));
    EXPECT_EQ(r.status() & TS_NAND_STATUS_BUSY, 0u) << "a STATUS read at exactly tBERS sees the erase done";
    EXPECT_EQ(status_at_end & TS_NAND_STATUS_BUSY, 0u);
    EXPECT_EQ(r.nand->erase_count(2), 1u);
  });
}

TEST(NandFlash, StatusShowsBusyWhilePollingAndReadyAfter) {
  simulate(figures(), [](Rig& r) {
    r.access(true, TS_NAND_BUFFER, pattern(1).data(), kRaw);
    r.set(TS_NAND_ROW, 7);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
    uint64_t end = now_ns() + kTprog;
    int busy_polls = 0;
    uint32_t s;
    uint64_t poll_start;
    for (;;) {
      poll_start = now_ns();
      s = r.status();
      if (!(s & TS_NAND_STATUS_BUSY)) break;
      ++busy_polls;
      EXPECT_LT(poll_start, end);
      wait(sc_time(50, SC_US));
    }
    // Polls every 50 us + 24 clocks over 250 us: 5 of them fall inside tPROG.
    EXPECT_EQ(busy_polls, 5);
    EXPECT_GE(poll_start, end);
    EXPECT_EQ(s & (TS_NAND_STATUS_PROGRAM_FAIL | TS_NAND_STATUS_ERASE_FAIL), 0u);
  });
}

TEST(NandFlash, PageBufferAccessWhileBusyIsRefused) {
  simulate(figures(), [](Rig& r) {
    r.set(TS_NAND_ROW, 0);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK);
    uint8_t buf[16];
    EXPECT_EQ(r.access(false, TS_NAND_BUFFER, buf, 16), tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_NAND_BUFFER, buf, 16), tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_NE(r.status() & TS_NAND_STATUS_BUSY, 0u);
    EXPECT_EQ(r.set(TS_NAND_COMMAND, TS_NAND_CMD_READ_PAGE), tlm::TLM_COMMAND_ERROR_RESPONSE)
        << "only RESET is accepted while BUSY";
    r.wait_ready();
    EXPECT_EQ(r.access(false, TS_NAND_BUFFER, buf, 16), tlm::TLM_OK_RESPONSE);
    std::string t = r.trace_text();
    EXPECT_NE(t.find("page buffer accessed while BUSY"), std::string::npos);
  });
}

TEST(NandFlash, ReadPageHoldsBusyForTr) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(9);
    r.program(9, data);
    uint64_t t0 = now_ns();
    r.set(TS_NAND_ROW, 9);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_READ_PAGE);
    uint64_t cmd_ns = clocks_ns(32);  // 13h, dummy, 16-bit row
    EXPECT_EQ(now_ns() - t0, cmd_ns);
    sc_time end = from_ns(t0 + cmd_ns + kTr);
    wait(end - sc_core::sc_time_stamp() - sc_time::from_value(1));
    EXPECT_TRUE(r.nand->busy()) << "1 ps before tR ends";
    wait(sc_time::from_value(1));
    EXPECT_EQ(r.status() & TS_NAND_STATUS_BUSY, 0u) << "a STATUS read at exactly tR sees the page loaded";
    std::vector<uint8_t> back(kRaw);
    uint64_t t1 = now_ns();
    r.access(false, TS_NAND_BUFFER, back.data(), kRaw);
    EXPECT_EQ(now_ns() - t1, clocks_ns(32 + 8 * kRaw)) << "03h, column, dummy, then the data";
    EXPECT_EQ(main_area(back), main_area(data));
  });
}

TEST(NandFlash, OperationCompletesWithoutPolling) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(4);
    r.access(true, TS_NAND_BUFFER, data.data(), kRaw);
    r.set(TS_NAND_ROW, 4);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
    uint64_t end = now_ns() + kTprog;
    // The firmware sleeps (power controller SLEEP); no transaction reaches the NAND.
    wait(from_ns(end) - sc_core::sc_time_stamp() + sc_time::from_value(1));
    EXPECT_FALSE(r.nand->busy());
    EXPECT_EQ(r.raw(4), expected_stored(r.cfg, data));
  });
}

TEST(NandFlash, SingleBitErrorIsCorrectedAndReported) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(1);
    r.program(20, data);
    r.nand->arm(nand::BitFlip{20, 100, 3});
    EXPECT_NE(r.raw(20)[100], data[100]) << "the flip is in the array";
    std::vector<uint8_t> back;
    uint32_t s = r.read(20, back);
    EXPECT_EQ(ecc_of(s), TS_NAND_ECC_CORRECTED);
    EXPECT_EQ(r.reg(TS_NAND_ECC_BITS), 1u);
    EXPECT_EQ(main_area(back), main_area(data));
  });
}

TEST(NandFlash, SingleBitErrorsInTwoSectorsAreBothCorrected) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(1);
    r.program(20, data);
    r.nand->arm(nand::BitFlip{20, 10, 0});
    r.nand->arm(nand::BitFlip{20, 1500, 7});
    std::vector<uint8_t> back;
    EXPECT_EQ(ecc_of(r.read(20, back)), TS_NAND_ECC_CORRECTED);
    EXPECT_EQ(r.reg(TS_NAND_ECC_BITS), 2u);
    EXPECT_EQ(main_area(back), main_area(data));
  });
}

TEST(NandFlash, DoubleBitErrorInOneSectorIsUncorrectable) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(1);
    r.program(20, data);
    r.nand->arm(nand::BitFlip{20, 600, 1});
    r.nand->arm(nand::BitFlip{20, 700, 6});  // both in sector 1 (bytes 512..1023)
    std::vector<uint8_t> back;
    EXPECT_EQ(ecc_of(r.read(20, back)), TS_NAND_ECC_UNCORRECTABLE);
    EXPECT_NE(back[600], data[600]) << "uncorrectable data is returned as read";
    EXPECT_NE(back[700], data[700]);
    EXPECT_NE(r.trace_text().find("\"status\":\"uncorrectable\""), std::string::npos);
  });
}

TEST(NandFlash, RandomBitFlipsAreReproducibleFromTheSeed) {
  simulate(figures(), [](Rig& r) {
    r.nand->arm(nand::RandomBitFlips{30, 6, 11});
    r.nand->arm(nand::RandomBitFlips{31, 6, 11});
    r.nand->arm(nand::RandomBitFlips{32, 6, 12});
    EXPECT_EQ(popcount(r.raw(30)), kRaw * 8 - 6);
    EXPECT_EQ(r.raw(30), r.raw(31));
    EXPECT_NE(r.raw(30), r.raw(32));
    EXPECT_NE(r.trace_text().find("random-bit-flips page 30 count 6 seed=11"), std::string::npos);
  });
}

TEST(NandFlash, StuckBitIsSeenByRawReadsAndCorrectedByEcc) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(2);
    data[10] = 0x01;
    r.program(40, data);
    r.nand->arm(nand::StuckBit{40, 10, 0, false});
    r.set(TS_NAND_CONFIG, 0);  // ECC off: the array as it reads
    std::vector<uint8_t> back;
    EXPECT_EQ(ecc_of(r.read(40, back)), TS_NAND_ECC_NONE);
    EXPECT_EQ(back[10], 0x00);
    EXPECT_EQ(r.raw(40)[10], 0x01) << "the backdoor shows what was programmed";
    r.set(TS_NAND_CONFIG, TS_NAND_CONFIG_ECC_EN);
    EXPECT_EQ(ecc_of(r.read(40, back)), TS_NAND_ECC_CORRECTED);
    EXPECT_EQ(back[10], 0x01);
  });
}

TEST(NandFlash, EraseCountsWearPerBlockInTheSideFile) {
  simulate(figures(), [](Rig& r) {
    for (int i = 0; i < 3; ++i) r.erase(2);
    r.erase(3);
    EXPECT_EQ(r.nand->erase_count(2), 3u);
    EXPECT_EQ(r.nand->erase_count(3), 1u);
    EXPECT_EQ(r.nand->erase_count(4), 0u);
    NandImage reopened(r.cfg, r.path);
    EXPECT_EQ(reopened.erase_count(2), 3u);
    EXPECT_EQ(reopened.erase_count(3), 1u);
  });
}

TEST(NandFlash, FactoryBadBlockCarriesMarkerAndRefusesEraseAndProgram) {
  simulate(figures(), [](Rig& r) {
    uint32_t first = kFactoryBad * 64;
    EXPECT_EQ(r.raw(first)[2048 + TS_NAND_BAD_BLOCK_MARKER_OFFSET], 0x00);
    EXPECT_EQ(r.raw(0)[2048 + TS_NAND_BAD_BLOCK_MARKER_OFFSET], 0xFF);
    EXPECT_NE(r.erase(kFactoryBad) & TS_NAND_STATUS_ERASE_FAIL, 0u);
    EXPECT_NE(r.program(first + 1, pattern(1)) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
    EXPECT_TRUE(all_ff(r.raw(first + 1)));
    EXPECT_EQ(r.raw(first)[2048], 0x00) << "the marker survives";
    EXPECT_EQ(r.nand->erase_count(kFactoryBad), 0u);
  });
}

TEST(NandFlash, BadOnNthEraseFailsThatEraseAndTheBlockStaysBad) {
  simulate(figures(), [](Rig& r) {
    r.nand->arm(nand::BadOnNthErase{6, 3});
    EXPECT_EQ(r.erase(6) & TS_NAND_STATUS_ERASE_FAIL, 0u);
    EXPECT_EQ(r.erase(6) & TS_NAND_STATUS_ERASE_FAIL, 0u);
    r.program(6 * 64, pattern(3));
    EXPECT_NE(r.erase(6) & TS_NAND_STATUS_ERASE_FAIL, 0u) << "the third erase";
    EXPECT_FALSE(all_ff(r.raw(6 * 64))) << "the failed erase left the block as it was";
    EXPECT_NE(r.erase(6) & TS_NAND_STATUS_ERASE_FAIL, 0u) << "and the block stays bad";
    EXPECT_TRUE(r.nand->is_grown_bad(6));
    EXPECT_TRUE(NandImage(r.cfg, r.path).is_grown_bad(6)) << "recorded in the side file";
    EXPECT_EQ(r.erase(7) & TS_NAND_STATUS_ERASE_FAIL, 0u) << "other blocks unaffected";
  });
}

TEST(NandFlash, PowerLossBeforeProgramLeavesThePageErased) {
  simulate(figures(), [](Rig& r) {
    r.program(1, pattern(1));  // operation 1
    r.nand->arm(PowerLoss{PowerLoss::Mode::kBefore, 0, 2});
    r.access(true, TS_NAND_BUFFER, pattern(2).data(), kRaw);
    r.set(TS_NAND_ROW, 2);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
    EXPECT_FALSE(r.power.is_on());
    EXPECT_EQ(r.nand->operation_count(), 2u);
    EXPECT_TRUE(all_ff(r.raw(2)));
    EXPECT_EQ(r.raw(1), expected_stored(r.cfg, pattern(1)));
    EXPECT_NE(r.trace_text().find("power-loss before at operation 2"), std::string::npos);
  });
}

TEST(NandFlash, PowerLossAfterProgramLeavesThePageFullyWritten) {
  simulate(figures(), [](Rig& r) {
    r.nand->arm(PowerLoss{PowerLoss::Mode::kAfter, 0, 1});
    std::vector<uint8_t> data = pattern(5);
    r.access(true, TS_NAND_BUFFER, data.data(), kRaw);
    r.set(TS_NAND_ROW, 5);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
    uint64_t end = now_ns() + kTprog;
    wait(r.power.off_event());
    EXPECT_EQ(now_ns(), end) << "power goes as the program completes";
    EXPECT_EQ(r.raw(5), expected_stored(r.cfg, data));
  });
}

TEST(NandFlash, TornProgramProgramsSomeButNotAllBits) {
  simulate(figures(), [](Rig& r) {
    r.nand->arm(PowerLoss{PowerLoss::Mode::kTorn, 1234, 1});
    std::vector<uint8_t> data = pattern(5);
    r.access(true, TS_NAND_BUFFER, data.data(), kRaw);
    r.set(TS_NAND_ROW, 5);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
    uint64_t start = now_ns();
    wait(r.power.off_event());
    EXPECT_GT(now_ns(), start);
    EXPECT_LT(now_ns(), start + kTprog) << "the cut falls inside tPROG";
    std::vector<uint8_t> full = expected_stored(r.cfg, data), torn = r.raw(5);
    size_t zeros_full = kRaw * 8 - popcount(full), zeros_torn = kRaw * 8 - popcount(torn);
    EXPECT_GT(zeros_torn, 0u);
    EXPECT_LT(zeros_torn, zeros_full);
    for (uint32_t i = 0; i < kRaw; ++i) ASSERT_EQ(torn[i] & full[i], full[i]) << "only intended bits went to 0";
    EXPECT_NE(r.trace_text().find("\"status\":\"torn\""), std::string::npos);
  });
}

TEST(NandFlash, TornProgramIsDeterministicForASeed) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(8);
    auto torn_program = [&](uint32_t page, uint64_t seed) {
      r.nand->arm(PowerLoss{PowerLoss::Mode::kTorn, seed, r.nand->operation_count() + 1});
      r.access(true, TS_NAND_BUFFER, data.data(), kRaw);
      r.set(TS_NAND_ROW, page);
      r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
      wait(r.power.off_event());
      r.power_cycle();
      return r.raw(page);
    };
    std::vector<uint8_t> a = torn_program(64, 7), b = torn_program(128, 7), c = torn_program(192, 8);
    EXPECT_EQ(a, b) << "same seed, same cells";
    EXPECT_NE(a, c) << "another seed, other cells";
  });
}

TEST(NandFlash, PowerLossBeforeEraseKeepsTheBlock) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(3);
    r.program(64, data);
    r.nand->arm(PowerLoss{PowerLoss::Mode::kBefore, 0, 2});
    r.set(TS_NAND_ROW, 64);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK);
    EXPECT_FALSE(r.power.is_on());
    EXPECT_EQ(r.raw(64), expected_stored(r.cfg, data));
    EXPECT_EQ(r.nand->erase_count(1), 0u);
  });
}

TEST(NandFlash, TornEraseErasesSomeButNotAllCells) {
  simulate(figures(), [](Rig& r) {
    for (uint32_t p = 64; p < 128; ++p) r.program(p, std::vector<uint8_t>(kRaw, 0x00));
    size_t zeros_before = 0;
    for (uint32_t p = 64; p < 128; ++p) zeros_before += kRaw * 8 - popcount(r.raw(p));
    r.nand->arm(PowerLoss{PowerLoss::Mode::kTorn, 99, r.nand->operation_count() + 1});
    r.set(TS_NAND_ROW, 64);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK);
    wait(r.power.off_event());
    size_t zeros_after = 0;
    for (uint32_t p = 64; p < 128; ++p) zeros_after += kRaw * 8 - popcount(r.raw(p));
    EXPECT_GT(zeros_after, 0u);
    EXPECT_LT(zeros_after, zeros_before);
    EXPECT_EQ(r.nand->erase_count(1), 1u) << "an interrupted erase still wears the block";
  });
}

TEST(NandFlash, UnplannedPowerCutDuringEraseTearsTheBlock) {
  simulate(figures(), [](Rig& r) {
    for (uint32_t p = 64; p < 128; ++p) r.program(p, std::vector<uint8_t>(kRaw, 0x00));
    r.set(TS_NAND_ROW, 64);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK);
    wait(sc_time(1000, SC_US));  // half of tBERS
    r.power.switch_off();
    wait(sc_core::SC_ZERO_TIME);
    wait(sc_core::SC_ZERO_TIME);
    EXPECT_FALSE(r.nand->busy());
    size_t ones = 0, cells = 0;
    for (uint32_t p = 64; p < 128; ++p) {
      ones += popcount(r.raw(p));
      cells += kRaw * 8;
    }
    EXPECT_GT(ones, cells / 4) << "about half the cells erased";
    EXPECT_LT(ones, cells * 3 / 4);
    std::string t = r.trace_text();
    EXPECT_NE(t.find("\"op\":\"erase-block\",\"addr\":1"), std::string::npos);
    EXPECT_NE(t.find("\"status\":\"torn\",\"detail\":\"power lost 1000000 ns into 2000000 ns; seed="),
              std::string::npos)
        << t;
  });
}

TEST(NandFlash, UnknownRegisterOffsetGivesAddressError) {
  simulate(figures(), [](Rig& r) {
    uint8_t b[4];
    EXPECT_EQ(r.access(false, 0x40, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, 0x40, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    // Every misuse is an address error (devkit/register_table.h), reported
    // once per register and kind.
    EXPECT_EQ(r.access(false, TS_NAND_STATUS, b, 2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_NAND_STATUS, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_NAND_STATUS, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    std::string t = r.trace_text();
    size_t first = t.find("unknown register offset 0x40");
    ASSERT_NE(first, std::string::npos);
    EXPECT_EQ(t.find("unknown register offset 0x40", first + 1), std::string::npos) << "logged once";
    EXPECT_NE(t.find("STATUS accessed with 2 bytes (it takes 4 bytes)"), std::string::npos) << t;
    first = t.find("write to read-only register STATUS");
    ASSERT_NE(first, std::string::npos) << t;
    EXPECT_EQ(t.find("write to read-only register STATUS", first + 1), std::string::npos) << "logged once";
  });
}

TEST(NandFlash, ResetDuringProgramAbortsIt) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(6);
    r.access(true, TS_NAND_BUFFER, data.data(), kRaw);
    r.set(TS_NAND_ROW, 6);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
    wait(sc_time(100, SC_US));
    ASSERT_EQ(r.set(TS_NAND_COMMAND, TS_NAND_CMD_RESET), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.status() & TS_NAND_STATUS_BUSY, 0u);
    std::vector<uint8_t> full = expected_stored(r.cfg, data), now = r.raw(6);
    EXPECT_NE(now, full);
    EXPECT_FALSE(all_ff(now));
  });
}

// Host tools batch the side file: a held image changes its counts in
// memory only and writes them once on release (or before moving).
TEST(NandFlash, HeldWearFileIsWrittenOnceOnRelease) {
  test::TempDir dir;
  std::string path = dir.file("bootflash.nand");
  NandConfig cfg = figures();
  NandFlash::create_image(cfg, path);
  NandImage image(cfg, path);
  image.count_erase(0);
  EXPECT_EQ(image.meta_writes(), 1u) << "unheld, every change is written";
  image.hold_meta();
  image.hold_meta();
  for (uint32_t b = 1; b < 9; ++b) image.count_erase(b);
  image.mark_grown_bad(5);
  EXPECT_EQ(NandImage(cfg, path).erase_count(3), 0u) << "held: the file still has the old counts";
  image.release_meta();
  EXPECT_EQ(image.meta_writes(), 1u) << "an inner release keeps holding";
  image.release_meta();
  EXPECT_EQ(image.meta_writes(), 2u) << "one write for the whole batch";
  NandImage reopened(cfg, path);
  for (uint32_t b = 0; b < 9; ++b) EXPECT_EQ(reopened.erase_count(b), 1u) << "block " << b;
  EXPECT_TRUE(reopened.is_grown_bad(5));
  image.release_meta();
  EXPECT_EQ(image.meta_writes(), 2u) << "nothing changed: no write";

  image.hold_meta();
  image.count_erase(10);
  std::string moved = dir.file("moved.nand");
  image.move_to(moved);
  EXPECT_EQ(NandImage(cfg, moved).erase_count(10), 1u) << "a move takes the held counts along";
  image.release_meta();
}

// Erased blocks read from memory, written ones from the file: a page of a
// block the file holds as a hole, or that this image erased, costs no
// read; a written block's pages do, and read back what was written, also
// after a move and after reopening.
TEST(NandFlash, ErasedBlocksReadWithoutTouchingTheFile) {
  test::TempDir dir;
  std::string path = dir.file("bootflash.nand");
  NandConfig cfg = figures();
  NandFlash::create_image(cfg, path);
  NandImage image(cfg, path);
  uint32_t ppb = cfg.pages_per_block;
  std::vector<uint8_t> raw(image.raw_page_bytes()), data(image.raw_page_bytes());
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13 + 1);

  image.read_page(3 * ppb + 1, raw.data());
  EXPECT_TRUE(std::all_of(raw.begin(), raw.end(), [](uint8_t b) { return b == 0xFF; }));
  EXPECT_TRUE(image.page_is_erased(3 * ppb));
  EXPECT_EQ(image.file_reads(), 0u) << "a fresh image is all holes";

  image.write_page(3 * ppb + 2, data.data());
  image.read_page(3 * ppb + 2, raw.data());
  EXPECT_EQ(raw, data);
  image.read_page(3 * ppb + 1, raw.data());
  EXPECT_TRUE(std::all_of(raw.begin(), raw.end(), [](uint8_t b) { return b == 0xFF; }));
  EXPECT_FALSE(image.page_is_erased(3 * ppb + 2));
  EXPECT_EQ(image.file_reads(), 3u) << "a written block's pages come from the file";
  image.read_page(4 * ppb, raw.data());
  EXPECT_EQ(image.file_reads(), 3u) << "the block next to it is still erased";

  std::string moved = dir.file("moved.nand");
  image.move_to(moved);
  image.read_page(3 * ppb + 2, raw.data());
  EXPECT_EQ(raw, data) << "after a move";
  {
    NandImage reopened(cfg, moved);
    reopened.read_page(3 * ppb + 2, raw.data());
    EXPECT_EQ(raw, data) << "a reopened image finds the written block in the file";
    reopened.read_page(7 * ppb, raw.data());
    EXPECT_EQ(reopened.file_reads(), 1u) << "and only that one";
  }
  image.erase_block(3);
  uint64_t before = image.file_reads();
  image.read_page(3 * ppb + 2, raw.data());
  EXPECT_TRUE(std::all_of(raw.begin(), raw.end(), [](uint8_t b) { return b == 0xFF; }));
  EXPECT_EQ(image.file_reads(), before) << "an erased block reads from memory again";
  EXPECT_TRUE(NandImage(cfg, moved).page_is_erased(3 * ppb + 2)) << "and the file agrees";
}

// Persistence: a child process writes, the parent elaborates a new model
// on the same image (SystemC allows one elaboration per process).
TEST(NandFlash, ContentsAndWearPersistAcrossReconstruction) {
  test::TempDir dir;
  std::string path = dir.file("bootflash.nand");
  NandConfig cfg = figures();
  NandFlash::create_image(cfg, path);
  std::vector<uint8_t> data = pattern(77);
  ASSERT_EQ(run_in_child(cfg, path,
                         [&](Rig& r) {
                           EXPECT_EQ(r.erase(1) & TS_NAND_STATUS_ERASE_FAIL, 0u);
                           EXPECT_EQ(r.program(64 + 7, data) & TS_NAND_STATUS_PROGRAM_FAIL, 0u);
                         }),
            0)
      << "the writer process failed";

  Rig rig(
      "rig", cfg,
      [&](Rig& r) {
        std::vector<uint8_t> back;
        EXPECT_EQ(ecc_of(r.read(64 + 7, back)), TS_NAND_ECC_NONE);
        EXPECT_EQ(main_area(back), main_area(data));
        EXPECT_EQ(r.nand->erase_count(1), 1u);
        EXPECT_NE(r.program(64 + 7, data) & TS_NAND_STATUS_PROGRAM_FAIL, 0u)
            << "the reopened part knows the page is programmed";
      },
      path);
  sc_core::sc_start();
  EXPECT_TRUE(rig.finished);
}

// Determinism: the same run with the same seed tears the same cells, in
// separate processes as in separate trustsim runs; another seed differs.
TEST(NandFlash, UnplannedCutTearsTheSameCellsOnEveryRunWithTheSameSeed) {
  test::TempDir dir;
  NandConfig cfg = figures();
  std::vector<uint8_t> data = pattern(12);
  auto run = [&](const std::string& name, uint64_t seed) {
    std::string path = dir.file(name);
    NandFlash::create_image(cfg, path);
    EXPECT_EQ(run_in_child(cfg, path,
                           [&](Rig& r) {
                             r.nand->set_unplanned_cut_seed(seed);
                             r.access(true, TS_NAND_BUFFER, data.data(), kRaw);
                             r.set(TS_NAND_ROW, 70);
                             r.set(TS_NAND_COMMAND, TS_NAND_CMD_PROGRAM_PAGE);
                             wait(sc_time(125, SC_US));  // half of tPROG
                             r.power.switch_off();
                             wait(sc_core::SC_ZERO_TIME);
                             wait(sc_core::SC_ZERO_TIME);
                             EXPECT_FALSE(r.nand->busy());
                             EXPECT_NE(r.trace_text().find("power lost 125000 ns into 250000 ns; seed="),
                                       std::string::npos);
                           }),
              0);
    std::vector<uint8_t> raw(kRaw);
    NandImage(cfg, path).read_page(70, raw.data());
    return raw;
  };
  std::vector<uint8_t> first = run("a.nand", 5), again = run("b.nand", 5), other = run("c.nand", 6);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  EXPECT_NE(first, expected_stored(cfg, data)) << "torn, not complete";
  EXPECT_FALSE(all_ff(first)) << "torn, not untouched";
}

TEST(NandFlash, FullSizeImageIsSparseOnDisk) {
  simulate(figures(1024), [](Rig& r) {
    struct stat st;
    ASSERT_EQ(stat(r.path.c_str(), &st), 0);
    EXPECT_EQ(uint64_t(st.st_size), 1024ull * 64 * kRaw);  // 138 MB apparent
    EXPECT_LT(r.nand->image().allocated_bytes(), 64u * 1024) << "a fresh image is a hole";
    for (uint32_t p = 128; p < 192; ++p) r.program(p, pattern(p));
    uint64_t written = r.nand->image().allocated_bytes();
    EXPECT_GE(written, 64u * kRaw);
    EXPECT_LT(written, 64u * kRaw + 128u * 1024);
    r.erase(2);
    EXPECT_LT(r.nand->image().allocated_bytes(), written) << "erase gives the space back";
  });
}

TEST(NandFlash, ImageOfTheWrongSizeIsRejectedNamingTheFile) {
  test::TempDir dir;
  std::string path = dir.file("bootflash.nand");
  NandConfig cfg = figures();
  NandFlash::create_image(cfg, path);
  ASSERT_EQ(truncate(path.c_str(), 1000), 0);
  try {
    NandImage image(cfg, path);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    EXPECT_NE(m.find("1000 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(16ull * 64 * kRaw)), std::string::npos) << m;
  }
}

TEST(NandFlash, MissingWearFileIsRejectedNamingIt) {
  test::TempDir dir;
  std::string path = dir.file("bootflash.nand");
  NandConfig cfg = figures();
  NandFlash::create_image(cfg, path);
  ASSERT_EQ(unlink(NandImage::meta_path(path).c_str()), 0);
  try {
    NandImage image(cfg, path);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(NandImage::meta_path(path)), std::string::npos) << e.what();
  }
}

// Wall-clock cost of the model: 1000 page programs through the bus with
// polling, every page checked afterwards.
TEST(NandFlash, ThousandPageProgramsReadBackIntact) {
  simulate(figures(), [](Rig& r) {
    auto t0 = std::chrono::steady_clock::now();
    for (uint32_t p = 0; p < 1000; ++p) {
      if (p / 64 == kFactoryBad) continue;
      ASSERT_EQ(r.program(p, pattern(p)) & TS_NAND_STATUS_PROGRAM_FAIL, 0u) << "page " << p;
    }
    auto t1 = std::chrono::steady_clock::now();
    for (uint32_t p = 0; p < 1000; ++p) {
      if (p / 64 == kFactoryBad) continue;
      ASSERT_EQ(r.raw(p), expected_stored(r.cfg, pattern(p))) << "page " << p;
    }
    double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    printf("[ timing ] 936 page programs (buffer load + command + polling): %.1f ms wall, %.3f s virtual\n", ms,
           double(now_ns()) / 1e9);
    RecordProperty("wall_ms_per_936_programs", int(ms));
  });
}

// ---- The one-request interface: array read window and READY_STATUS.

namespace {

struct WindowRead {
  tlm::tlm_response_status status;
  uint64_t actual;
};
WindowRead window_read(Rig& r, uint32_t first, uint32_t pages, std::vector<uint8_t>& out) {
  out.assign(size_t(pages) * 2048, 0);
  tlm::tlm_generic_payload gp;
  ActualLength actual;
  actual.bytes = out.size();
  gp.set_extension(&actual);
  gp.set_command(tlm::TLM_READ_COMMAND);
  gp.set_address(TS_NAND_ARRAY + uint64_t(first) * 2048);
  gp.set_data_ptr(out.data());
  gp.set_data_length(unsigned(out.size()));
  gp.set_streaming_width(unsigned(out.size()));
  sc_time d = sc_core::SC_ZERO_TIME;
  r.socket->b_transport(gp, d);
  wait(d);
  gp.clear_extension(&actual);
  return {gp.get_response_status(), actual.bytes};
}
// One page through the window costs what the register sequence does:
// READ_PAGE's clocks, tR, then the buffer transfer of the main area.
uint64_t window_page_ns() { return clocks_ns(32) + kTr + clocks_ns(32 + 8 * 2048); }

// Programs pattern(1), pattern(2), ... into pages first, first + 1, ...
std::vector<std::vector<uint8_t>> program_run(Rig& r, uint32_t first, int n) {
  std::vector<std::vector<uint8_t>> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(pattern(i + 1));
    r.program(first + uint32_t(i), v.back());
  }
  return v;
}

}  // namespace

TEST(NandFlash, ArrayWindowReadsARunOfPagesInOneTransaction) {
  simulate(figures(), [](Rig& r) {
    std::vector<std::vector<uint8_t>> run = program_run(r, 64, 3);
    const std::vector<uint8_t>&a = run[0], &b = run[1], &c = run[2];
    std::vector<uint8_t> out;
    uint64_t t0 = now_ns();
    WindowRead w = window_read(r, 64, 3, out);
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(w.actual, 3u * 2048);
    EXPECT_EQ(now_ns() - t0, 3 * window_page_ns()) << "per page: 13h, tR, 03h + data";
    EXPECT_TRUE(std::equal(a.begin(), a.begin() + 2048, out.begin()));
    EXPECT_TRUE(std::equal(b.begin(), b.begin() + 2048, out.begin() + 2048));
    EXPECT_TRUE(std::equal(c.begin(), c.begin() + 2048, out.begin() + 4096));
    EXPECT_EQ(r.reg(TS_NAND_ROW), 66u) << "ROW names the last page read";
    std::string t = r.trace_text();
    size_t reads = 0;
    for (size_t at = t.find("\"op\":\"read-page\""); at != std::string::npos;
         at = t.find("\"op\":\"read-page\"", at + 1))
      ++reads;
    EXPECT_EQ(reads, 3u) << "each page is a read-page operation in the trace";
  });
}

TEST(NandFlash, ArrayWindowStopsBeforeAPageThatNeededEcc) {
  simulate(figures(), [](Rig& r) {
    std::vector<std::vector<uint8_t>> run = program_run(r, 20, 3);
    const std::vector<uint8_t>&a = run[0], &b = run[1];
    r.nand->arm(nand::BitFlip{21, 100, 3});
    std::vector<uint8_t> out;
    WindowRead w = window_read(r, 20, 3, out);
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(w.actual, 2048u) << "only the clean page before the corrected one";
    EXPECT_TRUE(std::equal(a.begin(), a.begin() + 2048, out.begin()));
    EXPECT_EQ(ecc_of(r.status()), TS_NAND_ECC_CORRECTED) << "STATUS holds the stopped page's outcome";
    std::vector<uint8_t> back(kRaw);
    EXPECT_EQ(r.access(false, TS_NAND_BUFFER, back.data(), kRaw), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(main_area(back), main_area(b)) << "the buffer holds page 21, corrected";

    r.nand->arm(nand::BitFlip{20, 600, 1});
    r.nand->arm(nand::BitFlip{20, 700, 6});
    w = window_read(r, 20, 1, out);
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(w.actual, 0u);
    EXPECT_EQ(ecc_of(r.status()), TS_NAND_ECC_UNCORRECTABLE);
  });
}

// A run that reaches the first page of a factory-bad block stops before it,
// with that page (and its marker) in the buffer; the page before it and
// the later pages of the bad block itself read as usual.
TEST(NandFlash, ArrayWindowStopsBeforeTheFirstPageOfAMarkedBlock) {
  simulate(figures(), [](Rig& r) {
    uint32_t first = kFactoryBad * 64;
    std::vector<uint8_t> a = pattern(7);
    r.program(first - 1, a);
    std::vector<uint8_t> out;
    WindowRead w = window_read(r, first - 1, 3, out);
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(w.actual, 2048u) << "only the page before the marked block";
    EXPECT_TRUE(std::equal(a.begin(), a.begin() + 2048, out.begin()));
    EXPECT_EQ(r.reg(TS_NAND_ROW), first);
    EXPECT_EQ(ecc_of(r.status()), TS_NAND_ECC_NONE) << "a clean page: the marker made it stop";
    uint8_t marker = 0xFF;
    EXPECT_EQ(r.access(false, TS_NAND_BUFFER + 2048 + TS_NAND_BAD_BLOCK_MARKER_OFFSET, &marker, 1),
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(marker, 0x00);
    w = window_read(r, first + 1, 2, out);
    EXPECT_EQ(w.actual, 2u * 2048) << "only page 0 carries the marker";
    w = window_read(r, 0, 2, out);
    EXPECT_EQ(w.actual, 2u * 2048) << "a good block's page 0 does not stop the run";
  });
}

// WINDOW_PAGES = 2: the window holds pages 0 and 1 of each block, packed,
// with the same per-page cost, trace and stop rules as the plain window.
TEST(NandFlash, PackedWindowReadsTheFirstPagesOfEachBlockInOneTransaction) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> a0 = pattern(11), a1 = pattern(12), a2 = pattern(13), b0 = pattern(14), b1 = pattern(15);
    r.program(3 * 64, a0);
    r.program(3 * 64 + 1, a1);
    r.program(3 * 64 + 2, a2);
    r.program(4 * 64, b0);
    r.program(4 * 64 + 1, b1);
    EXPECT_EQ(r.set(TS_NAND_WINDOW_PAGES, 2), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.reg(TS_NAND_WINDOW_PAGES), 2u);
    std::vector<uint8_t> out;
    uint64_t t0 = now_ns();
    WindowRead w = window_read(r, 3 * 2, 4, out);
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(w.actual, 4u * 2048);
    EXPECT_EQ(now_ns() - t0, 4 * window_page_ns()) << "the same cost per page as the plain window";
    EXPECT_TRUE(std::equal(a0.begin(), a0.begin() + 2048, out.begin()));
    EXPECT_TRUE(std::equal(a1.begin(), a1.begin() + 2048, out.begin() + 2048)) << "page 1 of block 3";
    EXPECT_TRUE(std::equal(b0.begin(), b0.begin() + 2048, out.begin() + 4096)) << "not page 2: block 4 follows";
    EXPECT_TRUE(std::equal(b1.begin(), b1.begin() + 2048, out.begin() + 6144));
    EXPECT_EQ(r.reg(TS_NAND_ROW), 4u * 64 + 1) << "ROW names the last page read";

    w = window_read(r, (kFactoryBad - 1) * 2, 4, out);
    EXPECT_EQ(w.actual, 2u * 2048) << "stops before page 0 of the marked block";
    EXPECT_EQ(r.reg(TS_NAND_ROW), kFactoryBad * 64u);

    uint32_t blocks = r.reg(TS_NAND_BLOCK_COUNT);
    w = window_read(r, blocks * 2 - 1, 2, out);
    EXPECT_EQ(w.status, tlm::TLM_ADDRESS_ERROR_RESPONSE) << "the packed window ends with the last block";

    EXPECT_EQ(r.set(TS_NAND_WINDOW_PAGES, 0), tlm::TLM_OK_RESPONSE);
    w = window_read(r, 3 * 64 + 1, 2, out);
    EXPECT_EQ(w.actual, 2u * 2048);
    EXPECT_TRUE(std::equal(a2.begin(), a2.begin() + 2048, out.begin() + 2048)) << "0: the plain window again";
  });
}

TEST(NandFlash, ArrayWindowRefusesPartialPagesWritesAndBusy) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> buf(4096);
    EXPECT_EQ(r.access(false, TS_NAND_ARRAY + 16, buf.data(), 2048), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_NAND_ARRAY, buf.data(), 100), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_NAND_ARRAY, buf.data(), 2048), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_NAND_ARRAY + (16 * 64 - 1) * 2048ull, buf.data(), 4096),
              tlm::TLM_ADDRESS_ERROR_RESPONSE)
        << "runs past the last page";
    EXPECT_EQ(r.access(false, TS_NAND_BUFFER + kRaw - 4, buf.data(), 8), tlm::TLM_ADDRESS_ERROR_RESPONSE)
        << "past the end of the page buffer";
    r.set(TS_NAND_ROW, 0);
    r.set(TS_NAND_COMMAND, TS_NAND_CMD_ERASE_BLOCK);
    EXPECT_EQ(r.access(false, TS_NAND_ARRAY, buf.data(), 2048), tlm::TLM_COMMAND_ERROR_RESPONSE);
    std::string t = r.trace_text();
    EXPECT_NE(t.find("must cover whole pages"), std::string::npos) << t;
    EXPECT_NE(t.find("the window is read-only"), std::string::npos) << t;
    EXPECT_NE(t.find("array window read while BUSY"), std::string::npos) << t;
  });
}

TEST(NandFlash, ReadyStatusAnswersWhenTheOperationEnds) {
  simulate(figures(), [](Rig& r) {
    std::vector<uint8_t> data = pattern(4);
    r.start_program(4, data);
    uint64_t end = now_ns() + kTprog;
    uint32_t s = r.reg(TS_NAND_READY_STATUS);
    EXPECT_EQ(s & (TS_NAND_STATUS_BUSY | TS_NAND_STATUS_PROGRAM_FAIL), 0u);
    EXPECT_EQ(now_ns(), end + clocks_ns(24)) << "waits out tPROG, then a STATUS read's clocks";
    EXPECT_EQ(r.raw(4), expected_stored(r.cfg, data));
    uint64_t t1 = now_ns();
    EXPECT_EQ(r.reg(TS_NAND_READY_STATUS) & TS_NAND_STATUS_BUSY, 0u);
    EXPECT_EQ(now_ns() - t1, clocks_ns(24)) << "idle: no wait";
  });
}

TEST(NandFlash, ReadyStatusFailsWhenPowerIsCutDuringTheWait) {
  simulate(figures(), [](Rig& r) {
    r.nand->arm(PowerLoss{PowerLoss::Mode::kTorn, 1234, 1});
    r.start_program(5, pattern(5));
    uint64_t start = now_ns();
    uint8_t b[4];
    EXPECT_EQ(r.access(false, TS_NAND_READY_STATUS, b, 4), tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_FALSE(r.power.is_on());
    EXPECT_LT(now_ns(), start + kTprog) << "answered at the cut, inside tPROG";
    EXPECT_FALSE(r.nand->busy());
    EXPECT_NE(r.trace_text().find("\"status\":\"torn\""), std::string::npos);
  });
}
