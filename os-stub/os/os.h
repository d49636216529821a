// os-stub: the OS image. Shared state of the running image and the command
// handlers, split by area (files, authenticity, system). docs/os-image.md.
#pragma once
#include "cli/cli.h"
#include "fwlib/fw.h"
#include "fwlib/nand.h"
#include "fwlib/secure.h"
#include "trustsim/bfs.h"
#include "trustsim/handoff.h"
#include "trustsim/keys.h"
#include "trustsim/romvars.h"

#ifndef OS_VERSION
#error "OS_VERSION must be defined by the build"
#endif

#ifdef OS_REVOCATION_IMAGE
#define OS_IS_REVOCATION_IMAGE true
#else
#define OS_IS_REVOCATION_IMAGE false
#endif

namespace os {

// The revocation image is this OS built with OS_REVOCATION_IMAGE
// (os-stub/meson.build): it only adds the production key bundled in it.
constexpr bool kRevocationImage = OS_IS_REVOCATION_IMAGE;

namespace cli = trustsim::cli;
namespace bfs = trustsim::bfs;
namespace keys = trustsim::keys;

constexpr uint64_t kStaging = 0x44000000;  // file buffer for verify/copy (ROMmon's staging area)
constexpr uint64_t kStagingSize = 0x47FF0000 - kStaging;
constexpr uint32_t kMaxBootEntries = 4;

struct DebugFlags {
  bool envelope, errors, key, revocation, show, verbose, autoupgrade;
};

// A trustpoint (crypto pki trustpoint): the CA certificate https:// copies
// trust, kept as its base 64 text (the DER, without PEM lines).
constexpr uint32_t kMaxTrustpoints = 4;
constexpr uint32_t kMaxCaB64 = 2048;  // a CA certificate of up to 1536 DER bytes
struct Trustpoint {
  bool used;
  bool enrollment_terminal;
  bool revocation_none;
  char name[32];
  uint32_t ca_len;  // base 64 characters in ca_b64; 0: not authenticated yet
  char ca_b64[kMaxCaB64 + 1];
};

struct State {
  fw::NandDriver nand;
  bfs::Volume fs;
  bool fs_mounted;
  keys::Store keys;
  bool keys_valid;
  trustsim::romvars::Store vars;
  const trustsim::handoff::Block* handoff;
  DebugFlags debug;
  // running configuration
  char boot_system[kMaxBootEntries][160];
  uint32_t boot_count;
  uint16_t config_register;       // value for the next reload
  uint16_t boot_config_register;  // value this boot ran with
  char ftp_user[64];
  char ftp_password[64];
  char domain_name[64];  // ip domain name; "" if not configured
  uint32_t name_server;  // ip name-server, IPv4 as a<<24|b<<16|c<<8|d; 0 if not configured
  cli::FilePrompt file_prompt;
  Trustpoint trustpoints[kMaxTrustpoints];
  uint32_t current_tp;  // the trustpoint the submode edits
  uint32_t startup_generation;
  // Auto-Upgrade Manager configuration (docs/aum.md).
  uint8_t aum_cleanup;       // bit (1 << cli::AumCleanup) per autoupgrade disk-cleanup line
  char aum_ida_url[160];     // autoupgrade ida url; "" = the default
  char aum_recipient[96];    // autoupgrade status email recipient
  char aum_smtp_server[96];  // autoupgrade status email smtp-server
};

extern State g;
// Commands the CLI engine accepted and handed to the OS so far (a
// startup-config line that leaves it unchanged was refused by the parser).
extern uint32_t g_commands_run;

class Console : public cli::Output {
 public:
  void write(const char* data, size_t len) override { fw::write(data, len); }
};

// Asks a question and reads the answer line (IOS [confirm] style: empty = yes).
bool confirm(const char* question);
// Reads a line answer into buf (cap bytes); returns its length.
size_t ask(const char* question, char* buf, size_t cap);

// Turns a command's path argument into a bootflash: file name. Prints the
// IOS error and returns false if it is not a local bootflash:/flash: path.
// Whether bootflash: is mounted; if not, says so on the console.
bool bootflash_mounted();
bool local_name(const char* path, char* name, size_t cap);

// The file prompts, as `file prompt` sets them (files.cc). ask_name prints
// "LABEL [NAME]? " and takes a typed answer as the new local name (false
// after the error if it is not one); in quiet mode it asks nothing.
// ask_text does the same for a remote part (host, source file) in noisy
// mode only, or in alert mode too when noisy_only is false. overwrite_ok asks before an existing file is replaced,
// except in quiet mode.
bool ask_name(const char* label, char* name, size_t cap);
void ask_text(const char* label, char* text, size_t cap, bool noisy_only = true);
bool overwrite_ok();
void cmd_file_prompt(const cli::Args& a);

// Handlers, by area.
void cmd_dir(const cli::Args& a);
void cmd_show_flash();
void cmd_delete(const cli::Args& a);
void cmd_rename(const cli::Args& a);
void cmd_copy(const cli::Args& a);
// copy tftp:|ftp: -> bootflash: through the transfer engine (netcopy.cc).
void net_copy(const char* src, const cli::Url& su, const char* dst, const cli::Url& du);
// Trustpoints (trustpoint.cc): the submode commands, the paste dialog, the
// saved form, and handing the trusted CA certificates to the engine.
void cmd_crypto_pki_trustpoint(const cli::Args& a, cli::Engine& engine);
void cmd_trustpoint_setting(const cli::Args& a, bool enrollment);
void cmd_crypto_ca_authenticate(const cli::Args& a);
void cmd_crypto_pki_certificate_ca(const cli::Args& a);
void render_trustpoints(void (*add)(void* ctx, const char* text), void* ctx);
// Clears the engine's CA list and writes every authenticated trustpoint's
// certificate (PEM) to it; returns how many.
uint64_t give_trusted_cas(uint64_t base);
// copy bootflash:FILE tftp:|ftp: -> the server, through the engine (netcopy.cc).
void net_upload(const char* src, const char* dst, const cli::Url& du);
// [no] ip ftp username|password NAME: the FTP login when a URL has none.
void cmd_ip_ftp(const cli::Args& a, bool password);
// [no] ip domain name NAME: the domain of the router-formed FTP password.
void cmd_ip_domain_name(const cli::Args& a);
// [no] ip name-server A.B.C.D: the name server the transfer engine asks.
void cmd_ip_name_server(const cli::Args& a);
// ping HOST: five echos through the transfer engine (netcopy.cc).
void cmd_ping(const cli::Args& a);
void cmd_more(const cli::Args& a);
void cmd_format(const cli::Args& a);
void cmd_verify(const cli::Args& a);

void cmd_show_platform_integrity(const cli::Args& a);  // integrity.cc
void cmd_show_platform_sudi(const cli::Args& a);
void cmd_show_auth_running();
void cmd_show_auth_file(const cli::Args& a);
void cmd_show_auth_keys();
void cmd_debug(const cli::Args& a);
void cmd_key_add(const cli::Args& a);
void cmd_key_revoke(const cli::Args& a);
void cmd_show_upgrade_status();
void cmd_upgrade_rom_monitor(const cli::Args& a);
// The ROMmon in the boot flash's primary slot, if it verifies with key storage.
bool primary_rommon_signer(char* version, size_t cap, uint8_t* key_type, char* key_version);
// The key that signed the golden ROMmon (half the boot flash), if it verifies
// with key storage now.
bool golden_rommon_signer(uint8_t* key_type, char* key_version);
// One key storage copy as it is in NVRAM now (revocation.cc).
keys::CopyState read_key_copy(uint32_t offset, keys::Store& out);
// "    Label      : value" with the label padded to column 30 (the
// software authenticity outputs).
void status_field(int indent, const char* label, const char* value);

// The line show version and show software authenticity running print on
// the revocation image ("... signed with the Rollover key version A ...").
void print_revocation_image_line();
// The revocation image's command filter: true if `id` is one of the
// commands the key procedure needs; otherwise prints the one-line reason.
bool revocation_image_allows(cli::CommandId id);

// The configured hostname ("Router" by default).
const char* router_name();
void cmd_show_version();
void cmd_show_running(bool startup);
void cmd_write_memory();
// What write memory does, without printing; false if NVRAM refused a write.
bool save_config();
void cmd_reload();
// "System configuration has been modified. Save? [yes/no]" if it was.
void offer_save();
// Scheduled reloads (reload.cc).
void cmd_reload_in(const cli::Args& a);
void cmd_reload_at(const cli::Args& a);
void cmd_reload_cancel();
void cmd_show_reload();
// How long the command prompt may wait for a key before reload_tick() has
// work (ns; 0 = no limit), and that work: a warning, or the reload.
uint64_t reload_wait_ns();
void reload_tick();
void cmd_boot_system(const cli::Args& a);
void cmd_config_register(const cli::Args& a);
void apply_startup_config(cli::Engine& engine);

// Auto-Upgrade Manager configuration (aum_config.cc, in both images) and
// the upgrade itself (aum.cc, OS image only). docs/aum.md.
constexpr const char* kAumDefaultIdaUrl = "https://www.cisco.com/cgi-bin/new-ida/locator/locator.pl";
void cmd_autoupgrade(cli::CommandId id, const cli::Args& a);
// The autoupgrade lines of the running configuration (no trailing "!").
size_t render_autoupgrade(char* out, size_t cap);
void cmd_show_autoupgrade(const cli::Args& a);
void cmd_debug_autoupgrade(const cli::Args& a);
void cmd_upgrade_automatic(cli::CommandId id, const cli::Args& a);

// nvram:invalid-config: the startup-config lines this image's parser did
// not accept at the last boot (system.cc).
void cmd_more_invalid_config();
// Prints the stored lines in the `show autoupgrade configuration unknown`
// form.
void print_invalid_config();

// The log buffer (logging.cc): a console log message ("*Nov 29
// 00:00:05.123: TEXT") that show logging lists too.
void log_stamp();
void log_message(const char* text);
void cmd_show_logging();

// A reload the Auto-Upgrade Manager schedules (reload.cc): `delay`
// seconds from now (0: now), with the capture's lines naming `image`.
// at_form: the time was given as hh:mm. False if it was not scheduled.
void schedule_upgrade_reload(uint64_t delay, bool at_form, const char* image);
// True if the scheduled reload is an upgrade; cancels it like reload cancel.
bool upgrade_reload_pending();
void cancel_scheduled_reload();

// Downloads a tftp:/ftp:/http:/https: URL into RAM at buf (at most cap
// bytes), printing the Loading line and its '!' (netcopy.cc); an https:
// server must chain to a trustpoint's CA. On failure prints the IOS error,
// sets *status to the engine's TS_NETXFER_* reason and returns false.
bool net_fetch(const char* src, uint8_t* buf, uint64_t cap, uint64_t* size, uint64_t* status);
// One quiet GET of the http:/https: `url` with `query` (escaped, without
// the '?') appended: the answer's first `cap` bytes into buf, no Loading
// line. Errors as net_fetch's; the printed URL never holds the query.
bool net_ask(const char* url, const char* query, uint8_t* buf, uint64_t cap, uint64_t* size, uint64_t* status);
// Appends `s` to out[*n..cap) percent-escaped (all but letters, digits and . - _ ~).
void url_escape(const char* s, char* out, size_t cap, size_t* n);
// The IOS wording of a transfer engine status ("Connection refused").
const char* net_error_text(uint64_t status);

// Verifies a bootflash: file with the boot chain's policy (authenticity.cc).
// Returns the verdict text ("" if it verifies); prints the I/O error and
// returns nullptr if the file cannot be read.
const char* verify_file_verdict(const char* name);

// IOS wording for a file system error ("No such file or directory").
const char* ios_error(bfs::Status st);

// Reads a whole bootflash: file into the staging buffer; prints the error.
bool load_file(const char* name, uint64_t* size);

}  // namespace os
