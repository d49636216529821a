#include "hw-models/nvram.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "flash-sim/seeded_rng.h"
#include "hw-models/input_error.h"
#include "hw-models/sim_time.h"
#include "hw-models/state_file.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

Nvram::Nvram(sc_core::sc_module_name name, PowerDomain& power, const BoardConfig::Nvram& cfg, std::string state_path,
             DeviceTrace& trace)
    : Device(name, TS_DEV_NVRAM, cfg.size, power), cfg_(cfg), state_path_(std::move(state_path)), trace_(trace) {
  mem_ = read_file(state_path_);
  if (mem_.size() != cfg_.size)
    throw InputError(state_path_ + ": NVRAM image is " + std::to_string(mem_.size()) + " bytes but the board file says " +
                     std::to_string(cfg_.size));
}

sc_core::sc_time Nvram::bus_time(uint64_t data_bytes) const {
  // device address + two address bytes + data, 9 bit times each (ACK).
  return serial_time((3 + data_bytes) * 9, cfg_.bus_clock_hz);
}

void Nvram::persist() { write_file_atomic(state_path_, mem_.data(), mem_.size()); }

void Nvram::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  uint8_t* data = gp.get_data_ptr();
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  if (gp.is_read()) {
    delay += bus_time(len);
    memcpy(data, mem_.data() + off, len);
    return;
  }
  wait(delay);
  delay = sc_core::SC_ZERO_TIME;
  uint64_t done = 0;
  while (done < len) {
    uint64_t addr = off + done;
    uint64_t chunk = std::min(len - done, cfg_.page_size - addr % cfg_.page_size);
    uint64_t start_ns = now_ns();
    announce_operation(operations_ + 1);
    uint64_t index = ++operations_;
    const PowerCut* cut = nullptr;
    PowerCut armed;
    auto it = std::find_if(cuts_.begin(), cuts_.end(), [&](const PowerCut& c) { return c.at_operation == index; });
    if (it != cuts_.end()) {
      armed = *it;
      cuts_.erase(it);
      cut = &armed;
    }
    TraceEvent e;
    e.t_ns = start_ns;
    e.dev = "nvram";
    e.op = "page-write";
    e.addr = addr;
    e.len = chunk;
    if (cut) {
      TraceEvent f;
      f.t_ns = start_ns;
      f.dev = "nvram";
      f.op = "fault";
      f.addr = addr;
      f.status = "fired";
      f.detail = std::string("power-cut ") + power_cut_mode_name(cut->mode) + " page write " + std::to_string(index) +
                 " seed=" + std::to_string(cut->seed);
      trace_.record(f);
    }
    if (cut && cut->mode == PowerCut::Mode::kBefore) {
      e.status = "power-lost";
      e.detail = "power failed before the write cycle began";
      trace_.record(e);
      power_.switch_off();
      break;
    }
    wait(bus_time(chunk), power_.off_event());
    bool torn = false;
    if (cut && cut->mode == PowerCut::Mode::kTorn && power_.is_on()) {
      // A seeded instant inside tWR; a share of the bytes that follows it
      // have taken their new value.
      SeededRng rng(cut->seed ^ 0x6E7672616Dull);
      double fraction = double(rng.below(999) + 1) / 1000.0;
      wait(from_ps(uint64_t(double(cfg_.page_write_ps) * fraction)), power_.off_event());
      if (power_.is_on()) {
        // Torn means torn: of the bytes the write changes, some end up new
        // and some stay old whenever there are two or more of them.
        std::vector<uint64_t> differ;
        for (uint64_t i = 0; i < chunk; ++i)
          if (mem_[addr + i] != data[done + i]) differ.push_back(i);
        std::vector<bool> take(chunk);
        uint64_t taken = 0;
        for (uint64_t i : differ) taken += (take[i] = rng.unit() < fraction);
        if (differ.size() >= 2 && taken == differ.size()) take[differ[rng.below(differ.size())]] = false;
        if (differ.size() >= 2 && taken == 0) take[differ[rng.below(differ.size())]] = true;
        uint64_t changed = 0;
        for (uint64_t i = 0; i < chunk; ++i)
          if (take[i]) mem_[addr + i] = data[done + i], ++changed;
        persist();
        torn = true;
        e.detail = std::to_string(changed) + " of the " + std::to_string(differ.size()) + " changing bytes written; seed=" +
                   std::to_string(cut->seed);
      }
    } else if (power_.is_on()) {
      // Self-timed write cycle: the page changes only if it completes.
      wait(from_ps(cfg_.page_write_ps), power_.off_event());
    }
    bool completed = power_.is_on() && !torn;
    e.latency_ns = now_ns() - start_ns;
    e.status = completed ? "ok" : torn ? "torn" : "power-lost";
    trace_.record(e);
    if (!completed) {
      if (torn) power_.switch_off();
      break;
    }
    memcpy(mem_.data() + addr, data + done, chunk);
    persist();
    done += chunk;
    if (cut && cut->mode == PowerCut::Mode::kAfter) {
      power_.switch_off();
      break;
    }
  }
  if (done < len) gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
}

void Nvram::arm_power_cut(const PowerCut& cut) {
  if (cut.at_operation <= operations_)
    throw std::invalid_argument("power cut at NVRAM page write " + std::to_string(cut.at_operation) + ": write " +
                                std::to_string(operations_) + " has already started");
  cuts_.push_back(cut);
}

void Nvram::backdoor_write(uint32_t offset, const uint8_t* data, uint32_t len) {
  if (offset > mem_.size() || len > mem_.size() - offset) throw InputError("NVRAM backdoor write beyond the part");
  memcpy(mem_.data() + offset, data, len);
  persist();
}

unsigned Nvram::debug_transport(tlm::tlm_generic_payload& gp) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  if (gp.is_read()) {
    memcpy(gp.get_data_ptr(), mem_.data() + off, len);
  } else {
    memcpy(mem_.data() + off, gp.get_data_ptr(), len);
    persist();
  }
  return unsigned(len);
}

}  // namespace trustsim
