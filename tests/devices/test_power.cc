// Power/reset controller (devices/power_ctrl.h): the clocks and counters it
// reads, reset and power-off requests, sleep in board time, power cycles,
// and register misuse. Each TEST elaborates its own model.
#include <gtest/gtest.h>

#include "../support/device_rig.h"
#include "devices/power_ctrl.h"
#include "devkit/sim_time.h"

using namespace trustsim;
using test::ns_now;

namespace {

constexpr uint64_t kRtcBase = 1795910400;  // 2026-11-29 00:00:00 UTC
using Rig = test::DeviceRig<PowerController>;

void simulate(std::function<void(Rig&)> body) {
  test::simulate<PowerController>([](Rig& r) { return std::make_unique<PowerController>("power", r.power, kRtcBase); },
                                  std::move(body));
}

}  // namespace

TEST(PowerController, ReadsGiveCauseUptimeBoardTimeBootCountAndRtc) {
  simulate([](Rig& r) {
    wait(from_ns(5000000));
    EXPECT_EQ(r.read64(TS_POWER_RESET_CAUSE), uint64_t(TS_RESET_POWER_ON));
    EXPECT_EQ(r.read64(TS_POWER_BOOT_COUNT), 1u);
    EXPECT_EQ(r.read64(TS_POWER_BOARD_TIME_NS), 5000000u);
    EXPECT_EQ(r.read64(TS_POWER_UPTIME_NS), 5000000u);
    EXPECT_EQ(r.read64(TS_POWER_RTC_SECONDS), kRtcBase);
    wait(from_ns(2000000000));
    EXPECT_EQ(r.read64(TS_POWER_RTC_SECONDS), kRtcBase + 2);
  });
}

TEST(PowerController, PowerCycleRestartsUptimeAndCountsTheBoot) {
  simulate([](Rig& r) {
    wait(from_ns(3000000));
    r.cut_power();
    wait(from_ns(1000000));
    r.restore_power(TS_RESET_SOFTWARE);
    wait(from_ns(2000000));
    EXPECT_EQ(r.read64(TS_POWER_RESET_CAUSE), uint64_t(TS_RESET_SOFTWARE));
    EXPECT_EQ(r.read64(TS_POWER_BOOT_COUNT), 2u);
    EXPECT_EQ(r.read64(TS_POWER_UPTIME_NS), 2000000u) << "uptime counts from the last power-on";
    EXPECT_EQ(r.read64(TS_POWER_BOARD_TIME_NS), 6000000u) << "board time does not";
  });
}

TEST(PowerController, ControlRequestsResetOrOffAndRefusesOtherValues) {
  simulate([](Rig& r) {
    EXPECT_EQ(r.power.pending(), PowerDomain::Request::kNone);
    EXPECT_EQ(r.write64(TS_POWER_CONTROL, TS_POWER_CMD_RESET), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.power.pending(), PowerDomain::Request::kReset);
    r.power.clear_request();
    EXPECT_EQ(r.write64(TS_POWER_CONTROL, TS_POWER_CMD_OFF), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.power.pending(), PowerDomain::Request::kOff);
    r.power.clear_request();
    EXPECT_EQ(r.write64(TS_POWER_CONTROL, 7), tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_EQ(r.power.pending(), PowerDomain::Request::kNone);
    EXPECT_TRUE(r.power.is_on()) << "the bridge acts on requests, not the controller";
  });
}

TEST(PowerController, SleepLastsItsBoardTimeOrEndsWhenPowerGoes) {
  simulate([](Rig& r) {
    EXPECT_EQ(r.write64(TS_POWER_SLEEP_NS, 3000000), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(ns_now(), 3000000u);
    sc_core::sc_spawn([&r] {
      wait(from_ns(1000000));
      r.cut_power();
    });
    r.write64(TS_POWER_SLEEP_NS, 10000000);
    EXPECT_EQ(ns_now(), 4000000u) << "a power cut ends the sleep at once";
  });
}

TEST(PowerController, MisuseIsAnAddressErrorReportedOncePerRegister) {
  simulate([](Rig& r) {
    uint64_t v = 0;
    EXPECT_EQ(r.access(false, TS_POWER_UPTIME_NS, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_POWER_UPTIME_NS, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, 0x40, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, 0x40, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_POWER_CONTROL, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.write64(TS_POWER_RESET_CAUSE, 5), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_POWER_SIZE - 4, &v, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE) << "past the window";
    EXPECT_EQ(r.read64(TS_POWER_RESET_CAUSE), uint64_t(TS_RESET_POWER_ON)) << "unchanged";
    EXPECT_EQ(r.trace_count("UPTIME_NS accessed with 4 bytes (it takes 8 bytes)"), 1u) << r.trace_text();
    EXPECT_EQ(r.trace_count("access to unknown register offset 0x40"), 1u);
    EXPECT_EQ(r.trace_count("read of write-only register CONTROL"), 1u);
    EXPECT_EQ(r.trace_count("write to read-only register RESET_CAUSE"), 1u);
    EXPECT_EQ(r.trace_count("\"guest-error\""), 8u) << "op and status of four lines";
  });
}

// WAIT_EVENT (docs/mailbox-abi.md, "Event waits"): one request that ends when
// the named device's event line is due, at its timeout, or when power goes.
TEST(PowerController, WaitEventEndsAtTheDeviceEventOrItsTimeout) {
  simulate([](Rig& r) {
    constexpr uint32_t kDev = TS_DEV_TPM;
    EventLines& lines = r.power.events();
    EXPECT_EQ(r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 1000000)), tlm::TLM_COMMAND_ERROR_RESPONSE)
        << "no such event source on this board";
    EXPECT_EQ(ns_now(), 0u) << "refused at once";
    lines.add_source(kDev);
    // An event at a known later instant (a command's end) ends the wait then.
    lines.raise(kDev, from_ns(2000000));
    EXPECT_EQ(r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 10000000)), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(ns_now(), 2000000u);
    // Nothing pending: the timeout.
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 10000000));
    EXPECT_EQ(ns_now(), 12000000u);
    // Latched: an event raised before the wait started ends it at once.
    lines.raise(kDev, from_ns(ns_now()));
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 10000000));
    EXPECT_EQ(ns_now(), 12000000u);
    // ...unless the firmware has seen the device's state since (a status read).
    lines.raise(kDev, from_ns(ns_now()));
    lines.acknowledge(kDev, from_ns(ns_now()));
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 3000000));
    EXPECT_EQ(ns_now(), 15000000u);
    // An event raised by another process during the wait.
    sc_core::sc_spawn([&lines] {
      wait(from_ns(1500000));
      lines.raise(kDev, sc_core::sc_time_stamp());
    });
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 10000000));
    EXPECT_EQ(ns_now(), 16500000u);
    // Events of another device do not end it.
    lines.add_source(TS_DEV_CONSOLE);
    lines.raise(TS_DEV_CONSOLE, sc_core::sc_time_stamp());
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 1000000));
    EXPECT_EQ(ns_now(), 17500000u);
  });
}

TEST(PowerController, WaitEventEndsWhenPowerGoesAndPowerLossDropsPendingEvents) {
  simulate([](Rig& r) {
    constexpr uint32_t kDev = TS_DEV_TPM;
    EventLines& lines = r.power.events();
    lines.add_source(kDev);
    lines.raise(kDev, from_ns(5000000));
    sc_core::sc_spawn([&r] {
      wait(from_ns(1000000));
      r.cut_power();
    });
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 10000000));
    EXPECT_EQ(ns_now(), 1000000u) << "a power cut ends the wait at once";
    r.restore_power();
    r.write64(TS_POWER_WAIT_EVENT, ts_power_wait_value(kDev, 10000000));
    EXPECT_EQ(ns_now(), 11000000u) << "the event of the last power-on is gone";
    // A timeout wider than the 56-bit field is cut to it, not wrapped.
    EXPECT_EQ(ts_power_wait_value(kDev, ~0ull), uint64_t(kDev) << 56 | TS_POWER_WAIT_NS_MASK);
  });
}
