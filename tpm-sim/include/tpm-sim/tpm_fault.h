// Faults of the TPM model, typed values as the NAND's (flash-sim/nand_flash.h):
// armed from the board file (devices.tpm.fault) or by a scenario step
// (fault: {tpm: ...}), one at a time. No SystemC: the board-file and
// scenario parsers build them.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
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

// The options a fault is written with, in a board file (devices.tpm.fault)
// or a scenario (fault: {tpm: ...}). Each file spells the option names in
// its own style; the rules that combine them are fault_from()'s alone.
struct FaultOptions {
  bool has_command = false;
  uint32_t command = 0;
  uint32_t response_code = 0;  // 0: not given
  bool no_response = false;
  bool stay_busy = false;
};
struct FaultWords {
  const char* response_code;
  const char* no_response;
  const char* stay_busy;
};
inline constexpr FaultWords kBoardFileWords{"response_code", "no_response", "stay_busy"};
inline constexpr FaultWords kScenarioWords{"response-code", "no-response", "stay-busy"};

inline std::string fault_forms(const FaultWords& w) {
  return std::string("give exactly one of: command + ") + w.response_code + ", " + w.no_response +
         ": true (with or without command), " + w.stay_busy + ": true";
}

// The fault the options describe (nullopt: none), or std::invalid_argument
// naming the rule they break, in the file's words.
inline std::optional<Fault> fault_from(const FaultOptions& o, const FaultWords& w) {
  int forms = (o.response_code ? 1 : 0) + (o.no_response ? 1 : 0) + (o.stay_busy ? 1 : 0);
  if (forms > 1) throw std::invalid_argument(fault_forms(w));
  if (o.response_code && !o.has_command)
    throw std::invalid_argument(std::string(w.response_code) + " needs the command it answers, e.g. command: Quote");
  if (o.stay_busy && o.has_command)
    throw std::invalid_argument(std::string(w.stay_busy) + " holds every command: drop command");
  if (o.has_command && forms == 0)
    throw std::invalid_argument(std::string("command needs ") + w.response_code + " or " + w.no_response + ": true");
  if (o.response_code) return ResponseCode{o.command, o.response_code};
  if (o.no_response) return NoResponse{o.command};
  if (o.stay_busy) return StayBusy{};
  return std::nullopt;
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
