// CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320), as zlib computes it.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim {

// Continue a CRC: pass the previous result as `crc` (0 to start).
uint32_t crc32(const void* data, size_t len, uint32_t crc = 0);

}  // namespace trustsim
