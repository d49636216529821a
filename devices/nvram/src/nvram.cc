#include "devices/nvram.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "devkit/input_error.h"
#include "devkit/seeded_rng.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "devkit/tear.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {
namespace {
// Seed streams of the cut injector. An unplanned cut leaves the page old
// and draws nothing; an armed torn cut draws its instant inside tWR and
// then the bytes from "nvram".
constexpr uint64_t kUnplannedSalt = 0x6E7672616Dull;
constexpr uint64_t kInstantSalt = 0x6E7672616Dull;
}  // namespace

Nvram::Nvram(sc_core::sc_module_name name, PowerDomain& power, const NvramConfig& cfg, std::string state_path,
             DeviceTrace& trace)
    : Device(name, TS_DEV_NVRAM, cfg.size, power),
      cfg_(cfg),
      state_path_(std::move(state_path)),
      trace_(trace),
      cuts_(*this, trace, kUnplannedSalt, kInstantSalt) {
  use_power_cuts(cuts_);
  mem_ = read_file(state_path_);
  if (mem_.size() != cfg_.size)
    throw InputError(state_path_ + ": NVRAM image is " + std::to_string(mem_.size()) +
                     " bytes but the board file says " + std::to_string(cfg_.size));
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
    CutInjector::Decision cut = cuts_.begin();
    TraceEvent e;
    e.t_ns = start_ns;
    e.dev = "nvram";
    e.op = "page-write";
    e.addr = addr;
    e.len = chunk;
    if (cut.before()) {
      cuts_.record_fired(cut, addr);
      e.status = "power-lost";
      e.detail = "power failed before the write cycle began";
      trace_.record(e);
      power_.switch_off();
      break;
    }
    wait(bus_time(chunk), power_.off_event());
    bool torn = false;
    if (cut.torn() && power_.is_on()) {
      // A seeded instant inside tWR; a share of the bytes that follows it
      // have taken their new value.
      SeededRng rng = cuts_.torn_generator(cut);
      double fraction = torn_instant(rng);
      wait(from_ps(uint64_t(double(cfg_.page_write_ps) * fraction)), power_.off_event());
      if (power_.is_on()) {
        // Torn means torn: of the bytes the write changes, some end up new
        // and some stay old whenever there are two or more of them.
        std::vector<uint64_t> differ;
        for (uint64_t i = 0; i < chunk; ++i)
          if (mem_[addr + i] != data[done + i]) differ.push_back(i);
        std::vector<bool> take = choose_torn(rng, differ.size(), fraction);
        uint64_t changed = 0;
        for (size_t k = 0; k < differ.size(); ++k)
          if (take[k]) mem_[addr + differ[k]] = data[done + differ[k]], ++changed;
        persist();
        torn = true;
        cuts_.record_fired(cut, addr);
        e.detail = std::to_string(changed) + " of the " + std::to_string(differ.size()) +
                   " changing bytes written; seed=" + std::to_string(cut.seed);
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
    if (cut.after()) {
      cuts_.record_fired(cut, addr);
      power_.switch_off();
      break;
    }
  }
  if (done < len) gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
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
