// The whole board: power domain, bus, devices and the QEMU bridge, built
// from a BoardConfig, with its non-volatile state in a board state
// directory (docs/board-state.md).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "devices/console.h"
#include "devices/crypto_engine.h"
#include "devices/netxfer.h"
#include "devices/nvram.h"
#include "devices/power_ctrl.h"
#include "devkit/trace.h"
#include "flash-sim/boot_flash.h"
#include "flash-sim/nand_flash.h"
#include "hw-models/board_config.h"
#include "hw-models/board_slots.h"
#include "hw-models/boardinfo_rom.h"
#include "hw-models/bus.h"
#include "hw-models/cosim_bridge.h"
#include "hw-models/mailbox_service.h"
#include "tpm-sim/tpm_device.h"

namespace trustsim {

// Where the firmware and the plugin were built.
struct Artifacts {
  std::string boot0_bin;
  std::string rommon_bin;      // raw; manufacturing signs it
  std::string rommon_version;  // a text file with the version string
  std::string os_bin;          // the OS image payload (raw)
  std::string os_version;
  std::string revocation_bin;  // the revocation image's payload (raw, no key bundle yet)
  std::string plugin_so;
  std::string boot0_elf;  // symbols, for gdb
  std::string rommon_elf;
  std::string os_elf;
  std::string revocation_elf;
  static Artifacts locate();  // next to the trustsim executable, or $TRUSTSIM_BUILD_ROOT
};

// The files of a board state directory.
struct StatePaths {
  std::string dir;
  std::string manifest() const { return dir + "/board-state.yaml"; }
  std::string bootrom() const { return dir + "/bootrom.bin"; }
  std::string boot_flash() const { return dir + "/boot-flash.bin"; }
  std::string nvram() const { return dir + "/nvram.bin"; }
  std::string bootflash() const { return dir + "/bootflash.nand"; }  // + its side file
  std::string tpm_nv() const { return dir + "/tpm-nv.bin"; }         // the TPM's non-volatile state
  std::string tpm_dir() const { return dir + "/tpm"; }               // exported public material (docs/tpm.md)
};

constexpr uint64_t kBootRomSize = 64ull << 20;  // QEMU virt pflash0 is exactly 64 MiB

// Checks an existing board state directory against the board file, or, if
// there is none yet, creates one: `fill` writes the contents into a
// directory next door, which is then renamed into place, so a kill leaves no
// half-made board. Returns true if it created one. Throws InputError.
bool prepare_state_dir(const BoardConfig& cfg, const StatePaths& paths,
                       const std::function<void(const StatePaths&)>& fill);

class Board : public sc_core::sc_module {
 public:
  Board(sc_core::sc_module_name name, const BoardConfig& cfg, const StatePaths& state, BridgeOptions bridge_opt,
        DeviceTrace& trace, ConsoleLog& console_log);

  const BoardConfig& config() const { return cfg_; }
  PowerDomain& power() { return power_; }
  ConsoleUart& console() { return *static_cast<ConsoleUart*>(device_by_name(kConsoleDevice.name)); }
  Nvram& nvram() { return *static_cast<Nvram*>(device_by_name(kNvramDevice.name)); }
  NandFlash* nand() { return static_cast<NandFlash*>(device_by_name(kNandDevice.name)); }
  TpmDevice* tpm() { return static_cast<TpmDevice*>(device_by_name(kTpmDevice.name)); }
  NetXfer* netxfer() { return static_cast<NetXfer*>(device_by_name(kNetxferDevice.name)); }
  CosimBridge& bridge() { return bridge_; }
  DeviceTrace& trace() { return trace_; }
  const StatePaths& state() const { return state_; }

  void power_on();
  void power_off();

  // A device by its registry name (devkit/device_info.h), or nullptr if
  // the board has none. The power-cut targets among them: nvram, rom_nor
  // (the NOR with ROMmon), bootflash_nand (the NAND holding bootflash:).
  Device* device_by_name(const std::string& name);
  std::vector<std::string> cut_device_names() const;
  void set_operation_observer(OperationObserver* o);
  // The run seed, from which every device's cut injector derives the seeds
  // of cuts nobody armed.
  void set_run_seed(uint64_t seed);

  // In a forked child (campaigns): copy the board state files into
  // `state.dir` and work on the copies, stop writing the parent's trace and
  // transcript, and let the bridge leave the parent's QEMU alone; `detached`
  // runs once nothing of the parent's is in use (docs/campaigns.md).
  void detach_after_fork(const StatePaths& state, const std::string& run_dir, std::function<void()> detached,
                         int qemu_slot = -1);

 private:
  const BoardConfig& cfg_;
  DeviceTrace& trace_;
  ConsoleLog& console_log_;
  StatePaths state_;
  PowerDomain power_;
  Bus bus_;
  BoardInfoRom info_;
  MailboxService mailbox_;
  CosimBridge bridge_;
  // The devices the board file describes, built by their slots
  // (hw-models/board_slots.h) in the registry's order.
  struct Built {
    const BoardSlot* slot;
    std::unique_ptr<Device> device;
  };
  std::vector<Built> devices_;
};

}  // namespace trustsim
