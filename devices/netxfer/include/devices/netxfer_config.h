// The management-port transfer engine's link figures as the board file
// gives them (docs/board-file.md, devices.netxfer; optional). They decide all
// of its board time (docs/netxfer.md). No SystemC.
#pragma once
#include <cstdint>
#include <iterator>
#include <string>

#include "devkit/device_info.h"

namespace trustsim {

// Its timing figures (docs/timing-sources.md).
inline constexpr TimingFigure kNetxferLinkRate{
    "link_rate", FigureUnit::kRate, 11000000, "payload rate of the management link",
    "estimate: the payload of a 100 Mbit/s management port after Ethernet/IP/TCP headers"};
inline constexpr TimingFigure kNetxferRoundTrip{
    "round_trip", FigureUnit::kDuration, 1000000000ull, "one request/answer exchange with the server",
    "estimate: a server on the same campus LAN; agrees with the TFTP copy rate in reference/ios-outputs.md"};
inline constexpr TimingFigure kNetxferTiming[] = {kNetxferLinkRate, kNetxferRoundTrip};

struct NetxferConfig {
  bool present = false;
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint64_t link_bytes_per_s = kNetxferLinkRate.value;  // payload rate of the management link
  uint64_t round_trip_ps = kNetxferRoundTrip.value;    // one request/answer exchange with the server
  uint32_t tftp_block = 512;                           // TFTP: one round trip per block (lock-step)
  uint64_t max_size = 64ull << 20;                     // largest file the engine buffers
  uint16_t dns_port = 53;                              // UDP port of the name server the firmware names (NAMESERVER)
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kNetxferDevice{"netxfer",
                                           "netxfer",
                                           false,
                                           false,
                                           "network",
                                           "devices/netxfer.h",
                                           "docs/netxfer.md",
                                           "management-port TFTP/FTP transfer engine (libcurl inside)",
                                           "4 KiB register window",
                                           kNetxferTiming,
                                           std::size(kNetxferTiming)};

}  // namespace trustsim
