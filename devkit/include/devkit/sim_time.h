// Conversions between SystemC time and the integers used in traces, board
// files and the mailbox (the kernel runs at the default 1 ps resolution).
#pragma once
#include <systemc>

#include <cstdint>

#include "devkit/device_info.h"

namespace trustsim {

inline sc_core::sc_time from_ps(uint64_t ps) { return sc_core::sc_time::from_value(ps); }
inline sc_core::sc_time from_ns(uint64_t ns) { return sc_core::sc_time::from_value(ns * 1000); }
inline uint64_t to_ns(const sc_core::sc_time& t) { return t.value() / 1000; }
inline uint64_t now_ns() { return to_ns(sc_core::sc_time_stamp()); }

// Time to move `bits` over a serial link at `hz`.
inline sc_core::sc_time serial_time(uint64_t bits, uint64_t hz) {
  // 128-bit intermediate: a 64 MiB transfer is 5e8 bits, times 1e12 ps.
  return sc_core::sc_time::from_value(uint64_t((unsigned __int128)bits * 1000000000000ull / hz));
}

// A registry duration (devkit/device_info.h) as the time a model charges.
inline sc_core::sc_time figure_time(const TimingFigure& f) { return from_ps(f.value); }

}  // namespace trustsim
