// Network faults of the transfer engine (devices/netxfer.h), typed values
// as the NAND's: each applies to the next transfer the firmware opens (one
// shot). No SystemC: the scenario parser builds them.
#pragma once
#include <cstdint>
#include <string>
#include <variant>

namespace trustsim {
namespace net {

// The connection is refused; the server is never contacted.
struct Refuse {};
// The transfer opens, then no byte ever comes (the firmware's timeout).
struct Stall {};
// The connection dies after `bytes` bytes.
struct DropAfter {
  uint64_t bytes = 0;
};
// The byte at `offset` arrives with the bits of `mask` flipped.
struct CorruptByte {
  uint64_t offset = 0;
  uint8_t mask = 0xFF;
};
// The same, at an offset drawn from `seed` and the file's size.
struct CorruptSeededByte {
  uint64_t seed = 0;
  uint8_t mask = 0xFF;
};

using Fault = std::variant<Refuse, Stall, DropAfter, CorruptByte, CorruptSeededByte>;

// "refused", "dropped after 1200 bytes", ...: what happens to the next transfer.
inline std::string describe(const Fault& f) {
  if (std::holds_alternative<Refuse>(f)) return "refused";
  if (std::holds_alternative<Stall>(f)) return "stalls";
  if (auto* d = std::get_if<DropAfter>(&f)) return "dropped after " + std::to_string(d->bytes) + " bytes";
  if (auto* c = std::get_if<CorruptByte>(&f)) return "gets a flipped byte at offset " + std::to_string(c->offset);
  return "gets a flipped byte at a seeded offset";
}

}  // namespace net
}  // namespace trustsim
