// The trustsim image container, format version 1: a 256-byte header, the
// payload, and (envelope_len > 0) the signature envelope of common/keys.h.
// Specified in docs/image-format.md.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::image {

constexpr uint32_t kMagic = 0x4D495354u;  // "TSIM"
constexpr uint16_t kFormatVersion = 1;
constexpr uint32_t kHeaderSize = 256;
constexpr uint32_t kVersionLen = 64;
constexpr uint32_t kPlatformLen = 32;

enum class Type : uint32_t { kRommon = 1, kOs = 2, kRevocation = 3 };
const char* type_name(uint32_t t);

// Where each kind of image runs unless it is signed for another address
// (docs/firmware.md, the memory map): the host tools' default load address.
// The revocation image runs apart from the OS image, in the last 16 MiB of
// ROMmon's OS window, so that booting one never lands on code of the other.
constexpr uint64_t kRommonLoadAddr = 0x40200000;
constexpr uint64_t kOsLoadAddr = 0x41000000;
constexpr uint64_t kRevocationLoadAddr = 0x43000000;
constexpr uint64_t default_load_addr(Type t) {
  return t == Type::kRommon ? kRommonLoadAddr : t == Type::kRevocation ? kRevocationLoadAddr : kOsLoadAddr;
}

struct Header {
  uint16_t format_version;
  uint32_t image_type;
  uint32_t platform_id;
  uint64_t load_addr;
  uint64_t entry;
  uint64_t payload_len;
  uint32_t payload_crc32;
  uint32_t envelope_len;
  char version[kVersionLen];    // NUL-terminated
  char platform[kPlatformLen];  // NUL-terminated
};

enum class Error {
  kOk,
  kTruncatedHeader,  // fewer than kHeaderSize bytes
  kBadMagic,
  kUnsupportedVersion,
  kBadHeaderLength,
  kBadHeaderCrc,
  kUnknownType,
  kBadString,  // version/platform not NUL-terminated or not printable
  kEntryOutsidePayload,
  kTruncatedPayload,  // fewer payload bytes than payload_len
  kBadPayloadCrc,
};
const char* error_text(Error e);

// Decodes and checks the header (not the payload). `len` is how many bytes
// of the header are available.
Error parse_header(const uint8_t* buf, size_t len, Header& out);

// Checks the payload that follows a parsed header. `available` is the number
// of payload bytes present.
Error check_payload(const Header& h, const uint8_t* payload, uint64_t available);

// Encodes `h` (payload_crc32 must already be set) into kHeaderSize bytes.
void write_header(const Header& h, uint8_t* out);

}  // namespace trustsim::image
