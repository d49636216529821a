#include "hw-models/board_slots.h"

#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "hw-models/board.h"
#include "hw-models/run_files.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nand_regs.h"
#include "trustsim/netxfer_regs.h"
#include "trustsim/nor_regs.h"
#include "trustsim/nvram_map.h"
#include "trustsim/tpm2.h"
#include "trustsim/tpm_regs.h"

namespace trustsim {

YAML::Node DeviceSection::require(const char* key) const { return r.require(node, path, key); }

uint64_t DeviceSection::figure(const TimingFigure& f) const {
  YAML::Node v = node[f.key];
  if (!v) return f.value;
  std::string at = field(f.key);
  uint64_t x = 0;
  switch (f.unit) {
    case FigureUnit::kDuration:
      x = r.duration_ps(v, at);
      break;
    case FigureUnit::kFrequency:
      x = r.frequency_hz(v, at);
      break;
    case FigureUnit::kRate:
      x = r.rate_bytes_per_s(v, at);
      break;
    case FigureUnit::kBaud:
      x = r.u64(v, at);
      break;
  }
  if (x == 0) r.fail(v, at, "must be non-zero");
  return x;
}

namespace {

// The three documentation keys every described part has.
template <class Config>
void part_keys(const DeviceSection& s, Config& c) {
  c.bus_base = s.r.u64(s.require("bus_base"), s.field("bus_base"));
  c.part = s.r.str(s.require("part"), s.field("part"));
  c.source = s.r.str(s.require("source"), s.field("source"));
}

// ---- console UART (devices/console_config.h) ----
void parse_console(const DeviceSection& s, BoardConfig& c) {
  c.console.bus_base = s.r.u64(s.require("bus_base"), s.field("bus_base"));
  c.console.baud = s.figure(kConsoleBaud);
  if (c.console.baud < 300 || c.console.baud > 4000000)
    s.r.fail(s.node["baud"], s.field("baud"), "must be 300..4000000");
}

// ---- power/reset controller (devices/power_config.h) ----
void parse_power(const DeviceSection& s, BoardConfig& c) {
  c.power.bus_base = s.r.u64(s.require("bus_base"), s.field("bus_base"));
}

// ---- NVRAM (devices/nvram_config.h) ----
void parse_nvram(const DeviceSection& s, BoardConfig& c) {
  NvramConfig& n = c.nvram;
  part_keys(s, n);
  n.size = s.r.size_bytes(s.require("size"), s.field("size"));
  if (n.size < nvram_map::kMinimumSize || n.size > (16ull << 20))
    s.r.fail(s.node["size"], s.field("size"),
             "must be 22 KiB .. 16 MiB (ROMmon variables, two key storage copies, the "
             "startup-config and nvram:invalid-config take the first 22 KiB)");
  n.page_size = s.r.size_bytes(s.require("page_size"), s.field("page_size"));
  if (n.page_size == 0 || (n.page_size & (n.page_size - 1)) || n.page_size > n.size)
    s.r.fail(s.node["page_size"], s.field("page_size"), "must be a power of two no larger than the part");
  n.page_write_ps = s.figure(kNvramPageWrite);
  n.bus_clock_hz = s.figure(kNvramBusClock);
}

// ---- boot SPI NOR (flash-sim/flash_config.h) ----
void parse_rom_nor(const DeviceSection& s, BoardConfig& c) {
  BootFlashConfig& b = c.boot_flash;
  part_keys(s, b);
  b.size = s.r.size_bytes(s.require("size"), s.field("size"));
  if (b.size < 64 * 1024 || b.size > (256ull << 20))
    s.r.fail(s.node["size"], s.field("size"), "must be 64 KiB .. 256 MiB");
  b.read_clock_hz = s.figure(kNorReadClock);
  if (b.size % TS_NOR_BLOCK_BYTES) s.r.fail(s.node["size"], s.field("size"), "must be a whole number of 64 KiB blocks");
  b.page_program_ps = s.figure(kNorPageProgram);
  b.sector_erase_ps = s.figure(kNorSectorErase);
  b.block_erase_ps = s.figure(kNorBlockErase);
}

// ---- crypto engine (devices/crypto_config.h) ----
void parse_crypto(const DeviceSection& s, BoardConfig& c) {
  part_keys(s, c.crypto);
  c.crypto.sha256_bytes_per_s = s.figure(kCryptoSha256Rate);
  c.crypto.sha512_bytes_per_s = s.figure(kCryptoSha512Rate);
  c.crypto.rsa_verify_ps = s.figure(kCryptoRsaVerify);
}

// ---- bootflash: SPI NAND (flash-sim/flash_config.h) ----
void parse_nand(const DeviceSection& s, BoardConfig& c) {
  NandConfig& n = c.nand;
  n.present = true;
  part_keys(s, n);
  auto small = [&](const char* key, uint64_t lo, uint64_t hi) {
    YAML::Node v = s.require(key);
    uint64_t x = s.r.u64(v, s.field(key));
    if (x < lo || x > hi) s.r.fail(v, s.field(key), "must be " + std::to_string(lo) + ".." + std::to_string(hi));
    return uint32_t(x);
  };
  n.page_size = small("page_size", 512, 4096);
  n.spare_size = small("spare_size", 16, 1024);
  n.pages_per_block = small("pages_per_block", 16, 1024);
  n.block_count = small("blocks", 16, 4096);
  n.t_read_ps = s.figure(kNandRead);
  n.t_prog_ps = s.figure(kNandProgram);
  n.t_erase_ps = s.figure(kNandErase);
  n.bus_clock_hz = s.figure(kNandBusClock);
  if (YAML::Node pu = s.node["program_unerased"]) {
    std::string m = s.r.str(pu, s.field("program_unerased"));
    if (m != "refuse" && m != "and")
      s.r.fail(pu, s.field("program_unerased"), "expected 'refuse' (NAND) or 'and' (NOR-like)");
    n.refuse_unerased_program = m == "refuse";
  }
  if (YAML::Node bb = s.node["factory_bad_blocks"]) {
    if (!bb.IsSequence()) s.r.fail(bb, s.field("factory_bad_blocks"), "expected a list of block numbers");
    for (size_t i = 0; i < bb.size(); ++i) {
      std::string f = s.field("factory_bad_blocks") + "[" + std::to_string(i) + "]";
      uint64_t b = s.r.u64(bb[i], f);
      if (b >= n.block_count) s.r.fail(bb[i], f, "block number beyond the part");
      n.factory_bad_blocks.push_back(uint32_t(b));
    }
  }
  // The model's own geometry rules (flash-sim), not restated here.
  std::string problem = nand_geometry_problem(n);
  if (!problem.empty()) s.r.fail(s.node, s.path, problem);
}

// ---- TPM (tpm-sim/tpm_config.h) ----
void parse_tpm(const DeviceSection& s, BoardConfig& c) {
  const YamlReader& r = s.r;
  TpmConfig& t = c.tpm;
  t.present = true;
  part_keys(s, t);
  t.spi_clock_hz = s.figure(kTpmSpiClock);
  if (YAML::Node b = s.node["burst_count"]) {
    uint64_t v = r.u64(b, s.field("burst_count"));
    if (v < 1 || v > TS_TPM_MAX_COMMAND) r.fail(b, s.field("burst_count"), "must be 1..4096");
    t.burst_count = uint32_t(v);
  }
  t.init_ps = s.figure(kTpmInit);
  t.default_command_ps = s.figure(kTpmDefaultCommand);
  auto code_of = [&](const YAML::Node& n, const std::string& field) {
    std::string name = r.str(n, field);
    uint32_t cc = tpm::command_code_by_name(name);
    if (!cc)
      r.fail(n, field, "unknown TPM command '" + name + "' (expected e.g. PCR_Extend, Quote, Sign, CreatePrimary)");
    return cc;
  };
  if (YAML::Node ct = s.node["command_times"]) {
    if (!ct.IsMap()) r.fail(ct, s.field("command_times"), "expected a map of command name to duration");
    for (auto it = ct.begin(); it != ct.end(); ++it) {
      std::string f = s.field("command_times") + "." + it->first.as<std::string>();
      t.command_ps.emplace_back(code_of(it->first, f), r.duration_ps(it->second, f));
    }
  }
  if (YAML::Node fl = s.node["fault"]) {
    const std::string fp = s.field("fault");
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

// ---- management-port transfer engine (devices/netxfer_config.h) ----
void parse_netxfer(const DeviceSection& s, BoardConfig& c) {
  NetxferConfig& x = c.netxfer;
  x.present = true;
  part_keys(s, x);
  x.link_bytes_per_s = s.figure(kNetxferLinkRate);
  x.round_trip_ps = s.figure(kNetxferRoundTrip);
  if (YAML::Node b = s.node["tftp_block"]) {
    uint64_t v = s.r.u64(b, s.field("tftp_block"));
    if (v < 8 || v > 65464) s.r.fail(b, s.field("tftp_block"), "must be 8..65464 (RFC 2348 block sizes)");
    x.tftp_block = uint32_t(v);
  }
  if (YAML::Node m = s.node["max_size"]) {
    x.max_size = s.r.size_bytes(m, s.field("max_size"));
    if (x.max_size == 0 || x.max_size > (1ull << 30)) s.r.fail(m, s.field("max_size"), "must be 1 byte .. 1 GiB");
  }
  if (YAML::Node p = s.node["dns_port"]) {
    uint64_t v = s.r.u64(p, s.field("dns_port"));
    if (v < 1 || v > 65535) s.r.fail(p, s.field("dns_port"), "must be 1..65535");
    x.dns_port = uint16_t(v);
  }
}

bool always(const BoardConfig&) { return true; }

// Where the device's section put it, and (optional devices) whether the
// board file has the section at all.
template <auto Member>
uint64_t bus_base(const BoardConfig& c) {
  return (c.*Member).bus_base;
}
template <auto Member>
bool described(const BoardConfig& c) {
  return (c.*Member).present;
}

// A bus window or discovery size that does not depend on the board file.
template <uint64_t N>
uint64_t fixed(const BoardConfig&) {
  return N;
}

// The slots, in the registry's order: also the order the board builds,
// maps and lists them in its discovery table, which the firmware walks (a
// different order would change guest instruction counts, hence timing).
std::vector<BoardSlot> make_slots() {
  std::vector<BoardSlot> s;
  s.push_back({&kConsoleDevice,
               {"bus_base"},
               parse_console,
               always,
               bus_base<&BoardConfig::console>,
               fixed<TS_CONSOLE_SIZE>,
               TS_DEV_CONSOLE,
               "console",
               fixed<TS_CONSOLE_SIZE>,
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 return std::make_unique<ConsoleUart>(kConsoleDevice.name, p.power, p.console_log, p.cfg.console.baud);
               },
               nullptr});
  s.push_back({&kPowerDevice,
               {"bus_base"},
               parse_power,
               always,
               bus_base<&BoardConfig::power>,
               fixed<TS_POWER_SIZE>,
               TS_DEV_POWER,
               "power",
               fixed<TS_POWER_SIZE>,
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 return std::make_unique<PowerController>(kPowerDevice.name, p.power, p.cfg.rtc_base);
               },
               nullptr});
  s.push_back({&kBootFlashDevice,
               {"bus_base", "part", "source", "size"},
               parse_rom_nor,
               always,
               bus_base<&BoardConfig::boot_flash>,
               [](const BoardConfig& c) { return c.boot_flash.size + TS_NOR_CONTROL_SIZE; },
               TS_DEV_BOOT_FLASH,
               "boot_flash",
               [](const BoardConfig& c) { return c.boot_flash.size; },
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 return std::make_unique<BootFlash>(kBootFlashDevice.name, p.power, p.cfg.boot_flash,
                                                    p.state.boot_flash(), p.trace);
               },
               [](Device& d, const StatePaths&, const StatePaths& to) {
                 // The 16 MiB array is in memory (copied by the fork); it is
                 // written to the new path with its first change.
                 static_cast<BootFlash&>(d).set_state_path(to.boot_flash());
               }});
  s.push_back({&kNvramDevice,
               {"bus_base", "part", "source", "size", "page_size"},
               parse_nvram,
               always,
               bus_base<&BoardConfig::nvram>,
               [](const BoardConfig& c) { return c.nvram.size; },
               TS_DEV_NVRAM,
               "nvram",
               [](const BoardConfig& c) { return c.nvram.size; },
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 return std::make_unique<Nvram>(kNvramDevice.name, p.power, p.cfg.nvram, p.state.nvram(), p.trace);
               },
               [](Device& d, const StatePaths& from, const StatePaths& to) {
                 // The parent keeps writing its own file: take a copy first.
                 copy_file_sparse(from.nvram(), to.nvram());
                 static_cast<Nvram&>(d).set_state_path(to.nvram());
               }});
  s.push_back({&kCryptoDevice,
               {"bus_base", "part", "source"},
               parse_crypto,
               always,
               bus_base<&BoardConfig::crypto>,
               fixed<TS_CRYPTO_SIZE>,
               TS_DEV_CRYPTO,
               "crypto",
               fixed<TS_CRYPTO_SIZE>,
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 return std::make_unique<CryptoEngine>(kCryptoDevice.name, p.power, p.cfg.crypto);
               },
               nullptr});
  auto nand_window = [](const BoardConfig& c) -> uint64_t {
    return TS_NAND_BUS_SIZE(c.nand.page_size, c.nand.pages_per_block * c.nand.block_count);
  };
  s.push_back({&kNandDevice,
               {"bus_base", "part", "source", "page_size", "spare_size", "pages_per_block", "blocks",
                "program_unerased", "factory_bad_blocks"},
               parse_nand,
               described<&BoardConfig::nand>,
               bus_base<&BoardConfig::nand>,
               nand_window,
               TS_DEV_BOOTFLASH_NAND,
               "bootflash",
               nand_window,
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 return std::make_unique<NandFlash>(kNandDevice.name, p.power, p.cfg.nand, p.state.bootflash(),
                                                    p.trace);
               },
               [](Device& d, const StatePaths&, const StatePaths& to) {
                 static_cast<NandFlash&>(d).image().move_to(to.bootflash());
               }});
  s.push_back(
      {&kTpmDevice,
       {"bus_base", "part", "source", "burst_count", "command_times", "fault"},
       parse_tpm,
       described<&BoardConfig::tpm>,
       bus_base<&BoardConfig::tpm>,
       fixed<TS_TPM_SIZE>,
       TS_DEV_TPM,
       "tpm",
       fixed<TS_TPM_SIZE>,
       [](const BoardParts& p) -> std::unique_ptr<Device> {
         return std::make_unique<TpmDevice>(kTpmDevice.name, p.power, p.cfg.tpm, p.state.tpm_nv(), p.cfg.name, p.trace);
       },
       [](Device& d, const StatePaths&, const StatePaths& to) { static_cast<TpmDevice&>(d).move_nv_to(to.tpm_nv()); }});
  s.push_back({&kNetxferDevice,
               {"bus_base", "part", "source", "tftp_block", "max_size", "dns_port"},
               parse_netxfer,
               described<&BoardConfig::netxfer>,
               bus_base<&BoardConfig::netxfer>,
               fixed<TS_NETXFER_SIZE>,
               TS_DEV_NETXFER,
               "netxfer",
               fixed<TS_NETXFER_SIZE>,
               [](const BoardParts& p) -> std::unique_ptr<Device> {
                 auto x =
                     std::make_unique<NetXfer>(kNetxferDevice.name, p.power, p.cfg.netxfer, p.cfg.rtc_base, p.trace);
                 x->set_interrupted([] { return pending_interrupt() != 0; });
                 return x;
               },
               nullptr});
  return s;
}

}  // namespace

const std::vector<BoardSlot>& board_slots() {
  static const std::vector<BoardSlot> slots = make_slots();
  return slots;
}

}  // namespace trustsim
