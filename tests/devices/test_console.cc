// Console UART (devices/console.h): transmit at the line rate into the
// console log, receive typed bytes as they arrive, the receive timeout and
// what a power loss does to it, and register misuse. Each TEST elaborates
// its own model.
#include <gtest/gtest.h>

#include <vector>

#include "../support/device_rig.h"
#include "devices/console.h"
#include "devkit/sim_time.h"

using namespace trustsim;
using test::ns_now;

namespace {

constexpr uint64_t kBaud = 115200;
using Rig = test::DeviceRig<ConsoleUart>;

struct Line {
  uint64_t t_ns;
  std::string text;
};

void simulate(std::function<void(Rig&, ConsoleLog&, std::vector<Line>&)> body) {
  ConsoleLog log;
  std::vector<Line> lines;
  log.on_line = [&lines](uint64_t t, const std::string& l) { lines.push_back({t, l}); };
  test::simulate<ConsoleUart>([&log](Rig& r) { return std::make_unique<ConsoleUart>("console", r.power, log, kBaud); },
                              [&](Rig& r) { body(r, log, lines); });
}

// The board time, in ns, `bytes` byte times after `start_ns` (byte times
// are not whole nanoseconds: count in picoseconds, as SystemC does).
uint64_t after(const Rig& r, uint64_t start_ns, uint64_t bytes) {
  return (start_ns * 1000 + bytes * uint64_t(r.dev->byte_time().value())) / 1000;
}

}  // namespace

TEST(ConsoleUart, TransmittedBytesReachTheLogAtTheLineRate) {
  simulate([](Rig& r, ConsoleLog&, std::vector<Line>& lines) {
    EXPECT_EQ(to_ns(r.dev->byte_time()), to_ns(serial_time(10, kBaud))) << "8N1: ten bits a byte";
    wait(from_ns(1000));
    std::string text = "ok\r\nnext\n";
    EXPECT_EQ(r.access(true, TS_CONSOLE_TX, text.data(), text.size()), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(ns_now(), after(r, 1000, text.size())) << "the write lasts one byte time per byte";
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].text, "ok");
    EXPECT_EQ(lines[0].t_ns, after(r, 1000, 1)) << "stamped when its first byte has gone out";
    EXPECT_EQ(lines[1].text, "next");
    EXPECT_EQ(lines[1].t_ns, after(r, 1000, 5));
  });
}

TEST(ConsoleUart, TypedBytesArriveOneByteTimeApartAndAReadTakesWhatHasArrived) {
  simulate([](Rig& r, ConsoleLog&, std::vector<Line>&) {
    r.dev->type("abc");
    char buf[8] = {};
    uint64_t moved = 0;
    EXPECT_EQ(r.access(false, TS_CONSOLE_RX, buf, sizeof buf, &moved), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(moved, 1u) << "the read returns as soon as one byte is there";
    EXPECT_EQ(buf[0], 'a');
    EXPECT_EQ(ns_now(), after(r, 0, 1));
    wait(5 * r.dev->byte_time());
    EXPECT_EQ(r.read64(TS_CONSOLE_RX_AVAIL), 2u);
    EXPECT_EQ(r.access(false, TS_CONSOLE_RX, buf, sizeof buf, &moved), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(moved, 2u);
    EXPECT_EQ(std::string(buf, 2), "bc");
    EXPECT_EQ(r.read64(TS_CONSOLE_RX_AVAIL), 0u);
  });
}

TEST(ConsoleUart, ReceiveTimeoutEndsAnEmptyReadAndPowerLossClearsIt) {
  simulate([](Rig& r, ConsoleLog&, std::vector<Line>&) {
    char buf[4];
    uint64_t moved = 9;
    EXPECT_EQ(r.write64(TS_CONSOLE_RX_TIMEOUT, 5000000), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CONSOLE_RX, buf, sizeof buf, &moved), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(moved, 0u);
    EXPECT_EQ(ns_now(), 5000000u) << "an empty read ends at the timeout";
    EXPECT_TRUE(r.dev->waiting_with_timeout());

    r.cut_power();
    r.restore_power();
    uint64_t start = ns_now();
    sc_core::sc_spawn([&r] {
      wait(from_ns(20000000));
      r.dev->type("x");
    });
    EXPECT_EQ(r.access(false, TS_CONSOLE_RX, buf, sizeof buf, &moved), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(moved, 1u);
    EXPECT_EQ(ns_now(), after(r, start + 20000000, 1)) << "after power loss the read waits without limit again";
  });
}

TEST(ConsoleUart, PowerLossDropsTheRestOfATransmission) {
  simulate([](Rig& r, ConsoleLog& log, std::vector<Line>&) {
    sc_core::sc_spawn([&r] {
      wait(3 * r.dev->byte_time() + from_ns(1));
      r.cut_power();
    });
    std::string text = "abcdefgh";
    r.access(true, TS_CONSOLE_TX, text.data(), text.size());
    log.finish();
    EXPECT_EQ(log.since(0), "abc") << "the bytes out before the cut, no more";
  });
}

TEST(ConsoleUart, MisuseIsAnAddressErrorReportedOncePerRegister) {
  simulate([](Rig& r, ConsoleLog&, std::vector<Line>&) {
    uint64_t v = 0;
    EXPECT_EQ(r.access(true, TS_CONSOLE_RX_TIMEOUT, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CONSOLE_RX_TIMEOUT, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CONSOLE_RX_TIMEOUT, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CONSOLE_TX, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.write64(TS_CONSOLE_RX_AVAIL, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, 0x300, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(ns_now(), 0u) << "refused accesses take no time";
    EXPECT_EQ(r.trace_count("RX_TIMEOUT accessed with 4 bytes (it takes 8 bytes)"), 1u) << r.trace_text();
    EXPECT_EQ(r.trace_count("read of write-only register RX_TIMEOUT"), 1u);
    EXPECT_EQ(r.trace_count("read of write-only register TX"), 1u);
    EXPECT_EQ(r.trace_count("write to read-only register RX_AVAIL"), 1u);
    EXPECT_EQ(r.trace_count("access to unknown register offset 0x300"), 1u);
  });
}
