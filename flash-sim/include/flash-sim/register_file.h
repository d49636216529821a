// The u32 register blocks of the flash controllers (docs/nor-flash.md,
// docs/nand-flash.md): one table type, and the access rules both models
// enforce the same way (a known offset, exactly 4 bytes, the direction the
// register allows), each breach a guest error with a TLM error status.
#pragma once
#include <tlm>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <set>
#include <string>

namespace trustsim::flashreg {

enum class Access { kReadOnly, kWriteOnly, kReadWrite };

struct RegisterSpec {
  const char* name;
  uint32_t offset;
  Access access;
  uint32_t reset;     // geometry registers of the NAND: from the board file
  uint32_t writable;  // bits a write keeps; the rest are reserved
  uint32_t clocks;    // SPI clocks the access costs (0: a controller-side register, free)
};

inline std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

template <size_t N>
const RegisterSpec* find(const RegisterSpec (&table)[N], uint64_t offset) {
  for (const RegisterSpec& r : table)
    if (r.offset == offset) return &r;
  return nullptr;
}

// The register a guest access at `offset` reaches, or nullptr after
// reporting what is wrong through `guest_error` and setting the response
// status. An unknown offset is reported once (`logged`), as "access to
// unknown <what> offset 0x..".
template <size_t N>
const RegisterSpec* checked(const RegisterSpec (&table)[N], tlm::tlm_generic_payload& gp, uint64_t offset,
                            const char* what, std::set<uint64_t>& logged,
                            const std::function<void(const std::string&)>& guest_error) {
  const RegisterSpec* reg = find(table, offset);
  if (!reg) {
    if (logged.insert(offset).second) guest_error(std::string("access to unknown ") + what + " offset " + hex(offset));
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return nullptr;
  }
  if (gp.get_data_length() != 4) {
    guest_error(std::string(reg->name) + " accessed with " + std::to_string(gp.get_data_length()) +
                " bytes (registers are u32)");
    gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return nullptr;
  }
  if (gp.is_read() && reg->access == Access::kWriteOnly) {
    guest_error(std::string("read of write-only register ") + reg->name);
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return nullptr;
  }
  if (gp.is_write() && reg->access == Access::kReadOnly) {
    guest_error(std::string("write to read-only register ") + reg->name);
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return nullptr;
  }
  return reg;
}

// Backdoor (debug transport): whether a read of `offset` may be served
// (a 4-byte read of a readable register); never a guest error.
template <size_t N>
bool debug_readable(const RegisterSpec (&table)[N], const tlm::tlm_generic_payload& gp, uint64_t offset) {
  const RegisterSpec* reg = find(table, offset);
  return reg && gp.get_data_length() == 4 && gp.is_read() && reg->access != Access::kWriteOnly;
}

}  // namespace trustsim::flashreg
