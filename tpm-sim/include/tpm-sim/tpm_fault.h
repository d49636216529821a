// Faults of the TPM model, typed values as the NAND's (flash-sim/nand_flash.h):
// armed from the board file (devices.tpm.fault) or by a scenario step
// (fault: {tpm: ...}), one at a time. No SystemC: the board-file and
// scenario parsers build them.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <variant>

#include "trustsim/tpm2.h"

namespace trustsim {
namespace tpm {

// `command` answers `rc` (a non-zero TPM response code) instead of running;
// other commands are unaffected.
struct ResponseCode {
  uint32_t command = 0;
  uint32_t rc = 0;
};
// `command` (0: every command) never completes: STS stays in execution.
struct NoResponse {
  uint32_t command = 0;
};
// Every command stays in execution forever.
struct StayBusy {};

using Fault = std::variant<ResponseCode, NoResponse, StayBusy>;

// The command code of a TPM 2.0 command name (PCR_Extend, Quote, Sign,
// ...), from common/tpm2's one table; 0 if there is none.
inline uint32_t command_code_by_name(const std::string& name) {
  for (uint32_t cc = 0x11F; cc <= 0x1A0; ++cc)
    if (const char* nm = tpm2::command_name(cc))
      if (name == nm) return cc;
  return 0;
}

inline std::string command_text(uint32_t cc) {
  if (cc == 0) return "every command";
  const char* nm = tpm2::command_name(cc);
  return nm ? nm : "command " + std::to_string(cc);
}

// The command a fault concerns (0: every command).
inline uint32_t command_of(const Fault& f) {
  if (auto* r = std::get_if<ResponseCode>(&f)) return r->command;
  if (auto* n = std::get_if<NoResponse>(&f)) return n->command;
  return 0;
}

inline std::string describe(const Fault& f) {
  if (auto* r = std::get_if<ResponseCode>(&f)) {
    char rc[16];
    snprintf(rc, sizeof rc, "0x%x", r->rc);
    return command_text(r->command) + " answers " + rc;
  }
  if (auto* n = std::get_if<NoResponse>(&f)) return command_text(n->command) + " never completes";
  return "every command stays busy";
}

}  // namespace tpm
}  // namespace trustsim
