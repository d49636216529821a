// A SystemC harness for the tests of one device model: a power domain, a
// device trace in a temporary file, an initiator socket bound to the device,
// and the test body run as a SystemC thread once power is on. SystemC
// allows one elaboration per process, so meson runs each TEST on its own.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "devkit/device.h"
#include "devkit/trace.h"
#include "test_util.h"
#include "tlm_utils/simple_initiator_socket.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim::test {

template <class D>
struct DeviceRig : sc_core::sc_module {
  SC_HAS_PROCESS(DeviceRig);
  TempDir dir;
  PowerDomain power;
  DeviceTrace trace;
  std::string trace_path = dir.file("trace.jsonl");
  std::unique_ptr<D> dev;
  tlm_utils::simple_initiator_socket<DeviceRig> socket{"socket"};
  std::function<void(DeviceRig&)> body;
  bool finished = false;

  DeviceRig(const std::function<std::unique_ptr<D>(DeviceRig&)>& make, std::function<void(DeviceRig&)> b)
      : sc_module("rig"), body(std::move(b)) {
    trace.open(trace_path);
    dev = make(*this);
    dev->set_trace(&trace);
    socket.bind(dev->socket);
    SC_THREAD(run);
    set_stack_size(1 << 20);  // libtpms (the TPM model) needs more than SystemC's default stack
  }
  void run() {
    power.switch_on(TS_RESET_POWER_ON);
    dev->powered_on();
    body(*this);
    finished = true;
  }

  // One bus transaction, waited out; `moved` gets the bytes a port moved.
  tlm::tlm_response_status access(bool write, uint64_t addr, void* data, uint64_t len, uint64_t* moved = nullptr) {
    tlm::tlm_generic_payload gp;
    ActualLength actual;
    actual.bytes = len;
    gp.set_extension(&actual);
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<uint8_t*>(data));
    gp.set_data_length(unsigned(len));
    gp.set_streaming_width(unsigned(len));
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, d);
    wait(d);
    gp.clear_extension(&actual);
    if (moved) *moved = actual.bytes;
    return gp.get_response_status();
  }
  tlm::tlm_response_status write64(uint64_t addr, uint64_t v) { return access(true, addr, &v, 8); }
  uint64_t read64(uint64_t addr) {
    uint64_t v = 0;
    EXPECT_EQ(access(false, addr, &v, 8), tlm::TLM_OK_RESPONSE) << "read of 0x" << std::hex << addr;
    return v;
  }
  // What the board's bridge does when power goes and comes back.
  void cut_power() {
    power.switch_off();
    dev->power_lost();
  }
  void restore_power(uint32_t cause = TS_RESET_POWER_ON) {
    power.switch_on(cause);
    dev->powered_on();
  }
  std::string trace_text() {
    fflush(nullptr);
    return read_text(trace_path);
  }
  // How many trace lines contain `needle`.
  size_t trace_count(const std::string& needle) {
    std::string t = trace_text();
    size_t n = 0;
    for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
    return n;
  }
};

template <class D>
void simulate(const std::function<std::unique_ptr<D>(DeviceRig<D>&)>& make, std::function<void(DeviceRig<D>&)> body) {
  DeviceRig<D> rig(make, std::move(body));
  sc_core::sc_start();
  EXPECT_TRUE(rig.finished) << "the simulation ran out of events before the test body ended";
}

inline uint64_t ns_now() { return uint64_t(sc_core::sc_time_stamp().value() / 1000); }

}  // namespace trustsim::test
