// The board bus: address decoding from bus address to device offset.
#pragma once
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <vector>

#include "devkit/device.h"

namespace trustsim {

class Bus : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Bus> target;

  explicit Bus(sc_core::sc_module_name name);
  void map(Device& dev, uint64_t base);  // before elaboration ends
  // The device that owns `addr` (nullptr if none) and the offset inside it.
  const Device* decode(uint64_t addr, uint64_t* offset) const;

 private:
  struct Mapping {
    Device* dev;
    uint64_t base;
  };
  int find(uint64_t addr) const;
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);
  tlm_utils::multi_passthrough_initiator_socket<Bus> init_;
  std::vector<Mapping> map_;
};

}  // namespace trustsim
