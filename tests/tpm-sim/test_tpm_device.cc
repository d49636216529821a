// The TPM register model (tpm-sim): driven with TLM transactions exactly as
// the firmware driver drives it through the mailbox. Power-on init, the
// locality handshake, the FIFO, board-file command times, power loss, and
// the fault options.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "../support/device_rig.h"
#include "devkit/sim_time.h"
#include "tpm-sim/tpm_device.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/tpm2.h"
#include "trustsim/tpm_regs.h"

using namespace trustsim;

namespace {

constexpr uint64_t kMs = 1000000;

TpmConfig figures() {
  TpmConfig t;
  t.present = true;
  t.spi_clock_hz = 43000000;
  t.burst_count = 64;
  t.init_ps = 88 * kMs * 1000;
  t.default_command_ps = 20 * kMs * 1000;
  t.command_ps = {{tpm2::kCcPcrExtend, 14 * kMs * 1000}, {tpm2::kCcStartup, 20 * kMs * 1000}};
  return t;
}

// The shared device harness (tests/support/device_rig.h) with the TPM's
// register protocol on top: the locality handshake, the FIFO and tpmGo.
struct Rig : test::DeviceRig<TpmDevice> {
  Rig(const TpmConfig& cfg, std::function<void(Rig&)> b)
      : DeviceRig(
            [cfg](DeviceRig& r) {
              return std::make_unique<TpmDevice>("tpm", r.power, cfg, r.dir.file("tpm-nv.bin"), "test", r.trace);
            },
            [b = std::move(b)](DeviceRig& r) { b(static_cast<Rig&>(r)); }) {}
  uint8_t access_reg() {
    uint8_t v = 0;
    access(false, TS_TPM_ACCESS, &v, 1);
    return v;
  }
  uint32_t sts() {
    uint32_t v = 0;
    access(false, TS_TPM_STS, reinterpret_cast<uint8_t*>(&v), 4);
    return v;
  }
  void write_sts(uint32_t v) { access(true, TS_TPM_STS, reinterpret_cast<uint8_t*>(&v), 4); }
  void request_locality() {
    uint8_t v = TS_TPM_ACCESS_REQUEST_USE;
    access(true, TS_TPM_ACCESS, &v, 1);
  }
  // Sends a whole command (burst by burst) and sets tpmGo; returns the time of tpmGo.
  sc_core::sc_time send(const uint8_t* cmd, size_t len) {
    write_sts(TS_TPM_STS_COMMAND_READY);
    for (size_t off = 0; off < len; off += 64) {
      size_t n = std::min<size_t>(64, len - off);
      EXPECT_EQ(access(true, TS_TPM_DATA_FIFO, const_cast<uint8_t*>(cmd + off), unsigned(n)), tlm::TLM_OK_RESPONSE);
    }
    EXPECT_FALSE(sts() & TS_TPM_STS_EXPECT);
    write_sts(TS_TPM_STS_GO);
    return sc_core::sc_time_stamp();
  }
  // Polls every 100 us until dataAvail; reads the response.
  std::vector<uint8_t> receive() {
    while (!(sts() & TS_TPM_STS_DATA_AVAIL)) wait(sc_core::sc_time(100, sc_core::SC_US));
    uint8_t hdr[10];
    EXPECT_EQ(access(false, TS_TPM_DATA_FIFO, hdr, 10), tlm::TLM_OK_RESPONSE);
    tpm2::Header h{};
    tpm2::parse_header(hdr, 10, &h);
    std::vector<uint8_t> r(hdr, hdr + 10);
    r.resize(h.size);
    for (size_t off = 10; off < h.size; off += 64) {
      size_t n = std::min<size_t>(64, h.size - off);
      EXPECT_EQ(access(false, TS_TPM_DATA_FIFO, r.data() + off, unsigned(n)), tlm::TLM_OK_RESPONSE);
    }
    EXPECT_FALSE(sts() & TS_TPM_STS_DATA_AVAIL);
    return r;
  }
  uint32_t rc(const std::vector<uint8_t>& r) {
    tpm2::Header h{};
    tpm2::parse_header(r.data(), r.size(), &h);
    return h.code;
  }
  uint32_t transact(const uint8_t* cmd, size_t len) {
    send(cmd, len);
    return rc(receive());
  }
};

void simulate(const TpmConfig& cfg, std::function<void(Rig&)> body) {
  Rig rig(cfg, std::move(body));
  sc_core::sc_start();
  EXPECT_TRUE(rig.finished) << "the simulation ran out of events before the test body ended";
}

uint8_t g_cmd[4096];

}  // namespace

TEST(TpmDevice, NotValidUntilInitTimeThenLocalityIsGranted) {
  simulate(figures(), [](Rig& r) {
    EXPECT_EQ(r.access_reg(), 0);  // still initialising
    r.request_locality();          // lost: the part does not listen yet
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    EXPECT_EQ(r.access_reg(), TS_TPM_ACCESS_VALID);
    r.request_locality();
    EXPECT_EQ(r.access_reg(), TS_TPM_ACCESS_VALID | TS_TPM_ACCESS_ACTIVE_LOCALITY);
    uint8_t other = 0;
    r.access(false, TS_TPM_LOCALITY_STRIDE + TS_TPM_ACCESS, &other, 1);
    EXPECT_EQ(other, TS_TPM_ACCESS_VALID);  // locality 1 is not active
  });
}

TEST(TpmDevice, CommandCompletesAfterItsBoardFileTime) {
  simulate(figures(), [](Rig& r) {
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear)), 0u);
    uint8_t d[32] = {7};
    sc_core::sc_time go = r.send(g_cmd, tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, d));
    EXPECT_FALSE(r.sts() & TS_TPM_STS_DATA_AVAIL);  // still executing
    wait(sc_core::sc_time(13, sc_core::SC_MS));
    EXPECT_FALSE(r.sts() & TS_TPM_STS_DATA_AVAIL);
    std::vector<uint8_t> resp = r.receive();
    EXPECT_EQ(r.rc(resp), 0u);
    // Ready 14 ms after tpmGo, seen at the next 100 us poll.
    uint64_t waited = to_ns(sc_core::sc_time_stamp() - go);
    EXPECT_GE(waited, 14 * kMs);
    EXPECT_LT(waited, 14 * kMs + 200000 + 64 * 2000);
  });
}

TEST(TpmDevice, FifoRefusesMoreThanTheCommandAnnouncedAndOverBurst) {
  simulate(figures(), [](Rig& r) {
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    size_t n = tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear);  // 12 bytes
    r.write_sts(TS_TPM_STS_COMMAND_READY);
    EXPECT_EQ(r.access(true, TS_TPM_DATA_FIFO, g_cmd, 10), tlm::TLM_OK_RESPONSE);
    EXPECT_TRUE(r.sts() & TS_TPM_STS_EXPECT);
    uint8_t extra[4] = {0, 0, 0, 0};
    EXPECT_EQ(r.access(true, TS_TPM_DATA_FIFO, extra, 4), tlm::TLM_COMMAND_ERROR_RESPONSE);  // 14 > 12
    EXPECT_EQ(r.access(true, TS_TPM_DATA_FIFO, g_cmd + 10, unsigned(n - 10)), tlm::TLM_OK_RESPONSE);
    EXPECT_FALSE(r.sts() & TS_TPM_STS_EXPECT);
    uint8_t big[65] = {};
    r.write_sts(TS_TPM_STS_COMMAND_READY);
    EXPECT_EQ(r.access(true, TS_TPM_DATA_FIFO, big, 65), tlm::TLM_COMMAND_ERROR_RESPONSE);  // over burstCount
  });
}

TEST(TpmDevice, PowerLossDropsPcrsAndTheNextBootNeedsStartup) {
  simulate(figures(), [](Rig& r) {
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear)), 0u);
    uint8_t d[32] = {9};
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 8, d)), 0u);
    r.cut_power();
    wait(sc_core::sc_time(10, sc_core::SC_MS));
    r.restore_power();
    EXPECT_EQ(r.access_reg(), 0);  // init again
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    EXPECT_EQ(r.transact(g_cmd, tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, tpm2::pcr_bit(8))), tpm2::kRcInitialize);
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear)), 0u);
    r.send(g_cmd, tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, tpm2::pcr_bit(8)));
    std::vector<uint8_t> resp = r.receive();
    tpm2::Response pr;
    ASSERT_TRUE(tpm2::parse_response(resp.data(), resp.size(), 0, &pr));
    tpm2::PcrValues v{};
    ASSERT_TRUE(tpm2::parse_pcr_read(pr, &v));
    EXPECT_EQ(std::vector<uint8_t>(v.digest[0], v.digest[0] + 32), std::vector<uint8_t>(32, 0));
  });
}

TEST(TpmDevice, FaultChosenCommandAnswersChosenCode) {
  TpmConfig cfg = figures();
  cfg.fault = tpm::ResponseCode{tpm2::kCcPcrExtend, 0x101};  // TPM_RC_FAILURE
  simulate(cfg, [](Rig& r) {
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear)), 0u);
    uint8_t d[32] = {1};
    EXPECT_EQ(r.transact(g_cmd, tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, d)), 0x101u);
    EXPECT_EQ(r.transact(g_cmd, tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, 1)), 0u);  // other commands unaffected
  });
}

TEST(TpmDevice, FaultStayBusyNeverRaisesDataAvail) {
  TpmConfig cfg = figures();
  cfg.fault = tpm::StayBusy{};
  simulate(cfg, [](Rig& r) {
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    r.send(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear));
    r.sts();
    sc_core::sc_time at;
    EXPECT_FALSE(r.power.events().next(TS_DEV_TPM, &at)) << "the event line announces no completion";
    wait(sc_core::sc_time(10, sc_core::SC_SEC));
    uint32_t s = r.sts();
    EXPECT_TRUE(s & TS_TPM_STS_VALID);
    EXPECT_FALSE(s & TS_TPM_STS_DATA_AVAIL);
    EXPECT_FALSE(s & TS_TPM_STS_COMMAND_READY);
  });
}

// A typed fault armed at run time (as a scenario step does) holds only its
// own command.
TEST(TpmDevice, FaultArmedAtRunTimeHoldsOnlyItsCommand) {
  simulate(figures(), [](Rig& r) {
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.request_locality();
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear)), 0u);
    r.dev->arm(tpm::NoResponse{tpm2::kCcPcrExtend});
    EXPECT_EQ(r.transact(g_cmd, tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, 1)), 0u) << "other commands still complete";
    uint8_t d[32] = {1};
    r.send(g_cmd, tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, d));
    wait(sc_core::sc_time(10, sc_core::SC_SEC));
    EXPECT_FALSE(r.sts() & TS_TPM_STS_DATA_AVAIL) << "PCR_Extend never completes";
  });
}

// The TPM's event line (docs/tpm.md, "Event line"): raised at init done, at a
// locality grant, at commandReady and at the instant a command completes, so
// a WAIT_EVENT on it ends exactly when dataAvail comes; acknowledged by an
// ACCESS or STS read; never raised for a command a fault keeps from completing
// (FaultStayBusyNeverRaisesDataAvail).
TEST(TpmDevice, EventLineMarksInitLocalityReadyAndCompletion) {
  simulate(figures(), [](Rig& r) {
    EventLines& lines = r.power.events();
    ASSERT_TRUE(lines.is_source(TS_DEV_TPM));
    sc_core::sc_time at;
    ASSERT_TRUE(lines.next(TS_DEV_TPM, &at));
    EXPECT_EQ(to_ns(at), 88 * kMs) << "tpmRegValidSts";
    wait(sc_core::sc_time(88, sc_core::SC_MS));
    r.access_reg();
    EXPECT_FALSE(lines.next(TS_DEV_TPM, &at)) << "an ACCESS read acknowledges it";
    r.request_locality();
    EXPECT_TRUE(lines.take_due(TS_DEV_TPM, sc_core::sc_time_stamp())) << "locality granted";
    r.write_sts(TS_TPM_STS_COMMAND_READY);
    EXPECT_TRUE(lines.next(TS_DEV_TPM, &at));
    r.sts();
    EXPECT_FALSE(lines.next(TS_DEV_TPM, &at)) << "an STS read acknowledges commandReady";
    uint8_t d[32] = {7};
    ASSERT_EQ(r.transact(g_cmd, tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear)), 0u);
    lines.clear();
    sc_core::sc_time go = r.send(g_cmd, tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, d));
    r.sts();  // acknowledges what came before: the completion is still ahead
    ASSERT_TRUE(lines.next(TS_DEV_TPM, &at));
    EXPECT_EQ(at - go, sc_core::sc_time(14, sc_core::SC_MS)) << "the instant the command completes";
    wait(at - sc_core::sc_time_stamp());
    EXPECT_TRUE(r.sts() & TS_TPM_STS_DATA_AVAIL) << "dataAvail at the event's instant, not later";
  });
}
