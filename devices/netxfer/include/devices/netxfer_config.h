// The management-port transfer engine's link figures as the board file
// gives them (docs/board-file.md, devices.netxfer; optional). They decide all
// of its board time (docs/netxfer.md). No SystemC.
#pragma once
#include <cstdint>
#include <string>

#include "devkit/device_info.h"

namespace trustsim {

struct NetxferConfig {
  bool present = false;
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint64_t link_bytes_per_s = 0;    // payload rate of the management link
  uint64_t round_trip_ps = 0;       // one request/answer exchange with the server
  uint32_t tftp_block = 512;        // TFTP: one round trip per block (lock-step)
  uint64_t max_size = 64ull << 20;  // largest file the engine buffers
  uint16_t dns_port = 53;           // UDP port of the name server the firmware names (NAMESERVER)
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kNetxferDevice{"netxfer",
                                           "netxfer",
                                           false,
                                           false,
                                           "network",
                                           "devices/netxfer.h",
                                           "docs/netxfer.md",
                                           "management-port TFTP/FTP transfer engine (libcurl inside)"};

}  // namespace trustsim
