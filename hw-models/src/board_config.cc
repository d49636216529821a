#include "hw-models/board_config.h"

#include <sstream>

#include "hw-models/board_devices.h"
#include "hw-models/yaml_reader.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nand_regs.h"
#include "trustsim/netxfer_regs.h"
#include "trustsim/nor_regs.h"
#include "trustsim/nvram_map.h"
#include "trustsim/tpm2.h"
#include "trustsim/tpm_regs.h"

namespace trustsim {
namespace {

// The mailbox and the firmware link addresses assume this RAM window
// (docs/mailbox-abi.md); a board may not move it.
constexpr uint64_t kRequiredRamBase = 0x40000000;
constexpr uint64_t kRequiredRamSize = 128ull << 20;

struct Range {
  const char* name;
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

  YAML::Node con = r.require(dev, "devices", "console");
  r.expect_map(con, "devices.console", {"bus_base", "baud"});
  c.console.bus_base = r.u64(r.require(con, "devices.console", "bus_base"), "devices.console.bus_base");
  if (con["baud"]) c.console.baud = r.u64(con["baud"], "devices.console.baud");
  if (c.console.baud < 300 || c.console.baud > 4000000)
    r.fail(con["baud"], "devices.console.baud", "must be 300..4000000");

  YAML::Node pwr = r.require(dev, "devices", "power");
  r.expect_map(pwr, "devices.power", {"bus_base"});
  c.power.bus_base = r.u64(r.require(pwr, "devices.power", "bus_base"), "devices.power.bus_base");

  YAML::Node bf = r.require(dev, "devices", "rom_nor");
  const std::string bfp = "devices.rom_nor";
  r.expect_map(bf, bfp,
               {"bus_base", "part", "source", "size", "read_clock", "page_program_time", "sector_erase_time",
                "block_erase_time"});
  c.boot_flash.bus_base = r.u64(r.require(bf, bfp, "bus_base"), bfp + ".bus_base");
  c.boot_flash.part = r.str(r.require(bf, bfp, "part"), bfp + ".part");
  c.boot_flash.source = r.str(r.require(bf, bfp, "source"), bfp + ".source");
  c.boot_flash.size = r.size_bytes(r.require(bf, bfp, "size"), bfp + ".size");
  if (c.boot_flash.size < 64 * 1024 || c.boot_flash.size > (256ull << 20))
    r.fail(bf["size"], bfp + ".size", "must be 64 KiB .. 256 MiB");
  c.boot_flash.read_clock_hz = r.frequency_hz(r.require(bf, bfp, "read_clock"), bfp + ".read_clock");
  if (c.boot_flash.size % TS_NOR_BLOCK_BYTES)
    r.fail(bf["size"], bfp + ".size", "must be a whole number of 64 KiB blocks");
  for (auto [key, field] : {std::pair<const char*, uint64_t*>{"page_program_time", &c.boot_flash.page_program_ps},
                            {"sector_erase_time", &c.boot_flash.sector_erase_ps},
                            {"block_erase_time", &c.boot_flash.block_erase_ps}})
    if (YAML::Node t = bf[key]) {
      *field = r.duration_ps(t, bfp + "." + key);
      if (*field == 0) r.fail(t, bfp + "." + key, "must be non-zero");
    }

  YAML::Node nv = r.require(dev, "devices", "nvram");
  const std::string nvp = "devices.nvram";
  r.expect_map(nv, nvp, {"bus_base", "part", "source", "size", "page_size", "page_write_time", "bus_clock"});
  c.nvram.bus_base = r.u64(r.require(nv, nvp, "bus_base"), nvp + ".bus_base");
  c.nvram.part = r.str(r.require(nv, nvp, "part"), nvp + ".part");
  c.nvram.source = r.str(r.require(nv, nvp, "source"), nvp + ".source");
  c.nvram.size = r.size_bytes(r.require(nv, nvp, "size"), nvp + ".size");
  if (c.nvram.size < nvram_map::kMinimumSize || c.nvram.size > (16ull << 20))
    r.fail(nv["size"], nvp + ".size",
           "must be 20 KiB .. 16 MiB (ROMmon variables, two key storage copies and the "
           "startup-config take the first 20 KiB)");
  c.nvram.page_size = r.size_bytes(r.require(nv, nvp, "page_size"), nvp + ".page_size");
  if (c.nvram.page_size == 0 || (c.nvram.page_size & (c.nvram.page_size - 1)) || c.nvram.page_size > c.nvram.size)
    r.fail(nv["page_size"], nvp + ".page_size", "must be a power of two no larger than the part");
  c.nvram.page_write_ps = r.duration_ps(r.require(nv, nvp, "page_write_time"), nvp + ".page_write_time");
  c.nvram.bus_clock_hz = r.frequency_hz(r.require(nv, nvp, "bus_clock"), nvp + ".bus_clock");

  YAML::Node cr = r.require(dev, "devices", "crypto");
  const std::string crp = "devices.crypto";
  r.expect_map(cr, crp, {"bus_base", "part", "source", "sha256_rate", "sha512_rate", "rsa_verify_time"});
  c.crypto.bus_base = r.u64(r.require(cr, crp, "bus_base"), crp + ".bus_base");
  c.crypto.part = r.str(r.require(cr, crp, "part"), crp + ".part");
  c.crypto.source = r.str(r.require(cr, crp, "source"), crp + ".source");
  c.crypto.sha256_bytes_per_s = r.rate_bytes_per_s(r.require(cr, crp, "sha256_rate"), crp + ".sha256_rate");
  c.crypto.sha512_bytes_per_s = r.rate_bytes_per_s(r.require(cr, crp, "sha512_rate"), crp + ".sha512_rate");
  c.crypto.rsa_verify_ps = r.duration_ps(r.require(cr, crp, "rsa_verify_time"), crp + ".rsa_verify_time");

  YAML::Node bfn = dev["bootflash_nand"];
  const std::string bfnp = "devices.bootflash_nand";
  if (bfn) {
    r.expect_map(bfn, bfnp,
                 {"bus_base", "part", "source", "page_size", "spare_size", "pages_per_block", "blocks", "read_time",
                  "program_time", "erase_time", "bus_clock", "program_unerased", "factory_bad_blocks"});
    BoardConfig::Nand& n = c.nand;
    n.present = true;
    n.bus_base = r.u64(r.require(bfn, bfnp, "bus_base"), bfnp + ".bus_base");
    n.part = r.str(r.require(bfn, bfnp, "part"), bfnp + ".part");
    n.source = r.str(r.require(bfn, bfnp, "source"), bfnp + ".source");
    auto small = [&](const char* key, uint64_t lo, uint64_t hi) {
      YAML::Node v = r.require(bfn, bfnp, key);
      uint64_t x = r.u64(v, bfnp + "." + key);
      if (x < lo || x > hi) r.fail(v, bfnp + "." + key, "must be " + std::to_string(lo) + ".." + std::to_string(hi));
      return uint32_t(x);
    };
    n.page_size = small("page_size", 512, 4096);
    n.spare_size = small("spare_size", 16, 1024);
    n.pages_per_block = small("pages_per_block", 16, 1024);
    n.block_count = small("blocks", 16, 4096);
    n.t_read_ps = r.duration_ps(r.require(bfn, bfnp, "read_time"), bfnp + ".read_time");
    n.t_prog_ps = r.duration_ps(r.require(bfn, bfnp, "program_time"), bfnp + ".program_time");
    n.t_erase_ps = r.duration_ps(r.require(bfn, bfnp, "erase_time"), bfnp + ".erase_time");
    n.bus_clock_hz = r.frequency_hz(r.require(bfn, bfnp, "bus_clock"), bfnp + ".bus_clock");
    if (YAML::Node pu = bfn["program_unerased"]) {
      std::string m = r.str(pu, bfnp + ".program_unerased");
      if (m != "refuse" && m != "and")
        r.fail(pu, bfnp + ".program_unerased", "expected 'refuse' (NAND) or 'and' (NOR-like)");
      n.refuse_unerased_program = m == "refuse";
    }
    if (YAML::Node bb = bfn["factory_bad_blocks"]) {
      if (!bb.IsSequence()) r.fail(bb, bfnp + ".factory_bad_blocks", "expected a list of block numbers");
      for (size_t i = 0; i < bb.size(); ++i) {
        std::string f = bfnp + ".factory_bad_blocks[" + std::to_string(i) + "]";
        uint64_t b = r.u64(bb[i], f);
        if (b >= n.block_count) r.fail(bb[i], f, "block number beyond the part");
        n.factory_bad_blocks.push_back(uint32_t(b));
      }
    }
    // The model's own geometry rules (flash-sim), not restated here.
    std::string problem = nand_geometry_problem(n);
    if (!problem.empty()) r.fail(bfn, bfnp, problem);
  }

  YAML::Node tp = dev["tpm"];
  const std::string tpp = "devices.tpm";
  if (tp) {
    r.expect_map(tp, tpp,
                 {"bus_base", "part", "source", "spi_clock", "burst_count", "init_time", "default_command_time",
                  "command_times", "fault"});
    BoardConfig::Tpm& t = c.tpm;
    t.present = true;
    t.bus_base = r.u64(r.require(tp, tpp, "bus_base"), tpp + ".bus_base");
    t.part = r.str(r.require(tp, tpp, "part"), tpp + ".part");
    t.source = r.str(r.require(tp, tpp, "source"), tpp + ".source");
    if (tp["spi_clock"]) t.spi_clock_hz = r.frequency_hz(tp["spi_clock"], tpp + ".spi_clock");
    if (YAML::Node b = tp["burst_count"]) {
      uint64_t v = r.u64(b, tpp + ".burst_count");
      if (v < 1 || v > TS_TPM_MAX_COMMAND) r.fail(b, tpp + ".burst_count", "must be 1..4096");
      t.burst_count = uint32_t(v);
    }
    if (tp["init_time"]) t.init_ps = r.duration_ps(tp["init_time"], tpp + ".init_time");
    if (tp["default_command_time"])
      t.default_command_ps = r.duration_ps(tp["default_command_time"], tpp + ".default_command_time");
    auto code_of = [&](const YAML::Node& n, const std::string& field) {
      std::string name = r.str(n, field);
      uint32_t cc = tpm::command_code_by_name(name);
      if (!cc)
        r.fail(n, field, "unknown TPM command '" + name + "' (expected e.g. PCR_Extend, Quote, Sign, CreatePrimary)");
      return cc;
    };
    if (YAML::Node ct = tp["command_times"]) {
      if (!ct.IsMap()) r.fail(ct, tpp + ".command_times", "expected a map of command name to duration");
      for (auto it = ct.begin(); it != ct.end(); ++it) {
        std::string f = tpp + ".command_times." + it->first.as<std::string>();
        t.command_ps.emplace_back(code_of(it->first, f), r.duration_ps(it->second, f));
      }
    }
    if (YAML::Node fl = tp["fault"]) {
      const std::string fp = tpp + ".fault";
      r.expect_map(fl, fp, {"command", "response_code", "stay_busy", "no_response", "torn_nv_write"});
      if (YAML::Node tw = fl["torn_nv_write"]) {
        uint64_t v = r.u64(tw, fp + ".torn_nv_write");
        if (v > 1000000) r.fail(tw, fp + ".torn_nv_write", "bytes to keep: 0..1000000");
        t.torn_nv_write_bytes = v;
      }
      tpm::FaultOptions o;
      if (fl["command"]) {
        o.has_command = true;
        o.command = code_of(fl["command"], fp + ".command");
      }
      if (YAML::Node rc = fl["response_code"]) {
        uint64_t v = r.u64(rc, fp + ".response_code");
        if (v == 0 || v > 0xFFFFFFFFu) r.fail(rc, fp + ".response_code", "must be a non-zero 32-bit TPM response code");
        o.response_code = uint32_t(v);
      }
      auto flag = [&](const char* key, bool* out) {
        if (YAML::Node v = fl[key]) {
          std::string b = r.str(v, fp + "." + key);
          if (b != "true" && b != "false") r.fail(v, fp + "." + key, "expected true or false");
          *out = b == "true";
        }
      };
      flag("stay_busy", &o.stay_busy);
      flag("no_response", &o.no_response);
      try {
        t.fault = tpm::fault_from(o, tpm::kBoardFileWords);
      } catch (const std::invalid_argument& e) {
        r.fail(fl, fp, e.what());
      }
    }
  }

  YAML::Node nx = dev["netxfer"];
  const std::string nxp = "devices.netxfer";
  if (nx) {
    r.expect_map(nx, nxp,
                 {"bus_base", "part", "source", "link_rate", "round_trip", "tftp_block", "max_size", "dns_port"});
    BoardConfig::Netxfer& x = c.netxfer;
    x.present = true;
    x.bus_base = r.u64(r.require(nx, nxp, "bus_base"), nxp + ".bus_base");
    x.part = r.str(r.require(nx, nxp, "part"), nxp + ".part");
    x.source = r.str(r.require(nx, nxp, "source"), nxp + ".source");
    x.link_bytes_per_s = r.rate_bytes_per_s(r.require(nx, nxp, "link_rate"), nxp + ".link_rate");
    x.round_trip_ps = r.duration_ps(r.require(nx, nxp, "round_trip"), nxp + ".round_trip");
    if (YAML::Node b = nx["tftp_block"]) {
      uint64_t v = r.u64(b, nxp + ".tftp_block");
      if (v < 8 || v > 65464) r.fail(b, nxp + ".tftp_block", "must be 8..65464 (RFC 2348 block sizes)");
      x.tftp_block = uint32_t(v);
    }
    if (YAML::Node m = nx["max_size"]) {
      x.max_size = r.size_bytes(m, nxp + ".max_size");
      if (x.max_size == 0 || x.max_size > (1ull << 30)) r.fail(m, nxp + ".max_size", "must be 1 byte .. 1 GiB");
    }
    if (YAML::Node p = nx["dns_port"]) {
      uint64_t v = r.u64(p, nxp + ".dns_port");
      if (v < 1 || v > 65535) r.fail(p, nxp + ".dns_port", "must be 1..65535");
      x.dns_port = uint16_t(v);
    }
  }

  // Bus map: no device at 0 (board info lives there), no overlaps.
  Range ranges[] = {
      {"boardinfo", 0, 0x1000, root},
      {"devices.console.bus_base", c.console.bus_base, TS_CONSOLE_SIZE, con["bus_base"]},
      {"devices.power.bus_base", c.power.bus_base, TS_POWER_SIZE, pwr["bus_base"]},
      {"devices.rom_nor.bus_base", c.boot_flash.bus_base, c.boot_flash.size + TS_NOR_CONTROL_SIZE, bf["bus_base"]},
      {"devices.nvram.bus_base", c.nvram.bus_base, c.nvram.size, nv["bus_base"]},
      {"devices.crypto.bus_base", c.crypto.bus_base, TS_CRYPTO_SIZE, cr["bus_base"]},
      {"devices.bootflash_nand.bus_base", c.nand.bus_base,
       c.nand.present ? TS_NAND_BUFFER + c.nand.page_size + c.nand.spare_size : 0, bfn ? bfn["bus_base"] : root},
      {"devices.tpm.bus_base", c.tpm.bus_base, c.tpm.present ? TS_TPM_SIZE : 0, tp ? tp["bus_base"] : root},
      {"devices.netxfer.bus_base", c.netxfer.bus_base, c.netxfer.present ? TS_NETXFER_SIZE : 0,
       nx ? nx["bus_base"] : root},
  };
  for (size_t i = 1; i < std::size(ranges); ++i)
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
