#include "devices/netxfer.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
constexpr uint64_t kHttpOpenTrips = 2;     // TCP connect, GET -> response header
constexpr uint64_t kHttpsOpenTrips = 3;    // TCP connect, TLS 1.3 handshake, GET -> response header

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
    case CURLE_UPLOAD_FAILED:  // FTP STOR refused (550/553)
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
    case CURLE_HTTP_RETURNED_ERROR:
      if (response_code == 404 || response_code == 410) return TS_NETXFER_NOT_FOUND;
      return response_code == 401 || response_code == 403 ? TS_NETXFER_DENIED : TS_NETXFER_FAILED;
    case CURLE_PEER_FAILED_VERIFICATION:
      return TS_NETXFER_UNTRUSTED;  // refined from the verify result by the caller
    case CURLE_SSL_CACERT_BADFILE:
      return TS_NETXFER_CA_INVALID;
    default:
      return TS_NETXFER_FAILED;
  }
}

// OpenSSL's verdict on an untrusted certificate's dates (judged against the
// board's RTC, see on_ssl_ctx) names the reason more precisely.
uint64_t with_cert_dates(uint64_t outcome, long verify) {
  if (outcome != TS_NETXFER_UNTRUSTED) return outcome;
  if (verify == X509_V_ERR_CERT_HAS_EXPIRED) return TS_NETXFER_CERT_EXPIRED;
  if (verify == X509_V_ERR_CERT_NOT_YET_VALID) return TS_NETXFER_CERT_NOT_YET_VALID;
  return outcome;
}

// Hands OpenSSL the board's time to judge certificate validity by
// (docs/netxfer.md, "HTTP and HTTPS"): never the host's clock.
CURLcode on_ssl_ctx(CURL*, void* ssl_ctx, void* user) {
  time_t t = time_t(*static_cast<const uint64_t*>(user));
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(static_cast<SSL_CTX*>(ssl_ctx)), t);
  return CURLE_OK;
}

// A query's password=VALUE parameters as traces show them: VALUE becomes "*".
std::string mask_query(const std::string& url) {
  size_t q = url.find('?');
  if (q == std::string::npos) return url;
  std::string out = url.substr(0, q + 1);
  for (size_t p = q + 1; p <= url.size();) {
    size_t amp = url.find('&', p);
    if (amp == std::string::npos) amp = url.size();
    std::string param = url.substr(p, amp - p);
    out += param.rfind("password=", 0) == 0 ? "password=*" : param;
    if (amp < url.size()) out += '&';
    p = amp + 1;
  }
  return out;
}

// The URL as traces show it: a password (in the user part or a query's
// password= parameter) becomes "*".
std::string shown_url(const std::string& full) {
  const std::string url = mask_query(full);
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t host_end = url.find_first_of("/?", scheme + 3);
  size_t at = url.rfind('@', host_end == std::string::npos ? url.size() : host_end);
  if (at == std::string::npos || at < scheme) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "*" + url.substr(at);
}

}  // namespace

NetXfer::NetXfer(sc_core::sc_module_name name, PowerDomain& power, const NetxferConfig& cfg, uint64_t rtc_base,
                 DeviceTrace& trace)
    : Device(name, TS_DEV_NETXFER, TS_NETXFER_SIZE, power),
      cfg_(cfg),
      rtc_base_(rtc_base),
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
  regs_.add(
      {"NAMESERVER", TS_NETXFER_NAMESERVER, 8, RegAccess::kReadWrite}, {},
      [this](A& a) {
        if (a.value >> 32)
          a.refuse();  // not an IPv4 address
        else
          nameserver_ = uint32_t(a.value);
      },
      [this] { return uint64_t(nameserver_); });
  regs_.add({"ADDRESS", TS_NETXFER_ADDRESS, 8, RegAccess::kReadOnly}, {}, {}, [this] { return uint64_t(ping_ip_); });
  regs_.add({"HTTP_CODE", TS_NETXFER_HTTP_CODE, 8, RegAccess::kReadOnly}, {}, {}, [this] { return http_code_; });
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
  regs_.add({"CA", TS_NETXFER_CA, 0, RegAccess::kWriteOnly}, {}, [this](A& a) {
    if (ca_.size() + a.length() > TS_NETXFER_MAX_CA) return a.refuse();
    ca_.append(reinterpret_cast<const char*>(a.data()), size_t(a.length()));
  });
  regs_.add(
      {"DATA", TS_NETXFER_DATA, 0, RegAccess::kReadWrite},
      [this](A& a) { read_data(a.data(), a.length(), a.gp.get_extension<ActualLength>(), a.delay); },
      [this](A& a) { write_data(a.data(), a.length(), a.delay); });
  set_trace(&trace);
  use_registers(regs_);
}

void NetXfer::power_lost() {
  if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp(), "power-lost");
  open_ = false;
  data_.clear();
  data_.shrink_to_fit();
  url_.clear();
  ca_.clear();
  nameserver_ = 0;
  ping_ip_ = 0;
  ping_host_.clear();
  http_code_ = 0;
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
  static const char* const kOps[5][2] = {{"get", "put"},
                                         {"tftp-get", "tftp-put"},
                                         {"ftp-get", "ftp-put"},
                                         {"http-get", "http-put"},
                                         {"https-get", "https-put"}};
  ev.op = kOps[int(proto_)][upload_ ? 1 : 0];
  ev.addr = 0;
  ev.len = pos_;
  ev.latency_ns = to_ns(end - started_);
  ev.status = status_name ? status_name : ts_netxfer_status_name(status);
  ev.detail = detail_;
  trace_.record(ev);
  open_ = false;
  upload_ = false;
  data_.clear();
  data_.shrink_to_fit();
}

NetXfer::Proto NetXfer::proto_of(const std::string& url) {
  if (url.rfind("tftp://", 0) == 0) return Proto::kTftp;
  if (url.rfind("ftp://", 0) == 0) return Proto::kFtp;
  if (url.rfind("http://", 0) == 0) return Proto::kHttp;
  if (url.rfind("https://", 0) == 0) return Proto::kHttps;
  return Proto::kNone;
}

void* NetXfer::new_handle(char* err) {
  curl_init_once();
  CURL* c = curl_easy_init();
  if (!c) return nullptr;
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  static const char* const kSchemes[] = {"", "tftp", "ftp", "http", "https"};
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, kSchemes[int(proto_)]);
  if (proto_ == Proto::kHttp || proto_ == Proto::kHttps) {
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // a 404 is an error, not a file
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  }
  if (proto_ == Proto::kHttps) {
    // Exactly the firmware's trusted CAs: no system store, no CA path.
    curl_blob blob{const_cast<char*>(ca_.data()), ca_.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &verify_time_);
  }
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
  if (!connect_to_.empty()) {
    // The name was resolved through the firmware's name server: libcurl
    // connects to that address and never asks the host's resolver.
    connect_list_ = curl_slist_append(nullptr, connect_to_.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, static_cast<curl_slist*>(connect_list_));
  }
  return c;
}

void NetXfer::release_handle(void* handle) {
  curl_easy_cleanup(static_cast<CURL*>(handle));
  curl_slist_free_all(static_cast<curl_slist*>(connect_list_));
  connect_list_ = nullptr;
}

namespace {

// One DNS query for the A record of `name` (RFC 1035), over UDP to
// server:port. Returns 1 with `ip` set, 0 when the server says the name
// has no address (NXDOMAIN or no A record), -1 when it does not answer.
int dns_query_a(const std::string& name, uint32_t server, uint16_t port, uint32_t* ip) {
  std::vector<uint8_t> q = {0x74, 0x73, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};  // id, RD, one question
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) return 0;  // not a name a server could know
    q.push_back(uint8_t(len));
    q.insert(q.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});  // root, type A, class IN
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(server);
  a.sin_port = htons(port);
  int result = -1;
  uint8_t r[1500];
  for (int attempt = 0; attempt < 2 && result == -1; ++attempt) {
    if (sendto(s, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) break;
    pollfd p{s, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) continue;
    ssize_t n = recv(s, r, sizeof r, 0);
    if (n < 12 || r[0] != q[0] || r[1] != q[1] || !(r[2] & 0x80)) continue;
    result = 0;
    if ((r[3] & 0x0F) != 0) break;  // NXDOMAIN or another error: no address
    size_t pos = 12, end = size_t(n);
    auto skip_name = [&] {
      while (pos < end) {
        uint8_t l = r[pos];
        if ((l & 0xC0) == 0xC0) return void(pos += 2);
        pos += 1 + l;
        if (l == 0) return;
      }
    };
    for (int i = 0, qd = r[4] << 8 | r[5]; i < qd; ++i) skip_name(), pos += 4;
    for (int i = 0, an = r[6] << 8 | r[7]; i < an && pos < end; ++i) {
      skip_name();
      if (pos + 10 > end) break;
      uint16_t type = uint16_t(r[pos] << 8 | r[pos + 1]), rdlen = uint16_t(r[pos + 8] << 8 | r[pos + 9]);
      pos += 10;
      if (type == 1 && rdlen == 4 && pos + 4 <= end) {
        *ip = uint32_t(r[pos]) << 24 | uint32_t(r[pos + 1]) << 16 | uint32_t(r[pos + 2]) << 8 | r[pos + 3];
        result = 1;
        break;
      }
      pos += rdlen;
    }
  }
  close(s);
  return result;
}

std::string dotted(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string(ip >> 16 & 255) + "." + std::to_string(ip >> 8 & 255) + "." +
         std::to_string(ip & 255);
}

}  // namespace

uint64_t NetXfer::resolve(sc_core::sc_time& cost) {
  connect_to_.clear();
  cost = sc_core::SC_ZERO_TIME;
  std::string host;
  if (CURLU* u = curl_url()) {
    char* h = nullptr;
    if (curl_url_set(u, CURLUPART_URL, url_.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
      host = h;
    curl_free(h);
    curl_url_cleanup(u);
  }
  in_addr literal;
  if (host.empty() || host[0] == '[' || inet_pton(AF_INET, host.c_str(), &literal) == 1) return TS_NETXFER_OK;
  uint32_t ip = 0;
  uint64_t st = resolve_host(host, cost, &ip);
  if (st == TS_NETXFER_OK) {
    connect_to_ = host + "::" + dotted(ip) + ":";
    detail_ += " resolved=" + dotted(ip);
  }
  return st;
}

uint64_t NetXfer::resolve_host(const std::string& host, sc_core::sc_time& cost, uint32_t* out) {
  cost = sc_core::SC_ZERO_TIME;
  if (!nameserver_) {
    detail_ += " (no name server configured)";
    return TS_NETXFER_UNKNOWN_HOST;
  }
  uint32_t ip = 0;
  int r = dns_query_a(host, nameserver_, cfg_.dns_port, &ip);
  if (r < 0) {
    cost = from_ns(timeout_ns_);
    detail_ += " (name server " + dotted(nameserver_) + " did not answer)";
    return TS_NETXFER_UNKNOWN_HOST;
  }
  cost = from_ps(cfg_.round_trip_ps);  // one query, one answer
  if (r == 0) {
    detail_ += " (" + host + " has no address at name server " + dotted(nameserver_) + ")";
    return TS_NETXFER_UNKNOWN_HOST;
  }
  *out = ip;
  return TS_NETXFER_OK;
}

// One echo (docs/netxfer.md, "ping"). Real: the name resolution and a UDP
// probe to the echo port that counts as an answer when the host replies or
// refuses (ICMP port unreachable); modelled: the board time, 1 RTT for an
// answer and 2 s (the IOS echo timeout) for none.
void NetXfer::ping(sc_core::sc_time& delay) {
  if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp() + delay, "closed");
  const std::string host = url_;
  if (host.empty() ||
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != std::string::npos) {
    status_ = TS_NETXFER_BAD_URL;
    return;
  }
  if (host != ping_host_) {
    in_addr literal;
    if (inet_pton(AF_INET, host.c_str(), &literal) == 1) {
      ping_ip_ = ntohl(literal.s_addr);
    } else {
      sc_core::sc_time cost;
      detail_.clear();
      uint32_t ip = 0;
      uint64_t st = resolve_host(host, cost, &ip);
      delay += cost;
      if (st != TS_NETXFER_OK) {
        status_ = st;
        return;
      }
      ping_ip_ = ip;
    }
    ping_host_ = host;
  }
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  bool answered = false;
  if (s >= 0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ping_ip_);
    a.sin_port = htons(7);  // echo
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && send(s, "ping", 4, 0) == 4) {
      pollfd p{s, POLLIN, 0};
      if (poll(&p, 1, 1000) == 1) {
        char b[16];
        ssize_t n = recv(s, b, sizeof b, 0);
        answered = n >= 0 || errno == ECONNREFUSED;
      }
    }
    close(s);
  }
  status_ = answered ? TS_NETXFER_END : TS_NETXFER_TIMEOUT_ERR;
  delay += answered ? from_ps(cfg_.round_trip_ps) : sc_core::sc_time(2, sc_core::SC_SEC);
}

// Round trips from UPLOAD to the first byte: the TFTP write request, the
// FTP login and STOR, the TCP connect of a PUT (and the TLS handshake).
uint64_t NetXfer::upload_trips() const {
  switch (proto_) {
    case Proto::kFtp:
      return kFtpOpenTrips;
    case Proto::kHttp:
      return kHttpOpenTrips - 1;
    case Proto::kHttps:
      return kHttpsOpenTrips - 1;
    default:
      return kTftpOpenTrips;
  }
}

// HTTP(S): the status the server answered goes to HTTP_CODE, and an error
// status to the trace detail.
void NetXfer::note_http_code(long response) {
  if (proto_ != Proto::kHttp && proto_ != Proto::kHttps) return;
  http_code_ = response > 0 ? uint64_t(response) : 0;
  if (response >= 400) detail_ += " http=" + std::to_string(response);
}

uint64_t NetXfer::open_trips() const {
  switch (proto_) {
    case Proto::kFtp:
      return kFtpOpenTrips;
    case Proto::kHttp:
      return kHttpOpenTrips;
    case Proto::kHttps:
      return kHttpsOpenTrips;
    default:
      return kTftpOpenTrips;
  }
}

// A corrupt-byte fault flips its byte of data_ (a download's bytes, or what
// an upload sends) and notes it in the trace detail.
void NetXfer::corrupt(const std::optional<net::Fault>& fault) {
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
}

// What a download (OPEN) and an upload (UPLOAD) do first: end a transfer
// still open, start a new one, and refuse a URL trustsim cannot serve, a
// refuse fault, or a host name that does not resolve. Returns false when the
// transfer has already ended (its status and trace line are done).
bool NetXfer::begin_transfer(bool upload, const std::optional<net::Fault>& fault, sc_core::sc_time& delay) {
  if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp() + delay, "closed");  // replaced by a new transfer
  ++transfers_;
  started_ = sc_core::sc_time_stamp() + delay;
  pos_ = 0;
  data_.clear();
  upload_ = upload;
  http_code_ = 0;
  proto_ = proto_of(url_);
  detail_ = shown_url(url_);
  auto fail = [&](uint64_t st, uint64_t trips) {
    delay += from_ps(cfg_.round_trip_ps) * double(trips);
    status_ = st;
    open_ = true;  // so finish() traces it
    finish(st, sc_core::sc_time_stamp() + delay);
    return false;
  };
  if (proto_ == Proto::kNone || url_.find_first_of(" \t\r\n") != std::string::npos) {
    detail_ += upload ? " (only tftp://, ftp://, http:// and https:// uploads are supported)"
                      : " (only tftp://, ftp://, http:// and https:// are supported)";
    return fail(TS_NETXFER_BAD_URL, 0);
  }
  if (proto_ == Proto::kHttps && ca_.empty()) {
    detail_ += " (no trusted CA certificate)";
    return fail(TS_NETXFER_UNTRUSTED, 0);
  }
  if (fault && std::holds_alternative<net::Refuse>(*fault)) {
    detail_ += " fault=refuse";
    return fail(TS_NETXFER_REFUSED, 1);
  }
  sc_core::sc_time dns_cost;
  uint64_t st = resolve(dns_cost);  // connect_to_ is kept for an upload's COMMIT
  delay += dns_cost;
  if (st != TS_NETXFER_OK) return fail(st, 0);
  return true;
}

void NetXfer::open(sc_core::sc_time& delay) {
  std::optional<net::Fault> fault = fault_;
  fault_.reset();
  auto is = [&](auto kind) { return fault && std::holds_alternative<decltype(kind)>(*fault); };
  if (!begin_transfer(false, fault, delay)) return;
  const sc_core::sc_time rtt = from_ps(cfg_.round_trip_ps);
  auto fail = [&](uint64_t st, uint64_t trips) {
    delay += rtt * double(trips);
    status_ = st;
    open_ = true;  // so finish() traces it
    finish(st, sc_core::sc_time_stamp() + delay);
  };

  // The real fetch, on the host, in wall time that the board never sees.
  // Certificates are judged by the board's RTC when the transfer starts.
  verify_time_ = rtc_base_ + to_ns(started_) / 1000000000ull;
  char err[CURL_ERROR_SIZE] = "";
  CURL* c = static_cast<CURL*>(new_handle(err));
  if (!c) return fail(TS_NETXFER_FAILED, 0);
  Sink sink{&data_, cfg_.max_size};
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(c);
  long response = 0, verify = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response);
  curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify);
  release_handle(c);
  uint64_t outcome = sink.too_large ? TS_NETXFER_TOO_LARGE : map_curl(rc, response);
  note_http_code(response);
  outcome = with_cert_dates(outcome, verify);
  if (outcome == TS_NETXFER_UNTRUSTED && err[0]) detail_ += std::string(" (") + err + ")";
  if (outcome != TS_NETXFER_END && outcome != TS_NETXFER_OK)
    detail_ += std::string(" (") + curl_easy_strerror(rc) + ")";

  // Errors the server gives before any data: the transfer never opens.
  if (data_.empty() && outcome != TS_NETXFER_END && outcome != TS_NETXFER_TIMEOUT_ERR &&
      outcome != TS_NETXFER_TRUNCATED) {
    uint64_t trips = 1;
    if (proto_ == Proto::kFtp && outcome == TS_NETXFER_NOT_FOUND) trips = kFtpNotFoundTrips;
    if (proto_ == Proto::kHttp || proto_ == Proto::kHttps) {
      // A certificate is refused in the handshake; an HTTP error answers the GET.
      bool cert = outcome == TS_NETXFER_UNTRUSTED || outcome == TS_NETXFER_CERT_EXPIRED ||
                  outcome == TS_NETXFER_CERT_NOT_YET_VALID || outcome == TS_NETXFER_CA_INVALID;
      if (cert) trips = 2;
      if (outcome == TS_NETXFER_NOT_FOUND || outcome == TS_NETXFER_DENIED || outcome == TS_NETXFER_FAILED)
        trips = open_trips();
    }
    if (proto_ == Proto::kFtp && outcome == TS_NETXFER_DENIED) trips = kFtpDeniedTrips;
    if (outcome == TS_NETXFER_TOO_LARGE || outcome == TS_NETXFER_BAD_URL) trips = 0;
    return fail(outcome, trips);
  }
  if (outcome == TS_NETXFER_TOO_LARGE) {
    // Refused up front, as if the size announced by the server was checked.
    data_.clear();
    return fail(outcome, open_trips());
  }

  // Faults on a transfer that opened.
  corrupt(fault);
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
  delay += rtt * double(open_trips());
}

void NetXfer::read_data(uint8_t* dst, uint64_t len, ActualLength* actual, sc_core::sc_time& delay) {
  if (!open_ || upload_) {
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

// Uploads (docs/netxfer.md, "Uploads"): the firmware's bytes are kept
// until COMMIT, which sends them all through libcurl. The board pays the
// login at UPLOAD, the wire time as it writes, and the final answer at COMMIT.
void NetXfer::start_upload(sc_core::sc_time& delay) {
  if (!begin_transfer(true, fault_, delay)) {
    fault_.reset();
    return;
  }
  // The fault stays armed until COMMIT, where it applies.
  open_ = true;
  status_ = TS_NETXFER_OK;
  delay += from_ps(cfg_.round_trip_ps) * double(upload_trips());
}

void NetXfer::write_data(const uint8_t* src, uint64_t len, sc_core::sc_time& delay) {
  if (!open_ || !upload_) {
    status_ = status_ == TS_NETXFER_OK ? TS_NETXFER_NO_TRANSFER : status_;
    return;
  }
  if (data_.size() + len > cfg_.max_size) {
    status_ = TS_NETXFER_TOO_LARGE;
    return finish(TS_NETXFER_TOO_LARGE, sc_core::sc_time_stamp() + delay);
  }
  data_.insert(data_.end(), src, src + len);
  delay += link_time(pos_, len);
  pos_ += len;
}

namespace {
struct Source {
  const std::vector<uint8_t>* buf;
  uint64_t pos, end;  // end: where a dropped connection stops the bytes
};
size_t on_read(char* p, size_t size, size_t n, void* user) {
  Source* s = static_cast<Source*>(user);
  if (s->pos >= s->end) return s->end < s->buf->size() ? CURL_READFUNC_ABORT : 0;
  uint64_t k = size * n < s->end - s->pos ? size * n : s->end - s->pos;
  memcpy(p, s->buf->data() + s->pos, size_t(k));
  s->pos += k;
  return size_t(k);
}
}  // namespace

void NetXfer::commit(sc_core::sc_time& delay) {
  if (!open_ || !upload_) {
    status_ = status_ == TS_NETXFER_OK ? TS_NETXFER_NO_TRANSFER : status_;
    return;
  }
  std::optional<net::Fault> fault = fault_;
  fault_.reset();
  const sc_core::sc_time rtt = from_ps(cfg_.round_trip_ps);
  auto done = [&](uint64_t st, sc_core::sc_time cost) {
    delay += cost;
    status_ = st;
    finish(st, sc_core::sc_time_stamp() + delay);
  };
  if (fault && std::holds_alternative<net::Stall>(*fault)) {
    detail_ += " fault=stall";
    pos_ = 0;
    return done(TS_NETXFER_TIMEOUT_ERR, from_ns(timeout_ns_));
  }
  uint64_t end = data_.size();
  if (const auto* d = fault ? std::get_if<net::DropAfter>(&*fault) : nullptr; d && d->bytes < end) {
    end = d->bytes;
    detail_ += " fault=drop-after@" + std::to_string(end);
  }
  corrupt(fault);

  // Certificates are judged by the board's RTC when the upload starts.
  verify_time_ = rtc_base_ + to_ns(sc_core::sc_time_stamp() + delay) / 1000000000ull;
  char err[CURL_ERROR_SIZE] = "";
  CURL* c = static_cast<CURL*>(new_handle(err));
  if (!c) return done(TS_NETXFER_FAILED, sc_core::SC_ZERO_TIME);
  Source src{&data_, 0, end};
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(c, CURLOPT_READDATA, &src);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(data_.size()));
  // HTTP(S): a PUT whose body follows its header at once (no "Expect:
  // 100-continue" wait, which would cost wall time only).
  curl_slist* headers = nullptr;
  if (proto_ == Proto::kHttp || proto_ == Proto::kHttps) {
    headers = curl_slist_append(nullptr, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }
  CURLcode rc = curl_easy_perform(c);
  long response = 0, verify = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response);
  curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify);
  release_handle(c);
  curl_slist_free_all(headers);
  // A server that answered an error status before it read the whole body
  // may make libcurl fail the send; the status is still the answer.
  uint64_t outcome = response >= 400 && (proto_ == Proto::kHttp || proto_ == Proto::kHttps)
                         ? map_curl(CURLE_HTTP_RETURNED_ERROR, response)
                         : map_curl(rc, response);
  outcome = with_cert_dates(outcome, verify);
  if (outcome == TS_NETXFER_UNTRUSTED && err[0]) detail_ += std::string(" (") + err + ")";
  note_http_code(response);
  if (end < data_.size()) {
    // The connection died after `end` bytes: FTP sees the reset, TFTP
    // (UDP) only its timeout, as for a download.
    pos_ = end;
    return done(proto_ == Proto::kTftp ? TS_NETXFER_TIMEOUT_ERR : TS_NETXFER_TRUNCATED,
                proto_ == Proto::kTftp ? from_ns(timeout_ns_) : rtt);
  }
  if (outcome != TS_NETXFER_END) {
    detail_ += std::string(" (") + curl_easy_strerror(rc) + ")";
    pos_ = 0;
    return done(outcome, outcome == TS_NETXFER_TIMEOUT_ERR ? from_ns(timeout_ns_) : rtt);
  }
  // FTP: the server's 226 after the data connection closes; HTTP(S): the
  // PUT's response; TFTP: the last block's ACK was paid with the block.
  done(TS_NETXFER_END, proto_ == Proto::kTftp ? sc_core::SC_ZERO_TIME : rtt);
}

void NetXfer::control(RegisterAccess& a) {
  if (a.value == TS_NETXFER_CMD_OPEN) {
    open(a.delay);
  } else if (a.value == TS_NETXFER_CMD_UPLOAD) {
    start_upload(a.delay);
  } else if (a.value == TS_NETXFER_CMD_COMMIT) {
    commit(a.delay);
  } else if (a.value == TS_NETXFER_CMD_PING) {
    ping(a.delay);
  } else if (a.value == TS_NETXFER_CMD_CA_CLEAR) {
    ca_.clear();
  } else if (a.value == TS_NETXFER_CMD_CLOSE) {
    if (open_) finish(TS_NETXFER_FAILED, sc_core::sc_time_stamp() + a.delay, "closed");
    status_ = TS_NETXFER_OK;
  } else {
    a.refuse();
  }
}

}  // namespace trustsim
