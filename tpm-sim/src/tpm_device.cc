#include "tpm-sim/tpm_device.h"

#include <cstring>

#include "devkit/sim_time.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/tpm2.h"
#include "trustsim/tpm_regs.h"

namespace trustsim {

TpmDevice::TpmDevice(sc_core::sc_module_name name, PowerDomain& power, const TpmConfig& cfg, const std::string& nv_path,
                     const std::string& rng_seed, DeviceTrace& trace)
    : Device(name, TS_DEV_TPM, TS_TPM_SIZE, power),
      cfg_(cfg),
      trace_(trace),
      fault_(cfg.fault),
      regs_("register", [this](const std::string& w) { guest_error(w); }) {
  using A = RegisterAccess;
  regs_.add(
      {"ACCESS", TS_TPM_ACCESS, 1, RegAccess::kReadWrite},
      [this](A& a) {
        a.value = cur_.ready ? uint8_t(TS_TPM_ACCESS_VALID | (cur_.active ? TS_TPM_ACCESS_ACTIVE_LOCALITY : 0)) : 0;
        power_.events().acknowledge(TS_DEV_TPM, cur_.now);
      },
      [this](A& a) { access_written(a); });
  regs_.add(
      {"STS", TS_TPM_STS, 4, RegAccess::kReadWrite},
      [this](A& a) {
        a.value = cur_.ready && cur_.active ? status_bits(cur_.now) : (cur_.ready ? 0xFFFFFFFFu : 0u);
        power_.events().acknowledge(TS_DEV_TPM, cur_.now);
      },
      [this](A& a) { sts_written(a); });
  regs_.add(
      {"DATA_FIFO", TS_TPM_DATA_FIFO, 0, RegAccess::kReadWrite, 0, 0, 0, TS_TPM_MAX_COMMAND}, [this](A& a) { fifo(a); },
      [this](A& a) { fifo(a); });
  regs_.add({"DID_VID", TS_TPM_DID_VID, 4, RegAccess::kReadOnly, TS_TPM_DID_VID_VALUE, 0});
  set_trace(&trace);
  power.events().add_source(TS_DEV_TPM);
  TpmEngine::instance().attach(nv_path, rng_seed);
  if (cfg_.torn_nv_write_bytes) TpmEngine::instance().arm_torn_nv_write(size_t(*cfg_.torn_nv_write_bytes));
}

void TpmDevice::move_nv_to(const std::string& nv_path) { TpmEngine::instance().move_nv_to(nv_path); }

TpmDevice::~TpmDevice() { TpmEngine::instance().detach(); }

bool TpmDevice::in_range(uint64_t offset, uint64_t len) const {
  return Device::in_range(offset, len) && len <= TS_TPM_MAX_COMMAND;
}

void TpmDevice::power_lost() {
  TpmEngine::instance().power_off();
  state_ = State::kIdle;
  active_locality_ = -1;
  cmd_.clear();
  resp_.clear();
  resp_pos_ = 0;
  hung_ = false;
}

void TpmDevice::powered_on() {
  sc_core::sc_time now = sc_core::sc_time_stamp();
  TpmEngine::instance().set_clock_ns(to_ns(now));
  if (!TpmEngine::instance().power_on()) {
    // libtpms refused its NV state (a torn write): like a real part, the TPM
    // comes up in failure mode and answers every command TPM_RC_FAILURE.
    trace_.record({to_ns(now), "tpm", "init", 0, 0, 0, "error", "libtpms could not load its NV state: failure mode"});
  }
  ready_at_ = now + from_ps(cfg_.init_ps);
  state_ = State::kIdle;
  power_.events().raise(TS_DEV_TPM, ready_at_);  // tpmRegValidSts
}

uint32_t TpmDevice::announced_size() const {
  return uint32_t(cmd_[2]) << 24 | uint32_t(cmd_[3]) << 16 | uint32_t(cmd_[4]) << 8 | cmd_[5];
}

sc_core::sc_time TpmDevice::command_time(uint32_t cc) const {
  for (const auto& [code, ps] : cfg_.command_ps)
    if (code == cc) return from_ps(ps);
  return from_ps(cfg_.default_command_ps);
}

uint32_t TpmDevice::status_bits(const sc_core::sc_time& now) {
  if (state_ == State::kExecution && !hung_ && now >= done_at_) state_ = State::kCompletion;
  uint32_t sts = TS_TPM_STS_VALID;
  switch (state_) {
    case State::kIdle:
      break;
    case State::kReady:
      sts |= TS_TPM_STS_COMMAND_READY;
      break;
    case State::kReception: {
      if (cmd_.size() < tpm2::kHeaderSize || cmd_.size() < announced_size()) sts |= TS_TPM_STS_EXPECT;
      break;
    }
    case State::kExecution:
      break;
    case State::kCompletion:
      if (resp_pos_ < resp_.size()) sts |= TS_TPM_STS_DATA_AVAIL;
      break;
  }
  if (state_ == State::kReady || state_ == State::kReception ||
      (state_ == State::kCompletion && resp_pos_ < resp_.size()))
    sts |= uint32_t(cfg_.burst_count) << TS_TPM_STS_BURST_SHIFT;
  return sts;
}

void TpmDevice::go(const sc_core::sc_time& now) {
  uint32_t cc = tpm2::command_code(cmd_.data(), cmd_.size());
  const char* name = tpm2::command_name(cc);
  ++commands_;
  TpmEngine& e = TpmEngine::instance();
  e.set_clock_ns(to_ns(now));
  const tpm::ResponseCode* answer = fault_ ? std::get_if<tpm::ResponseCode>(&*fault_) : nullptr;
  if (answer && cc == answer->command) {
    uint32_t rc = answer->rc;
    resp_ = {0x80, 0x01, 0, 0, 0, 10, uint8_t(rc >> 24), uint8_t(rc >> 16), uint8_t(rc >> 8), uint8_t(rc)};
  } else {
    resp_ = e.execute(cmd_.data(), cmd_.size(), uint32_t(active_locality_ < 0 ? 0 : active_locality_));
  }
  resp_pos_ = 0;
  done_at_ = now + command_time(cc);
  if (e.take_torn_event()) {
    // Fault: the NV write this command made was cut short by a brown-out;
    // the board resets and the TPM finds a torn NV state at the next power-on.
    trace_.record({to_ns(now), "tpm", "fault", cc, 0, 0, "torn-nv-write", "NV write torn; board reset"});
    power_.request(PowerDomain::Request::kReset);
  }
  const tpm::NoResponse* silent = fault_ ? std::get_if<tpm::NoResponse>(&*fault_) : nullptr;
  hung_ = (fault_ && std::holds_alternative<tpm::StayBusy>(*fault_)) ||
          (silent && (silent->command == 0 || cc == silent->command));
  state_ = State::kExecution;
  if (!hung_) power_.events().raise(TS_DEV_TPM, done_at_);  // dataAvail
  uint32_t rc = resp_.size() >= 10
                    ? (uint32_t(resp_[6]) << 24 | uint32_t(resp_[7]) << 16 | uint32_t(resp_[8]) << 8 | resp_[9])
                    : 0;
  char detail[96];
  snprintf(detail, sizeof detail, "%s rc=0x%x%s", name ? name : "unknown", rc, hung_ ? " (fault: no completion)" : "");
  trace_.record(
      {to_ns(now), "tpm", "command", cc, cmd_.size(), to_ns(command_time(cc)), rc ? "tpm-error" : "ok", detail});
}

void TpmDevice::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  // SPI TPM framing: a 4-byte header, then the data, at the bus clock.
  delay += serial_time((4 + len) * 8, cfg_.spi_clock_hz);
  cur_.locality = uint32_t(off / TS_TPM_LOCALITY_STRIDE);
  cur_.now = sc_core::sc_time_stamp() + delay;
  cur_.ready = cur_.now >= ready_at_;
  cur_.active = int(cur_.locality) == active_locality_;
  regs_.access(gp, delay, off % TS_TPM_LOCALITY_STRIDE);
}

void TpmDevice::access_written(const RegisterAccess& a) {
  if (!cur_.ready) return;  // writes before init completes are lost, as on the part
  if ((a.value & TS_TPM_ACCESS_REQUEST_USE) && active_locality_ < 0) {
    active_locality_ = int(cur_.locality);
    power_.events().raise(TS_DEV_TPM, cur_.now);  // locality granted
  }
  if ((a.value & TS_TPM_ACCESS_ACTIVE_LOCALITY) && cur_.active) {
    active_locality_ = -1;
    if (state_ != State::kExecution) state_ = State::kIdle;
  }
}

void TpmDevice::sts_written(const RegisterAccess& a) {
  if (!cur_.ready || !cur_.active) return;
  const sc_core::sc_time& now = cur_.now;
  status_bits(now);  // settle a finished execution
  if (a.value & TS_TPM_STS_COMMAND_READY) {
    if (state_ != State::kExecution) {
      state_ = State::kReady;
      cmd_.clear();
      resp_.clear();
      resp_pos_ = 0;
      power_.events().raise(TS_DEV_TPM, now);  // commandReady
    }
  } else if (a.value & TS_TPM_STS_GO) {
    if (state_ == State::kReception && !(status_bits(now) & TS_TPM_STS_EXPECT)) go(now);
  } else if (a.value & TS_TPM_STS_RESPONSE_RETRY) {
    if (state_ == State::kCompletion) resp_pos_ = 0;
  }
}

void TpmDevice::fifo(RegisterAccess& a) {
  uint64_t len = a.length();
  uint8_t* data = a.data();
  if (!cur_.ready || !cur_.active || len > cfg_.burst_count) {
    a.refuse();
    return;
  }
  status_bits(cur_.now);
  if (a.gp.is_write()) {
    if (state_ != State::kReady && state_ != State::kReception) {
      a.refuse();
      return;
    }
    size_t want = cmd_.size() >= tpm2::kHeaderSize ? announced_size() : TS_TPM_MAX_COMMAND;
    if (cmd_.size() + len > want || cmd_.size() + len > TS_TPM_MAX_COMMAND) {
      a.refuse();  // more bytes than the command announced
      return;
    }
    cmd_.insert(cmd_.end(), data, data + len);
    state_ = State::kReception;
    if (cmd_.size() >= tpm2::kHeaderSize) {
      uint32_t size = announced_size();
      if (size < tpm2::kHeaderSize || size > TS_TPM_MAX_COMMAND || cmd_.size() > size) {
        a.refuse();  // the header's size is impossible
        state_ = State::kReady;
        cmd_.clear();
      }
    }
    return;
  }
  if (state_ != State::kCompletion || len > resp_.size() - resp_pos_) {
    a.refuse();
    return;
  }
  memcpy(data, resp_.data() + resp_pos_, len);
  resp_pos_ += len;
}

}  // namespace trustsim
