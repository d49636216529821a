#include "devkit/device_info.h"

#include <cstring>

namespace trustsim {

const TimingFigure* DeviceInfo::figure(const char* key) const {
  for (size_t i = 0; i < timing_count; ++i)
    if (!strcmp(timing[i].key, key)) return &timing[i];
  return nullptr;
}

}  // namespace trustsim
