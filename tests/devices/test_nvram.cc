// NVRAM (AT24C256C-style EEPROM): timing from the board figures, page
// granularity, persistence, power loss inside the write cycle.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "../support/test_util.h"
#include "devices/nvram.h"
#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "tlm_utils/simple_initiator_socket.h"
#include "trustsim/mailbox_abi.h"

using namespace trustsim;

namespace {

NvramConfig figures() {
  NvramConfig c;
  c.size = 8192;
  c.page_size = 64;
  c.page_write_ps = 5ull * 1000000000;  // 5 ms
  c.bus_clock_hz = 400000;
  return c;
}

struct Rig : sc_core::sc_module {
  SC_HAS_PROCESS(Rig);
  test::TempDir dir;
  PowerDomain power;
  DeviceTrace trace;
  std::string path;
  std::unique_ptr<Nvram> nvram;
  tlm_utils::simple_initiator_socket<Rig> socket{"socket"};
  std::function<void(Rig&)> body;

  Rig(NvramConfig cfg, std::function<void(Rig&)> b) : sc_module("rig"), body(std::move(b)) {
    path = dir.file("nvram.bin");
    std::vector<uint8_t> erased(cfg.size, 0xFF);
    write_file_atomic(path, erased.data(), erased.size());
    nvram = std::make_unique<Nvram>("nvram", power, cfg, path, trace);
    socket.bind(nvram->socket);
    SC_THREAD(run);
  }
  void run() {
    power.switch_on(TS_RESET_POWER_ON);
    body(*this);
  }
  tlm::tlm_response_status access(bool write, uint64_t addr, uint8_t* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(data);
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, d);
    wait(d);
    return gp.get_response_status();
  }
};

void simulate(NvramConfig cfg, std::function<void(Rig&)> body) {
  Rig rig(cfg, std::move(body));
  sc_core::sc_start();
}

// I2C: 9 bit times per byte, 3 address/control bytes per transfer.
uint64_t bus_ns(uint64_t bytes, uint64_t hz) { return (3 + bytes) * 9 * 1000000000ull / hz; }

}  // namespace

TEST(Nvram, WriteWithinOnePageTakesBusTimePlusTwr) {
  simulate(figures(), [](Rig& r) {
    uint8_t data[10] = {1, 2, 3};
    ASSERT_EQ(r.access(true, 0, data, 10), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(now_ns(), bus_ns(10, 400000) + 5000000);
  });
}

TEST(Nvram, WriteSpanningPagesTakesOneTwrPerPage) {
  simulate(figures(), [](Rig& r) {
    uint8_t data[100];
    memset(data, 0x5A, sizeof data);
    // Bytes 60..159 touch pages 0 (4 bytes), 1 (64) and 2 (32).
    ASSERT_EQ(r.access(true, 60, data, 100), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(now_ns(), bus_ns(4, 400000) + bus_ns(64, 400000) + bus_ns(32, 400000) + 3 * 5000000ull);
    EXPECT_EQ(r.trace.count(), 3u);
  });
}

TEST(Nvram, PageWriteTimeComesFromTheBoardFigure) {
  NvramConfig slow = figures();
  slow.page_write_ps = 10ull * 1000000000;  // 10 ms
  simulate(slow, [](Rig& r) {
    uint8_t b = 7;
    r.access(true, 100, &b, 1);
    EXPECT_EQ(now_ns(), bus_ns(1, 400000) + 10000000);
  });
}

TEST(Nvram, ReadCostsOnlyBusTime) {
  simulate(figures(), [](Rig& r) {
    uint8_t buf[32];
    ASSERT_EQ(r.access(false, 0, buf, 32), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(now_ns(), bus_ns(32, 400000));
    EXPECT_EQ(buf[0], 0xFF);
  });
}

TEST(Nvram, CompletedWritesPersistInTheStateFile) {
  simulate(figures(), [](Rig& r) {
    uint8_t data[3] = {0xAA, 0xBB, 0xCC};
    r.access(true, 0x100, data, 3);
    std::vector<uint8_t> file = read_file(r.path);
    ASSERT_EQ(file.size(), 8192u);
    EXPECT_EQ(file[0x100], 0xAA);
    EXPECT_EQ(file[0x102], 0xCC);
    EXPECT_EQ(file[0x103], 0xFF);
  });
}

TEST(Nvram, PowerLossDuringWriteCycleLeavesThatPageOld) {
  simulate(figures(), [](Rig& r) {
    // Cut power 2 ms into the second page's write cycle.
    sc_core::sc_spawn([&r] {
      sc_core::wait(from_ns(bus_ns(64, 400000) + 5000000 + bus_ns(64, 400000) + 2000000));
      r.power.switch_off();
    });
    uint8_t data[128];
    memset(data, 0x11, sizeof data);
    EXPECT_EQ(r.access(true, 0, data, 128), tlm::TLM_GENERIC_ERROR_RESPONSE);
    std::vector<uint8_t> file = read_file(r.path);
    EXPECT_EQ(file[0], 0x11) << "the first page completed";
    EXPECT_EQ(file[64], 0xFF) << "the interrupted page keeps its old contents";
    EXPECT_EQ(file[127], 0xFF);
  });
}

namespace {

// Writes two pages (128 bytes of 0x11 over erased 0xFF) with a cut armed at
// the second page write; returns the file afterwards.
struct CutOutcome {
  std::vector<uint8_t> file;
  tlm::tlm_response_status status;
  bool power_on;
  uint64_t observed = 0;
  uint64_t ops = 0;
};

CutOutcome cut_second_page(PowerLoss::Mode mode, uint64_t seed) {
  CutOutcome out;
  struct Observer : OperationObserver {
    uint64_t* seen;
    void operation_starting(Device&, uint64_t index) override { *seen = index; }
  } obs;
  obs.seen = &out.observed;
  simulate(figures(), [&](Rig& r) {
    r.nvram->set_operation_observer(&obs);
    r.nvram->arm_power_cut(PowerLoss{mode, seed, 2});
    EXPECT_THROW(r.nvram->arm_power_cut(PowerLoss{mode, seed, 0}), std::invalid_argument);
    uint8_t data[128];
    memset(data, 0x11, sizeof data);
    out.status = r.access(true, 0, data, 128);
    out.power_on = r.power.is_on();
    out.file = read_file(r.path);
    out.ops = r.nvram->operation_count();
  });
  return out;
}

}  // namespace

TEST(Nvram, ArmedCutBeforeTheSecondPageWriteLeavesItOld) {
  CutOutcome o = cut_second_page(PowerLoss::Mode::kBefore, 1);
  EXPECT_FALSE(o.power_on);
  EXPECT_EQ(o.status, tlm::TLM_GENERIC_ERROR_RESPONSE);
  EXPECT_EQ(o.observed, 2u) << "the observer hears of the operation the cut hits";
  EXPECT_EQ(o.ops, 2u);
  EXPECT_EQ(o.file[63], 0x11);
  EXPECT_EQ(o.file[64], 0xFF);
  EXPECT_EQ(o.file[127], 0xFF);
}

TEST(Nvram, ArmedCutAfterTheSecondPageWriteLeavesItNew) {
  CutOutcome o = cut_second_page(PowerLoss::Mode::kAfter, 1);
  EXPECT_FALSE(o.power_on);
  EXPECT_EQ(o.file[64], 0x11);
  EXPECT_EQ(o.file[127], 0x11);
}

TEST(Nvram, ArmedTornCutLeavesAMixOfOldAndNewBytes) {
  CutOutcome a = cut_second_page(PowerLoss::Mode::kTorn, 42);
  EXPECT_FALSE(a.power_on);
  EXPECT_EQ(a.file[63], 0x11) << "the first page is complete";
  size_t changed = 0;
  for (size_t i = 64; i < 128; ++i) {
    EXPECT_TRUE(a.file[i] == 0x11 || a.file[i] == 0xFF) << i;
    changed += a.file[i] == 0x11;
  }
  EXPECT_LT(changed, 64u) << "a torn write does not complete the page";
}
TEST(Nvram, StateFileOfTheWrongSizeIsRejected) {
  test::TempDir dir;
  std::string path = dir.file("nvram.bin");
  std::vector<uint8_t> small(100, 0xFF);
  write_file_atomic(path, small.data(), small.size());
  PowerDomain power;
  DeviceTrace trace;
  try {
    Nvram n("nvram", power, figures(), path, trace);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("100 bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("8192"), std::string::npos) << e.what();
  }
}
