#include "devices/netxfer.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "devkit/seeded_rng.h"
#include "devkit/sim_time.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/netxfer_regs.h"

namespace trustsim {
namespace {

// Round trips each step costs (docs/netxfer.md, "Timing"). FTP opens with
// TCP connect + banner, USER, PASS, TYPE I, PASV (+ data connect), RETR.
constexpr uint64_t kFtpOpenTrips = 6;
constexpr uint64_t kFtpNotFoundTrips = 6;  // RETR answers 550
constexpr uint64_t kFtpDeniedTrips = 3;    // PASS answers 530
constexpr uint64_t kTftpOpenTrips = 1;     // RRQ -> first DATA or ERROR
// SMTP: connect + greeting, EHLO, MAIL FROM, RCPT TO, DATA, the end of
// the data, QUIT.
constexpr uint64_t kSmtpTrips = 7;

// The message, handed to libcurl as an upload.
struct MailSource {
  const std::string* text;
  size_t pos = 0;
};
size_t on_mail_read(char* p, size_t size, size_t n, void* user) {
  MailSource* m = static_cast<MailSource*>(user);
  size_t k = std::min(size * n, m->text->size() - m->pos);
  memcpy(p, m->text->data() + m->pos, k);
  m->pos += k;
  return k;
}

struct Sink {
  std::vector<uint8_t>* buf;
  uint64_t max;
  bool too_large = false;
};

// Ctrl-C or SIGTERM while a slow server holds the fetch: give up now (the
// bridge then ends the run with "interrupted by ..."). The board says how
// to tell (NetXfer::set_interrupted).
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* interrupted = static_cast<const std::function<bool()>*>(user);
  return *interrupted && (*interrupted)() ? 1 : 0;
}

size_t on_data(char* p, size_t size, size_t n, void* user) {
  Sink* s = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (s->buf->size() + bytes > s->max) {
    s->too_large = true;
    return 0;  // libcurl then ends the transfer with CURLE_WRITE_ERROR
  }
  s->buf->insert(s->buf->end(), reinterpret_cast<uint8_t*>(p), reinterpret_cast<uint8_t*>(p) + bytes);
  return bytes;
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What a libcurl result means to the firmware.
uint64_t map_curl(CURLcode rc, long response_code) {
  switch (rc) {
    case CURLE_OK:
      return TS_NETXFER_END;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_TFTP_ILLEGAL:
      return TS_NETXFER_BAD_URL;
    case CURLE_COULDNT_CONNECT:
      return TS_NETXFER_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
      return TS_NETXFER_UNKNOWN_HOST;
    case CURLE_REMOTE_FILE_NOT_FOUND:
    case CURLE_TFTP_NOTFOUND:
      return TS_NETXFER_NOT_FOUND;
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_TFTP_PERM:
      return TS_NETXFER_DENIED;
    case CURLE_OPERATION_TIMEDOUT:
      return TS_NETXFER_TIMEOUT_ERR;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return TS_NETXFER_TRUNCATED;
    case CURLE_FTP_COULDNT_RETR_FILE:
      return response_code == 550 ? TS_NETXFER_NOT_FOUND : TS_NETXFER_FAILED;
    default:
      return TS_NETXFER_FAILED;
  }
}

// The URL as traces show it: a password becomes "*".
std::string shown_url(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t host_end = url.find('/', scheme + 3);
  size_t at = url.rfind('@', host_end == std::string::npos ? url.size() : host_end);
  if (at == std::string::npos || at < scheme) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "*" + url.substr(at);
}

}  // namespace

NetXfer::NetXfer(sc_core::sc_module_name name, PowerDomain& power, const NetxferConfig& cfg, DeviceTrace& trace)
    : Device(name, TS_DEV_NETXFER, TS_NETXFER_SIZE, power),
      cfg_(cfg),
      trace_(trace),
      timeout_ns_(TS_NETXFER_DEFAULT_TIMEOUT_NS),
      regs_("register", [this](const std::string& w) { guest_error(w); }) {
  using A = RegisterAccess;
  regs_.add({"CTRL", TS_NETXFER_CTRL, 8, RegAccess::kWriteOnly}, {}, [this](A& a) { control(a); });
  regs_.add({"STATUS", TS_NETXFER_STATUS, 8, RegAccess::kReadOnly}, {}, {}, [this] { return status_; });
  regs_.add(
      {"TIMEOUT", TS_NETXFER_TIMEOUT, 8, RegAccess::kReadWrite}, {},
      [this](A& a) {
        if (a.value == 0)
          a.refuse();  // a DATA read would never give up
        else
          timeout_ns_ = a.value;
      },
      [this] { return timeout_ns_; });
  regs_.add({"DONE", TS_NETXFER_DONE, 8, RegAccess::kReadOnly}, {}, {}, [this] { return pos_; });
  regs_.add({"URL", TS_NETXFER_URL, 0, RegAccess::kWriteOnly, 0, 0, 0, TS_NETXFER_MAX_URL}, {}, [this](A& a) {
    url_.assign(reinterpret_cast<const char*>(a.data()), size_t(a.length()));
    size_t nul = url_.find('\0');
    if (nul != std::string::npos) url_.resize(nul);
  });
  regs_.add({"MAIL_CTRL", TS_NETXFER_MAIL_CTRL, 8, RegAccess::kWriteOnly}, {}, [this](A& a) {
    if (a.value == TS_NETXFER_MAIL_CMD_SEND)
      send_mail(a.delay);
    else
      a.refuse();
  });
  regs_.add({"MAIL_STATUS", TS_NETXFER_MAIL_STATUS, 8, RegAccess::kReadOnly}, {}, {}, [this] { return mail_status_; });
  regs_.add({"MAIL_ENVELOPE", TS_NETXFER_MAIL_ENVELOPE, 0, RegAccess::kWriteOnly, 0, 0, 0, TS_NETXFER_MAX_ENVELOPE}, {},
            [this](A& a) { mail_envelope_.assign(reinterpret_cast<const char*>(a.data()), size_t(a.length())); });
  regs_.add({"MAIL_BODY", TS_NETXFER_MAIL_BODY, 0, RegAccess::kWriteOnly, 0, 0, 0, TS_NETXFER_MAX_MAIL}, {},
            [this](A& a) { mail_body_.assign(reinterpret_cast<const char*>(a.data()), size_t(a.length())); });
  regs_.add({"DATA", TS_NETXFER_DATA, 0, RegAccess::kReadOnly},
            [this](A& a) { read_data(a.data(), a.length(), a.gp.get_extension<ActualLength>(), a.delay); });
  set_trace(&trace);
  use_registers(regs_);
}

void NetXfer::power_lost() {
  if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp(), "power-lost");
  open_ = false;
  data_.clear();
  data_.shrink_to_fit();
  url_.clear();
  status_ = TS_NETXFER_OK;
}

void NetXfer::powered_on() {
  timeout_ns_ = TS_NETXFER_DEFAULT_TIMEOUT_NS;
  mail_envelope_.clear();
  mail_body_.clear();
  mail_status_ = TS_NETXFER_OK;
}

void NetXfer::send_mail(sc_core::sc_time& delay) {
  TraceEvent ev;
  ev.t_ns = to_ns(sc_core::sc_time_stamp() + delay);
  ev.dev = basename();
  ev.op = "smtp-send";
  ev.addr = 0;
  ev.len = mail_body_.size();
  // The envelope: server, sender, recipient, one a line.
  std::string env = mail_envelope_.substr(0, mail_envelope_.find('\0'));
  size_t a = env.find('\n'), b = a == std::string::npos ? a : env.find('\n', a + 1);
  std::string server = env.substr(0, a);
  std::string from = a == std::string::npos ? "" : env.substr(a + 1, b == std::string::npos ? b : b - a - 1);
  std::string to = b == std::string::npos ? "" : env.substr(b + 1);
  ev.detail = server + " to=" + to;
  uint64_t outcome = TS_NETXFER_FAILED;
  bool bad = server.rfind("smtp://", 0) != 0 || from.empty() || to.empty() || mail_body_.empty() ||
             env.find_first_of(" \t\r<>") != std::string::npos || to.find('\n') != std::string::npos;
  long response = 0;
  if (bad) {
    outcome = TS_NETXFER_BAD_URL;
    ev.detail += " (envelope malformed)";
  } else {
    curl_init_once();
    CURL* c = curl_easy_init();
    if (c) {
      std::string mail_from = "<" + from + ">", rcpt_to = "<" + to + ">";
      curl_slist* rcpt = curl_slist_append(nullptr, rcpt_to.c_str());
      MailSource src{&mail_body_};
      curl_easy_setopt(c, CURLOPT_URL, server.c_str());
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
      curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
      curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_mail_read);
      curl_easy_setopt(c, CURLOPT_READDATA, &src);
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
      curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
      CURLcode rc = curl_easy_perform(c);
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response);
      curl_slist_free_all(rcpt);
      curl_easy_cleanup(c);
      outcome = map_curl(rc, response);
      if (outcome == TS_NETXFER_END) outcome = TS_NETXFER_OK;
      // A server that answers 5xx to MAIL FROM or RCPT TO refused the mail.
      if (outcome == TS_NETXFER_FAILED && response >= 500) outcome = TS_NETXFER_DENIED;
      if (outcome != TS_NETXFER_OK) ev.detail += std::string(" (") + curl_easy_strerror(rc) + ")";
    }
  }
  // Board time from the message size and the dialog's round trips only.
  sc_core::sc_time t;
  if (outcome == TS_NETXFER_OK)
    t = from_ps(cfg_.round_trip_ps) * double(kSmtpTrips) + serial_time(mail_body_.size(), cfg_.link_bytes_per_s);
  else if (outcome != TS_NETXFER_BAD_URL)
    t = from_ps(cfg_.round_trip_ps);
  delay += t;
  mail_status_ = outcome;
  ev.latency_ns = to_ns(t);
  ev.status = ts_netxfer_status_name(outcome);
  trace_.record(ev);
}

sc_core::sc_time NetXfer::link_time(uint64_t from, uint64_t n) const {
  sc_core::sc_time t = serial_time(n, cfg_.link_bytes_per_s);
  if (proto_ == Proto::kTftp) {
    // Lock-step: every block is acknowledged before the next one is sent.
    uint64_t blk = cfg_.tftp_block;
    uint64_t blocks = (from + n + blk - 1) / blk - (from + blk - 1) / blk;
    t += from_ps(cfg_.round_trip_ps) * double(blocks);
  }
  return t;
}

void NetXfer::finish(uint64_t status, const sc_core::sc_time& end, const char* status_name) {
  TraceEvent ev;
  ev.t_ns = to_ns(started_);
  ev.dev = basename();
  ev.op = proto_ == Proto::kFtp ? "ftp-get" : proto_ == Proto::kTftp ? "tftp-get" : "get";
  ev.addr = 0;
  ev.len = pos_;
  ev.latency_ns = to_ns(end - started_);
  ev.status = status_name ? status_name : ts_netxfer_status_name(status);
  ev.detail = detail_;
  trace_.record(ev);
  open_ = false;
  data_.clear();
  data_.shrink_to_fit();
}

void NetXfer::open(sc_core::sc_time& delay) {
  if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp() + delay, "closed");  // replaced by a new transfer
  ++transfers_;
  std::optional<net::Fault> fault = fault_;
  fault_.reset();
  auto is = [&](auto kind) { return fault && std::holds_alternative<decltype(kind)>(*fault); };
  started_ = sc_core::sc_time_stamp() + delay;
  pos_ = 0;
  data_.clear();
  proto_ = url_.rfind("tftp://", 0) == 0 ? Proto::kTftp : url_.rfind("ftp://", 0) == 0 ? Proto::kFtp : Proto::kNone;
  detail_ = shown_url(url_);
  const sc_core::sc_time rtt = from_ps(cfg_.round_trip_ps);
  auto fail = [&](uint64_t st, uint64_t trips) {
    delay += rtt * double(trips);
    status_ = st;
    open_ = true;  // so finish() traces it
    finish(st, sc_core::sc_time_stamp() + delay);
  };
  if (proto_ == Proto::kNone || url_.find_first_of(" \t\r\n") != std::string::npos) {
    detail_ += " (only tftp:// and ftp:// are supported)";
    return fail(TS_NETXFER_BAD_URL, 0);
  }
  if (is(net::Refuse{})) {
    detail_ += " fault=refuse";
    return fail(TS_NETXFER_REFUSED, 1);
  }

  // The real fetch, on the host, in wall time that the board never sees.
  curl_init_once();
  CURL* c = curl_easy_init();
  if (!c) return fail(TS_NETXFER_FAILED, 0);
  Sink sink{&data_, cfg_.max_size};
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "tftp,ftp");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // the host's proxy settings are no part of the board
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &interrupted_);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (proto_ == Proto::kTftp) curl_easy_setopt(c, CURLOPT_TFTP_BLKSIZE, long(cfg_.tftp_block));
  CURLcode rc = curl_easy_perform(c);
  long response = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response);
  curl_easy_cleanup(c);
  uint64_t outcome = sink.too_large ? TS_NETXFER_TOO_LARGE : map_curl(rc, response);
  if (outcome != TS_NETXFER_END && outcome != TS_NETXFER_OK)
    detail_ += std::string(" (") + curl_easy_strerror(rc) + ")";

  // Errors the server gives before any data: the transfer never opens.
  if (data_.empty() && outcome != TS_NETXFER_END && outcome != TS_NETXFER_TIMEOUT_ERR &&
      outcome != TS_NETXFER_TRUNCATED) {
    uint64_t trips = 1;
    if (proto_ == Proto::kFtp && outcome == TS_NETXFER_NOT_FOUND) trips = kFtpNotFoundTrips;
    if (proto_ == Proto::kFtp && outcome == TS_NETXFER_DENIED) trips = kFtpDeniedTrips;
    if (outcome == TS_NETXFER_TOO_LARGE || outcome == TS_NETXFER_BAD_URL) trips = 0;
    return fail(outcome, trips);
  }
  if (outcome == TS_NETXFER_TOO_LARGE) {
    // Refused up front, as if the size announced by the server was checked.
    data_.clear();
    return fail(outcome, proto_ == Proto::kFtp ? kFtpOpenTrips : kTftpOpenTrips);
  }

  // Faults on a transfer that opened.
  std::optional<uint64_t> corrupt_at;
  uint8_t corrupt_mask = 0;
  if (const auto* c = fault ? std::get_if<net::CorruptByte>(&*fault) : nullptr)
    corrupt_at = c->offset, corrupt_mask = c->mask;
  if (const auto* c = fault ? std::get_if<net::CorruptSeededByte>(&*fault) : nullptr; c && !data_.empty())
    corrupt_at = SeededRng(c->seed).below(data_.size()), corrupt_mask = c->mask;
  if (corrupt_at && *corrupt_at < data_.size()) {
    data_[size_t(*corrupt_at)] ^= corrupt_mask;
    detail_ += " fault=corrupt-byte@" + std::to_string(*corrupt_at);
  }
  const auto* drop = fault ? std::get_if<net::DropAfter>(&*fault) : nullptr;
  if (is(net::Stall{})) {
    data_.clear();
    outcome = TS_NETXFER_TIMEOUT_ERR;
    detail_ += " fault=stall";
  } else if (drop && drop->bytes < data_.size()) {
    data_.resize(size_t(drop->bytes));
    // TFTP (UDP) can only notice a vanished peer by its timeout; FTP sees the reset.
    outcome = proto_ == Proto::kTftp ? TS_NETXFER_TIMEOUT_ERR : TS_NETXFER_TRUNCATED;
    detail_ += " fault=drop-after@" + std::to_string(drop->bytes);
  }
  final_status_ = outcome;
  open_ = true;
  status_ = TS_NETXFER_OK;
  delay += rtt * double(proto_ == Proto::kFtp ? kFtpOpenTrips : kTftpOpenTrips);
}

void NetXfer::read_data(uint8_t* dst, uint64_t len, ActualLength* actual, sc_core::sc_time& delay) {
  if (!open_) {
    status_ = status_ == TS_NETXFER_OK ? TS_NETXFER_NO_TRANSFER : status_;
    if (actual) actual->bytes = 0;
    return;
  }
  uint64_t avail = data_.size() - pos_;
  uint64_t n = len < avail ? len : avail;
  if (n) {
    memcpy(dst, data_.data() + pos_, n);
    delay += link_time(pos_, n);
    pos_ += n;
  }
  if (actual) actual->bytes = n;
  if (pos_ < data_.size()) return;
  if (final_status_ == TS_NETXFER_END) {
    status_ = TS_NETXFER_END;
    finish(TS_NETXFER_END, sc_core::sc_time_stamp() + delay);
    return;
  }
  if (n) return;  // the bytes that came; the failure shows on the next read
  if (final_status_ == TS_NETXFER_TIMEOUT_ERR)
    delay += from_ns(timeout_ns_);
  else
    delay += from_ps(cfg_.round_trip_ps);
  status_ = final_status_;
  finish(final_status_, sc_core::sc_time_stamp() + delay);
}

void NetXfer::control(RegisterAccess& a) {
  if (a.value == TS_NETXFER_CMD_OPEN) {
    open(a.delay);
  } else if (a.value == TS_NETXFER_CMD_CLOSE) {
    if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp() + a.delay, "closed");
    status_ = TS_NETXFER_OK;
  } else {
    a.refuse();
  }
}

}  // namespace trustsim
