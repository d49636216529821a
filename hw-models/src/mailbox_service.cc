#include "hw-models/mailbox_service.h"

#include <cstring>

#include "devkit/sim_time.h"

namespace trustsim {
namespace {

uint32_t to_status(tlm::tlm_response_status s) {
  switch (s) {
    case tlm::TLM_OK_RESPONSE:
      return TS_MBOX_OK;
    case tlm::TLM_ADDRESS_ERROR_RESPONSE:
      return TS_MBOX_ADDRESS_ERROR;
    case tlm::TLM_COMMAND_ERROR_RESPONSE:
      return TS_MBOX_COMMAND_ERROR;
    case tlm::TLM_BURST_ERROR_RESPONSE:
      return TS_MBOX_BURST_ERROR;
    default:
      return TS_MBOX_DEVICE_ERROR;
  }
}

const char* status_name(uint32_t s) {
  switch (s) {
    case TS_MBOX_OK:
      return "ok";
    case TS_MBOX_ADDRESS_ERROR:
      return "address-error";
    case TS_MBOX_COMMAND_ERROR:
      return "command-error";
    case TS_MBOX_BURST_ERROR:
      return "burst-error";
    case TS_MBOX_DMA_ERROR:
      return "dma-error";
    case TS_MBOX_BAD_REQUEST:
      return "bad-request";
    default:
      return "device-error";
  }
}

}  // namespace

MailboxService::MailboxService(sc_core::sc_module_name name, const Bus& bus, DeviceTrace& trace, uint64_t ram_base,
                               uint64_t ram_size, uint64_t mailbox_base)
    : sc_module(name),
      socket("socket"),
      bus_(bus),
      trace_(trace),
      ram_base_(ram_base),
      ram_size_(ram_size),
      mailbox_base_(mailbox_base) {}

bool MailboxService::dma_ok(uint64_t addr, uint64_t len) const {
  if (addr < ram_base_ || addr - ram_base_ > ram_size_ || len > ram_size_ - (addr - ram_base_)) return false;
  // The buffer may not overlap the mailbox page itself.
  uint64_t mb_end = mailbox_base_ + TS_MBOX_WINDOW_SIZE;
  return addr + len <= mailbox_base_ || addr >= mb_end;
}

ts_mbox_response MailboxService::service() {
  ++requests_;
  written_[0] = written_[1] = Written{};
  ts_mbox_request req;
  uint8_t* mbox = ram_ + (mailbox_base_ - ram_base_);
  memcpy(&req, mbox, sizeof req);

  ts_mbox_response rsp{};
  rsp.seq = req.seq;
  rsp.t_start_ns = now_ns();
  sc_core::sc_time t0 = sc_core::sc_time_stamp();

  TraceEvent ev;
  ev.t_ns = rsp.t_start_ns;
  ev.addr = req.bus_addr;
  ev.len = req.len;
  ev.op = req.op == TS_MBOX_OP_READ ? "read" : req.op == TS_MBOX_OP_WRITE ? "write" : "invalid";
  uint64_t offset = 0;
  const Device* dev = bus_.decode(req.bus_addr, &offset);
  ev.dev = dev ? dev->basename() : "bus";
  if (dev) ev.addr = offset;

  if (req.magic != TS_MBOX_MAGIC || (req.op != TS_MBOX_OP_READ && req.op != TS_MBOX_OP_WRITE) || req.flags != 0 ||
      req.len == 0 || req.len > TS_MBOX_MAX_LEN) {
    rsp.status = TS_MBOX_BAD_REQUEST;
  } else if (!dma_ok(req.dma_addr, req.len)) {
    rsp.status = TS_MBOX_DMA_ERROR;
  } else {
    // A member, not a local: a run can end while this coroutine is blocked
    // inside b_transport, and its stack is then never unwound.
    tlm::tlm_generic_payload& gp = gp_;
    ActualLength& actual = actual_;
    actual.bytes = req.len;
    gp.set_extension(&actual);
    gp.set_command(req.op == TS_MBOX_OP_READ ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
    gp.set_address(req.bus_addr);
    gp.set_data_ptr(ram_ + (req.dma_addr - ram_base_));
    gp.set_data_length(static_cast<unsigned>(req.len));
    gp.set_streaming_width(static_cast<unsigned>(req.len));
    gp.set_byte_enable_ptr(nullptr);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    // A read may write any part of the buffer, even when it fails.
    if (req.op == TS_MBOX_OP_READ) written_[0] = Written{req.dma_addr - ram_base_, req.len};
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, delay);
    wait(delay);
    gp.clear_extension(&actual);
    rsp.status = to_status(gp.get_response_status());
    rsp.actual_len = rsp.status == TS_MBOX_OK ? actual.bytes : 0;
  }
  rsp.t_done_ns = now_ns();
  memcpy(mbox + TS_MBOX_RESPONSE_OFFSET, &rsp, sizeof rsp);
  written_[1] = Written{mailbox_base_ - ram_base_ + TS_MBOX_RESPONSE_OFFSET, sizeof rsp};

  ev.latency_ns = to_ns(sc_core::sc_time_stamp() - t0);
  ev.status = status_name(rsp.status);
  if (rsp.status == TS_MBOX_OK && rsp.actual_len != req.len) ev.detail = "moved " + std::to_string(rsp.actual_len);
  trace_.record(ev);
  return rsp;
}

}  // namespace trustsim
