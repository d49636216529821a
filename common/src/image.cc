#include "trustsim/image.h"

#include "trustsim/bytes.h"
#include "trustsim/crc32.h"

namespace trustsim::image {
namespace {

constexpr size_t kOffVersion = 48;
constexpr size_t kOffPlatform = kOffVersion + kVersionLen;
constexpr size_t kOffHeaderCrc = kHeaderSize - 4;

bool printable_string(const uint8_t* p, size_t cap) {
  size_t n = 0;
  while (n < cap && p[n] != 0) {
    if (p[n] < 0x20 || p[n] > 0x7E) return false;
    ++n;
  }
  if (n == cap) return false;
  for (size_t i = n; i < cap; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace

const char* type_name(uint32_t t) {
  switch (Type(t)) {
    case Type::kRommon:
      return "ROMMON";
    case Type::kOs:
      return "OS";
    case Type::kRevocation:
      return "REVOCATION";
  }
  return "UNKNOWN";
}

const char* error_text(Error e) {
  switch (e) {
    case Error::kOk:
      return "ok";
    case Error::kTruncatedHeader:
      return "image truncated inside its header";
    case Error::kBadMagic:
      return "not a trustsim image (bad magic)";
    case Error::kUnsupportedVersion:
      return "unsupported image format version";
    case Error::kBadHeaderLength:
      return "bad header length";
    case Error::kBadHeaderCrc:
      return "header checksum mismatch";
    case Error::kUnknownType:
      return "unknown image type";
    case Error::kBadString:
      return "version or platform string malformed";
    case Error::kEntryOutsidePayload:
      return "entry point outside the payload";
    case Error::kTruncatedPayload:
      return "image truncated: payload shorter than its header says";
    case Error::kBadPayloadCrc:
      return "payload checksum mismatch";
  }
  return "?";
}

Error parse_header(const uint8_t* buf, size_t len, Header& out) {
  if (len < kHeaderSize) return Error::kTruncatedHeader;
  if (load_le32(buf) != kMagic) return Error::kBadMagic;
  out.format_version = load_le16(buf + 4);
  if (out.format_version != kFormatVersion) return Error::kUnsupportedVersion;
  if (load_le16(buf + 6) != kHeaderSize) return Error::kBadHeaderLength;
  if (crc32(buf, kOffHeaderCrc) != load_le32(buf + kOffHeaderCrc)) return Error::kBadHeaderCrc;
  out.image_type = load_le32(buf + 8);
  if (out.image_type < 1 || out.image_type > 3) return Error::kUnknownType;
  out.platform_id = load_le32(buf + 12);
  out.load_addr = load_le64(buf + 16);
  out.entry = load_le64(buf + 24);
  out.payload_len = load_le64(buf + 32);
  out.payload_crc32 = load_le32(buf + 40);
  out.envelope_len = load_le32(buf + 44);
  if (!printable_string(buf + kOffVersion, kVersionLen) || !printable_string(buf + kOffPlatform, kPlatformLen))
    return Error::kBadString;
  __builtin_memcpy(out.version, buf + kOffVersion, kVersionLen);
  __builtin_memcpy(out.platform, buf + kOffPlatform, kPlatformLen);
  if (out.entry < out.load_addr || out.entry - out.load_addr >= out.payload_len) return Error::kEntryOutsidePayload;
  return Error::kOk;
}

Error check_payload(const Header& h, const uint8_t* payload, uint64_t available) {
  if (available < h.payload_len) return Error::kTruncatedPayload;
  if (crc32(payload, size_t(h.payload_len)) != h.payload_crc32) return Error::kBadPayloadCrc;
  return Error::kOk;
}

void write_header(const Header& h, uint8_t* out) {
  __builtin_memset(out, 0, kHeaderSize);
  store_le32(out, kMagic);
  store_le16(out + 4, kFormatVersion);
  store_le16(out + 6, kHeaderSize);
  store_le32(out + 8, h.image_type);
  store_le32(out + 12, h.platform_id);
  store_le64(out + 16, h.load_addr);
  store_le64(out + 24, h.entry);
  store_le64(out + 32, h.payload_len);
  store_le32(out + 40, h.payload_crc32);
  store_le32(out + 44, h.envelope_len);
  size_t vl = bounded_strlen(h.version, kVersionLen - 1);
  __builtin_memcpy(out + kOffVersion, h.version, vl);
  size_t pl = bounded_strlen(h.platform, kPlatformLen - 1);
  __builtin_memcpy(out + kOffPlatform, h.platform, pl);
  store_le32(out + kOffHeaderCrc, crc32(out, kOffHeaderCrc));
}

}  // namespace trustsim::image
