#include "hw-models/cosim_bridge.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "hw-models/env_switch.h"
#include "hw-models/guest_ram.h"
#include "hw-models/run_files.h"
#include "trustsim/cosim_wait.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {
namespace {

std::atomic<unsigned> g_instance{0};

std::string ram_file_path() {
  struct stat st;
  std::string dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
  return dir + "/trustsim-" + std::to_string(getpid()) + "-" + std::to_string(g_instance++) + ".ram";
}

}  // namespace

bool qemu_reuse_allowed_by_env() { return !env_switch("TRUSTSIM_QEMU_PER_POWER_ON", false); }

bool keep_translations_allowed_by_env() { return env_switch("TRUSTSIM_KEEP_TRANSLATIONS", true); }

CosimBridge::CosimBridge(sc_core::sc_module_name name, const BoardConfig& cfg, BridgeOptions opt, PowerDomain& power,
                         MailboxService& mailbox, DeviceTrace& trace)
    : sc_module(name), cfg_(cfg), opt_(std::move(opt)), power_(power), mailbox_(mailbox), trace_(trace) {
  sock_path_ = opt_.run_dir + "/cosim.sock";
  qemu_log_ = opt_.run_dir + "/qemu.log";
  if (opt_.gdb || !qemu_reuse_allowed_by_env()) opt_.reuse_qemu = false;
  listen_on_socket();
  create_shared_files();
  SC_THREAD(run);
  set_stack_size(1 << 20);
}

void CosimBridge::listen_on_socket() {
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock_path_.size() >= sizeof addr.sun_path) throw std::runtime_error(sock_path_ + ": socket path too long");
  strcpy(addr.sun_path, sock_path_.c_str());
  unlink(sock_path_.c_str());
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 1) != 0)
    throw std::runtime_error(sock_path_ + ": cannot listen: " + strerror(errno));
}

void CosimBridge::create_shared_files() {
  ram_path_ = ram_file_path();
  chan_path_ = ram_path_.substr(0, ram_path_.size() - 4) + ".chan";
  ram_fd_ = open(ram_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (ram_fd_ < 0 || ftruncate(ram_fd_, off_t(cfg_.ram_size)) != 0)
    throw std::runtime_error(ram_path_ + ": cannot create guest RAM file: " + strerror(errno));
  void* p = mmap(nullptr, cfg_.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd_, 0);
  if (p == MAP_FAILED) throw std::runtime_error(ram_path_ + ": cannot map guest RAM: " + strerror(errno));
  ram_ = static_cast<uint8_t*>(p);
  mailbox_.attach_ram(ram_);

  int cfd = open(chan_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (cfd < 0 || ftruncate(cfd, 4096) != 0)
    throw std::runtime_error(chan_path_ + ": cannot create the cosim channel: " + strerror(errno));
  void* cp = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
  close(cfd);
  if (cp == MAP_FAILED) throw std::runtime_error(chan_path_ + ": cannot map the cosim channel: " + strerror(errno));
  chan_ = static_cast<ts_cosim_channel*>(cp);
}

void CosimBridge::release_shared_files(bool unlink_them) {
  if (ram_) munmap(ram_, cfg_.ram_size);
  if (ram_fd_ >= 0) close(ram_fd_);
  if (chan_) munmap(chan_, 4096);
  if (unlink_them) {
    unlink(ram_path_.c_str());
    unlink(chan_path_.c_str());
  }
  ram_ = nullptr;
  ram_fd_ = -1;
  chan_ = nullptr;
}

void CosimBridge::shutdown() {
  for (auto& seat : slots_)
    if (seat) drop_seat(*seat, seat->owner == getpid());
  slots_.clear();
  qemu_.kill();
  qmp_.close();
  parked_ = false;
  if (conn_fd_ >= 0) close(conn_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
  conn_fd_ = listen_fd_ = -1;
  unlink(sock_path_.c_str());
  release_shared_files(!detach_pending_);
}

CosimBridge::~CosimBridge() { shutdown(); }

void CosimBridge::detach_after_fork(const std::string& run_dir, std::function<void()> detached, int slot) {
  forked_ = true;
  adopted_seat_ = false;
  // Only our slot's QEMU is ours to use (once power is off); the others
  // serve the walker's other runs: forget our copies.
  for (size_t j = 0; j < slots_.size(); ++j)
    if (slots_[j] && (int(j) != slot || !slots_[j]->parked)) drop_seat(*slots_[j], false);
  if (slot >= 0 && size_t(slot) < slots_.size() && slots_[size_t(slot)] && slots_[size_t(slot)]->parked) {
    slots_[size_t(slot)]->qemu.adopt();
    adopt_slot_ = slot;
  } else {
    slots_.clear();
  }
  qemu_.forget();
  parked_ = false;
  // Our copies of the descriptors only: the parent's connections stay up.
  qmp_.close();
  if (conn_fd_ >= 0) close(conn_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
  conn_fd_ = listen_fd_ = -1;
  opt_.run_dir = run_dir;
  sock_path_ = run_dir + "/cosim.sock";
  qemu_log_ = run_dir + "/qemu.log";
  listen_on_socket();
  // The request in flight still reads the parent's guest RAM; it is
  // unmapped (never unlinked) once power is off.
  detach_pending_ = true;
  detached_ = std::move(detached);
  hold_ = true;
}

void CosimBridge::fail(const std::string& why) {
  if (making_slot_) {  // a job slot's QEMU: not the run's error
    if (slot_error_.empty()) slot_error_ = why;
    qemu_.kill();
    qmp_.close();
    parked_ = false;
    return;
  }
  if (error_.empty()) error_ = why;
  qemu_.kill();
  qmp_.close();
  parked_ = false;
  sc_core::sc_stop();
}

void CosimBridge::trace_power(const char* op, const std::string& detail) {
  TraceEvent e;
  e.t_ns = now_ns();
  e.dev = "power";
  e.op = op;
  e.detail = detail;
  trace_.record(e);
}

std::vector<std::string> CosimBridge::qemu_argv() const {
  std::vector<std::string> a = {
      opt_.qemu_binary,
      "-M",
      cfg_.qemu_machine + ",memory-backend=ram",
      "-cpu",
      cfg_.qemu_cpu,
      "-nodefaults",
      "-display",
      "none",
      "-nic",
      "none",
      "-icount",
      "shift=" + std::to_string(cfg_.icount_shift) + ",sleep=off",
      "-accel",
      "tcg,thread=single",
      "-object",
      "memory-backend-file,id=ram,share=on,mem-path=" + ram_path_ + ",size=" + std::to_string(cfg_.ram_size),
      "-bios",
      rom_path_,
      "-chardev",
      "file,id=early,path=" + opt_.run_dir + "/early-debug.log",
      "-serial",
      "chardev:early",
      "-qmp",
      "unix:" + opt_.run_dir + "/qmp.sock,server=on,wait=off",
      "-plugin",
      opt_.plugin_path + ",sock=" + sock_path_ + ",chan=" + chan_path_ + ",ram=" + ram_path_ +
          ",spin_us=" + std::to_string(opt_.spin_us),
  };
  if (opt_.gdb) {
    a.push_back("-gdb");
    a.push_back("tcp:127.0.0.1:" + std::to_string(opt_.gdb_port));
    a.push_back("-S");
  }
  return a;
}

// QEMU reads a 64 MiB `-drive if=pflash` image whole at every start (about
// 70-120 ms of CPU, most of a QEMU start-up; docs/performance.md). The boot
// ROM is Boot0 followed by zeros, so QEMU gets it as `-bios` cut after its
// last non-zero byte: the pflash0 device is the same, QEMU fills the rest
// with zeros, and the guest reads the same 64 MiB. The copy is redone when
// the boot ROM file changes (or the run directory does, after a fork).
bool CosimBridge::prepare_bootrom() {
  struct stat st;
  if (stat(opt_.bootrom_path.c_str(), &st) != 0) {
    fail(opt_.bootrom_path + ": cannot read the boot ROM: " + strerror(errno));
    return false;
  }
  std::string key = opt_.run_dir + "|" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                    std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec);
  if (key == rom_key_) return true;
  int fd = open(opt_.bootrom_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(opt_.bootrom_path + ": cannot read the boot ROM: " + strerror(errno));
    return false;
  }
  // End of the last data extent (holes read as zeros); the whole file where
  // the file system cannot tell.
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  data_extents(fd, uint64_t(st.st_size), extents);
  std::vector<uint8_t> rom(size_t(extents.empty() ? 0 : extents.back().second), 0);
  size_t got = 0;
  while (got < rom.size()) {
    ssize_t n = pread(fd, rom.data() + got, rom.size() - got, off_t(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += size_t(n);
  }
  close(fd);
  if (got < rom.size()) {
    fail(opt_.bootrom_path + ": cannot read the boot ROM: " + (errno ? strerror(errno) : "file shrank"));
    return false;
  }
  size_t used = rom.size();
  while (used > 0 && rom[used - 1] == 0) --used;
  rom.resize(std::max<size_t>(4096, (used + 4095) & ~size_t(4095)), 0);
  rom_path_ = opt_.run_dir + "/bootrom.bin";
  int out = open(rom_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = out >= 0 && write(out, rom.data(), rom.size()) == ssize_t(rom.size());
  if (out >= 0) close(out);
  if (!ok) {
    fail(rom_path_ + ": cannot write the boot ROM image for QEMU: " + strerror(errno));
    return false;
  }
  rom_key_ = key;
  return true;
}

// The guest RAM file reads as zeros again: the pages the last guest touched
// are zeroed in place (QEMU keeps them mapped, so the next guest takes no
// page fault for them) unless they add up to more than a quarter of RAM;
// then, or with TRUSTSIM_RAM_CLEAR=punch, the file's pages are released.
bool CosimBridge::clear_ram(std::string& why) {
  bool punch = env_choice("TRUSTSIM_RAM_CLEAR", {"in-place", "punch"}, "in-place") == "punch";
  size_t limit = punch ? 0 : cfg_.ram_size / 4;
  RamClear done;
  if (!clear_guest_ram(ram_fd_, cfg_.ram_size, limit, done, why)) {
    why = ram_path_ + ": cannot clear guest RAM: " + why;
    return false;
  }
  return true;
}

bool CosimBridge::start_qemu() {
  // Fresh QEMU, zeroed RAM: a power cycle keeps nothing volatile.
  std::string why;
  if (!clear_ram(why)) {
    fail(why);
    return false;
  }
  memset(chan_, 0, sizeof *chan_);
  chan_->magic = TS_COSIM_CHANNEL_MAGIC;
  epoch_ = 0;
  // Keep mode for the walker's job slots only: a one-cut run's slot QEMU
  // (for its second cuts) flushes at every park, so a second cut never
  // needs a redo (docs/campaigns.md).
  keep_ = making_slot_ && !forked_ && keep_translations_allowed_by_env();
  qmp_.close();
  use_chan_ = false;
  last_req_ = 0;
  spin_.budget_ns = spin_.max_ns = uint64_t(opt_.spin_us) * 1000;
  try {
    qemu_.start(qemu_argv(), qemu_log_);
  } catch (const std::exception& e) {
    fail(e.what());
    return false;
  }
  if (conn_fd_ >= 0) close(conn_fd_);
  conn_fd_ = -1;
  for (int waited_ms = 0; conn_fd_ < 0; waited_ms += 50) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = poll(&p, 1, 50);
    if (r > 0) {
      conn_fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      break;
    }
    if (int sig = pending_interrupt()) {
      fail(std::string("interrupted by ") + strsignal(sig));
      return false;
    }
    if (!qemu_.running()) {
      fail("QEMU " + qemu_.exit_description() + " before the cosim plugin connected. QEMU log (" + qemu_log_ + "):\n" +
           tail_of_file(qemu_log_, 15));
      return false;
    }
    if (waited_ms > opt_.wall_timeout_s * 1000) {
      fail("QEMU did not load the cosim plugin within " + std::to_string(opt_.wall_timeout_s) + " s");
      return false;
    }
  }
  ++starts_;
  return handshake();
}

// The plugin's HELLO (on the socket from a new QEMU, on the channel from a
// reused one): the guest's count starts at 0 at the current board time.
bool CosimBridge::handshake() {
  ts_cosim_msg hello;
  if (!receive(hello)) return false;
  if (hello.type != TS_COSIM_HELLO || hello.arg != TS_COSIM_PROTOCOL_VERSION) {
    fail("cosim plugin speaks protocol version " + std::to_string(hello.arg) + ", trustsim expects " +
         std::to_string(TS_COSIM_PROTOCOL_VERSION) + ": rebuild both from one tree");
    return false;
  }
  last_icount_ = 0;
  last_sync_time_ = sc_core::sc_time_stamp();
  if (!send_continue()) return false;
  use_chan_ = true;  // from here on, the shared-memory channel
  return true;
}

bool CosimBridge::receive(ts_cosim_msg& m) { return use_chan_ ? receive_channel(m) : receive_socket(m); }

bool CosimBridge::receive_channel(ts_cosim_msg& m) {
  int waited_ms = 0;
  while (!ts_chan_wait(&chan_->req_seq, last_req_, &chan_->host_sleeping, &spin_, 100)) {
    if (int sig = pending_interrupt()) {
      fail(std::string("interrupted by ") + strsignal(sig));
      return false;
    }
    if (!qemu_.running()) {
      fail("QEMU " + qemu_.exit_description() + " in the middle of the run. QEMU log (" + qemu_log_ + "):\n" +
           tail_of_file(qemu_log_, 15));
      return false;
    }
    waited_ms += 100;
    if (!opt_.gdb && waited_ms >= opt_.wall_timeout_s * 1000) {
      fail("the guest made no progress for " + std::to_string(opt_.wall_timeout_s) +
           " s of wall time (no lock-step message from QEMU pid " + std::to_string(qemu_.pid()) +
           "); it may be halted with no pending work");
      return false;
    }
  }
  last_req_ = __atomic_load_n(&chan_->req_seq, __ATOMIC_ACQUIRE);
  m = chan_->req;
  return true;
}

bool CosimBridge::receive_socket(ts_cosim_msg& m) {
  size_t got = 0;
  int waited_ms = 0;
  auto* p = reinterpret_cast<uint8_t*>(&m);
  while (got < sizeof m) {
    pollfd pf{conn_fd_, POLLIN, 0};
    int r = poll(&pf, 1, 100);
    if (int sig = pending_interrupt()) {
      fail(std::string("interrupted by ") + strsignal(sig));
      return false;
    }
    if (r == 0) {
      waited_ms += 100;
      if (opt_.gdb || waited_ms < opt_.wall_timeout_s * 1000) continue;
      fail("the guest made no progress for " + std::to_string(opt_.wall_timeout_s) +
           " s of wall time (no lock-step message from QEMU pid " + std::to_string(qemu_.pid()) +
           "); it may be halted with no pending work");
      return false;
    }
    if (r < 0 && errno == EINTR) continue;
    ssize_t n = r > 0 ? read(conn_fd_, p + got, sizeof m - got) : -1;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Give a dying QEMU a moment to be reaped, so the message says how it ended.
      for (int i = 0; i < 50 && qemu_.running(); ++i) usleep(10000);
      std::string how = qemu_.running() ? "closed the connection" : qemu_.exit_description();
      fail("QEMU " + how + " in the middle of the run. QEMU log (" + qemu_log_ + "):\n" + tail_of_file(qemu_log_, 15));
      return false;
    }
    got += size_t(n);
  }
  return true;
}

uint64_t CosimBridge::next_deadline() const {
  if (making_slot_) return 1;  // a job slot's new QEMU parks at its first block
  uint64_t ns_per_insn = cfg_.ns_per_insn();
  uint64_t insns = cfg_.quantum_insns;
  sc_core::sc_time pending = sc_core::sc_time_to_pending_activity();
  uint64_t pending_ns = to_ns(pending);
  if (pending_ns / ns_per_insn < insns) insns = pending_ns / ns_per_insn;
  if (insns == 0) insns = 1;
  return last_icount_ + insns;
}

bool CosimBridge::send_continue() {
  ts_cosim_msg m{TS_COSIM_CONTINUE, 0, last_icount_, next_deadline()};
  if (use_chan_) {
    for (int i = 0; i < TS_COSIM_WRITTEN_RANGES; ++i) {
      chan_->written[i].ram_off = mailbox_.written(i).ram_off;
      chan_->written[i].len = mailbox_.written(i).len;
    }
    chan_->rsp = m;
    ts_chan_publish(&chan_->rsp_seq, last_req_, &chan_->guest_sleeping);
    return true;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(&m);
  size_t sent = 0;
  while (sent < sizeof m) {
    ssize_t n = write(conn_fd_, p + sent, sizeof m - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail("lost the connection to QEMU: " + std::string(strerror(errno)));
      return false;
    }
    sent += size_t(n);
  }
  return true;
}

CosimBridge::Outcome CosimBridge::serve() {
  for (;;) {
    ts_cosim_msg m;
    if (!receive(m)) return Outcome::kError;
    if (m.type == TS_COSIM_STALE) return Outcome::kStale;
    if ((m.type != TS_COSIM_SYNC && m.type != TS_COSIM_DOORBELL) || m.icount < last_icount_) {
      fail("cosim plugin sent an unexpected message (type " + std::to_string(m.type) + ")");
      return Outcome::kError;
    }
    // Advance the board to the guest's instruction time.
    uint64_t delta = m.icount - last_icount_;
    total_insns_ += delta;
    last_icount_ = m.icount;
    sc_core::sc_time target = last_sync_time_ + from_ns(delta * cfg_.ns_per_insn());
    if (target > sc_core::sc_time_stamp()) wait(target - sc_core::sc_time_stamp());
    last_sync_time_ = sc_core::sc_time_stamp();
    if (power_changed()) return Outcome::kPowerChange;
    if (m.type == TS_COSIM_DOORBELL) {
      ++doorbells_;
      if (on_doorbell) on_doorbell(m.arg);
      mailbox_.service();
      // The guest stalls for the device latency: board time moves on,
      // its instruction count does not.
      last_sync_time_ = sc_core::sc_time_stamp();
      if (power_changed()) return Outcome::kPowerChange;
      if (hold_) {
        while (!power_changed()) wait(power_.off_event());
        return Outcome::kPowerChange;
      }
    } else {
      ++syncs_;
    }
    if (!send_continue()) return Outcome::kError;
  }
}

// Power-on: a parked QEMU is reset and reused; otherwise (first power-on,
// reuse off, after a fork, or a reset that went wrong) a new one starts.
bool CosimBridge::power_on_guest() {
  std::string rom_before = rom_key_;
  if (!prepare_bootrom()) return false;
  if (parked_) {
    std::string why;
    if (rom_key_ != rom_before)
      give_up_reuse("the boot ROM changed since this QEMU started");
    else if (resume_parked(why))
      return true;
    else
      give_up_reuse(why);
  }
  return start_qemu();
}

// A reuse that went wrong never shows in the board's trace or console: the
// QEMU is killed, the reason goes to qemu.log and stderr, and a new QEMU
// starts from scratch as without reuse.
void CosimBridge::give_up_reuse(const std::string& why) {
  std::string line =
      "trustsim: not reusing QEMU pid " + std::to_string(qemu_.pid()) + " (" + why + "); starting a new one\n";
  qemu_.kill();
  qmp_.close();
  parked_ = false;
  fputs(line.c_str(), stderr);
  FILE* log = fopen(qemu_log_.c_str(), "a");
  if (log) {
    fputs(line.c_str(), log);
    fclose(log);
  }
}

// Power has gone while the vCPU is blocked in a plugin callback waiting for
// our reply. Instead of killing QEMU: ask QMP to stop the VM (its reply
// comes only once the vCPU is out of the callback), answer PARK (the plugin
// ignores every later callback and has QEMU flush all translations at the
// next safe point), then wait for the stop and the flush. The vCPU runs at
// most the rest of its current translation block meanwhile; whatever that
// does (RAM stores, UART bytes, a doorbell) is wiped by the reset at the
// next power-on, which also clears RAM.
bool CosimBridge::park() {
  std::string why;
  int timeout_ms = opt_.wall_timeout_s * 1000;
  if (!qmp_.is_open() && !qmp_.open(opt_.run_dir + "/qmp.sock", timeout_ms, why)) {
    give_up_reuse(why);
    return false;
  }
  __atomic_store_n(&chan_->flushed, 0, __ATOMIC_RELEASE);
  if (!qmp_.send("{\"execute\":\"stop\"}", why)) {
    give_up_reuse(why);
    return false;
  }
  chan_->rsp = ts_cosim_msg{TS_COSIM_PARK, 0, last_icount_, keep_ ? TS_COSIM_PARK_KEEP : 0};
  ts_chan_publish(&chan_->rsp_seq, last_req_, &chan_->guest_sleeping);
  if (!qmp_.await_return(timeout_ms, why)) {
    give_up_reuse("stop: " + why);
    return false;
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!__atomic_load_n(&chan_->flushed, __ATOMIC_ACQUIRE)) {
    if (!qemu_.running() || std::chrono::steady_clock::now() > until) {
      give_up_reuse(qemu_.running() ? "the plugin did not confirm the translation flush"
                                    : "QEMU " + qemu_.exit_description() + " while parking");
      return false;
    }
    usleep(20);
  }
  parked_ = true;
  // Test hook (tests/system/test_qemu_reuse.cc): a parked QEMU that dies or
  // hangs, to show that the next power-on notices and starts a new one.
  if (const char* t = getenv("TRUSTSIM_TEST_PARKED_QEMU")) {
    if (!strcmp(t, "kill")) ::kill(qemu_.pid(), SIGKILL);
    if (!strcmp(t, "stop")) ::kill(qemu_.pid(), SIGSTOP);
  }
  return true;
}

// The parked QEMU becomes a new guest, exactly as if it had just started:
// RAM cleared (before the reset, which writes QEMU's own blobs such as the
// device tree back into RAM, as at start-up), the machine reset while
// stopped, the channel cleared, a new epoch; the plugin counts from 0 and
// says HELLO on the channel when the first block of the new guest runs.
bool CosimBridge::resume_parked(std::string& why) {
  int timeout_ms = opt_.wall_timeout_s * 1000;
  parked_ = false;
  if (!qemu_.running()) {
    why = "QEMU " + qemu_.exit_description() + " while parked";
    return false;
  }
  if (!clear_ram(why)) return false;
  if (!qmp_.execute("{\"execute\":\"system_reset\"}", timeout_ms, why) || !qmp_.await_event("RESET", timeout_ms, why)) {
    why = "system_reset: " + why;
    return false;
  }
  uint32_t magic = chan_->magic;
  // A job slot's QEMU has had epochs the walker's copy of epoch_ never saw.
  epoch_ = __atomic_load_n(&chan_->epoch, __ATOMIC_ACQUIRE) + 1;
  uint32_t flushes = chan_->flushes, dma_flushes = chan_->dma_flushes, stale = chan_->stale;
  memset(chan_, 0, sizeof *chan_);
  chan_->magic = magic;
  chan_->flushes = flushes;  // the plugin's counts live as long as the QEMU
  chan_->dma_flushes = dma_flushes;
  chan_->stale = stale;
  __atomic_store_n(&chan_->epoch, epoch_, __ATOMIC_RELEASE);
  use_chan_ = true;
  last_req_ = 0;
  spin_.budget_ns = spin_.max_ns = uint64_t(opt_.spin_us) * 1000;
  if (!qmp_.execute("{\"execute\":\"cont\"}", timeout_ms, why)) {
    why = "cont: " + why;
    return false;
  }
  ++reuses_;
  // From here on QEMU runs the new guest: a failure is the run's error
  // (error_), not a reason to start another QEMU.
  handshake();
  if (test_die_after_adopting && adopted_seat_) raise(SIGKILL);
  return true;
}

void CosimBridge::swap_seat(Seat& s) {
  qemu_.swap(s.qemu);
  qmp_.swap(s.qmp);
  std::swap(opt_.run_dir, s.run_dir);
  std::swap(sock_path_, s.sock_path);
  std::swap(ram_path_, s.ram_path);
  std::swap(chan_path_, s.chan_path);
  std::swap(qemu_log_, s.qemu_log);
  std::swap(rom_path_, s.rom_path);
  std::swap(rom_key_, s.rom_key);
  std::swap(listen_fd_, s.listen_fd);
  std::swap(conn_fd_, s.conn_fd);
  std::swap(ram_fd_, s.ram_fd);
  std::swap(ram_, s.ram);
  std::swap(chan_, s.chan);
  std::swap(parked_, s.parked);
  std::swap(use_chan_, s.use_chan);
  std::swap(epoch_, s.epoch);
  std::swap(last_req_, s.last_req);
  std::swap(spin_, s.spin);
  std::swap(last_icount_, s.last_icount);
  std::swap(last_sync_time_, s.last_sync_time);
  std::swap(keep_, s.keep);
  mailbox_.attach_ram(ram_);
}

void CosimBridge::drop_seat(Seat& s, bool kill) {
  if (kill) {
    s.qemu.kill();
    s.qmp.close();
  } else {
    s.qemu.forget();
    s.qmp.forget();
  }
  if (s.conn_fd >= 0) close(s.conn_fd);
  if (s.listen_fd >= 0) close(s.listen_fd);
  if (s.ram) munmap(s.ram, cfg_.ram_size);
  if (s.ram_fd >= 0) close(s.ram_fd);
  if (s.chan) munmap(s.chan, 4096);
  if (kill) {
    if (!s.ram_path.empty()) unlink(s.ram_path.c_str());
    if (!s.chan_path.empty()) unlink(s.chan_path.c_str());
    if (!s.run_dir.empty()) remove_tree(s.run_dir);
  }
  s.conn_fd = s.listen_fd = s.ram_fd = -1;
  s.ram = nullptr;
  s.chan = nullptr;
  s.parked = false;
  s.keep = false;
  s.rom_key.clear();
  s.owner = -1;
}

// A new QEMU for a job slot, made with the bridge's own start-up and
// parking code on the slot's seat: started, its plugin's HELLO answered
// with a deadline of one instruction, parked at the first block (which the
// reset at adoption wipes, as after any power loss).
bool CosimBridge::make_slot_qemu(Seat& s) {
  uint64_t starts = starts_;
  swap_seat(s);
  making_slot_ = true;
  slot_error_.clear();
  bool ok = false;
  try {
    mkdir(opt_.run_dir.c_str(), 0755);
    sock_path_ = opt_.run_dir + "/cosim.sock";
    qemu_log_ = opt_.run_dir + "/qemu.log";
    listen_on_socket();
    create_shared_files();
    ts_cosim_msg m;
    ok = prepare_bootrom() && start_qemu() && receive(m) && m.type == TS_COSIM_SYNC && park();
  } catch (const std::exception& e) {
    slot_error_ = e.what();
  }
  if (!ok && slot_error_.empty()) slot_error_ = "it did not park at its first block";
  making_slot_ = false;
  starts_ = starts;
  swap_seat(s);
  if (!ok) {
    fprintf(stderr, "trustsim: no QEMU for a campaign job slot (%s); its run starts its own\n", slot_error_.c_str());
    drop_seat(s, true);
    return false;
  }
  s.owner = getpid();
  ++slot_starts_;
  return true;
}

bool CosimBridge::prepare_slot(size_t slot) {
  // A forked run may hold slots for its own runs (second cuts), once it has
  // taken over its own QEMU (the walker's slots it inherited are gone then).
  if (!opt_.reuse_qemu || adopt_slot_ >= 0 || detach_pending_) return false;
  if (slots_.size() <= slot) slots_.resize(slot + 1);
  if (!slots_[slot]) slots_[slot] = std::make_unique<Seat>();
  Seat& s = *slots_[slot];
  if (!(s.parked && s.qemu.running())) {
    drop_seat(s, true);
    s.run_dir = opt_.run_dir + "/slot-" + std::to_string(slot);
    if (!make_slot_qemu(s)) return false;
  }
  ++slot_runs_;
  return true;
}

void CosimBridge::slot_returned(size_t slot, bool clean) {
  if (slot >= slots_.size() || !slots_[slot]) return;
  if (clean)
    ++slot_handbacks_;
  else
    drop_seat(*slots_[slot], true);
}

// At power-off in a forked run: the slot's QEMU, RAM and channel become
// ours; our own (released) files and socket go.
void CosimBridge::adopt_slot() {
  Seat& s = *slots_[size_t(adopt_slot_)];
  swap_seat(s);
  if (s.listen_fd >= 0) close(s.listen_fd);
  s.listen_fd = -1;
  if (!s.sock_path.empty()) unlink(s.sock_path.c_str());
  slots_.clear();
  adopt_slot_ = -1;
  adopted_seat_ = true;
  dma_flushes0_ = chan_ ? chan_->dma_flushes : 0;
}

bool CosimBridge::hand_back_slot() {
  // Outside the bridge's thread, the guest is either parked (power off) or
  // stopped at a lock-step message not yet answered: park() can run.
  bool ok = adopted_seat_ && qemu_.adopted() && error_.empty() && qemu_.running() && (parked_ || (use_chan_ && park()));
  if (!ok) {
    shutdown();
    return false;
  }
  Seat mine;
  swap_seat(mine);
  mine.sock_path.clear();  // the slot's files stay for the walker's next run
  mine.ram_path.clear();
  mine.chan_path.clear();
  mine.run_dir.clear();
  drop_seat(mine, false);
  adopted_seat_ = false;
  shutdown();
  return true;
}

void CosimBridge::run() {
  for (;;) {
    while (!power_.is_on()) wait(power_.on_event());
    boot_ = power_.boot_count();
    trace_power("power-on", power_.reset_cause() == TS_RESET_SOFTWARE ? "software reset" : "power applied");
    if (on_power_on) on_power_on();
    if (!power_on_guest() || !error_.empty()) return;
    Outcome o = serve();
    hold_ = false;
    if (o == Outcome::kStale) {
      // The plugin's vCPU waits before a block that no longer matches RAM:
      // this run cannot go on on this QEMU (docs/cosim-protocol.md).
      qemu_.kill();
      qmp_.close();
      parked_ = false;
      if (on_stale && keep_) on_stale();
      fail(
          "QEMU was about to run a translation kept from an earlier power-on that no longer matches guest RAM "
          "(the run must be redone on a new QEMU)");
      return;
    }
    if (o == Outcome::kPowerChange && opt_.reuse_qemu && !detach_pending_ && qemu_.pid() >= 0) {
      park();  // kills QEMU (with the reason logged) if it cannot
    } else {
      qemu_.kill();
      qmp_.close();
    }
    if (detach_pending_) {
      release_shared_files(false);
      detach_pending_ = false;
      try {
        if (adopt_slot_ >= 0)
          adopt_slot();
        else
          create_shared_files();
      } catch (const std::exception& e) {
        fail(e.what());
        return;
      }
      if (detached_) detached_();
    }
    if (o == Outcome::kError) return;
    if (on_power_lost) on_power_lost();
    PowerDomain::Request req = power_.pending();
    power_.clear_request();
    if (req == PowerDomain::Request::kReset && power_.is_on()) {
      trace_power("reset", "requested by the guest");
      power_.switch_on(TS_RESET_SOFTWARE);
      continue;
    }
    if (req == PowerDomain::Request::kOff) power_.switch_off();
    trace_power("power-off", req == PowerDomain::Request::kOff ? "requested by the guest" : "power removed");
  }
}

}  // namespace trustsim
