// Versions of the stages that are not built with a version file: one
// definition for the firmware that prints them and the host tools that
// record them (the known-good values of `trustsim image sign --kgv`).
#pragma once

namespace trustsim::versions {
constexpr const char* kBoot0 = "1.1(1)";
}  // namespace trustsim::versions
