#include "trustsim/text_blob.h"

#include "trustsim/bytes.h"
#include "trustsim/crc32.h"

namespace trustsim::text_blob {

State decode(const uint8_t* region, size_t region_len, const char** text, uint32_t* len) {
  *text = nullptr;
  *len = 0;
  if (region_len < kHeaderLen) return State::kCorrupt;
  if (load_le32(region) != kMagic) {
    bool erased = true;
    for (uint32_t i = 0; i < kHeaderLen; ++i) erased &= region[i] == 0xFF || region[i] == 0;
    return erased ? State::kEmpty : State::kCorrupt;
  }
  uint32_t n = load_le32(region + 4);
  if (n > region_len - kHeaderLen) return State::kCorrupt;
  if (crc32(region + kHeaderLen, n) != load_le32(region + 12)) return State::kCorrupt;
  *text = reinterpret_cast<const char*>(region + kHeaderLen);
  *len = n;
  return State::kValid;
}

uint32_t encode(const char* text, uint32_t len, uint32_t generation, uint8_t* region, size_t region_len) {
  if (region_len < kHeaderLen || len > region_len - kHeaderLen) return 0;
  store_le32(region, kMagic);
  store_le32(region + 4, len);
  store_le32(region + 8, generation);
  __builtin_memcpy(region + kHeaderLen, text, len);
  store_le32(region + 12, crc32(region + kHeaderLen, len));
  return kHeaderLen + len;
}

}  // namespace trustsim::text_blob
