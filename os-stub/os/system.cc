// show version, the running/startup configuration, write memory, reload,
// boot system and config-register.
#include "os.h"

#include "trustsim/nvram_map.h"
#include "trustsim/text_blob.h"

namespace os {
namespace {

namespace rv = trustsim::romvars;
namespace nm = trustsim::nvram_map;

bool g_dirty;
char g_config[nm::kStartupConfigLen - 64];  // the text_blob header fits beside it
uint8_t g_region[nm::kStartupConfigLen];
uint8_t g_slot[rv::kSlotSize];

// Renders the running configuration; returns its length.
size_t render(char* out, size_t cap, cli::Engine* engine) {
  size_t n = 0;
  auto add = [&](const char* fmt, const char* arg) {
    int w = fw::snprintf(out + n, cap - n, fmt, arg);
    if (w > 0) n = n + size_t(w) < cap ? n + size_t(w) : cap - 1;
  };
  add("!\nversion %s\n!\n", OS_VERSION);
  if (engine) add("hostname %s\n!\n", engine->hostname());
  for (uint32_t i = 0; i < g.boot_count; ++i) add("boot system %s\n", g.boot_system[i]);
  if (g.boot_count) add("%s", "!\n");
  if (g.file_prompt == cli::FilePrompt::kNoisy) add("%s", "file prompt noisy\n!\n");
  if (g.file_prompt == cli::FilePrompt::kQuiet) add("%s", "file prompt quiet\n!\n");
  if (g.domain_name[0]) add("ip domain name %s\n", g.domain_name);
  if (g.ftp_user[0]) add("ip ftp username %s\n", g.ftp_user);
  if (g.ftp_password[0]) add("ip ftp password %s\n", g.ftp_password);
  char ns[16];
  uint32_t a = g.name_server;
  fw::snprintf(ns, sizeof ns, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
  if (a) add("ip name-server %s\n", ns);
  if (g.domain_name[0] || g.ftp_user[0] || g.ftp_password[0] || a) add("%s", "!\n");
  size_t aum = render_autoupgrade(out + n, cap - n);
  if (aum) {
    n += aum;
    add("%s", "!\n");
  }
  struct Sink {
    decltype(add)* fn;
  } sink{&add};
  render_trustpoints([](void* ctx, const char* text) { (*static_cast<Sink*>(ctx)->fn)("%s", text); }, &sink);
  char reg[16];
  fw::snprintf(reg, sizeof reg, "0x%x", g.config_register);
  if (g.config_register != rv::kDefaultConfreg) add("config-register %s\n!\n", reg);
  add("%s", "end\n");
  return n;
}

cli::Engine* g_engine_ref;

// nvram:invalid-config of this boot (docs/aum.md): the lines, and whether
// it was written. A boot without such lines shows an empty file, whatever
// an earlier boot left in NVRAM.
char g_invalid[nm::kInvalidConfigLen];
uint32_t g_invalid_len, g_invalid_count;
uint8_t g_invalid_region[nm::kInvalidConfigLen];

void note_invalid(const char* line, size_t n) {
  ++g_invalid_count;
  if (g_invalid_len + n + 1 + trustsim::text_blob::kHeaderLen > sizeof g_invalid) return;  // kept on the console only
  memcpy(g_invalid + g_invalid_len, line, n);
  g_invalid_len += uint32_t(n);
  g_invalid[g_invalid_len++] = '\n';
}

void store_invalid_config() {
  fw::printf("%%PARSER-4-BADCFG: %u startup-config line%s not accepted by this image; saved in nvram:invalid-config\n",
             g_invalid_count, g_invalid_count == 1 ? "" : "s");
  uint32_t w = trustsim::text_blob::encode(g_invalid, g_invalid_len, 1, g_invalid_region, sizeof g_invalid_region);
  if (!w || !fw::nvram_write(nm::kInvalidConfig, g_invalid_region, w))
    fw::printf("%%Error: could not write nvram:invalid-config\n");
}

bool save_romvars() {
  rv::SlotImage img = rv::serialize_next(g.vars, g_slot);
  if (!fw::nvram_write(img.nvram_offset, g_slot, img.write_len)) return false;
  rv::mark_written(g.vars, img);
  return true;
}

}  // namespace

const char* router_name() { return g_engine_ref ? g_engine_ref->hostname() : "Router"; }

void cmd_show_version() {
  const trustsim::handoff::Block* h = g.handoff;
  bool ho = h->magic == trustsim::handoff::kMagic;
  fw::printf("trustsim IOS XE Software, Version %s\n", OS_VERSION);
  fw::printf("Copyright (c) 2026 by the trustsim project\n\n");
  fw::printf("ROM: System Bootstrap, Version %s, RELEASE SOFTWARE\n\n", ho ? h->rommon.version : "unknown");
  uint64_t s = fw::uptime_ns() / 1000000000ull;
  uint64_t days = s / 86400, hours = s / 3600 % 24, minutes = s / 60 % 60;
  fw::printf("%s uptime is ", router_name());
  if (days) fw::printf("%lu day%s, ", days, days == 1 ? "" : "s");
  if (days || hours) fw::printf("%lu hour%s, ", hours, hours == 1 ? "" : "s");
  fw::printf("%lu minute%s\n", minutes, minutes == 1 ? "" : "s");
  const char* cause = fw::reset_cause_text(fw::reset_cause());
  fw::printf("System returned to ROM by %s\n", cause);
  fw::printf("System image file is \"%s\"\n", ho && h->os_path[0] ? h->os_path : "unknown");
  if (kRevocationImage) print_revocation_image_line();
  fw::printf("Last reload reason: %s\n\n", cause);
  const ts_boardinfo& bi = fw::board_info();
  fw::printf("%s (aarch64) processor with %luK bytes of memory.\n", bi.platform, bi.ram_size / 1024);
  if (g.fs_mounted) {
    uint64_t used, avail, total;
    bfs::space(g.fs, &used, &avail, &total);
    fw::printf("%luK bytes of flash memory at bootflash:.\n", total / 1024);
  }
  fw::printf("\n");
  if (g.config_register != g.boot_config_register)
    fw::printf("Configuration register is 0x%x (will be 0x%x at next reload)\n", g.boot_config_register,
               g.config_register);
  else
    fw::printf("Configuration register is 0x%x\n", g.config_register);
}

void cmd_show_running(bool startup) {
  if (!startup) {
    size_t n = render(g_config, sizeof g_config, g_engine_ref);
    fw::printf("Building configuration...\n\nCurrent configuration : %lu bytes\n", uint64_t(n));
    fw::write(g_config, n);
    return;
  }
  if (!fw::nvram_read(nm::kStartupConfig, g_region, sizeof g_region)) {
    fw::printf("%%Error reading nvram:startup-config\n");
    return;
  }
  const char* text;
  uint32_t len;
  trustsim::text_blob::State st = trustsim::text_blob::decode(g_region, sizeof g_region, &text, &len);
  if (st == trustsim::text_blob::State::kEmpty) {
    fw::printf("startup-config is not present\n");
    return;
  }
  if (st == trustsim::text_blob::State::kCorrupt) {
    fw::printf("%%Error: nvram:startup-config is corrupt (checksum mismatch)\n");
    return;
  }
  fw::printf("Using %u out of %u bytes\n", len, nm::kStartupConfigLen - trustsim::text_blob::kHeaderLen);
  fw::write(text, len);
}

void cmd_write_memory() {
  fw::printf("Building configuration...\n");
  fw::printf(save_config() ? "[OK]\n" : "%%Error: could not write the configuration to NVRAM\n");
}

bool save_config() {
  size_t n = render(g_config, sizeof g_config, g_engine_ref);
  uint32_t w = trustsim::text_blob::encode(g_config, uint32_t(n), ++g.startup_generation, g_region, sizeof g_region);
  bool ok = w && fw::nvram_write(nm::kStartupConfig, g_region, w);
  // The boot list and the configuration register live in ROMmon variables.
  char boot[rv::kMaxValueLen + 1];
  size_t bn = 0;
  for (uint32_t i = 0; i < g.boot_count; ++i) {
    int k = fw::snprintf(boot + bn, sizeof boot - bn, "%s,1;", g.boot_system[i]);
    if (k < 0 || bn + size_t(k) >= sizeof boot) break;
    bn += size_t(k);
  }
  boot[bn] = '\0';
  if (bn)
    rv::set(g.vars, "BOOT", boot);
  else
    rv::unset(g.vars, "BOOT");
  g.vars.confreg = g.config_register;
  ok = save_romvars() && ok;
  if (ok) g_dirty = false;
  return ok;
}

void offer_save() {
  if (!g_dirty) return;
  char answer[8];
  size_t n = ask("\nSystem configuration has been modified. Save? [yes/no]: ", answer, sizeof answer);
  if (n && (answer[0] == 'y' || answer[0] == 'Y')) cmd_write_memory();
}

void cmd_reload() {
  offer_save();
  if (!confirm("Proceed with reload? [confirm]")) return;
  fw::printf("\nReload Requested by console. Reload Reason: Reload Command.\n");
  fw::reset();
}

void cmd_boot_system(const cli::Args& a) {
  const char* path = a.text(cli::ArgTag::kPath);
  g_dirty = true;
  if (a.negated) {
    if (!path) {
      g.boot_count = 0;
      return;
    }
    for (uint32_t i = 0; i < g.boot_count; ++i)
      if (fw::strcmp(g.boot_system[i], path) == 0) {
        for (uint32_t j = i + 1; j < g.boot_count; ++j) memcpy(g.boot_system[j - 1], g.boot_system[j], 160);
        --g.boot_count;
        return;
      }
    return;
  }
  if (!path) return;
  if (g.boot_count >= kMaxBootEntries) {
    fw::printf("%%Error: at most %u boot system entries\n", kMaxBootEntries);
    return;
  }
  cli::Url u;
  if (cli::split_url(path, &u) && u.fs == cli::FileSystem::kTftp) {
    // A network boot entry for ROMmon (docs/firmware.md, "Booting an image"): kept as typed.
    size_t len = strlen(path);
    if (!u.host.size || !u.path.size || u.user.size || u.password.size || len >= sizeof g.boot_system[0]) {
      fw::printf("%%Error: boot system needs tftp://HOST[:PORT]/PATH of at most %u characters, not %s\n",
                 unsigned(sizeof g.boot_system[0] - 1), path);
      return;
    }
    memcpy(g.boot_system[g.boot_count++], path, len + 1);
    return;
  }
  if (!cli::split_url(path, &u) || (u.fs != cli::FileSystem::kBootflash && u.fs != cli::FileSystem::kFlash)) {
    fw::printf("%%Error: boot system needs a bootflash: file or a tftp: URL, not %s\n", path);
    return;
  }
  char* dst = g.boot_system[g.boot_count];
  const char* p = u.path.data;
  size_t n = u.path.size;
  while (n && *p == '/') ++p, --n;
  if (n == 0 || n + 11 > sizeof g.boot_system[0]) {
    fw::printf("%%Error: boot system needs a file name of 1..%u characters\n", unsigned(sizeof g.boot_system[0] - 11));
    return;
  }
  memcpy(dst, "bootflash:", 10);
  memcpy(dst + 10, p, n);
  dst[10 + n] = '\0';
  ++g.boot_count;
}

void cmd_config_register(const cli::Args& a) {
  uint32_t v = a.number(cli::ArgTag::kValue);
  g.config_register = uint16_t(v);
  if (g.vars.confreg == uint16_t(v)) return;  // e.g. replayed from startup-config: nothing to write
  g.vars.confreg = uint16_t(v);
  if (!save_romvars()) fw::printf("%%Error: could not store the configuration register\n");
  g_dirty = true;
}

void apply_startup_config(cli::Engine& engine) {
  g_engine_ref = &engine;
  // The boot list comes from the startup-config (manufacturing writes one
  // naming the factory image, so write memory keeps BOOT pointing at it).
  g.boot_count = 0;
  if (!fw::nvram_read(nm::kStartupConfig, g_region, sizeof g_region)) return;
  const char* text;
  uint32_t len;
  trustsim::text_blob::State st = trustsim::text_blob::decode(g_region, sizeof g_region, &text, &len);
  if (st == trustsim::text_blob::State::kCorrupt) fw::printf("%%Error: nvram:startup-config is corrupt; not applied\n");
  if (st != trustsim::text_blob::State::kValid) return;
  engine.set_mode(cli::Mode::kConfig);
  char line[cli::kMaxLine + 1];
  uint32_t pos = 0;
  while (pos < len) {
    uint32_t end = pos;
    while (end < len && text[end] != '\n') ++end;
    uint32_t n = end - pos < cli::kMaxLine ? end - pos : cli::kMaxLine;
    memcpy(line, text + pos, n);
    line[n] = '\0';
    pos = end + 1;
    if (line[0] == '!' || !line[0] || !fw::strcmp(line, "end") || fw::starts_with(line, "version ")) continue;
    uint32_t before = g_commands_run;
    engine.execute(line, n);
    if (g_commands_run == before) note_invalid(line, n);  // the parser refused it
  }
  engine.set_mode(cli::Mode::kUserExec);
  g_dirty = false;
  if (g_invalid_count) store_invalid_config();
}

void print_invalid_config() {
  fw::printf("! Config Lines not understood by the current image:\n");
  fw::write(g_invalid, g_invalid_len);
  fw::printf("Total %u Invalid Config Lines\n", g_invalid_count);
}

void cmd_more_invalid_config() {
  if (!g_invalid_count) return;  // empty file
  if (!fw::nvram_read(nm::kInvalidConfig, g_invalid_region, sizeof g_invalid_region)) {
    fw::printf("%%Error reading nvram:invalid-config\n");
    return;
  }
  const char* text;
  uint32_t len;
  if (trustsim::text_blob::decode(g_invalid_region, sizeof g_invalid_region, &text, &len) !=
      trustsim::text_blob::State::kValid) {
    fw::printf("%%Error: nvram:invalid-config is corrupt\n");
    return;
  }
  fw::write(text, len);
}

}  // namespace os
