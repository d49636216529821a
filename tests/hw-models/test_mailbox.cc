// The mailbox bridge, without QEMU: requests are written into a RAM buffer
// exactly as the firmware writes them, then serviced from an SC_THREAD.
// Each TEST elaborates its own SystemC model, so meson runs each case in
// its own process (--gtest_filter).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "devkit/sim_time.h"
#include "hw-models/bus.h"
#include "hw-models/mailbox_service.h"

using namespace trustsim;

namespace {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kMailbox = kRamBase + kRamSize - TS_MBOX_WINDOW_SIZE;
constexpr uint64_t kScratchBase = 0x1000;
constexpr uint64_t kBuf = kRamBase + 0x1000;

// A device with a fixed access latency that logs the order of accesses.
class Scratch : public Device {
 public:
  Scratch(sc_core::sc_module_name n, PowerDomain& p, sc_core::sc_time latency)
      : Device(n, 99, 0x100, p), latency_(latency) {}
  std::vector<uint8_t> mem = std::vector<uint8_t>(0x100, 0);
  std::vector<uint64_t> order;

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override {
    order.push_back(gp.get_address());
    if (gp.is_read())
      memcpy(gp.get_data_ptr(), mem.data() + gp.get_address(), gp.get_data_length());
    else
      memcpy(mem.data() + gp.get_address(), gp.get_data_ptr(), gp.get_data_length());
    delay += latency_;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

 private:
  sc_core::sc_time latency_;
};

struct Rig : sc_core::sc_module {
  SC_HAS_PROCESS(Rig);
  PowerDomain power;
  DeviceTrace trace;
  Bus bus{"bus"};
  Scratch scratch{"scratch", power, from_ns(250)};
  MailboxService mbox{"mailbox", bus, trace, kRamBase, kRamSize, kMailbox};
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize, 0);
  std::function<void(Rig&)> body;
  uint32_t seq = 0;

  explicit Rig(std::function<void(Rig&)> b) : sc_module("rig"), body(std::move(b)) {
    bus.map(scratch, kScratchBase);
    mbox.socket.bind(bus.target);
    mbox.attach_ram(ram.data());
    SC_THREAD(run);
  }
  void run() {
    power.switch_on(TS_RESET_POWER_ON);
    body(*this);
  }
  uint8_t* at(uint64_t gpa) { return ram.data() + (gpa - kRamBase); }

  ts_mbox_response request(uint32_t op, uint64_t bus_addr, uint64_t len, uint64_t dma = kBuf,
                           uint32_t magic = TS_MBOX_MAGIC) {
    ts_mbox_request r{};
    r.magic = magic;
    r.seq = ++seq;
    r.op = op;
    r.bus_addr = bus_addr;
    r.len = len;
    r.dma_addr = dma;
    memcpy(at(kMailbox), &r, sizeof r);
    mbox.service();
    ts_mbox_response rsp;
    memcpy(&rsp, at(kMailbox + TS_MBOX_RESPONSE_OFFSET), sizeof rsp);  // what the guest reads
    return rsp;
  }
};

void simulate(std::function<void(Rig&)> body) {
  Rig rig(std::move(body));
  sc_core::sc_start();
}

}  // namespace

TEST(MailboxBridge, ResponseCompletesAfterDeviceLatency) {
  simulate([](Rig& r) {
    sc_core::wait(from_ns(1000));
    ts_mbox_response rsp = r.request(TS_MBOX_OP_READ, kScratchBase + 8, 8);
    EXPECT_EQ(rsp.status, uint32_t(TS_MBOX_OK));
    EXPECT_EQ(rsp.t_start_ns, 1000u);
    EXPECT_EQ(rsp.t_done_ns, 1250u);
    EXPECT_EQ(now_ns(), 1250u) << "the bridge must not return before SystemC reaches the completion time";
    EXPECT_EQ(rsp.actual_len, 8u);
  });
}

TEST(MailboxBridge, RequestsAreServicedInOrderWithEchoedSequence) {
  simulate([](Rig& r) {
    uint64_t last_done = 0;
    for (uint64_t off : {0x10, 0x20, 0x08}) {
      memset(r.at(kBuf), int(off), 4);
      ts_mbox_response rsp = r.request(TS_MBOX_OP_WRITE, kScratchBase + off, 4);
      EXPECT_EQ(rsp.seq, r.seq);
      EXPECT_EQ(rsp.status, uint32_t(TS_MBOX_OK));
      EXPECT_GT(rsp.t_done_ns, last_done);
      last_done = rsp.t_done_ns;
    }
    EXPECT_EQ(r.scratch.order, (std::vector<uint64_t>{0x10, 0x20, 0x08}));
    EXPECT_EQ(r.scratch.mem[0x20], 0x20);
    // The data moved by DMA comes back on a read.
    memset(r.at(kBuf), 0, 4);
    r.request(TS_MBOX_OP_READ, kScratchBase + 0x10, 4);
    EXPECT_EQ(*r.at(kBuf), 0x10);
    EXPECT_EQ(r.trace.count(), 4u);
  });
}

TEST(MailboxBridge, UnmappedBusAddressGivesAddressError) {
  simulate([](Rig& r) {
    ts_mbox_response rsp = r.request(TS_MBOX_OP_READ, 0x90000000, 4);
    EXPECT_EQ(rsp.status, uint32_t(TS_MBOX_ADDRESS_ERROR));
    EXPECT_EQ(rsp.actual_len, 0u);
  });
}

TEST(MailboxBridge, AccessRunningPastTheDeviceGivesAddressError) {
  simulate([](Rig& r) {
    ts_mbox_response rsp = r.request(TS_MBOX_OP_WRITE, kScratchBase + 0xF0, 0x20);
    EXPECT_EQ(rsp.status, uint32_t(TS_MBOX_ADDRESS_ERROR));
    EXPECT_TRUE(r.scratch.order.empty()) << "the device must not see an out-of-range access";
  });
}

TEST(MailboxBridge, MalformedRequestsGetBadRequest) {
  simulate([](Rig& r) {
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 4, kBuf, 0xDEADBEEF).status, uint32_t(TS_MBOX_BAD_REQUEST));
    EXPECT_EQ(r.request(7, kScratchBase, 4).status, uint32_t(TS_MBOX_BAD_REQUEST));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 0).status, uint32_t(TS_MBOX_BAD_REQUEST));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, uint64_t(1) << 40).status, uint32_t(TS_MBOX_BAD_REQUEST));
    EXPECT_TRUE(r.scratch.order.empty());
  });
}

TEST(MailboxBridge, DmaOutsideRamOrIntoTheMailboxIsRefused) {
  simulate([](Rig& r) {
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 4, 0x1000).status, uint32_t(TS_MBOX_DMA_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 16, kRamBase + kRamSize - 8).status,
              uint32_t(TS_MBOX_DMA_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 4, kMailbox + 0x100).status, uint32_t(TS_MBOX_DMA_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 8, kMailbox - 4).status, uint32_t(TS_MBOX_DMA_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, kScratchBase, 4, ~0ull - 2).status, uint32_t(TS_MBOX_DMA_ERROR));
    EXPECT_TRUE(r.scratch.order.empty());
  });
}
