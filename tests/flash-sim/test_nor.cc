// Boot SPI NOR flash model (W25Q128JV): array reads, program / erase through
// the control block (nor_regs.h), datasheet timing in virtual time, NOR bit
// rules, power-loss faults, persistence. Each TEST elaborates its own model,
// so meson runs each case as its own process.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include "../support/test_util.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "flash-sim/boot_flash.h"
#include "tlm_utils/simple_initiator_socket.h"
#include "trustsim/bytes.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nor_regs.h"

using namespace trustsim;
using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

namespace {

constexpr uint64_t kClockHz = 50000000;  // 20 ns per SPI clock
constexpr uint64_t kSize = 128 * 1024;   // two 64 KiB blocks
constexpr uint64_t kCtl = kSize;         // control block offset
constexpr uint64_t kTpp = 400000;        // ns
constexpr uint64_t kTse = 45000000;
constexpr uint64_t kTbe = 150000000;

BootFlashConfig figures() {
  BootFlashConfig c;
  c.part = "W25Q128JV";
  c.size = kSize;
  c.read_clock_hz = kClockHz;
  c.page_program_ps = kTpp * 1000;
  c.sector_erase_ps = kTse * 1000;
  c.block_erase_ps = kTbe * 1000;
  return c;
}

uint64_t clocks_ns(uint64_t n) { return n * 1000000000ull / kClockHz; }

// Initial contents: 0x00 everywhere except sector 1 (0x1000..0x1FFF) = 0xFF
// and byte 0x1100 = 0x0F.
std::vector<uint8_t> initial_image() {
  std::vector<uint8_t> m(kSize, 0x00);
  std::fill(m.begin() + 0x1000, m.begin() + 0x2000, 0xFF);
  m[0x1100] = 0x0F;
  return m;
}

struct Rig : sc_core::sc_module {
  SC_HAS_PROCESS(Rig);
  std::string path, trace_path;
  PowerDomain power;
  DeviceTrace trace;
  std::unique_ptr<BootFlash> flash;
  tlm_utils::simple_initiator_socket<Rig> socket{"socket"};
  std::function<void(Rig&)> body;
  bool finished = false;

  Rig(sc_core::sc_module_name name, std::string image, std::string trace_file, std::function<void(Rig&)> b)
      : sc_module(name), path(std::move(image)), trace_path(std::move(trace_file)), body(std::move(b)) {
    trace.open(trace_path);
    flash = std::make_unique<BootFlash>("boot_flash", power, figures(), path, trace);
    socket.bind(flash->socket);
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
    EXPECT_EQ(access(false, kCtl + off, b, 4), tlm::TLM_OK_RESPONSE) << "register " << off;
    return load_le32(b);
  }
  tlm::tlm_response_status set(uint32_t off, uint32_t v) {
    uint8_t b[4];
    store_le32(b, v);
    return access(true, kCtl + off, b, 4);
  }
  uint32_t status() { return reg(TS_NOR_STATUS); }
  uint32_t wait_ready() {
    for (;;) {
      uint32_t s = status();
      if (!(s & TS_NOR_STATUS_BUSY)) return s;
      wait(sc_time(100, SC_US));
    }
  }
  void start_program(uint32_t addr, std::vector<uint8_t> data, bool write_enable = true) {
    ASSERT_EQ(access(true, kCtl + TS_NOR_PAGE_BUFFER, data.data(), unsigned(data.size())), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(set(TS_NOR_ADDRESS, addr), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(set(TS_NOR_LENGTH, uint32_t(data.size())), tlm::TLM_OK_RESPONSE);
    if (write_enable) ASSERT_EQ(set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(set(TS_NOR_COMMAND, TS_NOR_CMD_PAGE_PROGRAM), tlm::TLM_OK_RESPONSE);
  }
  void start_erase(uint32_t cmd, uint32_t addr) {
    ASSERT_EQ(set(TS_NOR_ADDRESS, addr), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(set(TS_NOR_COMMAND, cmd), tlm::TLM_OK_RESPONSE);
  }
  uint8_t at(uint64_t a) const { return flash->contents()[a]; }
  std::vector<uint8_t> range(uint64_t a, uint64_t n) const {
    return {flash->contents().begin() + long(a), flash->contents().begin() + long(a + n)};
  }
  std::string trace_text() {
    fflush(nullptr);
    return test::read_text(trace_path);
  }
};

struct Files {
  test::TempDir dir;
  std::string image = dir.file("boot-flash.bin");
  std::string trace = dir.file("trace.jsonl");
  Files() {
    std::vector<uint8_t> m = initial_image();
    write_file_atomic(image, m.data(), m.size());
  }
};

// Runs `body` on the caller's files, which outlive the model.
void simulate_on(const Files& f, std::function<void(Rig&)> body) {
  Rig rig("rig", f.image, f.trace, std::move(body));
  sc_core::sc_start();
  EXPECT_TRUE(rig.finished) << "the simulation ran out of events before the test body ended";
}

void simulate(std::function<void(Rig&)> body) {
  Files f;
  simulate_on(f, std::move(body));
}

// Runs `body` in a child process with its own elaboration; 0 = passed.
int run_in_child(const std::string& image, const std::string& trace, std::function<void(Rig&)> body) {
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) return 127;
  if (child == 0) {
    bool ok = false;
    {
      Rig rig("rig", image, trace, std::move(body));
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

size_t popcount(const std::vector<uint8_t>& v) {
  size_t n = 0;
  for (uint8_t b : v) n += size_t(__builtin_popcount(b));
  return n;
}

}  // namespace

TEST(NorFlash, GeometryRegistersDescribeThePart) {
  simulate([](Rig& r) {
    EXPECT_EQ(r.flash->size(), kSize + TS_NOR_CONTROL_SIZE);
    EXPECT_EQ(r.reg(TS_NOR_PAGE_SIZE), 256u);
    EXPECT_EQ(r.reg(TS_NOR_SECTOR_SIZE), 4096u);
    EXPECT_EQ(r.reg(TS_NOR_BLOCK_SIZE), 65536u);
    EXPECT_EQ(r.reg(TS_NOR_ARRAY_SIZE), kSize);
    EXPECT_EQ(r.reg(TS_NOR_ID), TS_NOR_JEDEC_ID);
    EXPECT_EQ(r.reg(TS_NOR_LENGTH), 256u);
    EXPECT_EQ(r.status(), 0u);
  });
}

TEST(NorFlash, ArrayReadsAtDeviceOffsetsCostTheReadCommandClocks) {
  simulate([](Rig& r) {
    uint8_t b[4] = {};
    uint64_t t0 = now_ns();
    ASSERT_EQ(r.access(false, 0x10FF, b, 4), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(now_ns() - t0, clocks_ns(8 + 24 + 32));
    EXPECT_EQ(b[0], 0xFF);
    EXPECT_EQ(b[1], 0x0F);
    EXPECT_EQ(b[2], 0xFF);
    uint8_t last = 0xAA;
    EXPECT_EQ(r.access(false, kSize - 1, &last, 1), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(last, 0x00);
  });
}

TEST(NorFlash, ProgramOnlyClearsBits) {
  simulate([](Rig& r) {
    r.start_program(0x1100, {0xF5, 0x3C});
    EXPECT_EQ(r.wait_ready(), 0u) << "no fail bit, WEL cleared at completion";
    EXPECT_EQ(r.at(0x1100), 0x05) << "0x0F & 0xF5: a 0 bit stays 0";
    EXPECT_EQ(r.at(0x1101), 0x3C);
    EXPECT_EQ(r.at(0x1102), 0xFF);
    uint8_t b = 0;
    ASSERT_EQ(r.access(false, 0x1100, &b, 1), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b, 0x05);
  });
}

TEST(NorFlash, ProgramWithoutWriteEnableIsIgnoredAndTraced) {
  simulate([](Rig& r) {
    r.start_program(0x1200, {0x00, 0x00}, /*write_enable=*/false);
    EXPECT_EQ(r.status(), 0u) << "not BUSY: nothing started";
    EXPECT_FALSE(r.flash->busy());
    EXPECT_EQ(r.at(0x1200), 0xFF);
    EXPECT_EQ(r.flash->operation_count(), 0u);
    EXPECT_NE(r.trace_text().find("without WRITE_ENABLE: ignored"), std::string::npos);
  });
}

TEST(NorFlash, WriteEnableSetsWelAndWriteDisableClearsIt) {
  simulate([](Rig& r) {
    ASSERT_EQ(r.set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.status(), TS_NOR_STATUS_WEL);
    ASSERT_EQ(r.set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_DISABLE), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.status(), 0u);
  });
}

TEST(NorFlash, PageProgramWrapsWithinItsPage) {
  simulate([](Rig& r) {
    std::vector<uint8_t> data(32);
    for (uint32_t i = 0; i < 32; ++i) data[i] = uint8_t(0xA0 + i);
    r.start_program(0x11F0, data);  // page 0x1100..0x11FF
    r.wait_ready();
    for (uint32_t i = 0; i < 16; ++i) EXPECT_EQ(r.at(0x11F0 + i), uint8_t(0xA0 + i)) << i;
    EXPECT_EQ(r.at(0x1100), uint8_t(0x0F & 0xB0)) << "byte 16 wrapped to the page start (ANDed in)";
    for (uint32_t i = 1; i < 16; ++i) EXPECT_EQ(r.at(0x1100 + i), uint8_t(0xB0 + i)) << i;
    EXPECT_EQ(r.at(0x1200), 0xFF) << "the next page is untouched";
    EXPECT_EQ(r.at(0x1110), 0xFF);
  });
}

TEST(NorFlash, PageProgramHoldsBusyForTppPlusCommandClocks) {
  simulate([](Rig& r) {
    std::vector<uint8_t> data(256, 0x00);
    ASSERT_EQ(r.access(true, kCtl + TS_NOR_PAGE_BUFFER, data.data(), 256), tlm::TLM_OK_RESPONSE);
    r.set(TS_NOR_ADDRESS, 0x1000);
    r.set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE);
    uint64_t t0 = now_ns();
    ASSERT_EQ(r.set(TS_NOR_COMMAND, TS_NOR_CMD_PAGE_PROGRAM), tlm::TLM_OK_RESPONSE);
    uint64_t accepted = t0 + clocks_ns(8 + 24 + 8 * 256);
    EXPECT_EQ(now_ns(), accepted);
    wait(sc_time(double(kTpp - 1), SC_NS));
    EXPECT_TRUE(r.flash->busy());
    wait(sc_time(1, SC_NS));
    EXPECT_EQ(r.status(), 0u);
    EXPECT_EQ(r.range(0x1000, 256), std::vector<uint8_t>(256, 0x00));
  });
}

TEST(NorFlash, SectorEraseHoldsBusyForTseAndErasesOnlyItsSector) {
  simulate([](Rig& r) {
    uint64_t t0 = now_ns();
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x2345);  // sector 0x2000..0x2FFF
    uint64_t accepted = t0 + clocks_ns(8) + clocks_ns(8 + 24);
    EXPECT_EQ(now_ns(), accepted);
    wait(sc_time(double(accepted + kTse - 1 - now_ns()), SC_NS));
    EXPECT_TRUE(r.flash->busy()) << "still busy 1 ns before tSE";
    EXPECT_EQ(r.at(0x2000), 0x00) << "nothing applied before the end";
    wait(sc_time(1, SC_NS));
    EXPECT_EQ(now_ns(), accepted + kTse);
    EXPECT_EQ(r.status(), 0u);
    EXPECT_EQ(r.range(0x2000, 4096), std::vector<uint8_t>(4096, 0xFF));
    EXPECT_EQ(r.at(0x1FFF), 0xFF);  // sector 1 was already erased
    EXPECT_EQ(r.at(0x3000), 0x00) << "the next sector is untouched";
    EXPECT_EQ(r.at(0x0FFF), 0x00);
  });
}

TEST(NorFlash, BlockEraseHoldsBusyForTbeAndErasesItsBlock) {
  simulate([](Rig& r) {
    uint64_t t0 = now_ns();
    r.start_erase(TS_NOR_CMD_BLOCK_ERASE, 0x10010);  // block 1
    uint64_t accepted = t0 + clocks_ns(8) + clocks_ns(8 + 24);
    wait(sc_time(double(accepted + kTbe - 1 - now_ns()), SC_NS));
    EXPECT_TRUE(r.flash->busy()) << "still busy 1 ns before tBE";
    wait(sc_time(1, SC_NS));
    EXPECT_EQ(now_ns(), accepted + kTbe);
    EXPECT_EQ(r.status(), 0u);
    EXPECT_EQ(r.range(0x10000, 0x10000), std::vector<uint8_t>(0x10000, 0xFF));
    EXPECT_EQ(r.at(0xFFFF), 0x00) << "block 0 is untouched";
  });
}

TEST(NorFlash, StatusShowsBusyAndWelWhileRunningAndNeitherAfter) {
  simulate([](Rig& r) {
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0);
    EXPECT_EQ(r.status(), TS_NOR_STATUS_BUSY | TS_NOR_STATUS_WEL);
    wait(sc_time(double(kTse / 2), SC_NS));
    EXPECT_EQ(r.status(), TS_NOR_STATUS_BUSY | TS_NOR_STATUS_WEL);
    EXPECT_EQ(r.set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE), tlm::TLM_COMMAND_ERROR_RESPONSE)
        << "commands while BUSY are refused";
    EXPECT_EQ(r.wait_ready(), 0u);
    EXPECT_EQ(r.status(), 0u);
  });
}

TEST(NorFlash, ArrayReadDuringEraseIsRefused) {
  simulate([](Rig& r) {
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x3000);
    uint8_t b = 0x55;
    EXPECT_EQ(r.access(false, 0x0000, &b, 1), tlm::TLM_COMMAND_ERROR_RESPONSE)
        << "any array address, not just the sector";
    EXPECT_EQ(b, 0x55);
    EXPECT_NE(r.trace_text().find("array read while BUSY"), std::string::npos);
    r.wait_ready();
    EXPECT_EQ(r.access(false, 0x3000, &b, 1), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b, 0xFF);
  });
}

TEST(NorFlash, PowerLossBeforeProgramLeavesTheArrayUnchanged) {
  simulate([](Rig& r) {
    r.flash->arm(PowerLoss{PowerLoss::Mode::kBefore, 0, 1});
    r.start_program(0x1000, std::vector<uint8_t>(256, 0x00));
    EXPECT_FALSE(r.power.is_on());
    EXPECT_FALSE(r.flash->busy());
    EXPECT_EQ(r.range(0x1000, 256), std::vector<uint8_t>(256, 0xFF));
    EXPECT_NE(r.trace_text().find("power-loss before at operation 1"), std::string::npos);
  });
}

TEST(NorFlash, PowerLossAfterEraseLeavesTheSectorFullyErased) {
  simulate([](Rig& r) {
    r.flash->arm(PowerLoss{PowerLoss::Mode::kAfter, 0, 1});
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x4000);
    wait(r.power.off_event());
    EXPECT_EQ(now_ns(), clocks_ns(8) + clocks_ns(32) + kTse);
    EXPECT_EQ(r.range(0x4000, 4096), std::vector<uint8_t>(4096, 0xFF));
    EXPECT_EQ(read_file(r.path)[0x4000], 0xFF) << "persisted before the cut";
    EXPECT_NE(r.trace_text().find("power-loss after at operation 1"), std::string::npos);
  });
}

TEST(NorFlash, TornProgramProgramsSomeButNotAllBits) {
  simulate([](Rig& r) {
    r.flash->arm(PowerLoss{PowerLoss::Mode::kTorn, 1234, 1});
    r.start_program(0x1000, std::vector<uint8_t>(256, 0x00));
    wait(r.power.off_event());
    size_t ones = popcount(r.range(0x1000, 256));
    EXPECT_GT(ones, 0u);
    EXPECT_LT(ones, 256u * 8);
    std::vector<uint8_t> before = initial_image();
    EXPECT_EQ(r.range(0x1100, 256), std::vector<uint8_t>(before.begin() + 0x1100, before.begin() + 0x1200))
        << "outside the page nothing changes";
    EXPECT_EQ(read_file(r.path)[0x1000], r.at(0x1000)) << "the torn page is persisted";
    std::string t = r.trace_text();
    EXPECT_NE(t.find("power-loss torn at operation 1 seed=1234"), std::string::npos);
    EXPECT_NE(t.find("\"torn\""), std::string::npos);
  });
}

TEST(NorFlash, TornEraseErasesSomeButNotAllBits) {
  simulate([](Rig& r) {
    r.flash->arm(PowerLoss{PowerLoss::Mode::kTorn, 99, 1});
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x5000);
    wait(r.power.off_event());
    size_t ones = popcount(r.range(0x5000, 4096));
    EXPECT_GT(ones, 0u);
    EXPECT_LT(ones, 4096u * 8);
    EXPECT_EQ(r.at(0x6000), 0x00) << "outside the sector nothing changes";
    EXPECT_NE(r.trace_text().find("seed=99"), std::string::npos);
  });
}

TEST(NorFlash, UnplannedPowerCutDuringEraseTearsTheSector) {
  simulate([](Rig& r) {
    r.flash->set_unplanned_cut_seed(7);
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x5000);
    wait(sc_time(double(kTse / 2), SC_NS));
    r.power.switch_off();
    wait(sc_time(1, SC_US));
    EXPECT_FALSE(r.flash->busy());
    size_t ones = popcount(r.range(0x5000, 4096));
    EXPECT_GT(ones, 4096u * 8 / 4) << "about half erased";
    EXPECT_LT(ones, 4096u * 8 * 3 / 4);
    EXPECT_NE(r.trace_text().find("power lost 22500"), std::string::npos);
  });
}

TEST(NorFlash, ContentsPersistAcrossReconstruction) {
  Files f;
  ASSERT_EQ(run_in_child(f.image, f.trace,
                         [](Rig& r) {
                           r.start_program(0x1100, {0x01, 0x02});
                           r.wait_ready();
                           r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x7000);
                           r.wait_ready();
                         }),
            0);
  ASSERT_EQ(run_in_child(f.image, f.trace,
                         [](Rig& r) {
                           uint8_t b[2] = {};
                           ASSERT_EQ(r.access(false, 0x1100, b, 2), tlm::TLM_OK_RESPONSE);
                           EXPECT_EQ(b[0], 0x01);
                           EXPECT_EQ(b[1], 0x02);
                           EXPECT_EQ(r.range(0x7000, 4096), std::vector<uint8_t>(4096, 0xFF));
                           EXPECT_EQ(r.at(0x8000), 0x00);
                         }),
            0);
}

// The crash-state key keeps a digest per block until its version moves
// (docs/campaigns.md): an operation must move the versions of exactly the
// blocks whose bytes it changed.
TEST(NorFlash, BlockVersionsMoveOnlyForTheBlocksAnOperationChanged) {
  simulate([](Rig& r) {
    ASSERT_EQ(r.flash->block_count(), 2u);
    uint64_t b0 = r.flash->block_version(0), b1 = r.flash->block_version(1);
    r.start_program(0x1100, {0x01});
    r.wait_ready();
    EXPECT_NE(r.flash->block_version(0), b0) << "a program changed a byte of block 0";
    EXPECT_EQ(r.flash->block_version(1), b1);
    b0 = r.flash->block_version(0);
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x10000);
    r.wait_ready();
    EXPECT_EQ(r.flash->block_version(0), b0);
    EXPECT_NE(r.flash->block_version(1), b1) << "an erase changed bytes of block 1";
    b1 = r.flash->block_version(1);
    r.start_program(0x1100, {0xFF});  // programs no bit: 1 bits cannot be set by a program
    r.wait_ready();
    EXPECT_EQ(r.flash->block_version(0), b0);
    EXPECT_EQ(r.flash->block_version(1), b1);
  });
}

TEST(NorFlash, BadRegisterOffsetGivesAddressError) {
  simulate([](Rig& r) {
    uint8_t b[4] = {};
    EXPECT_EQ(r.access(false, kCtl + 0x0FC, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, kCtl + TS_NOR_PAGE_BUFFER + 256, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, kCtl + TS_NOR_CONTROL_SIZE, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, kSize - 2, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE) << "array read into the control block";
    EXPECT_EQ(r.access(false, kCtl + TS_NOR_STATUS, b, 2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, kCtl + TS_NOR_COMMAND, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE) << "COMMAND is write-only";
    EXPECT_NE(r.trace_text().find("unknown control register offset 0xfc"), std::string::npos);
  });
}

TEST(NorFlash, EraseOutsideTheArrayFailsWithEraseFail) {
  simulate([](Rig& r) {
    r.set(TS_NOR_ADDRESS, uint32_t(kSize));
    r.set(TS_NOR_COMMAND, TS_NOR_CMD_WRITE_ENABLE);
    EXPECT_EQ(r.set(TS_NOR_COMMAND, TS_NOR_CMD_SECTOR_ERASE), tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_EQ(r.status(), TS_NOR_STATUS_ERASE_FAIL);
    EXPECT_EQ(r.flash->operation_count(), 0u);
  });
}

// ---- persistence of each operation's changed bytes (docs/nor-flash.md)

namespace {

ino_t inode_of(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::vector<uint8_t> file_bytes(const std::string& path) { return read_file(path); }

std::vector<uint8_t> array(const Rig& r) { return {r.flash->contents().begin(), r.flash->contents().end()}; }

}  // namespace

// Each operation writes its bytes into the same file (no new file, no
// rename), and the file equals the array after each one.
TEST(NorFlash, OperationsWriteTheirBytesIntoTheSameFile) {
  Files f;
  ino_t before = inode_of(f.image);
  ASSERT_EQ(run_in_child(f.image, f.trace,
                         [&](Rig& r) {
                           r.start_program(0x1100, {0x01, 0x02});
                           r.wait_ready();
                           EXPECT_EQ(file_bytes(f.image), array(r));
                           r.start_erase(TS_NOR_CMD_BLOCK_ERASE, 0x10000);
                           r.wait_ready();
                           EXPECT_EQ(file_bytes(f.image), array(r));
                           r.start_program(0x1000, {0xFF});  // changes no bit: the file stays as it is
                           r.wait_ready();
                           EXPECT_EQ(file_bytes(f.image), array(r));
                         }),
            0);
  EXPECT_EQ(inode_of(f.image), before) << "the file was replaced, not written in place";
  std::vector<uint8_t> want = initial_image();
  want[0x1100] = 0x01;
  want[0x1101] = 0x02;
  std::fill(want.begin() + 0x10000, want.end(), 0xFF);
  EXPECT_EQ(file_bytes(f.image), want);
}

// A file the model did not write last (replaced by someone else) gets the
// whole array, never the model's range spliced into a foreign image.
TEST(NorFlash, AReplacedFileGetsTheWholeArray) {
  Files f;
  simulate_on(f, [&](Rig& r) {
    std::vector<uint8_t> foreign(kSize, 0x5A);
    write_file_atomic(f.image, foreign.data(), foreign.size());
    r.start_program(0x1100, {0x01});
    r.wait_ready();
    EXPECT_EQ(file_bytes(f.image), array(r));
  });
}

// A hard link elsewhere (a copy that shares the inode) is left alone: the
// model breaks the link with a whole, atomic write.
TEST(NorFlash, AHardLinkedFileIsNotWrittenThrough) {
  Files f;
  std::string other = f.dir.file("other.bin");
  ASSERT_EQ(link(f.image.c_str(), other.c_str()), 0);
  simulate_on(f, [&](Rig& r) {
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x0000);
    r.wait_ready();
    EXPECT_EQ(file_bytes(f.image), array(r));
  });
  EXPECT_EQ(file_bytes(other), initial_image());
}

// A new state path (a forked campaign run's) has no file until the first
// change, which writes the whole array there.
TEST(NorFlash, FirstChangeAtANewPathWritesTheWholeArray) {
  Files f;
  std::string moved = f.dir.file("run/boot-flash.bin");
  ASSERT_EQ(mkdir(f.dir.file("run").c_str(), 0755), 0);
  simulate_on(f, [&](Rig& r) {
    r.flash->set_state_path(moved);
    r.start_program(0x1100, {0xFF});  // no bit changes: still no file
    r.wait_ready();
    EXPECT_FALSE(file_exists(moved));
    r.start_program(0x1100, {0x03});
    r.wait_ready();
    EXPECT_EQ(file_bytes(moved), array(r));
    r.start_erase(TS_NOR_CMD_SECTOR_ERASE, 0x7000);
    r.wait_ready();
    EXPECT_EQ(file_bytes(moved), array(r));
  });
  EXPECT_EQ(file_bytes(f.image), initial_image()) << "the old path must not change";
}

namespace {

// Operation k of an endless sequence on the two blocks: even k erases a
// block, odd k programs one page of it with a pattern.
struct NorOp {
  bool erase;
  uint32_t address;
  uint8_t value;
};
NorOp nor_op(uint64_t k) {
  uint64_t i = k / 2;
  uint32_t block = uint32_t(i % 2) * 0x10000;
  if (k % 2 == 0) return {true, block, 0xFF};
  return {false, block + uint32_t((i * 7) % 256) * TS_NOR_PAGE_BYTES, uint8_t(i * 37 + 1)};
}
void nor_apply(std::vector<uint8_t>& m, const NorOp& op) {
  if (op.erase)
    std::fill(m.begin() + op.address, m.begin() + op.address + 0x10000, 0xFF);
  else
    for (uint32_t j = 0; j < TS_NOR_PAGE_BYTES; ++j) m[op.address + j] &= op.value;
}

}  // namespace

// A process killed at any moment leaves a file that is the array before or
// after some operation, or between the two byte by byte (an operation
// partly written: a state a power cut inside it can leave as well).
TEST(NorFlash, AKilledWriterLeavesTheArrayOfAnOperationBoundaryOrInsideOne) {
  constexpr uint64_t kOps = 4000;
  for (int delay_ms : {2, 7, 15, 30, 60, 100}) {
    Files f;
    fflush(nullptr);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      Rig rig("rig", f.image, f.trace, [](Rig& r) {
        for (uint64_t k = 0; k < kOps; ++k) {
          NorOp op = nor_op(k);
          if (op.erase)
            r.start_erase(TS_NOR_CMD_BLOCK_ERASE, op.address);
          else
            r.start_program(op.address, std::vector<uint8_t>(TS_NOR_PAGE_BYTES, op.value));
          r.wait_ready();
        }
      });
      sc_core::sc_start();
      _exit(0);
    }
    usleep(useconds_t(delay_ms) * 1000);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    std::vector<uint8_t> got = file_bytes(f.image);
    ASSERT_EQ(got.size(), kSize) << "kill after " << delay_ms << " ms";
    // First the boundaries (whole-file compares), then the states inside an operation.
    bool fits = false;
    for (int pass = 0; pass < 2 && !fits; ++pass) {
      std::vector<uint8_t> before = initial_image(), after = before;
      fits = got == before;
      for (uint64_t k = 0; k < kOps && !fits; ++k) {
        nor_apply(after, nor_op(k));
        if (pass == 0) {
          fits = got == after;
        } else {
          bool between = true;
          for (size_t i = 0; i < got.size() && between; ++i) between = got[i] == before[i] || got[i] == after[i];
          fits = between;
        }
        before = after;
      }
    }
    EXPECT_TRUE(fits) << "kill after " << delay_ms << " ms: the file matches no operation boundary";
  }
}
