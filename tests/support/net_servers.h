// Real TFTP, FTP and SMTP servers on loopback for the transfer-engine tests:
// tftpd-hpa's in.tftpd and pyftpdlib (Debian packages, scripts/bootstrap.sh),
// each on a free port, serving one directory, stopped by the destructor.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace trustsim::test {

// A port nothing listens on right now (the kernel's pick).
inline int free_port(int type) {
  int s = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  close(s);
  return ntohs(a.sin_port);
}

// Starts argv in its own process group with stdout+stderr to `log`.
inline pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (!freopen(log.c_str(), "w", stdout)) _exit(126);
    dup2(1, 2);
    std::vector<char*> args;
    for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

inline void stop_group(pid_t pid) {
  if (pid <= 0) return;
  kill(-pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
}

// Readiness probes, in-process so that a test needs no client program:
// a TFTP read request answered by the first DATA block, and an FTP login
// answered by 230. Each gives up after `ms` milliseconds.
inline bool wait_readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

inline sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

inline bool tftp_serves(int port, const std::string& file, int ms = 500) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return false;
  std::string rrq = std::string("\0\1", 2) + file + std::string("\0octet\0", 7);
  sockaddr_in a = loopback(port);
  bool ok = false;
  if (sendto(s, rrq.data(), rrq.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
          static_cast<ssize_t>(rrq.size()) &&
      wait_readable(s, ms)) {
    unsigned char buf[600];
    sockaddr_in from{};
    socklen_t n = sizeof from;
    ssize_t got = recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &n);
    ok = got >= 4 && buf[0] == 0 && buf[1] == 3;  // DATA, block 1
    // End the transfer at once (ERROR, code 0) so the server does not resend.
    static const char kAbort[] = "\0\5\0\0probe done";
    sendto(s, kAbort, sizeof kAbort, 0, reinterpret_cast<sockaddr*>(&from), n);
  }
  close(s);
  return ok;
}

// Reads one FTP reply (up to its final "NNN " line) and returns its code, 0 on timeout.
inline int ftp_reply(int s, int ms) {
  std::string text;
  while (wait_readable(s, ms)) {
    char buf[512];
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n <= 0) return 0;
    text.append(buf, static_cast<size_t>(n));
    size_t end = text.rfind('\n');
    if (end == std::string::npos) continue;
    size_t start = text.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    if (end - start >= 4 && text[start + 3] == ' ') return std::atoi(text.substr(start, 3).c_str());
  }
  return 0;
}

inline bool ftp_logs_in(int port, const std::string& user, const std::string& pass, int ms = 500) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return false;
  sockaddr_in a = loopback(port);
  bool ok = false;
  auto say = [&](const std::string& line) {
    return send(s, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  };
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ftp_reply(s, ms) == 220 &&
      say("USER " + user + "\r\n") && ftp_reply(s, ms) == 331 && say("PASS " + pass + "\r\n")) {
    ok = ftp_reply(s, ms) == 230;
    say("QUIT\r\n");
  }
  close(s);
  return ok;
}

// in.tftpd and pyftpdlib (user trustsim, password secret) serving `dir`,
// both accepting uploads where the directory lets them write.
// `probe` is a file in `dir` the TFTP server must serve, and the FTP server
// must accept the login, before ready() is true.
struct NetServers {
  std::string dir, log_dir;
  int tftp_port = 0, ftp_port = 0;
  pid_t tftpd = -1, ftpd = -1;
  bool ready = false;
  std::string why;  // when not ready: the server logs

  NetServers(std::string serve_dir, std::string logs, const std::string& probe)
      : dir(std::move(serve_dir)), log_dir(std::move(logs)) {
    chmod(dir.c_str(), 0755);  // in.tftpd drops to an unprivileged user
    tftp_port = free_port(SOCK_DGRAM);
    // -c and -w: both servers also take uploads (into directories the test makes writable).
    tftpd = spawn_logged(
        {"/usr/sbin/in.tftpd", "-L", "-c", "-s", dir, "--address", "127.0.0.1:" + std::to_string(tftp_port)},
        log_dir + "/tftpd.log");
    ftp_port = free_port(SOCK_STREAM);
    ftpd = spawn_logged({"/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", std::to_string(ftp_port), "-d",
                         dir, "-u", "trustsim", "-P", "secret", "-w"},
                        log_dir + "/ftpd.log");
    bool t = false, f = false;
    for (int i = 0; i < 100 && !(t && f); ++i) {
      if (!t) t = tftp_serves(tftp_port, probe);
      if (!f) f = ftp_logs_in(ftp_port, "trustsim", "secret");
      if (!(t && f)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ready = t && f;
    if (!t)
      why += "in.tftpd did not serve " + probe + " within 10 s; its log: " + read_text(log_dir + "/tftpd.log") + "\n";
    if (!f)
      why += "pyftpdlib did not accept the login within 10 s; its log: " + read_text(log_dir + "/ftpd.log") + "\n";
  }
  ~NetServers() {
    stop_group(tftpd);
    stop_group(ftpd);
  }
  NetServers(const NetServers&) = delete;
  NetServers& operator=(const NetServers&) = delete;
};

// A real SMTP server on loopback: aiosmtpd (Debian python3-aiosmtpd) on a
// free port, storing every mail it accepts in the Maildir `maildir`
// (its messages under maildir/new). Stopped by the destructor.
struct MailServer {
  std::string maildir, log;
  int port = 0;
  pid_t pid = -1;
  bool ready = false;

  MailServer(std::string dir, std::string log_file) : maildir(std::move(dir)), log(std::move(log_file)) {
    port = free_port(SOCK_STREAM);
    pid = spawn_logged({"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port), "-c",
                        "aiosmtpd.handlers.Mailbox", maildir},
                       log);
    for (int i = 0; i < 100 && !ready; ++i) {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a = loopback(port);
      ready = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(s);
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~MailServer() { stop_group(pid); }
  // The messages received so far, in file name order.
  std::vector<std::string> mails() const {
    Result ls = sh("ls '" + maildir + "/new' 2>/dev/null | sort");
    std::vector<std::string> out;
    for (size_t pos = 0; pos < ls.output.size();) {
      size_t end = ls.output.find('\n', pos);
      if (end == std::string::npos) end = ls.output.size();
      if (end > pos) out.push_back(read_text(maildir + "/new/" + ls.output.substr(pos, end - pos)));
      pos = end + 1;
    }
    return out;
  }
  MailServer(const MailServer&) = delete;
  MailServer& operator=(const MailServer&) = delete;
};

// Answers a TCP connect on loopback within `ms` milliseconds.
inline bool tcp_listens(int port, int ms = 10000) {
  for (int waited = 0; waited < ms; waited += 100) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// HTTP and HTTPS servers on loopback (/usr/bin/python3 http.server, ssl)
// serving `dir` and taking uploads into it by PUT, with certificates made
// here by the openssl command: a CA the test trusts (ca.pem), another CA it
// does not (both valid 2020-2100), and three HTTPS servers
// whose certificates (all for IP 127.0.0.1) are signed by the trusted CA
// (good), by the other CA (untrusted), or by the trusted CA but expired in
// 2021 (expired). `pki` is a scratch directory for keys and certificates.
// add_https() starts more, with certificates of other dates.
struct WebServers {
  std::string dir, pki;
  int http_port = 0, good_port = 0, untrusted_port = 0, expired_port = 0;
  std::vector<pid_t> pids;
  bool ready = false;
  std::string why;

  WebServers(std::string serve_dir, std::string pki_dir) : dir(std::move(serve_dir)), pki(std::move(pki_dir)) {
    mkdir(pki.c_str(), 0755);
    const std::string cnf = pki + "/ca.cnf";
    write_text(cnf, "[ca]\ndefault_ca = ca_default\n[ca_default]\ndatabase = " + pki +
                        "/index.txt\nnew_certs_dir = " + pki + "\nserial = " + pki +
                        "/serial\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\n" +
                        "unique_subject = no\n[any]\ncommonName = supplied\n");
    write_text(pki + "/index.txt", "");
    write_text(pki + "/serial", "1000\n");
    // Fixed dates around every board clock the tests use (the default
    // board's RTC starts at 2026-11-29, before today on most hosts, and
    // the engine judges certificates by it): 2020 to 2100.
    std::string cmds = "cd '" + pki + "' && true" + ca_cert("ca", "trustsim-test-ca") + ca_cert("other", "other-ca");
    cmds += server_cert("good", "ca", kLongDates);
    cmds += server_cert("untrusted", "other", kLongDates);
    cmds += server_cert("expired", "ca", "-startdate 20200101000000Z -enddate 20210101000000Z");
    Result r = sh(cmds);
    if (r.exit_code != 0) {
      why = "openssl failed: " + r.output;
      return;
    }
    // GET serves `dir`; PUT stores the body as dir/PATH when all of it came
    // (written aside, then renamed: a dropped connection stores nothing),
    // answering 201; a PATH whose first part is status-NNN is answered
    // NNN after the body was read (the tests' refusing server); a PATH
    // with a ".." part or whose directory is missing: 403.
    write_text(pki + "/serve.py",
               "import functools, http.server, os, ssl, sys\n"
               "port, root = int(sys.argv[1]), sys.argv[2]\n"
               "class Handler(http.server.SimpleHTTPRequestHandler):\n"
               "    def do_PUT(self):\n"
               "        n = int(self.headers.get('Content-Length', '0'))\n"
               "        body = self.rfile.read(n)\n"
               "        path = self.path.split('?')[0].lstrip('/')\n"
               "        parts = path.split('/')\n"
               "        code = 201\n"
               "        if parts[0].startswith('status-'):\n"
               "            code = int(parts[0][7:])\n"
               "        elif len(body) != n:\n"
               "            return\n"
               "        elif '..' in parts or not os.path.isdir(os.path.dirname(os.path.join(root, path)) or root):\n"
               "            code = 403\n"
               "        else:\n"
               "            dest = os.path.join(root, path)\n"
               "            with open(dest + '.part', 'wb') as f:\n"
               "                f.write(body)\n"
               "            os.replace(dest + '.part', dest)\n"
               "        self.send_response(code)\n"
               "        self.send_header('Content-Length', '0')\n"
               "        self.end_headers()\n"
               "handler = functools.partial(Handler, directory=root)\n"
               "server = http.server.ThreadingHTTPServer(('127.0.0.1', port), handler)\n"
               "if len(sys.argv) > 3:\n"
               "    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
               "    ctx.load_cert_chain(sys.argv[3], sys.argv[4])\n"
               "    server.socket = ctx.wrap_socket(server.socket, server_side=True)\n"
               "server.serve_forever()\n");
    start(http_port, "");
    start(good_port, "good");
    start(untrusted_port, "untrusted");
    start(expired_port, "expired");
    ready = true;
    for (int port : {http_port, good_port, untrusted_port, expired_port})
      if (!tcp_listens(port)) {
        ready = false;
        why += "no server listens on port " + std::to_string(port) + "\n";
      }
  }
  // Makes certificate NAME (for IP 127.0.0.1, signed by the trusted CA,
  // `dates` as openssl ca takes them: -startdate/-enddate YYYYMMDDHHMMSSZ)
  // and serves `dir` over HTTPS with it. Returns the port, 0 on failure (why says).
  int add_https(const std::string& name, const std::string& dates) {
    if (!make_cert(name, dates)) return 0;
    int port = 0;
    start(port, name);
    if (tcp_listens(port)) return port;
    why += "no server listens on port " + std::to_string(port) + "\n";
    return 0;
  }
  // Only makes certificate NAME, signed by the trusted CA, for `san`
  // (subjectAltName, e.g. DNS:ida.example). False on failure (why says).
  bool make_cert(const std::string& name, const std::string& dates, const std::string& san = "IP:127.0.0.1") {
    Result r = sh("cd '" + pki + "' && true" + server_cert(name, "ca", dates, san));
    if (r.exit_code == 0) return true;
    why += "openssl failed: " + r.output;
    return false;
  }
  std::string ca_pem() const { return read_text(pki + "/ca.pem"); }
  // The trusted CA's certificate as one base 64 line (DER, no PEM lines).
  std::string ca_base64() const {
    std::string pem = ca_pem(), out;
    for (size_t p = 0, e; p < pem.size(); p = e + 1) {
      e = pem.find('\n', p);
      if (e == std::string::npos) e = pem.size();
      if (pem.compare(p, 5, "-----") != 0) out += pem.substr(p, e - p);
    }
    return out;
  }
  ~WebServers() {
    for (pid_t p : pids) stop_group(p);
  }
  WebServers(const WebServers&) = delete;
  WebServers& operator=(const WebServers&) = delete;

 private:
  static constexpr const char* kEc = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  static constexpr const char* kLongDates = "-startdate 20200101000000Z -enddate 21000101000000Z";
  // The shell commands (each after " && ") for a self-signed CA NAME.pem
  // (openssl ca -selfsign: openssl req -x509 cannot set the start date).
  static std::string ca_cert(const std::string& name, const std::string& cn) {
    return std::string(" && openssl req -new") + kEc + " -keyout " + name + ".key -out " + name +
           ".csr -subj /CN=" + cn +
           " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>&1" +
           " && openssl ca -batch -config ca.cnf -notext -selfsign -keyfile " + name + ".key -in " + name +
           ".csr -out " + name + ".pem " + kLongDates + " 2>&1";
  }
  // The shell commands (each after " && ") for certificate NAME signed by `ca`.
  static std::string server_cert(const std::string& name, const std::string& ca, const std::string& dates,
                                 const std::string& san = "IP:127.0.0.1") {
    return std::string(" && openssl req") + kEc + " -keyout " + name + ".key -out " + name +
           ".csr -subj /CN=127.0.0.1 -addext subjectAltName=" + san +
           " 2>&1 && openssl ca -batch -config ca.cnf "
           "-notext -cert " +
           ca + ".pem -keyfile " + ca + ".key -in " + name + ".csr -out " + name + ".pem " + dates + " 2>&1";
  }
  void start(int& port, const std::string& cert) {
    port = free_port(SOCK_STREAM);
    std::vector<std::string> argv{"/usr/bin/python3", pki + "/serve.py", std::to_string(port), dir};
    if (!cert.empty()) {
      argv.push_back(pki + "/" + cert + ".pem");
      argv.push_back(pki + "/" + cert + ".key");
    }
    pids.push_back(spawn_logged(argv, pki + "/" + (cert.empty() ? "http" : cert) + ".log"));
  }
};

// The test IDA (tests/support/ida_server.py): /usr/bin/python3 http.server
// behind ssl on loopback, with certificate CERT of `web`'s PKI ("good",
// "untrusted", ...). `config` is its JSON (users, images, raw answers);
// every request it gets is a JSON line in `log`.
struct IdaServer {
  int port = 0;
  std::string log;
  pid_t pid = -1;
  bool ready = false;

  IdaServer(const WebServers& web, const std::string& cert, const std::string& config, std::string log_file)
      : log(std::move(log_file)) {
    std::string cfg = web.pki + "/ida-" + cert + ".json";
    write_text(cfg, config);
    write_text(log, "");
    port = free_port(SOCK_STREAM);
    pid = spawn_logged({"/usr/bin/python3", src("tests/support/ida_server.py"), std::to_string(port),
                        web.pki + "/" + cert + ".pem", web.pki + "/" + cert + ".key", cfg, log},
                       log + ".out");
    ready = tcp_listens(port);
  }
  ~IdaServer() { stop_group(pid); }
  // The requests so far, one JSON line each.
  std::string requests() const { return read_text(log); }
  IdaServer(const IdaServer&) = delete;
  IdaServer& operator=(const IdaServer&) = delete;
};

// dnsmasq (Debian dnsmasq-base) on a free loopback UDP port answering for
// the `records` (NAME,ADDRESS each, as --host-record takes them) and
// nothing else (no upstream, no /etc/hosts), logging to `log`. board_file()
// writes the default board file with devices.netxfer.dns_port naming it.
struct DnsServer {
  int port = 0;
  pid_t pid = -1;
  bool ready = false;
  std::string log;

  DnsServer(const std::vector<std::string>& records, std::string log_file) : log(std::move(log_file)) {
    port = free_port(SOCK_DGRAM);
    std::vector<std::string> argv{"/usr/sbin/dnsmasq",
                                  "--no-daemon",
                                  "--conf-file=/dev/null",
                                  "--pid-file=",
                                  "--port=" + std::to_string(port),
                                  "--listen-address=127.0.0.1",
                                  "--bind-interfaces",
                                  "--no-resolv",
                                  "--no-hosts"};
    for (const std::string& r : records) argv.push_back("--host-record=" + r);
    pid = spawn_logged(argv, log);
    // Ready when it answers (an NXDOMAIN will do).
    for (int i = 0; i < 50 && !ready; ++i) {
      int s = socket(AF_INET, SOCK_DGRAM, 0);
      static const char kQuery[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05probe\x00\x00\x01\x00\x01";
      sockaddr_in a = loopback(port);
      sendto(s, kQuery, sizeof kQuery - 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
      ready = wait_readable(s, 100);
      close(s);
    }
  }
  ~DnsServer() { stop_group(pid); }
  // The default board with this server's port as devices.netxfer.dns_port
  // (and `extra` applied: pairs of text to replace), written to `path`.
  bool board_file(const std::string& path, const std::vector<std::pair<std::string, std::string>>& extra = {}) const {
    std::string text = read_text(src("boards/default.yaml"));
    size_t at = text.find("    tftp_block:");
    if (at == std::string::npos) return false;
    text.insert(at, "    dns_port: " + std::to_string(port) + "\n");
    for (const auto& [from, to] : extra) {
      size_t f = text.find(from);
      if (f == std::string::npos) return false;
      text.replace(f, from.size(), to);
    }
    write_text(path, text);
    return true;
  }
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;
};

}  // namespace trustsim::test
