#include "hw-models/bus.h"

namespace trustsim {

Bus::Bus(sc_core::sc_module_name name) : sc_module(name), target("target"), init_("init") {
  target.register_b_transport(this, &Bus::b_transport);
  target.register_transport_dbg(this, &Bus::transport_dbg);
}

void Bus::map(Device& dev, uint64_t base) {
  init_.bind(dev.socket);
  map_.push_back({&dev, base});
}

int Bus::find(uint64_t addr) const {
  for (size_t i = 0; i < map_.size(); ++i)
    if (addr >= map_[i].base && addr - map_[i].base < map_[i].dev->size()) return int(i);
  return -1;
}

const Device* Bus::decode(uint64_t addr, uint64_t* offset) const {
  int i = find(addr);
  if (i < 0) return nullptr;
  *offset = addr - map_[i].base;
  return map_[i].dev;
}

void Bus::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  uint64_t addr = gp.get_address();
  int i = find(addr);
  if (i < 0) {
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  gp.set_address(addr - map_[i].base);
  init_[i]->b_transport(gp, delay);
  gp.set_address(addr);
}

unsigned Bus::transport_dbg(tlm::tlm_generic_payload& gp) {
  uint64_t addr = gp.get_address();
  int i = find(addr);
  if (i < 0) return 0;
  gp.set_address(addr - map_[i].base);
  unsigned n = init_[i]->transport_dbg(gp);
  gp.set_address(addr);
  return n;
}

}  // namespace trustsim
