// The transfer engine on its own, driven through the mailbox as the firmware
// drives it, against real servers (in.tftpd, pyftpdlib) on loopback: the
// exact board time of each step (round trips, link rate, TFTP lock-step),
// the status of each outcome, faults, and its per-transfer trace event.
// Each TEST elaborates its own SystemC model: one meson test per case.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "../support/net_servers.h"
#include "devices/netxfer.h"
#include "devkit/sim_time.h"
#include "hw-models/bus.h"
#include "hw-models/mailbox_service.h"
#include "trustsim/netxfer_regs.h"

using namespace trustsim;
using namespace trustsim::test;

namespace {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kMailbox = kRamBase + kRamSize - TS_MBOX_WINDOW_SIZE;
constexpr uint64_t kBase = 0x07000000;
constexpr uint64_t kBuf = kRamBase + 0x1000;
constexpr size_t kFileSize = 3000;         // 6 TFTP blocks of 512 (the last one partial)
constexpr uint64_t kRtcBase = 1795910400;  // the default board's RTC at board time 0 (power.rtc_base)

NetxferConfig figures(uint64_t max_size = 64ull << 20) {
  NetxferConfig c;
  c.present = true;
  c.bus_base = kBase;
  c.link_bytes_per_s = 1000000;     // 1 MB/s: 1 us per byte
  c.round_trip_ps = 2000000000ull;  // 2 ms
  c.tftp_block = 512;
  c.max_size = max_size;
  return c;
}

// The served file and the two servers, shared by the rig.
struct Served {
  TempDir d;
  std::string srv = d.file("srv");
  std::vector<uint8_t> data;
  std::unique_ptr<NetServers> servers;
  Served() {
    mkdir(srv.c_str(), 0755);
    chmod(d.path.c_str(), 0755);
    for (size_t i = 0; i < kFileSize; ++i) data.push_back(uint8_t(i * 7 + 3));
    std::string f = srv + "/blob.bin";
    FILE* fp = fopen(f.c_str(), "wb");
    fwrite(data.data(), 1, data.size(), fp);
    fclose(fp);
    chmod(f.c_str(), 0644);
    servers = std::make_unique<NetServers>(srv, d.path, "blob.bin");
  }
  std::string tftp(const std::string& p = "blob.bin") const {
    return "tftp://127.0.0.1:" + std::to_string(servers->tftp_port) + "/" + p;
  }
  std::string ftp(const std::string& p = "blob.bin", const std::string& cred = "trustsim:secret@") const {
    return "ftp://" + cred + "127.0.0.1:" + std::to_string(servers->ftp_port) + "/" + p;
  }
};

struct TraceLines : TraceSink {
  std::vector<TraceEvent> events;
  void on_event(const TraceEvent& e) override { events.push_back(e); }
  const TraceEvent* transfer() const {
    for (const TraceEvent& e : events)
      if (std::string(e.op).find("get") != std::string::npos) return &e;
    return nullptr;
  }
};

struct Rig : sc_core::sc_module {
  SC_HAS_PROCESS(Rig);
  PowerDomain power;
  DeviceTrace trace;
  TraceLines lines;
  Bus bus{"bus"};
  NetXfer nx;
  MailboxService mbox{"mailbox", bus, trace, kRamBase, kRamSize, kMailbox};
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize, 0);
  std::function<void(Rig&)> body;
  uint32_t seq = 0;

  Rig(const NetxferConfig& cfg, std::function<void(Rig&)> b)
      : sc_module("rig"), nx("netxfer", power, cfg, kRtcBase, trace), body(std::move(b)) {
    trace.add_sink(&lines);
    bus.map(nx, kBase);
    mbox.socket.bind(bus.target);
    mbox.attach_ram(ram.data());
    SC_THREAD(run);
  }
  void run() {
    power.switch_on(TS_RESET_POWER_ON);
    body(*this);
  }
  uint8_t* at(uint64_t gpa) { return ram.data() + (gpa - kRamBase); }
  ts_mbox_response request(uint32_t op, uint64_t reg, uint64_t len) {
    ts_mbox_request r{};
    r.magic = TS_MBOX_MAGIC;
    r.seq = ++seq;
    r.op = op;
    r.bus_addr = kBase + reg;
    r.len = len;
    r.dma_addr = kBuf;
    memcpy(at(kMailbox), &r, sizeof r);
    mbox.service();
    ts_mbox_response rsp;
    memcpy(&rsp, at(kMailbox + TS_MBOX_RESPONSE_OFFSET), sizeof rsp);
    return rsp;
  }
  ts_mbox_response write64(uint64_t reg, uint64_t v) {
    memcpy(at(kBuf), &v, 8);
    return request(TS_MBOX_OP_WRITE, reg, 8);
  }
  uint64_t read64(uint64_t reg) {
    request(TS_MBOX_OP_READ, reg, 8);
    uint64_t v;
    memcpy(&v, at(kBuf), 8);
    return v;
  }
  // Writes the URL and gives `cmd` (OPEN or UPLOAD); returns the board time it took, in ns.
  uint64_t open(const std::string& url, uint64_t cmd = TS_NETXFER_CMD_OPEN) {
    memcpy(at(kBuf), url.data(), url.size());
    EXPECT_EQ(request(TS_MBOX_OP_WRITE, TS_NETXFER_URL, url.size()).status, uint32_t(TS_MBOX_OK));
    ts_mbox_response rsp = write64(TS_NETXFER_CTRL, cmd);
    EXPECT_EQ(rsp.status, uint32_t(TS_MBOX_OK));
    return rsp.t_done_ns - rsp.t_start_ns;
  }
};

void simulate(const NetxferConfig& cfg, std::function<void(Rig&)> body) {
  Rig rig(cfg, std::move(body));
  sc_core::sc_start();
}

}  // namespace

TEST(NetXfer, TftpCostsOneRoundTripPerBlockPlusWireTime) {
  Served s;
  ASSERT_TRUE(s.servers->ready) << s.servers->why;
  simulate(figures(), [&](Rig& r) {
    EXPECT_EQ(r.open(s.tftp()), 2000000u);  // RRQ -> first block: one round trip
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_OK);
    // 1000 bytes: 1 ms on the wire, and bytes 0..999 begin blocks 1 and 2: two round trips.
    ts_mbox_response a = r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 1000);
    EXPECT_EQ(a.actual_len, 1000u);
    EXPECT_EQ(a.t_done_ns - a.t_start_ns, 1000000u + 2 * 2000000u);
    EXPECT_EQ(0, memcmp(r.at(kBuf), s.data.data(), 1000));
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_OK);
    // The rest (asked for more than there is): 2000 bytes beginning blocks 3..6: four round trips.
    ts_mbox_response b = r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 65536);
    EXPECT_EQ(b.status, uint32_t(TS_MBOX_OK));
    EXPECT_EQ(b.actual_len, 2000u);
    EXPECT_EQ(b.t_done_ns - b.t_start_ns, 2000000u + 4 * 2000000u);
    EXPECT_EQ(0, memcmp(r.at(kBuf), s.data.data() + 1000, 2000));
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
    EXPECT_EQ(r.read64(TS_NETXFER_DONE), kFileSize);
    const TraceEvent* t = r.lines.transfer();
    ASSERT_NE(t, nullptr);
    EXPECT_STREQ(t->op, "tftp-get");
    EXPECT_STREQ(t->status, "end");
    EXPECT_EQ(t->len, kFileSize);
    EXPECT_EQ(t->latency_ns, 2000000u + 5000000u + 10000000u);
    EXPECT_EQ(t->detail, s.tftp());
  });
}

TEST(NetXfer, FtpOpensInSixRoundTripsAndDropsAfterTheArmedByteCount) {
  Served s;
  ASSERT_TRUE(s.servers->ready) << s.servers->why;
  simulate(figures(), [&](Rig& r) {
    r.nx.arm(net::DropAfter{1200});
    EXPECT_EQ(r.open(s.ftp()), 6 * 2000000u);
    ts_mbox_response a = r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 4096);
    EXPECT_EQ(a.actual_len, 1200u);
    EXPECT_EQ(a.t_done_ns - a.t_start_ns, 1200000u);  // FTP streams: wire time only
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_OK) << "the bytes that came first; the failure on the next read";
    ts_mbox_response b = r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 4096);
    EXPECT_EQ(b.status, uint32_t(TS_MBOX_OK));
    EXPECT_EQ(b.actual_len, 0u);
    EXPECT_EQ(b.t_done_ns - b.t_start_ns, 2000000u);  // the reset: one round trip
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_TRUNCATED);
    const TraceEvent* t = r.lines.transfer();
    ASSERT_NE(t, nullptr);
    EXPECT_STREQ(t->status, "truncated");
    EXPECT_NE(t->detail.find("ftp://trustsim:*@127.0.0.1"), std::string::npos) << t->detail;
    EXPECT_NE(t->detail.find("fault=drop-after@1200"), std::string::npos);
    EXPECT_EQ(t->detail.find("secret"), std::string::npos);
    // The fault was used up: the next transfer is whole.
    r.open(s.ftp());
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 4096).actual_len, kFileSize);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
  });
}

TEST(NetXfer, StallWaitsTheTimeoutRegisterAndCorruptFlipsOneByte) {
  Served s;
  ASSERT_TRUE(s.servers->ready) << s.servers->why;
  simulate(figures(), [&](Rig& r) {
    EXPECT_EQ(r.read64(TS_NETXFER_TIMEOUT), TS_NETXFER_DEFAULT_TIMEOUT_NS);
    EXPECT_EQ(r.write64(TS_NETXFER_TIMEOUT, 0).status, uint32_t(TS_MBOX_COMMAND_ERROR));
    r.write64(TS_NETXFER_TIMEOUT, 3000000000ull);
    r.nx.arm(net::Stall{});
    r.open(s.tftp());
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_OK);
    ts_mbox_response a = r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 4096);
    EXPECT_EQ(a.actual_len, 0u);
    EXPECT_EQ(a.t_done_ns - a.t_start_ns, 3000000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_TIMEOUT_ERR);

    r.nx.arm(net::CorruptByte{100});
    r.open(s.tftp());
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 4096).actual_len, kFileSize);
    std::vector<uint8_t> want = s.data;
    want[100] ^= 0xFF;
    EXPECT_EQ(0, memcmp(r.at(kBuf), want.data(), kFileSize));  // before a register read reuses the buffer
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
  });
}

TEST(NetXfer, ErrorsOpenNothingAndBadAccessesAreRefused) {
  Served s;
  ASSERT_TRUE(s.servers->ready) << s.servers->why;
  simulate(figures(1000), [&](Rig& r) {
    // DATA before any transfer.
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, TS_NETXFER_DATA, 16).actual_len, 0u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_NO_TRANSFER);
    EXPECT_EQ(r.open(s.tftp("missing.bin")), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_NOT_FOUND);
    EXPECT_EQ(r.open(s.ftp("missing.bin")), 6 * 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_NOT_FOUND);
    r.open(s.ftp("blob.bin", "trustsim:wrong@"));
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_DENIED);
    EXPECT_EQ(r.open("gopher://127.0.0.1/x"), 0u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_BAD_URL);
    r.open(s.tftp());  // 3000 bytes > max_size 1000
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_TOO_LARGE);
    EXPECT_EQ(r.open("ftp://127.0.0.1:" + std::to_string(free_port(SOCK_STREAM)) + "/x"), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_REFUSED);
    r.nx.arm(net::Refuse{});
    EXPECT_EQ(r.open(s.tftp()), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_REFUSED);
    // A command the engine does not know is refused; register misuse (a
    // length or direction the register does not take) is an address error.
    EXPECT_EQ(r.write64(TS_NETXFER_CTRL, 7).status, uint32_t(TS_MBOX_COMMAND_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_WRITE, TS_NETXFER_URL, TS_NETXFER_MAX_URL + 1).status,
              uint32_t(TS_MBOX_ADDRESS_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, TS_NETXFER_CA, 8).status, uint32_t(TS_MBOX_ADDRESS_ERROR)) << "write-only";
    // DATA written with no upload open: nothing moves.
    r.write64(TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    EXPECT_EQ(r.request(TS_MBOX_OP_WRITE, TS_NETXFER_DATA, 8).status, uint32_t(TS_MBOX_OK));
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_NO_TRANSFER);
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, TS_NETXFER_STATUS, 4).status, uint32_t(TS_MBOX_ADDRESS_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_READ, 0x400, 8).status, uint32_t(TS_MBOX_ADDRESS_ERROR)) << "no register there";
    // Every failed transfer was traced with its status.
    std::vector<std::string> st;
    for (const TraceEvent& e : r.lines.events)
      if (std::string(e.op).find("get") != std::string::npos) st.push_back(e.status);
    EXPECT_EQ(st, (std::vector<std::string>{"not-found", "not-found", "denied", "bad-url", "too-large", "refused",
                                            "refused"}));
  });
}

// The mail block (docs/netxfer.md, "Mail") against a real SMTP server:
// the board time of an accepted mail (seven round trips plus the message
// on the wire), what the server received, the failures and their cost,
// and that it leaves the file transfer registers alone.
TEST(NetXfer, MailGoesThroughAnSmtpServerInSevenRoundTrips) {
  TempDir d;
  MailServer smtp(d.file("maildir"), d.file("smtpd.log"));
  ASSERT_TRUE(smtp.ready) << read_text(smtp.log);
  std::string dead = std::to_string(free_port(SOCK_STREAM));
  simulate(figures(), [&](Rig& r) {
    auto put = [&](uint64_t reg, const std::string& text) {
      memcpy(r.at(kBuf), text.data(), text.size());
      return r.request(TS_MBOX_OP_WRITE, reg, text.size()).status;
    };
    auto send = [&] {
      ts_mbox_response rsp = r.write64(TS_NETXFER_MAIL_CTRL, TS_NETXFER_MAIL_CMD_SEND);
      EXPECT_EQ(rsp.status, uint32_t(TS_MBOX_OK));
      return rsp.t_done_ns - rsp.t_start_ns;
    };
    EXPECT_EQ(r.read64(TS_NETXFER_MAIL_STATUS), TS_NETXFER_OK);
    std::string body = "From: r1@lab.example\r\nTo: ops@example.net\r\nSubject: test mail\r\n\r\nline one\r\n";
    EXPECT_EQ(put(TS_NETXFER_MAIL_ENVELOPE,
                  "smtp://127.0.0.1:" + std::to_string(smtp.port) + "\nr1@lab.example\nops@example.net"),
              uint32_t(TS_MBOX_OK));
    EXPECT_EQ(put(TS_NETXFER_MAIL_BODY, body), uint32_t(TS_MBOX_OK));
    EXPECT_EQ(send(), 7 * 2000000u + body.size() * 1000u);
    EXPECT_EQ(r.read64(TS_NETXFER_MAIL_STATUS), TS_NETXFER_OK);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_OK) << "the transfer block's STATUS is untouched";
    // No server on the port: one round trip, REFUSED.
    put(TS_NETXFER_MAIL_ENVELOPE, "smtp://127.0.0.1:" + dead + "\nr1@lab.example\nops@example.net");
    EXPECT_EQ(send(), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_MAIL_STATUS), TS_NETXFER_REFUSED);
    // Malformed envelopes: nothing is sent, no board time.
    for (const std::string& env : {std::string("http://127.0.0.1\na@b\nc@d"), std::string("smtp://127.0.0.1\na@b"),
                                   std::string("smtp://127.0.0.1\na b@c\nd@e"), std::string("smtp://h\na@b\n<c@d>")}) {
      put(TS_NETXFER_MAIL_ENVELOPE, env);
      EXPECT_EQ(send(), 0u) << env;
      EXPECT_EQ(r.read64(TS_NETXFER_MAIL_STATUS), TS_NETXFER_BAD_URL) << env;
    }
    // Register misuse.
    EXPECT_EQ(r.write64(TS_NETXFER_MAIL_CTRL, 2).status, uint32_t(TS_MBOX_COMMAND_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_WRITE, TS_NETXFER_MAIL_BODY, TS_NETXFER_MAX_MAIL + 1).status,
              uint32_t(TS_MBOX_ADDRESS_ERROR));
    EXPECT_EQ(r.request(TS_MBOX_OP_WRITE, TS_NETXFER_MAIL_ENVELOPE, TS_NETXFER_MAX_ENVELOPE + 1).status,
              uint32_t(TS_MBOX_ADDRESS_ERROR));
    std::vector<std::string> st;
    for (const TraceEvent& e : r.lines.events)
      if (!strcmp(e.op, "smtp-send")) st.push_back(e.status);
    EXPECT_EQ(st, (std::vector<std::string>{"ok", "refused", "bad-url", "bad-url", "bad-url", "bad-url"}));
  });
  std::vector<std::string> mails = smtp.mails();
  ASSERT_EQ(mails.size(), 1u) << read_text(smtp.log);
  EXPECT_NE(mails[0].find("Subject: test mail"), std::string::npos) << mails[0];
  EXPECT_NE(mails[0].find("X-MailFrom: r1@lab.example"), std::string::npos) << mails[0];
  EXPECT_NE(mails[0].find("X-RcptTo: ops@example.net"), std::string::npos) << mails[0];
  EXPECT_NE(mails[0].find("line one"), std::string::npos) << mails[0];
}

// An upload: the login at UPLOAD, wire time (and TFTP's lock-step) as the
// bytes are written, the server's answer at COMMIT; the file the server
// stored is the bytes written; a drop-after fault leaves it short.
TEST(NetXfer, UploadPaysLoginThenWireTimeAndTheServerGetsTheBytes) {
  Served s;
  ASSERT_TRUE(s.servers->ready) << s.servers->why;
  std::string up = s.srv + "/up";
  ASSERT_EQ(mkdir(up.c_str(), 0777), 0);
  chmod(up.c_str(), 0777);
  auto stored = [&](const std::string& name) {
    std::vector<uint8_t> v;
    if (FILE* f = fopen((up + "/" + name).c_str(), "rb")) {
      int c;
      while ((c = fgetc(f)) != EOF) v.push_back(uint8_t(c));
      fclose(f);
    }
    return v;
  };
  simulate(figures(), [&](Rig& r) {
    auto write = [&](size_t from, size_t n) {
      memcpy(r.at(kBuf), s.data.data() + from, n);
      ts_mbox_response w = r.request(TS_MBOX_OP_WRITE, TS_NETXFER_DATA, n);
      EXPECT_EQ(w.status, uint32_t(TS_MBOX_OK));
      return w.t_done_ns - w.t_start_ns;
    };
    auto commit = [&] {
      ts_mbox_response c = r.write64(TS_NETXFER_CTRL, TS_NETXFER_CMD_COMMIT);
      EXPECT_EQ(c.status, uint32_t(TS_MBOX_OK));
      return c.t_done_ns - c.t_start_ns;
    };
    EXPECT_EQ(r.open(s.ftp("up/f.bin"), TS_NETXFER_CMD_UPLOAD), 6 * 2000000u);
    EXPECT_EQ(write(0, 1000), 1000000u);  // FTP streams: wire time only
    EXPECT_EQ(write(1000, 2000), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_OK);
    EXPECT_TRUE(stored("f.bin").empty()) << "nothing is sent before COMMIT";
    EXPECT_EQ(commit(), 2000000u);  // the 226
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
    EXPECT_EQ(stored("f.bin"), s.data);

    EXPECT_EQ(r.open(s.tftp("up/t.bin"), TS_NETXFER_CMD_UPLOAD), 2000000u);
    EXPECT_EQ(write(0, 1000), 1000000u + 2 * 2000000u);  // blocks 1 and 2 begun
    EXPECT_EQ(write(1000, 2000), 2000000u + 4 * 2000000u);
    EXPECT_EQ(commit(), 0u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
    EXPECT_EQ(stored("t.bin"), s.data);

    // Closed before COMMIT: the server gets nothing.
    r.open(s.ftp("up/c.bin"), TS_NETXFER_CMD_UPLOAD);
    write(0, 3000);
    r.write64(TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    EXPECT_TRUE(stored("c.bin").empty());

    r.nx.arm(net::DropAfter{1200});
    r.open(s.ftp("up/d.bin"), TS_NETXFER_CMD_UPLOAD);
    write(0, 3000);
    EXPECT_EQ(commit(), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_TRUNCATED);
    EXPECT_LE(stored("d.bin").size(), 1200u);

    r.open(s.ftp("up/x.bin", "trustsim:wrong@"), TS_NETXFER_CMD_UPLOAD);
    write(0, 100);
    commit();
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_DENIED);

    std::vector<std::string> st;
    for (const TraceEvent& e : r.lines.events)
      if (std::string(e.op).find("put") != std::string::npos) st.push_back(std::string(e.op) + " " + e.status);
    EXPECT_EQ(st, (std::vector<std::string>{"ftp-put end", "tftp-put end", "ftp-put closed", "ftp-put truncated",
                                            "ftp-put denied"}));
  });
}

// An HTTP(S) upload is one PUT (docs/netxfer.md, "Uploads"): the TCP
// connect (and TLS handshake) at UPLOAD, wire time as the bytes are
// written, the PUT's answer at COMMIT. The server stores the bytes; an
// error status lands in HTTP_CODE and the trace; https:// with no CA
// written is refused at UPLOAD without touching the network.
TEST(NetXfer, HttpUploadIsOnePutWhoseStatusTheFirmwareCanRead) {
  Served s;
  ASSERT_TRUE(s.servers->ready) << s.servers->why;
  WebServers web(s.srv, s.d.file("pki"));
  ASSERT_TRUE(web.ready) << web.why;
  std::string up = s.srv + "/up";
  ASSERT_EQ(mkdir(up.c_str(), 0777), 0);
  std::string http = "http://127.0.0.1:" + std::to_string(web.http_port) + "/";
  std::string https = "https://127.0.0.1:" + std::to_string(web.good_port) + "/";
  simulate(figures(), [&](Rig& r) {
    auto write = [&](size_t n) {
      memcpy(r.at(kBuf), s.data.data(), n);
      ts_mbox_response w = r.request(TS_MBOX_OP_WRITE, TS_NETXFER_DATA, n);
      EXPECT_EQ(w.status, uint32_t(TS_MBOX_OK));
      return w.t_done_ns - w.t_start_ns;
    };
    auto commit = [&] {
      ts_mbox_response c = r.write64(TS_NETXFER_CTRL, TS_NETXFER_CMD_COMMIT);
      return c.t_done_ns - c.t_start_ns;
    };
    EXPECT_EQ(r.open(http + "up/h.bin", TS_NETXFER_CMD_UPLOAD), 2000000u);  // the connect
    EXPECT_EQ(write(3000), 3000000u);
    EXPECT_EQ(commit(), 2000000u);  // the PUT's answer
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
    EXPECT_EQ(r.read64(TS_NETXFER_HTTP_CODE), 201u);
    EXPECT_EQ(read_text(up + "/h.bin"), std::string(s.data.begin(), s.data.end()));

    EXPECT_EQ(r.open(http + "status-405/x.bin", TS_NETXFER_CMD_UPLOAD), 2000000u);
    write(100);
    EXPECT_EQ(commit(), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_FAILED);
    EXPECT_EQ(r.read64(TS_NETXFER_HTTP_CODE), 405u);
    r.open(http + "status-403/x.bin", TS_NETXFER_CMD_UPLOAD);
    write(100);
    commit();
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_DENIED);

    EXPECT_EQ(r.open(https + "up/s.bin", TS_NETXFER_CMD_UPLOAD), 0u);  // no CA: refused at once
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_UNTRUSTED);
    EXPECT_EQ(r.read64(TS_NETXFER_HTTP_CODE), 0u);
    std::string pem = web.ca_pem();
    memcpy(r.at(kBuf), pem.data(), pem.size());
    EXPECT_EQ(r.request(TS_MBOX_OP_WRITE, TS_NETXFER_CA, pem.size()).status, uint32_t(TS_MBOX_OK));
    EXPECT_EQ(r.open(https + "up/s.bin", TS_NETXFER_CMD_UPLOAD), 2 * 2000000u);  // connect and handshake
    write(3000);
    EXPECT_EQ(commit(), 2000000u);
    EXPECT_EQ(r.read64(TS_NETXFER_STATUS), TS_NETXFER_END);
    EXPECT_EQ(read_text(up + "/s.bin"), std::string(s.data.begin(), s.data.end()));

    std::vector<std::string> st;
    for (const TraceEvent& e : r.lines.events)
      if (std::string(e.op).find("put") != std::string::npos)
        st.push_back(std::string(e.op) + " " + e.status + (e.detail.find("http=") != std::string::npos ? " http" : ""));
    EXPECT_EQ(st, (std::vector<std::string>{"http-put end", "http-put failed http", "http-put denied http",
                                            "https-put untrusted", "https-put end"}));
  });
}
