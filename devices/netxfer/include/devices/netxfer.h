// Management-port transfer engine ("netxfer"): downloads a file from a real
// TFTP or FTP server through libcurl and hands its bytes to the firmware by
// DMA. The host fetch happens once, when the firmware opens the transfer;
// the board time every step costs comes only from the byte counts and the
// board file's link figures (round trip, link rate, TFTP block size), never
// from how long the real server took. Register map:
// common/include/trustsim/netxfer_regs.h (a register table: misuse is an
// address error); docs/netxfer.md.
// Uploads go the other way: the firmware writes the file's bytes to DATA,
// the model keeps them, and COMMIT sends them through libcurl in one go.
// Modelled: TFTP lock-step (one round trip per block), FTP login round
// trips, the errors a server or the network gives, and armed network faults
// (refuse, stall, drop after N bytes, a flipped byte).
// Downloads also come by http:// and https://; an https server's
// certificate is checked against the CA certificates the firmware gave,
// and its dates against the board's RTC (never the host's clock).
// Uploads go by TFTP, FTP (STOR) and HTTP(S) (PUT).
// Not modelled: SMTP authentication, concurrent transfers, packet loss
// and retransmission timing, the wire protocol itself (libcurl speaks it).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "devices/net_fault.h"
#include "devices/netxfer_config.h"
#include "devkit/device.h"
#include "devkit/register_table.h"
#include "devkit/trace.h"

namespace trustsim {

class NetXfer : public Device {
 public:
  // rtc_base: the board's real-time clock at board time 0 (power.rtc_base);
  // an https server's certificate dates are judged by that clock.
  NetXfer(sc_core::sc_module_name name, PowerDomain& power, const NetxferConfig& cfg, uint64_t rtc_base,
          DeviceTrace& trace);
  void power_lost() override;
  void powered_on() override;
  // A fault for the next transfer the firmware opens (one shot,
  // devices/net_fault.h); replaces any fault still waiting for one.
  void arm(const net::Fault& f) { fault_ = f; }
  uint64_t transfers() const { return transfers_; }
  // Whether the process was asked to stop (Ctrl-C): a fetch in progress is
  // abandoned when this says so. Unset: fetches run to their end.
  void set_interrupted(std::function<bool()> f) { interrupted_ = std::move(f); }

 private:
  enum class Proto { kNone, kTftp, kFtp, kHttp, kHttps };
  static Proto proto_of(const std::string& url);
  void control(RegisterAccess& a);
  bool begin_transfer(bool upload, const std::optional<net::Fault>& fault, sc_core::sc_time& delay);
  void open(sc_core::sc_time& delay);
  void read_data(uint8_t* dst, uint64_t len, ActualLength* actual, sc_core::sc_time& delay);
  void start_upload(sc_core::sc_time& delay);
  void write_data(const uint8_t* src, uint64_t len, sc_core::sc_time& delay);
  void commit(sc_core::sc_time& delay);
  // A libcurl handle with the options every transfer shares; nullptr if libcurl fails.
  void* new_handle(char* err);
  void release_handle(void* handle);
  // Resolves the URL's host through the firmware's name server (never the
  // host's resolver): OK with connect_to_ set (empty for an address),
  // UNKNOWN_HOST or TIMEOUT_ERR, and the board time it cost in `cost`.
  uint64_t resolve(sc_core::sc_time& cost);
  uint64_t resolve_host(const std::string& host, sc_core::sc_time& cost, uint32_t* ip);
  void ping(sc_core::sc_time& delay);
  void corrupt(const std::optional<net::Fault>& fault);
  // Traces the transfer; status_name overrides the status's name (power-lost, closed).
  void finish(uint64_t status, const sc_core::sc_time& end, const char* status_name = nullptr);
  sc_core::sc_time link_time(uint64_t from, uint64_t n) const;
  // The status mail: one SMTP delivery of mail_body_ (docs/netxfer.md, "Mail").
  void send_mail(sc_core::sc_time& delay);
  uint64_t open_trips() const;    // round trips from OPEN to the first byte
  uint64_t upload_trips() const;  // round trips from UPLOAD to the first byte written
  void note_http_code(long response);

  NetxferConfig cfg_;
  uint64_t rtc_base_;         // the board's RTC at board time 0
  uint64_t verify_time_ = 0;  // the board's RTC (Unix seconds) certificates are judged by
  DeviceTrace& trace_;
  std::string url_;
  std::string ca_;           // trusted CA certificates (PEM) for https
  uint32_t nameserver_ = 0;  // IPv4 of the name server, 0: none
  uint32_t ping_ip_ = 0;     // ADDRESS: what the last PING resolved
  std::string ping_host_;    // the host ping_ip_ belongs to (resolved once per host)
  std::string connect_to_;   // CURLOPT_CONNECT_TO entry for a resolved name
  void* connect_list_ = nullptr;
  uint64_t timeout_ns_ = 0;
  uint64_t status_ = 0;
  uint64_t http_code_ = 0;  // HTTP_CODE: the last http(s) transfer's status, 0 for none
  // the transfer in progress
  bool open_ = false;
  bool upload_ = false;  // the open transfer is an upload
  Proto proto_ = Proto::kNone;
  std::vector<uint8_t> data_;  // bytes the firmware will get (an upload: the bytes it wrote)
  uint64_t final_status_ = 0;  // what STATUS becomes once data_ is used up
  uint64_t pos_ = 0;
  sc_core::sc_time started_;
  std::string detail_;
  std::optional<net::Fault> fault_;
  uint64_t transfers_ = 0;
  std::function<bool()> interrupted_;
  // the mail block
  std::string mail_envelope_, mail_body_;
  uint64_t mail_status_ = 0;
  RegisterTable regs_;
};

}  // namespace trustsim
