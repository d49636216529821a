// Services one mailbox request found in guest RAM: checks it, turns it into a
// TLM-2.0 transaction on the board bus (data pointer straight into guest RAM
// for DMA), waits for its completion time and writes the response. Must run
// in an SC_THREAD while the vCPU is stopped. ABI: docs/mailbox-abi.md.
#pragma once
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdint>

#include "devkit/trace.h"
#include "hw-models/bus.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

class MailboxService : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<MailboxService> socket;

  MailboxService(sc_core::sc_module_name name, const Bus& bus, DeviceTrace& trace, uint64_t ram_base, uint64_t ram_size,
                 uint64_t mailbox_base);
  // A run may end inside a transaction: detach the member extension so the
  // payload's destructor does not try to delete it.
  ~MailboxService() override { gp_.clear_extension(&actual_); }
  void attach_ram(uint8_t* ram) { ram_ = ram; }

  // Returns the response it wrote (also for tests).
  ts_mbox_response service();
  uint64_t requests() const { return requests_; }
  // The guest RAM the last service() wrote, as offsets from RAM's start: [0]
  // the DMA buffer of a read (len 0 if none), [1] the response. The cosim
  // bridge passes them to the plugin, which checks its translations there
  // (docs/cosim-protocol.md, "Keeping translations").
  struct Written {
    uint64_t ram_off = 0, len = 0;
  };
  const Written& written(int i) const { return written_[i]; }

 private:
  bool dma_ok(uint64_t addr, uint64_t len) const;
  const Bus& bus_;
  DeviceTrace& trace_;
  uint8_t* ram_ = nullptr;
  uint64_t ram_base_;
  uint64_t ram_size_;
  uint64_t mailbox_base_;
  uint64_t requests_ = 0;
  Written written_[2];
  tlm::tlm_generic_payload gp_;
  ActualLength actual_;
};

}  // namespace trustsim
