// The lock-step bridge between the SystemC kernel (time master) and one
// stock QEMU at a time, with guest RAM in a shared file. The first power-on
// starts QEMU; at each power loss or software reset it is parked, and the
// next power-on resets it (stopped, RAM cleared, translations flushed)
// instead of starting a new one (TRUSTSIM_QEMU_PER_POWER_ON=1 or --gdb:
// a fresh QEMU per power-on, as before); every SYNC/DOORBELL from the plugin advances SystemC to the
// guest's instruction time, a doorbell is serviced through the mailbox, and
// the reply names the next instruction count at which the guest must stop.
// Protocol: docs/cosim-protocol.md; time model: docs/architecture.md.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devkit/device.h"
#include "devkit/trace.h"
#include "hw-models/board_config.h"
#include "hw-models/mailbox_service.h"
#include "hw-models/qemu_process.h"
#include "trustsim/cosim_protocol.h"
#include "trustsim/cosim_wait.h"

namespace trustsim {

struct BridgeOptions {
  std::string qemu_binary = "qemu-system-aarch64";
  std::string plugin_path;
  std::string bootrom_path;
  std::string run_dir;      // sockets, logs (removed by the owner)
  int wall_timeout_s = 30;  // no message from QEMU for this long = stuck
  bool gdb = false;         // QEMU waits for gdb on gdb_port
  int gdb_port = 1234;
  int spin_us = 50;  // how long each side spins on the channel before sleeping
  // Keep one QEMU across power cycles (docs/architecture.md). Off with
  // --gdb or when the environment sets TRUSTSIM_QEMU_PER_POWER_ON=1.
  bool reuse_qemu = true;
};

// False when the environment asks for a new QEMU at every power-on
// (TRUSTSIM_QEMU_PER_POWER_ON set and not "0").
bool qemu_reuse_allowed_by_env();
// TRUSTSIM_KEEP_TRANSLATIONS=0 turns keep mode off: a job slot's QEMU then
// flushes its translations at every PARK, as any other (for benchmarks).
bool keep_translations_allowed_by_env();

class CosimBridge : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CosimBridge);
  CosimBridge(sc_core::sc_module_name name, const BoardConfig& cfg, BridgeOptions opt, PowerDomain& power,
              MailboxService& mailbox, DeviceTrace& trace);
  ~CosimBridge() override;

  // Called on every power-on / power loss, before QEMU starts / after it died.
  std::function<void()> on_power_on;
  std::function<void()> on_power_lost;
  // Called at each doorbell, before the request is serviced, with the
  // guest address of the doorbell instruction (which boot stage rang).
  std::function<void(uint64_t pc)> on_doorbell;

  // Campaign support (docs/campaigns.md).
  // Keeps the guest stalled at its current device request until power goes:
  // from a cut point's operation start to the cut, the board runs alone, so
  // a forked run and a replayed one see exactly the same.
  void hold_guest_until_power_off() { hold_ = true; }
  // In a forked child: the running QEMU, its socket, RAM and channel belong
  // to the parent. Forgets them without touching them, listens under
  // run_dir, and calls `detached` once power has gone and nothing of the
  // parent's guest is used any more; the next power-on starts our own QEMU.
  // With `slot` >= 0 (prepared by prepare_slot before the fork), the
  // recovery's power-on adopts that job slot's parked QEMU instead.
  void detach_after_fork(const std::string& run_dir, std::function<void()> detached, int slot = -1);
  // Campaign job slots (docs/campaigns.md, "QEMU per job slot"). In the
  // walking process, before forking a run for `slot`: makes sure the slot
  // holds a live parked QEMU (started on first use, or after a run left it
  // unclean). False (reason on stderr) when reuse is off or none could be
  // made: the run then starts its own QEMU.
  bool prepare_slot(size_t slot);
  // In the walker, once the run that had `slot` has been reaped: unless it
  // handed the QEMU back parked (`clean`), the QEMU is killed and replaced.
  void slot_returned(size_t slot, bool clean);
  // In a forked run at its end: parks an adopted slot QEMU for the next run
  // and lets go of it (true), or kills whatever QEMU it has (false).
  bool hand_back_slot();
  uint64_t slot_qemu_starts() const { return slot_starts_; }
  uint64_t slot_qemu_handbacks() const { return slot_handbacks_; }
  uint64_t slot_qemu_runs() const { return slot_runs_; }
  pid_t slot_qemu_pid(size_t slot) const {
    return slot < slots_.size() && slots_[slot] ? slots_[slot]->qemu.pid() : -1;
  }  // prepare_slot calls that gave a QEMU
  // Test hook (tests/system/test_qemu_reuse.cc): SIGKILL this process right
  // after its adopted slot QEMU has started the recovery's guest.
  bool test_die_after_adopting = false;
  // A job slot's QEMU keeps its translations across power cycles (keep
  // mode, docs/cosim-protocol.md). If the plugin finds a kept block stale
  // before it runs, the run cannot go on: the bridge kills that QEMU and
  // calls this (a forked run ends itself to be redone); without it the
  // run fails.
  std::function<void()> on_stale;
  // A forked run on a job slot's QEMU: the translation flushes the
  // plugin's DMA check asked for since this run adopted it.
  uint64_t adopted_dma_flushes() const { return adopted_seat_ && chan_ ? chan_->dma_flushes - dma_flushes0_ : 0; }
  // Kills our QEMU and removes our files (a forked child calls it before _exit).
  void shutdown();

  // Empty unless the run had to stop because QEMU or the guest went wrong.
  const std::string& error() const { return error_; }
  uint64_t syncs() const { return syncs_; }
  uint64_t doorbells() const { return doorbells_; }
  uint64_t guest_insns() const { return total_insns_; }
  // Power-ons served by a parked QEMU / by a newly started one.
  uint64_t qemu_reuses() const { return reuses_; }
  uint64_t qemu_starts() const { return starts_; }
  // Guest RAM as the last guest left it (zeroed at the next power-on).
  const uint8_t* guest_ram() const { return ram_; }

 private:
  enum class Outcome { kPowerChange, kError, kStale };
  void run();
  bool prepare_bootrom();
  bool start_qemu();
  bool clear_ram(std::string& why);
  bool power_on_guest();
  bool park();
  bool resume_parked(std::string& why);
  bool handshake();
  void give_up_reuse(const std::string& why);
  Outcome serve();
  bool receive(ts_cosim_msg& m);
  bool receive_socket(ts_cosim_msg& m);
  bool receive_channel(ts_cosim_msg& m);
  bool send_continue();
  uint64_t next_deadline() const;
  void fail(const std::string& why);
  void trace_power(const char* op, const std::string& detail);
  std::vector<std::string> qemu_argv() const;
  void listen_on_socket();
  void create_shared_files();
  void release_shared_files(bool unlink_them);

  // One QEMU and everything that talks to it: what a job slot holds, and
  // what swap_seat() exchanges with the bridge's current QEMU.
  struct Seat {
    QemuProcess qemu;
    QmpConnection qmp;
    std::string run_dir, sock_path, ram_path, chan_path, qemu_log, rom_path, rom_key;
    int listen_fd = -1, conn_fd = -1, ram_fd = -1;
    uint8_t* ram = nullptr;
    ts_cosim_channel* chan = nullptr;
    bool parked = false, use_chan = false;
    uint32_t epoch = 0, last_req = 0;
    ts_spin spin{0, 0};
    uint64_t last_icount = 0;
    sc_core::sc_time last_sync_time;
    bool keep = false;
    pid_t owner = -1;  // the process that started its QEMU (others hold copies)
  };
  void swap_seat(Seat& s);
  // Closes a seat's descriptors and mappings; `kill`: also kills its QEMU
  // and removes its files (the owner), else only forgets them (a copy).
  void drop_seat(Seat& s, bool kill);
  bool make_slot_qemu(Seat& s);
  void adopt_slot();
  std::vector<std::unique_ptr<Seat>> slots_;
  int adopt_slot_ = -1;        // a forked run: the slot to adopt at power-off
  bool adopted_seat_ = false;  // a forked run: the current QEMU is its slot's
  uint32_t dma_flushes0_ = 0;  // the slot channel's DMA-check flushes at adoption
  bool forked_ = false;        // this process is a forked run
  bool making_slot_ = false;   // fail() only records, into slot_error_
  std::string slot_error_;
  uint64_t slot_starts_ = 0, slot_handbacks_ = 0, slot_runs_ = 0;

  const BoardConfig& cfg_;
  BridgeOptions opt_;
  PowerDomain& power_;
  MailboxService& mailbox_;
  DeviceTrace& trace_;
  QemuProcess qemu_;
  std::string sock_path_;
  std::string ram_path_;
  std::string qemu_log_;
  std::string rom_path_;  // the boot ROM as handed to QEMU (prepare_bootrom)
  std::string rom_key_;   // what rom_path_ was made from
  int listen_fd_ = -1;
  int conn_fd_ = -1;
  int ram_fd_ = -1;
  uint8_t* ram_ = nullptr;
  std::string chan_path_;
  ts_cosim_channel* chan_ = nullptr;
  bool use_chan_ = false;  // after the socket handshake
  uint32_t last_req_ = 0;
  ts_spin spin_{0, 0};
  uint64_t last_icount_ = 0;
  sc_core::sc_time last_sync_time_;
  uint64_t syncs_ = 0;
  uint64_t doorbells_ = 0;
  uint64_t total_insns_ = 0;
  std::string error_;
  bool hold_ = false;
  // The power domain's boot count when this QEMU started: power switched
  // off and on again between two sync points leaves is_on() true, and only
  // the count shows that this guest lost power.
  uint32_t boot_ = 0;
  bool power_changed() const {
    return !power_.is_on() || power_.pending() != PowerDomain::Request::kNone || power_.boot_count() != boot_;
  }
  QmpConnection qmp_;
  bool parked_ = false;  // qemu_ is stopped, its vCPU parked in the plugin
  bool keep_ = false;    // park without flushing translations (a job slot's QEMU)
  uint32_t epoch_ = 0;   // the channel epoch of the current guest
  uint64_t reuses_ = 0;
  uint64_t starts_ = 0;
  bool detach_pending_ = false;
  std::function<void()> detached_;
};

}  // namespace trustsim
