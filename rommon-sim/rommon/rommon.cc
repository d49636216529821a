// ROMmon (rommon-sim): the second stage. Prints the System Bootstrap banner,
// keeps its variables and the configuration register in NVRAM (format:
// common/romvars), and runs the `rommon N >` prompt.
#include "boot.h"
#include "fwlib/fw.h"
#include "trustsim/handoff.h"
#include "trustsim/romvars.h"

#ifndef ROMMON_VERSION
#error "ROMMON_VERSION must be defined by the build"
#endif

namespace {

namespace rv = trustsim::romvars;

// The configuration register is always hexadecimal: "2102" means 0x2102.
bool parse_confreg(const char* s, uint64_t* v) {
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return fw::parse_u64(s, v);
  char buf[24] = "0x";
  size_t n = strlen(s);
  if (n == 0 || n > 16) return false;
  memcpy(buf + 2, s, n + 1);
  return fw::parse_u64(buf, v);
}

rv::Store g_vars;
uint8_t g_region[rv::kRegionSize];
uint8_t g_slot[rv::kSlotSize];
char g_line[300];
unsigned g_prompt_no = 1;

void load_vars() {
  if (!fw::nvram_read(0, g_region, sizeof g_region)) {
    fw::printf("ROMmon: cannot read NVRAM; using default variables\n");
    rv::init_default(g_vars);
    return;
  }
  rv::load(g_vars, g_region, sizeof g_region);
}

bool save_vars() {
  rv::SlotImage img = rv::serialize_next(g_vars, g_slot);
  if (!fw::nvram_write(img.nvram_offset, g_slot, img.write_len)) {
    fw::printf("ROMmon: NVRAM write failed; variable change not saved\n");
    load_vars();  // show what NVRAM really holds
    return false;
  }
  rv::mark_written(g_vars, img);
  return true;
}

void cmd_set() {
  uint32_t cursor = 0;
  while (const char* e = rv::next_entry(g_vars, &cursor)) fw::printf("%s\n", e);
}

void cmd_assign(char* line, char* eq) {
  *eq = '\0';
  char* name = fw::trim(line);
  char* value = eq + 1;
  rv::Status st = rv::set(g_vars, name, value);
  if (st != rv::Status::kOk) {
    fw::printf("%s: %s\n", name, rv::status_text(st));
    return;
  }
  save_vars();
}

void cmd_unset(char* args) {
  char* name = fw::trim(args);
  if (!*name) {
    fw::printf("usage: unset VARIABLE\n");
    return;
  }
  rv::Status st = rv::unset(g_vars, name);
  if (st != rv::Status::kOk) {
    fw::printf("unset: %s: %s\n", name, rv::status_text(st));
    return;
  }
  save_vars();
}

void print_confreg_summary(uint16_t v) {
  fw::printf("\n        Configuration Summary\n");
  fw::printf("(Virtual Configuration Register: 0x%x)\n", v);
  fw::printf("enabled are:\n");
  if (!(v & 0x0100)) fw::printf(" break/abort has effect\n");
  if (v & 0x0040) fw::printf(" ignore system config info\n");
  fw::printf(" console baud: 9600\n");
  unsigned boot = v & 0xF;
  fw::printf("boot: %s\n\n", boot == 0   ? "the ROM Monitor"
                             : boot == 1 ? "the boot helper image"
                                         : "image specified by the boot system commands");
}

void set_confreg(uint64_t v) {
  if (v > 0xFFFF) {
    fw::printf("confreg: value must be 0x0 .. 0xffff\n");
    return;
  }
  g_vars.confreg = uint16_t(v);
  if (save_vars()) fw::printf("\nYou must reset or power cycle for new config to take effect.\n");
}

void cmd_confreg(char* args) {
  char* a = fw::trim(args);
  if (*a) {
    uint64_t v;
    if (!parse_confreg(a, &v)) {
      fw::printf("confreg: bad value \"%s\" (expected hex like 0x2102)\n", a);
      return;
    }
    set_confreg(v);
    return;
  }
  print_confreg_summary(g_vars.confreg);
  fw::printf("do you wish to change the configuration? y/n  [n]:  ");
  fw::readline(g_line, sizeof g_line);
  char* ans = fw::trim(g_line);
  if (ans[0] != 'y' && ans[0] != 'Y') return;
  fw::printf("enter the new configuration register value [0x%x]: ", g_vars.confreg);
  fw::readline(g_line, sizeof g_line);
  ans = fw::trim(g_line);
  if (!*ans) return;
  uint64_t v;
  if (!parse_confreg(ans, &v)) {
    fw::printf("confreg: bad value \"%s\" (expected hex like 0x2102)\n", ans);
    return;
  }
  set_confreg(v);
}

void cmd_help() {
  fw::printf("monitor commands:\n");
  fw::printf(" VAR=value       set a ROMmon variable (kept in NVRAM)\n");
  fw::printf(" boot [bootflash:NAME]  boot an image (no name: the BOOT list)\n");
  fw::printf(" confreg [value] show or change the configuration register\n");
  fw::printf(" dir bootflash:  list the files on bootflash:\n");
  fw::printf(" help, ?         this list\n");
  fw::printf(" reset           reset the board\n");
  fw::printf(" set             list the ROMmon variables\n");
  fw::printf(" unset VAR       remove a ROMmon variable\n");
}

// Splits "cmd args" in place; returns args (maybe empty).
char* split_word(char* line) {
  char* p = line;
  while (*p && *p != ' ' && *p != '\t') ++p;
  if (*p) *p++ = '\0';
  return p;
}

void execute(char* line) {
  line = fw::trim(line);
  if (!*line) return;
  char* eq = nullptr;
  for (char* p = line; *p && *p != ' '; ++p)
    if (*p == '=') {
      eq = p;
      break;
    }
  if (eq) {
    cmd_assign(line, eq);
    return;
  }
  char* args = split_word(line);
  if (!fw::strcmp(line, "set"))
    cmd_set();
  else if (!fw::strcmp(line, "unset"))
    cmd_unset(args);
  else if (!fw::strcmp(line, "confreg"))
    cmd_confreg(args);
  else if (!fw::strcmp(line, "reset"))
    fw::reset();
  else if (!fw::strcmp(line, "dir"))
    rommon::cmd_dir(fw::trim(args));
  else if (!fw::strcmp(line, "boot")) {
    char* a = fw::trim(args);
    if (*a) {
      rommon::boot_image(a);
    } else if (const char* b = rv::get(g_vars, "BOOT")) {
      rommon::autoboot(b);
    } else {
      fw::printf("boot: BOOT variable is empty; use boot bootflash:NAME\n");
    }
  } else if (!fw::strcmp(line, "help") || !fw::strcmp(line, "?"))
    cmd_help();
  else
    fw::printf("monitor: command \"%s\" not found\n", line);
}

}  // namespace

int fw_main() {
  if (!fw::board_init()) {
    for (;;) asm volatile("wfi");
  }
  const ts_boardinfo& bi = fw::board_info();
  fw::printf("Initializing Hardware ...\n\n");
  fw::printf("System Bootstrap, Version %s, RELEASE SOFTWARE\n", ROMMON_VERSION);
  fw::printf("Copyright (c) 2026 by the trustsim project\n\n");
  const auto* ho = reinterpret_cast<const trustsim::handoff::Block*>(trustsim::handoff::kAddress);
  bool golden = ho->magic == trustsim::handoff::kMagic && ho->rommon_slot == 1;
  fw::printf("Current image running: %s\n", golden ? "Boot ROM1 (golden)" : "Boot ROM0");
  fw::printf("Last reset cause: %s\n", fw::reset_cause_text(fw::reset_cause()));
  fw::printf("%s platform with %lu Kbytes of main memory\n\n", bi.platform, bi.ram_size / 1024);
  load_vars();
  // Configuration register boot field: 0 = stay in ROMmon, 2..15 = BOOT list.
  unsigned boot_field = g_vars.confreg & 0xF;
  if (boot_field >= 2) {
    // A window for Ctrl-C, as on the real console: 1 s of board time.
    fw::printf("Preparing to autoboot. [Press Ctrl-C to interrupt]\n");
    bool interrupted = false;
    // The window opens once the line is out; the clock is the board time of
    // the console requests themselves (no UPTIME_NS reads).
    fw::flush();
    uint64_t deadline = fw::last_board_time_ns() + 1000000000ull;
    for (uint64_t now = fw::last_board_time_ns(); now < deadline && !interrupted; now = fw::last_board_time_ns()) {
      char c;
      if (fw::console_read(&c, 1, deadline - now) == 1 && c == 0x03) interrupted = true;
    }
    if (interrupted) {
      fw::printf("autoboot: interrupted by Ctrl-C\n");
    } else {
      const char* b = rv::get(g_vars, "BOOT");
      rommon::autoboot(b ? b : "");
    }
  } else if (boot_field == 0) {
    fw::printf("Configuration register 0x%x: staying in ROM Monitor\n", g_vars.confreg);
  }
  for (;;) {
    fw::printf("rommon %u > ", g_prompt_no);
    fw::readline(g_line, sizeof g_line);
    ++g_prompt_no;
    execute(g_line);
  }
}
