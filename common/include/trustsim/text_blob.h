// A checksummed text blob in NVRAM (the startup-config): a 16-byte header
// (magic "TSTX", length, generation, CRC-32 of the text) and the text.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::text_blob {

constexpr uint32_t kMagic = 0x58545354u;  // "TSTX"
constexpr uint32_t kHeaderLen = 16;

enum class State { kValid, kEmpty, kCorrupt };
// Returns the text (not NUL-terminated) inside `region` and its length.
State decode(const uint8_t* region, size_t region_len, const char** text, uint32_t* len);
// Encodes into `region`; returns bytes to write, 0 if the text does not fit.
uint32_t encode(const char* text, uint32_t len, uint32_t generation, uint8_t* region, size_t region_len);

}  // namespace trustsim::text_blob
