// os-stub entry: brings the image up (bootflash:, key storage, startup
// configuration) and runs the IOS-style console.
#include "os.h"

#include "trustsim/datetime.h"

namespace os {

State g;
uint32_t g_commands_run;

namespace {

Console g_console;

class Commands : public cli::Handler {
 public:
  void execute(cli::CommandId id, const cli::Args& a, cli::Context& ctx) override {
    using C = cli::CommandId;
    ++g_commands_run;
    if (kRevocationImage && !revocation_image_allows(id)) return;
    switch (id) {
      case C::kConfigureTerminal:
        fw::printf("Enter configuration commands, one per line.  End with CNTL/Z.\n");
        break;
      case C::kLogout:
        ctx.engine().reset();
        break;
      case C::kShowVersion:
        cmd_show_version();
        break;
      case C::kShowSoftwareAuthenticityRunning:
        cmd_show_auth_running();
        break;
      case C::kShowSoftwareAuthenticityFile:
        cmd_show_auth_file(a);
        break;
      case C::kShowSoftwareAuthenticityKeys:
        cmd_show_auth_keys();
        break;
      case C::kShowFileSystem:
        cmd_show_flash();
        break;
#ifndef OS_REVOCATION_IMAGE
      case C::kShowPlatformIntegrity:
        cmd_show_platform_integrity(a);
        break;
      case C::kShowPlatformSudiCertificate:
        cmd_show_platform_sudi(a);
        break;
#endif
      case C::kShowRunningConfig:
        cmd_show_running(false);
        break;
      case C::kShowStartupConfig:
        cmd_show_running(true);
        break;
      case C::kDir:
        cmd_dir(a);
        break;
      case C::kDelete:
        cmd_delete(a);
        break;
      case C::kRename:
        cmd_rename(a);
        break;
      case C::kCopy:
        cmd_copy(a);
        break;
      case C::kMore:
        cmd_more(a);
        break;
      case C::kFormat:
        cmd_format(a);
        break;
      case C::kVerify:
        cmd_verify(a);
        break;
      case C::kWriteMemory:
        cmd_write_memory();
        break;
      case C::kReload:
        cmd_reload();
        break;
      case C::kReloadIn:
        cmd_reload_in(a);
        break;
      case C::kReloadAt:
        cmd_reload_at(a);
        break;
      case C::kReloadCancel:
        cmd_reload_cancel();
        break;
      case C::kShowReload:
        cmd_show_reload();
        break;
      case C::kDebugSoftwareAuthenticity:
      case C::kUndebugAll:
        cmd_debug(a);
        break;
      case C::kBootSystem:
        cmd_boot_system(a);
        break;
      case C::kConfigRegister:
        cmd_config_register(a);
        break;
      case C::kSoftwareAuthenticityKeyAdd:
        cmd_key_add(a);
        break;
      case C::kSoftwareAuthenticityKeyRevoke:
        cmd_key_revoke(a);
        break;
      case C::kShowSoftwareAuthenticityUpgradeStatus:
        cmd_show_upgrade_status();
        break;
      case C::kUpgradeRomMonitor:
        cmd_upgrade_rom_monitor(a);
        break;
      case C::kIpFtpUsername:
        cmd_ip_ftp(a, false);
        break;
      case C::kIpFtpPassword:
        cmd_ip_ftp(a, true);
        break;
      case C::kIpDomainName:
        cmd_ip_domain_name(a);
        break;
      case C::kIpNameServer:
        cmd_ip_name_server(a);
        break;
      case C::kPing:
        cmd_ping(a);
        break;
      case C::kFilePrompt:
        cmd_file_prompt(a);
        break;
      case C::kAutoupgradeDiskCleanup:
      case C::kAutoupgradeIdaUrl:
      case C::kAutoupgradeEmailRecipient:
      case C::kAutoupgradeSmtpServer:
        cmd_autoupgrade(id, a);
        break;
      case C::kShowAutoupgradeConfiguration:
        cmd_show_autoupgrade(a);
        break;
      case C::kDebugAutoupgrade:
        cmd_debug_autoupgrade(a);
        break;
      case C::kShowLogging:
        cmd_show_logging();
        break;
#ifndef OS_REVOCATION_IMAGE
      case C::kUpgradeAutomatic:
      case C::kUpgradeAutomaticGetversion:
      case C::kUpgradeAutomaticRunversion:
      case C::kUpgradeAutomaticAbortversion:
        cmd_upgrade_automatic(id, a);
        break;
#endif
      case C::kCryptoPkiTrustpoint:
        cmd_crypto_pki_trustpoint(a, ctx.engine());
        break;
      case C::kTrustpointEnrollment:
        cmd_trustpoint_setting(a, true);
        break;
      case C::kTrustpointRevocationNone:
        cmd_trustpoint_setting(a, false);
        break;
      case C::kCryptoCaAuthenticate:
        cmd_crypto_ca_authenticate(a);
        break;
      case C::kCryptoPkiCertificateCa:
        cmd_crypto_pki_certificate_ca(a);
        break;
      case C::kEnable:
      case C::kDisable:
      case C::kEnd:
      case C::kExit:
      case C::kHostname:
        break;
      default:
        fw::printf("%% '%s' is not supported on this platform yet\n", cli::command_name(id));
    }
  }
};

Commands g_commands;
cli::Engine g_engine(g_console, g_commands);
char g_line[cli::kMaxLine + 2];

// Line editor: echo, backspace, and `?` ends the line at once (IOS help).
// Starts with `prefill` already typed. Returns the length; *help tells why.
size_t read_command(size_t prefill, bool* help) {
  size_t len = prefill;
  *help = false;
  for (;;) {
    char c;
    if (fw::console_read(&c, 1, reload_wait_ns()) != 1) {
      reload_tick();  // a scheduled reload's warning or the reload itself
      continue;
    }
    if (c == '\r' || c == '\n') {
      fw::puts("\n");
      return len;
    }
    if (c == '?') {
      fw::puts("?\n");
      g_line[len++] = '?';
      *help = true;
      return len;
    }
    if (c == 0x08 || c == 0x7F) {
      if (len) {
        --len;
        fw::puts("\b \b");
        fw::flush();
      }
      continue;
    }
    if (uint8_t(c) < 0x20 || uint8_t(c) > 0x7E || len >= cli::kMaxLine) continue;
    g_line[len++] = c;
    fw::putc(c);
    fw::flush();
  }
}

void mount_bootflash() {
  if (!g.nand.init()) {
    fw::printf("%%BOOTFLASH: no bootflash: device on this board\n");
    return;
  }
  // ROMmon hands over the volume it mounted (docs/bootflash-fs.md,
  // "Handing the mount over"); mount from flash when there is none or it
  // does not check.
  static_assert(sizeof(bfs::Handover) <= trustsim::handoff::kBootflashMaxSize, "hand-over area too small");
  auto* handed = reinterpret_cast<bfs::Handover*>(trustsim::handoff::kBootflashAddress);
  bfs::MountReport rep{};
  bfs::Status st = bfs::take_over(g.fs, g.nand, *handed, &rep);
  if (st != bfs::Status::kOk && st != bfs::Status::kNotMounted)
    fw::printf("%%BOOTFLASH: ROMmon's mount not taken over (%s); mounting\n", bfs::status_text(st));
  if (st != bfs::Status::kOk) st = bfs::mount(g.fs, &rep);
  if (st != bfs::Status::kOk) {
    fw::printf("%%BOOTFLASH: mount failed: %s\n", bfs::status_text(st));
    return;
  }
  g.fs_mounted = true;
  if (rep.uncommitted_blocks || rep.uncommitted_records || rep.torn_records || rep.repaired_records)
    fw::printf("%%BOOTFLASH: recovered after an interrupted write (%u records, %u blocks discarded)\n",
               rep.uncommitted_records + rep.torn_records, rep.uncommitted_blocks);
}

}  // namespace

bool confirm(const char* question) {
  char buf[16];
  size_t n = ask(question, buf, sizeof buf);
  return n == 0 || buf[0] == 'y' || buf[0] == 'Y';
}

size_t ask(const char* question, char* buf, size_t cap) {
  fw::puts(question);
  fw::flush();
  size_t n = fw::readline(buf, cap);
  return n;
}

}  // namespace os

int fw_main() {
  using namespace os;
  if (!fw::board_init()) {
    for (;;) asm volatile("wfi");
  }
  g.handoff = reinterpret_cast<const trustsim::handoff::Block*>(trustsim::handoff::kAddress);
  fw::printf("\n              Restricted Rights Legend\n\n");
  fw::printf("trustsim IOS XE Software, Version %s\n", OS_VERSION);
  fw::printf("Copyright (c) 2026 by the trustsim project\n\n");
  if (g.handoff->magic == trustsim::handoff::kMagic && g.handoff->os_path[0])
    fw::printf("System image file is \"%s\"\n", g.handoff->os_path);
  if (kRevocationImage) print_revocation_image_line();

  uint8_t region[trustsim::romvars::kRegionSize];
  if (fw::nvram_read(0, region, sizeof region))
    trustsim::romvars::load(g.vars, region, sizeof region);
  else
    trustsim::romvars::init_default(g.vars);
  g.config_register = g.vars.confreg;
  g.boot_config_register = g.vars.confreg;
  keys::LoadResult kr;
  g.keys_valid = fw::keystore_load(g.keys, kr);
  if (!g.keys_valid) fw::printf("%%SOFTWARE_AUTHENTICITY: key storage invalid\n");
  mount_bootflash();
  apply_startup_config(g_engine);
  fw::printf("\nPress RETURN to get started!\n\n");

  size_t keep = 0;
  for (;;) {
    g_engine.write_prompt();
    if (keep) fw::write(g_line, keep);
    fw::flush();
    bool help;
    size_t len = read_command(keep, &help);
    cli::LineResult r = g_engine.process_line(g_line, len);
    keep = r.help_shown ? r.keep : 0;
  }
}
