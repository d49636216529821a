// tpm-sim: a discrete TPM 2.0 on the board bus. The register window is a
// TIS/PTP FIFO interface (localities, ACCESS, STS with burstCount, the data
// FIFO) that the firmware drives through the mailbox; the TPM behind it is
// libtpms (TpmEngine). Each command takes the time the board file gives
// for it, in board time, not the time libtpms took on the host. A power
// cut loses everything volatile; the next power-on needs Startup(CLEAR).
// Registers: common/include/trustsim/tpm_regs.h, docs/tpm.md; one register
// table serves every locality (misuse is an address error).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "devkit/device.h"
#include "devkit/register_table.h"
#include "devkit/trace.h"
#include "tpm-sim/tpm_config.h"
#include "tpm-sim/tpm_fault.h"

namespace trustsim {

class TpmDevice : public Device {
 public:
  TpmDevice(sc_core::sc_module_name name, PowerDomain& power, const TpmConfig& cfg, const std::string& nv_path,
            const std::string& rng_seed, DeviceTrace& trace);
  ~TpmDevice() override;
  void power_lost() override;
  void powered_on() override;

  // A fault (tpm-sim/tpm_fault.h), armed at run time by a scenario's
  // `fault: {tpm: ...}` or at construction from the board file's
  // devices.tpm.fault; it replaces the one armed before.
  void arm(const tpm::Fault& fault) { fault_ = fault; }
  void disarm() { fault_.reset(); }

  // A forked campaign run's board writes its TPM NV state here from now on.
  void move_nv_to(const std::string& nv_path);

  // Commands executed since construction (for tests and benches).
  uint64_t commands() const { return commands_; }
  const RegisterTable& registers() const { return regs_; }

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  bool in_range(uint64_t offset, uint64_t len) const override;

 private:
  enum class State { kIdle, kReady, kReception, kExecution, kCompletion };
  uint32_t status_bits(const sc_core::sc_time& now);
  void go(const sc_core::sc_time& now);
  sc_core::sc_time command_time(uint32_t cc) const;
  uint32_t announced_size() const;  // the size field of the command received so far (>= 10 bytes)
  void access_written(const RegisterAccess& a);
  void sts_written(const RegisterAccess& a);
  void fifo(RegisterAccess& a);

  TpmConfig cfg_;
  DeviceTrace& trace_;
  State state_ = State::kIdle;
  int active_locality_ = -1;
  std::vector<uint8_t> cmd_;
  std::vector<uint8_t> resp_;
  size_t resp_pos_ = 0;
  sc_core::sc_time ready_at_;  // power-on init done
  sc_core::sc_time done_at_;   // running command done
  std::optional<tpm::Fault> fault_;
  bool hung_ = false;  // fault: the command never completes
  uint64_t commands_ = 0;
  // The access being served: its locality, the instant it samples, and
  // whether the TPM has finished its init and this locality is active.
  struct {
    uint32_t locality = 0;
    sc_core::sc_time now;
    bool ready = false, active = false;
  } cur_;
  RegisterTable regs_;
};

}  // namespace trustsim
