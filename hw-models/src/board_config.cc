#include "hw-models/board_config.h"

#include <sstream>

#include "hw-models/board_devices.h"
#include "hw-models/board_slots.h"
#include "hw-models/yaml_reader.h"

namespace trustsim {
namespace {

// The mailbox and the firmware link addresses assume this RAM window
// (docs/mailbox-abi.md); a board may not move it.
constexpr uint64_t kRequiredRamBase = 0x40000000;
constexpr uint64_t kRequiredRamSize = 128ull << 20;

struct Range {
  std::string name;
  uint64_t base;
  uint64_t size;
  YAML::Node at;
};

}  // namespace

BoardConfig load_board_config(const std::string& path) {
  YamlReader r(path);
  YAML::Node root = YamlReader::load_file(path);
  BoardConfig c;
  c.file = path;
  r.expect_map(root, "", {"board", "cpu", "memory", "power", "devices", "test_options"});
  if (YAML::Node to = root["test_options"]) {
    r.expect_map(to, "test_options", {"skip_os_verification"});
    if (YAML::Node v = to["skip_os_verification"]) {
      std::string b = r.str(v, "test_options.skip_os_verification");
      if (b != "true" && b != "false") r.fail(v, "test_options.skip_os_verification", "expected true or false");
      c.skip_os_verification = b == "true";
    }
  }

  YAML::Node board = r.require(root, "", "board");
  r.expect_map(board, "board", {"name", "platform", "platform_id", "description"});
  c.name = r.str(r.require(board, "board", "name"), "board.name");
  c.platform = r.str(r.require(board, "board", "platform"), "board.platform");
  if (c.platform.size() >= 32) r.fail(board["platform"], "board.platform", "at most 31 characters");
  if (c.name.empty() || c.name.size() >= 32) r.fail(board["name"], "board.name", "1 to 31 characters");
  for (char ch : c.name)
    if (!isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      r.fail(board["name"], "board.name", "only letters, digits, '-', '_' and '.' are allowed");
  uint64_t pid = r.u64(r.require(board, "board", "platform_id"), "board.platform_id");
  if (pid > 0xFFFFFFFFu) r.fail(board["platform_id"], "board.platform_id", "must fit in 32 bits");
  c.platform_id = static_cast<uint32_t>(pid);

  YAML::Node cpu = r.require(root, "", "cpu");
  r.expect_map(cpu, "cpu", {"machine", "cpu", "icount_shift", "quantum_insns"});
  if (cpu["machine"]) c.qemu_machine = r.str(cpu["machine"], "cpu.machine");
  if (c.qemu_machine != "virt") r.fail(cpu["machine"], "cpu.machine", "only 'virt' is supported");
  if (cpu["cpu"]) c.qemu_cpu = r.str(cpu["cpu"], "cpu.cpu");
  if (cpu["icount_shift"]) {
    uint64_t s = r.u64(cpu["icount_shift"], "cpu.icount_shift");
    if (s > 10) r.fail(cpu["icount_shift"], "cpu.icount_shift", "must be 0..10");
    c.icount_shift = unsigned(s);
  }
  if (cpu["quantum_insns"]) {
    c.quantum_insns = r.u64(cpu["quantum_insns"], "cpu.quantum_insns");
    if (c.quantum_insns < 1000 || c.quantum_insns > 1000000000)
      r.fail(cpu["quantum_insns"], "cpu.quantum_insns", "must be between 1000 and 1000000000 instructions");
  }

  YAML::Node mem = r.require(root, "", "memory");
  r.expect_map(mem, "memory", {"ram_base", "ram_size"});
  c.ram_base = r.u64(r.require(mem, "memory", "ram_base"), "memory.ram_base");
  c.ram_size = r.size_bytes(r.require(mem, "memory", "ram_size"), "memory.ram_size");
  if (c.ram_base != kRequiredRamBase) r.fail(mem["ram_base"], "memory.ram_base", "must be 0x40000000 (QEMU virt RAM)");
  if (c.ram_size != kRequiredRamSize)
    r.fail(mem["ram_size"], "memory.ram_size", "must be 128 MiB (the mailbox sits in its last 64 KiB)");

  if (YAML::Node pw = root["power"]) {
    r.expect_map(pw, "power", {"off_time", "rtc_base"});
    if (pw["off_time"]) c.power_off_time_ps = r.duration_ps(pw["off_time"], "power.off_time");
    if (pw["rtc_base"]) c.rtc_base = r.u64(pw["rtc_base"], "power.rtc_base");
  }

  YAML::Node dev = r.require(root, "", "devices");
  // The two flashes were renamed so nobody confuses them (docs/board-file.md).
  if (dev.IsMap() && dev["boot_flash"])
    r.fail(dev["boot_flash"], "devices.boot_flash", "boot_flash was renamed to rom_nor (the NOR flash holding ROMmon)");
  if (dev.IsMap() && dev["bootflash"])
    r.fail(dev["bootflash"], "devices.bootflash",
           "bootflash was renamed to bootflash_nand (the NAND flash holding bootflash:)");
  std::vector<std::string> device_keys;
  for (const DeviceInfo* d : board_devices()) device_keys.push_back(d->board_key);
  r.expect_map(dev, "devices", device_keys);

  // Each device's section, as its slot reads it (hw-models/board_slots.h).
  std::vector<Range> ranges = {{"boardinfo", 0, 0x1000, root}};
  for (const BoardSlot& slot : board_slots()) {
    const DeviceInfo& d = *slot.info;
    const std::string path = std::string("devices.") + d.board_key;
    YAML::Node node = d.required ? r.require(dev, "devices", d.board_key) : dev[d.board_key];
    if (!node) continue;
    std::vector<std::string> keys(slot.keys.begin(), slot.keys.end());
    for (size_t i = 0; i < d.timing_count; ++i) keys.push_back(d.timing[i].key);
    r.expect_map(node, path, keys);
    slot.parse(DeviceSection{r, node, path}, c);
    ranges.push_back({path + ".bus_base", slot.base(c), slot.window(c), node["bus_base"]});
  }

  // Bus map: no device at 0 (board info lives there), no overlaps. Of two
  // ranges that overlap, the one later in the registry's order is named.
  for (size_t i = 1; i < ranges.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const Range& a = ranges[i];
      const Range& b = ranges[j];
      if (a.base > ~0ull - a.size) r.fail(a.at, a.name, "bus range runs past the end of the address space");
      if (a.base < b.base + b.size && b.base < a.base + a.size) {
        std::ostringstream os;
        os << "bus range 0x" << std::hex << a.base << "+0x" << a.size << " overlaps " << b.name;
        r.fail(a.at, a.name, os.str());
      }
    }
  return c;
}

}  // namespace trustsim
