#include "hw-models/board.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "devkit/cut_injector.h"
#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "hw-models/board_devices.h"
#include "hw-models/run_files.h"
#include "hw-models/yaml_reader.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nand_regs.h"
#include "trustsim/netxfer_regs.h"
#include "trustsim/tpm_regs.h"

namespace trustsim {
namespace {

constexpr int kStateFormat = 1;

ts_boardinfo make_boardinfo(const BoardConfig& c) {
  ts_boardinfo b{};
  b.magic = TS_BOARDINFO_MAGIC;
  b.version = 1;
  b.platform_id = c.platform_id;
  strncpy(b.board_name, c.name.c_str(), sizeof b.board_name - 1);
  strncpy(b.platform, c.platform.c_str(), sizeof b.platform - 1);
  b.ram_base = c.ram_base;
  b.ram_size = c.ram_size;
  for (const BoardSlot& s : board_slots()) {
    if (!s.present(c)) continue;
    ts_boardinfo_entry& e = b.entries[b.count++];
    e.type = s.info_type;
    e.base = s.base(c);
    e.size = s.info_size(c);
    strncpy(e.name, s.info_name, sizeof e.name - 1);
  }
  if (c.skip_os_verification) b.flags |= TS_BOARDINFO_FLAG_SKIP_OS_VERIFY;
  return b;
}

bool dir_is_empty(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return true;
  bool empty = true;
  while (dirent* e = readdir(d))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
  closedir(d);
  return empty;
}

void check_state_file(const std::string& path, uint64_t expected, const std::string& why) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InputError(path + ": cannot read: " + strerror(errno));
  if (!S_ISREG(st.st_mode)) throw InputError(path + ": not a regular file (the board state directory is damaged)");
  if (uint64_t(st.st_size) != expected)
    throw InputError(path + ": is " + std::to_string(st.st_size) + " bytes, expected " + std::to_string(expected) +
                     " (" + why + "); the board state directory is damaged or was made for another board file");
}

std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  std::string p(buf);
  return p.substr(0, p.rfind('/'));
}

}  // namespace

Artifacts Artifacts::locate() {
  const char* env = getenv("TRUSTSIM_BUILD_ROOT");
  std::string root = env && *env ? env : exe_dir() + "/../..";
  char resolved[PATH_MAX];
  if (realpath(root.c_str(), resolved)) root = resolved;
  Artifacts a;
  a.boot0_bin = root + "/rommon-sim/boot0.bin";
  a.rommon_bin = root + "/rommon-sim/rommon.bin";
  a.rommon_version = root + "/rommon-sim/rommon-version.txt";
  a.os_bin = root + "/os-stub/os.bin";
  a.os_version = root + "/os-stub/os-version.txt";
  a.revocation_bin = root + "/os-stub/revocation.bin";
  a.plugin_so = root + "/hw-models/libtrustsim-cosim.so";
  a.boot0_elf = root + "/rommon-sim/boot0.elf";
  a.rommon_elf = root + "/rommon-sim/rommon.elf";
  a.os_elf = root + "/os-stub/os.elf";
  a.revocation_elf = root + "/os-stub/revocation.elf";
  for (const std::string* p :
       {&a.boot0_bin, &a.rommon_bin, &a.rommon_version, &a.os_bin, &a.os_version, &a.revocation_bin, &a.plugin_so})
    if (!file_exists(*p))
      throw InputError(
          *p + ": missing build artifact (build with meson, or set TRUSTSIM_BUILD_ROOT to the build directory)");
  return a;
}

bool prepare_state_dir(const BoardConfig& cfg, const StatePaths& paths,
                       const std::function<void(const StatePaths&)>& fill) {
  if (file_exists(paths.manifest())) {
    YamlReader r(paths.manifest());
    YAML::Node m = YamlReader::load_file(paths.manifest());
    r.expect_map(m, "", {"format", "board"});
    if (r.u64(r.require(m, "", "format"), "format") != kStateFormat)
      r.fail(m["format"], "format", "unsupported board state format (expected 1)");
    std::string board = r.str(r.require(m, "", "board"), "board");
    if (board != cfg.name)
      throw InputError(paths.dir + ": this board state was made for board '" + board + "', not '" + cfg.name + "' (" +
                       cfg.file + ")");
    for (const std::string& f : {paths.bootrom(), paths.boot_flash(), paths.nvram()})
      if (!file_exists(f)) throw InputError(f + ": missing from the board state directory");
    if (cfg.nand.present && !file_exists(paths.bootflash()))
      throw InputError(paths.bootflash() +
                       ": missing from the board state directory (board file has devices.bootflash_nand)");
    // Every reader maps or indexes these files by the board's sizes: a
    // file of another size is refused here, before anything reads it.
    check_state_file(paths.bootrom(), kBootRomSize, "the boot ROM is always 64 MiB");
    check_state_file(paths.boot_flash(), cfg.boot_flash.size, "devices.rom_nor.size in " + cfg.file);
    check_state_file(paths.nvram(), cfg.nvram.size, "devices.nvram.size in " + cfg.file);
    if (cfg.tpm.present && !file_exists(paths.tpm_nv()))
      throw InputError(paths.tpm_nv() +
                       ": missing from the board state directory (board file has devices.tpm; "
                       "make the board again with `trustsim board new`)");
    return false;
  }
  struct stat dst;
  if (stat(paths.dir.c_str(), &dst) == 0 && !S_ISDIR(dst.st_mode))
    throw InputError(paths.dir + ": not a directory (expected a board state directory)");
  if (file_exists(paths.dir) && !dir_is_empty(paths.dir))
    throw InputError(paths.dir +
                     ": not a trustsim board state directory (no board-state.yaml) and not empty; "
                     "refusing to touch it");

  // Build it next door, then rename into place.
  std::string tmp = paths.dir + ".new-" + std::to_string(getpid());
  remove_tree(tmp);
  if (mkdir(tmp.c_str(), 0755) != 0)
    throw InputError(paths.dir + ": cannot create the board state directory (" + tmp + ": " + strerror(errno) + ")");
  StatePaths t{tmp};
  try {
    fill(t);
    std::string manifest =
        "# trustsim board state directory (docs/board-state.md)\nformat: 1\nboard: " + cfg.name + "\n";
    write_file_atomic(t.manifest(), reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size());
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  if (file_exists(paths.dir)) rmdir(paths.dir.c_str());
  if (rename(tmp.c_str(), paths.dir.c_str()) != 0) {
    int e = errno;
    remove_tree(tmp);
    throw InputError(paths.dir + ": cannot create board state directory: " + strerror(e));
  }
  return true;
}

Board::Board(sc_core::sc_module_name name, const BoardConfig& cfg, const StatePaths& state, BridgeOptions bridge_opt,
             DeviceTrace& trace, ConsoleLog& console_log)
    : sc_module(name),
      cfg_(cfg),
      trace_(trace),
      console_log_(console_log),
      state_(state),
      bus_("bus"),
      info_("boardinfo", power_, make_boardinfo(cfg)),
      mailbox_("mailbox", bus_, trace, cfg.ram_base, cfg.ram_size, TS_MBOX_BASE),
      bridge_(
          "bridge", cfg,
          [&] {
            bridge_opt.bootrom_path = state.bootrom();
            return bridge_opt;
          }(),
          power_, mailbox_, trace) {
  bus_.map(info_, 0);
  BoardParts parts{cfg, power_, state, trace, console_log};
  std::vector<Device*> devices;
  for (const BoardSlot& s : board_slots()) {
    if (!s.present(cfg)) continue;
    devices_.push_back({&s, s.build(parts)});
    Device* d = devices_.back().device.get();
    bus_.map(*d, s.base(cfg));
    devices.push_back(d);
  }
  mailbox_.socket.bind(bus_.target);
  for (Device* d : devices) d->set_trace(&trace);  // guest misuse of any device is traced
  bridge_.on_power_on = [devices] {
    for (Device* d : devices) d->powered_on();
  };
  bridge_.on_power_lost = [devices] {
    for (Device* d : devices) d->power_lost();
  };
}

void Board::power_on() {
  if (!power_.is_on()) power_.switch_on(TS_RESET_POWER_ON);
}

void Board::power_off() { power_.switch_off(); }

Device* Board::device_by_name(const std::string& name) {
  for (Built& b : devices_)
    if (name == b.slot->info->name) return b.device.get();
  return nullptr;
}

std::vector<std::string> Board::cut_device_names() const {
  std::vector<std::string> n;
  for (const std::string& d : power_cut_devices())
    if (const_cast<Board*>(this)->device_by_name(d)) n.push_back(d);
  return n;
}

void Board::set_run_seed(uint64_t seed) {
  for (Built& b : devices_)
    if (CutInjector* cuts = b.device->power_cuts()) cuts->set_run_seed(seed);
}

void Board::set_operation_observer(OperationObserver* o) {
  for (Built& b : devices_) b.device->set_operation_observer(o);
}

void Board::detach_after_fork(const StatePaths& state, const std::string& run_dir, std::function<void()> detached,
                              int qemu_slot) {
  // The parent keeps running and writing its own files: take copies first.
  mkdir(state.dir.c_str(), 0755);
  copy_file_sparse(state_.manifest(), state.manifest());
  for (Built& b : devices_)
    if (b.slot->detach) b.slot->detach(*b.device, state_, state);
  state_ = state;  // the boot ROM stays the parent's: QEMU opens it read-only
  trace_.detach();
  console_log_.detach();
  bridge_.detach_after_fork(run_dir, std::move(detached), qemu_slot);
}

}  // namespace trustsim
