// CLI engine of the trustsim OS image: IOS XE-style modes, prompts, a static
// command grammar, abbreviation matching, `?` help and the IOS error forms.
// Behaviour and syntax follow Cisco IOS XE 16.12 ("Loading and Managing
// System Images") and the console captures in ios-outputs.md; the rules are
// written down in docs/os-cli.md.
//
// Freestanding C++17: no heap, no exceptions, no RTTI, no libc (only the
// compiler's mem*/strlen builtins), fixed-size buffers, so the same code
// runs in the aarch64 firmware, in host unit tests and under a fuzzer.
// The engine knows nothing about devices: it parses a line and hands a
// command id plus the parsed arguments to a Handler.
//
// Not modelled: Ctrl-Z, `do`, output modifiers (`| include`), command
// history, Tab completion (the line editor's job), privilege levels and
// passwords, interface/line sub-modes.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::cli {

constexpr size_t kMaxLine = 512;                  // characters in one command line
constexpr size_t kMaxArgs = 8;                    // recorded arguments per command
constexpr size_t kMaxHostname = 63;               // RFC 1035 label length, as IOS
constexpr size_t kMaxHelpEntries = 40;            // lines one `?` listing can show
constexpr size_t kMaxPrompt = kMaxHostname + 16;  // "(ca-trustpoint)#"

// kTrustpoint: the `crypto pki trustpoint NAME` submode of kConfig.
enum class Mode : uint8_t { kUserExec, kPrivExec, kConfig, kTrustpoint };
constexpr size_t kModeCount = 4;

// What a complete command line means. The engine itself acts on the first
// group (modes, hostname) and then reports them to the Handler like the
// others; everything else is only reported.
enum class CommandId : uint8_t {
  kNone = 0,
  // Modes and session (engine built-ins).
  kEnable,             // enable
  kDisable,            // disable
  kConfigureTerminal,  // configure terminal
  kEnd,                // end                        (config)
  kExit,               // exit                       (config -> privileged EXEC; submode -> config)
  kLogout,             // exit | logout              (EXEC: the OS ends the session)
  kHostname,           // [no] hostname WORD         (config)
  // show
  kShowVersion,
  kShowSoftwareAuthenticityRunning,
  kShowSoftwareAuthenticityFile,  // kPath
  kShowSoftwareAuthenticityKeys,
  kShowSoftwareAuthenticityUpgradeStatus,
  kShowPlatformIntegrity,        // [kSign [kNonce]]
  kShowPlatformSudiCertificate,  // [kSign [kNonce]]
  kShowFileSystem,               // show bootflash: | flash:   kFileSystem
  kShowRunningConfig,
  kShowStartupConfig,
  kShowBoot,
  // Files and images (privileged EXEC)
  kDir,          // [kPath]
  kDelete,       // [kForce] kPath
  kRename,       // kSource kDestination
  kCopy,         // kSource kDestination
  kMore,         // kPath
  kFormat,       // kFileSystem
  kVerify,       // kPath
  kWriteMemory,  // write [memory]
  kReload,
  kReloadIn,                       // reload in kValue (minutes)
  kReloadAt,                       // reload at kValue (minutes after midnight) [kDay kMonth]
  kReloadCancel,                   // reload cancel
  kShowReload,                     // show reload
  kDebugSoftwareAuthenticity,      // [no|undebug] ... kCategory
  kUndebugAll,                     // undebug all | no debug all
  kSoftwareAuthenticityKeyAdd,     // kKeyType
  kSoftwareAuthenticityKeyRevoke,  // kKeyType
  kUpgradeRomMonitor,              // kPath [kLocation]
  // Global configuration
  kBootSystem,                // [no] boot system [flash] [kPath]
  kConfigRegister,            // config-register kValue
  kIpFtpUsername,             // [no] ip ftp username [kName]
  kIpFtpPassword,             // [no] ip ftp password [kName]
  kIpDomainName,              // [no] ip domain name [kName]
  kFilePrompt,                // [no] file prompt [kPromptLevel]
  kIpNameServer,              // [no] ip name-server [kName]
  kPing,                      // ping kName                        (EXEC)
  kCryptoPkiTrustpoint,       // [no] crypto pki trustpoint kName   (config -> trustpoint submode)
  kCryptoPkiCertificateCa,    // [no] crypto pki certificate ca kName [kText]  (saved CA certificate part)
  kCryptoCaAuthenticate,      // crypto ca authenticate kName      (config)
  kTrustpointEnrollment,      // [no] enrollment terminal          (trustpoint submode)
  kTrustpointRevocationNone,  // [no] revocation-check none        (trustpoint submode)
  // Auto-Upgrade Manager (docs/aum.md)
  kAutoupgradeDiskCleanup,        // [no] autoupgrade disk-cleanup kCategory (number = AumCleanup)   (config)
  kAutoupgradeIdaUrl,             // [no] autoupgrade ida url [kPath]                                 (config)
  kAutoupgradeEmailRecipient,     // [no] autoupgrade status email recipient [kName]                  (config)
  kAutoupgradeSmtpServer,         // [no] autoupgrade status email smtp-server [kName]                (config)
  kShowAutoupgradeConfiguration,  // show autoupgrade configuration [kUnknown]
  kDebugAutoupgrade,              // [no|undebug] debug autoupgrade
  kShowLogging,                   // show logging
  kUpgradeAutomatic,              // upgrade automatic (interactive)
  kUpgradeAutomaticGetversion,    // kPath | kCisco kUser kPassword kImage; [kWhen [kValue]] [kDiskManagement]
  kUpgradeAutomaticRunversion,    // [kWhen [kValue]]
  kUpgradeAutomaticAbortversion,  // upgrade automatic abortversion
  kCount
};
const char* command_name(CommandId id);  // "show version", for logs and tests

// Kinds of token a grammar node matches.
enum class TokenType : uint8_t {
  kKeyword,  // fixed word; unambiguous prefixes and any case accepted
  kWord,     // one token, any printable characters
  kLine,     // the rest of the line (spaces included)
  kNumber,   // decimal, within [min, max]
  kHex,      // 0x followed by hex digits, within [min, max]
  kUrl,      // `prefix:rest` for the node's file systems, or a bare name
  kTime,     // hh:mm (number = minutes); min 0: a time of day, min 1: a delay [hh:]mm
};

// File systems a URL token may name. kRunningConfig/kStartupConfig are the
// `running-config`/`startup-config` keywords of `copy`, reported in the same
// Arg::number slot so a copy handler can switch on one value.
enum class FileSystem : uint8_t {
  kNone = 0,  // bare name without prefix: relative to the current directory
  kBootflash,
  kFlash,  // alias of bootflash: on this board
  kNvram,
  kTftp,
  kFtp,
  kHttp,
  kHttps,
  kRunningConfig,
  kStartupConfig,
};
constexpr uint32_t fs_bit(FileSystem fs) { return 1u << uint32_t(fs); }
constexpr uint32_t kLocalFs = fs_bit(FileSystem::kBootflash) | fs_bit(FileSystem::kFlash) | fs_bit(FileSystem::kNvram);
constexpr uint32_t kRemoteFs =
    fs_bit(FileSystem::kTftp) | fs_bit(FileSystem::kFtp) | fs_bit(FileSystem::kHttp) | fs_bit(FileSystem::kHttps);
const char* fs_prefix(FileSystem fs);  // "bootflash:"; nullptr for kNone and the config keywords
bool is_remote(FileSystem fs);

// Values the keyword alternatives of the default grammar report in Arg::number.
enum class DebugCategory : uint8_t { kEnvelope, kErrors, kKey, kRevocation, kShow, kVerbose };
enum class KeyType : uint8_t { kProduction, kSpecial };
enum class RomLocation : uint8_t { kAll, kR0 };
enum class FilePrompt : uint8_t { kAlert, kNoisy, kQuiet };
enum class AumCleanup : uint8_t { kCrashinfo, kCore, kImage, kIrrecoverable };
enum class AumWhen : uint8_t { kAt, kNow, kIn };  // kValue: minutes after midnight (at) or of delay (in)
enum class AumDisk : uint8_t { kAuto, kConfirm, kNo };

// Which argument a matched token is, so handlers look arguments up by role.
enum class ArgTag : uint8_t {
  kNone = 0,        // the token is not recorded
  kPath,            // URL or file name
  kSource,          // copy/rename source
  kDestination,     // copy/rename destination
  kFileSystem,      // show bootflash:, format flash:  (number = FileSystem)
  kForce,           // delete /force
  kSign,            // ... sign
  kNonce,           // ... nonce N                    (number = N)
  kCategory,        // debug category                 (number = DebugCategory)
  kKeyType,         // production | special           (number = KeyType)
  kLocation,        // upgrade rom-monitor ... all|r0 (number = RomLocation)
  kFlash,           // boot system flash
  kValue,           // config-register 0xNNNN         (number = value)
  kName,            // hostname / ftp username / password / domain name
  kText,            // free text (LINE parameters)
  kPromptLevel,     // file prompt alert|noisy|quiet (number = FilePrompt)
  kDay,             // reload at ... day             (number = 1..31)
  kMonth,           // reload at ... month           (number = 0..11)
  kUnknown,         // show autoupgrade configuration unknown
  kCisco,           // upgrade automatic getversion cisco ...
  kUser,            // ... username WORD
  kPassword,        // ... password WORD
  kImage,           // ... image WORD
  kWhen,            // ... at | now | in              (number = AumWhen)
  kDiskManagement,  // ... disk-management auto|confirm|no (number = AumDisk)
};

// One recorded token. `text` is NUL-terminated: the canonical keyword for
// keywords, the typed text for parameters. `number` is the numeric value
// (numbers), the FileSystem (URLs; kNone for a bare name) or the keyword's
// value (keywords). Valid only during Handler::execute.
struct Arg {
  ArgTag tag;
  TokenType type;
  const char* text;
  uint32_t number;
};

struct Args {
  bool negated = false;  // the line started with `no` or `undebug`
  uint8_t count = 0;
  Arg items[kMaxArgs] = {};

  const Arg* find(ArgTag tag) const;
  bool has(ArgTag tag) const { return find(tag) != nullptr; }
  const char* text(ArgTag tag) const;  // nullptr if absent
  uint32_t number(ArgTag tag, uint32_t fallback = 0) const;
};

// A URL argument split into its parts; spans point into the argument text.
struct Span {
  const char* data;
  size_t size;
};
struct Url {
  FileSystem fs;
  Span user, password, host;  // remote only; empty if not given
  Span path;                  // local: after `prefix:`; remote: after `//host/`; bare: the whole name
};
// False if `text` names no known file system (`foo:bar`) or a remote URL is
// malformed. Accepts every form a kUrl token accepts.
bool split_url(const char* text, Url* out);

// ---- grammar ----

enum NodeFlag : uint8_t {
  kNegates = 1,   // `no` / `undebug`: sets Args::negated
  kBareName = 2,  // kUrl: a name without `prefix:` is accepted (fs = kNone)
};

struct Node;
struct NodeList {
  const Node* nodes;
  uint8_t count;
};

// One token of the grammar. Built with the constexpr helpers below, so every
// table is constant data (the firmware runs no static constructors).
struct Node {
  TokenType type = TokenType::kKeyword;
  uint8_t flags = 0;
  ArgTag tag = ArgTag::kNone;
  CommandId command = CommandId::kNone;  // != kNone: a command may end here
  const char* text = nullptr;            // keyword, or "WORD"/"LINE"
  const char* help = nullptr;            // kUrl: "%s" stands for each prefix
  uint32_t min = 0, max = 0;             // kNumber/kHex range; kUrl: file-system mask in max
  uint32_t value = 0;                    // keyword: reported in Arg::number
  NodeList children = {nullptr, 0};

  constexpr Node then(NodeList c) const {
    Node n = *this;
    n.children = c;
    return n;
  }
  constexpr Node runs(CommandId c) const {
    Node n = *this;
    n.command = c;
    return n;
  }
  constexpr Node as(ArgTag t) const {
    Node n = *this;
    n.tag = t;
    return n;
  }
  constexpr Node with_value(uint32_t v) const {
    Node n = *this;
    n.value = v;
    return n;
  }
  constexpr Node with_flags(uint8_t f) const {
    Node n = *this;
    n.flags = uint8_t(n.flags | f);
    return n;
  }
};

constexpr Node keyword(const char* text, const char* help) {
  Node n;
  n.text = text;
  n.help = help;
  return n;
}
constexpr Node word(const char* help) {
  Node n;
  n.type = TokenType::kWord;
  n.text = "WORD";
  n.help = help;
  return n;
}
constexpr Node rest_of_line(const char* help) {
  Node n;
  n.type = TokenType::kLine;
  n.text = "LINE";
  n.help = help;
  return n;
}
constexpr Node number(uint32_t min, uint32_t max, const char* help) {
  Node n;
  n.type = TokenType::kNumber;
  n.help = help;
  n.min = min;
  n.max = max;
  return n;
}
constexpr Node hex_number(uint32_t min, uint32_t max, const char* help) {
  Node n = number(min, max, help);
  n.type = TokenType::kHex;
  return n;
}
// hh:mm, hours 0..23 and minutes 0..59; the value is minutes after midnight.
constexpr Node time_of_day(const char* help) {
  Node n;
  n.type = TokenType::kTime;
  n.text = "hh:mm";
  n.help = help;
  n.min = 0;
  n.max = 23 * 60 + 59;
  return n;
}
// [hh:]mm, a delay of 1 minute up to `max_minutes`; the value is minutes.
constexpr Node time_delay(uint32_t max_minutes, const char* help) {
  Node n = time_of_day(help);
  n.text = "[hh:]mm";
  n.min = 1;
  n.max = max_minutes;
  return n;
}
constexpr Node url(uint32_t fs_mask, const char* help) {
  Node n;
  n.type = TokenType::kUrl;
  n.text = "WORD";
  n.help = help;
  n.max = fs_mask;
  return n;
}
template <size_t N>
constexpr NodeList list(const Node (&nodes)[N]) {
  static_assert(N < 256, "too many alternatives");
  return NodeList{nodes, uint8_t(N)};
}

// The command tree of each mode (indexed by Mode).
struct Grammar {
  NodeList roots[kModeCount];
};
extern const Grammar kDefaultGrammar;

// Checks the invariants the engine relies on (every path ends in a command,
// no duplicate keywords, listings fit, arguments fit). Returns true if the
// grammar is sound; otherwise writes a reason into `why`.
bool check_grammar(const Grammar& g, char* why, size_t cap);

// ---- interfaces to the OS ----

class Output {
 public:
  virtual void write(const char* data, size_t len) = 0;

 protected:
  ~Output() = default;  // never deleted through this interface (no heap)
};

class Engine;

// What a handler may use while it runs.
class Context {
 public:
  constexpr Context(Engine& engine, Output& out, Mode typed_in) : engine_(engine), out_(out), mode_(typed_in) {}
  Engine& engine() const { return engine_; }
  Output& out() const { return out_; }
  Mode mode() const { return mode_; }  // the mode the command was typed in
  void print(const char* s) const { out_.write(s, __builtin_strlen(s)); }

 private:
  Engine& engine_;
  Output& out_;
  Mode mode_;
};

class Handler {
 public:
  virtual void execute(CommandId id, const Args& args, Context& ctx) = 0;

 protected:
  ~Handler() = default;
};

// Result of one typed line: after `?` help the line editor puts `keep`
// characters (the text before the `?`) back into its buffer, as IOS does.
struct LineResult {
  bool help_shown;
  size_t keep;
};

class Engine {
 public:
  // constexpr, so a global Engine is constant-initialized (no constructor
  // run at boot). The grammar must outlive the engine.
  constexpr Engine(Output& out, Handler& handler, const Grammar& grammar = kDefaultGrammar)
      : out_(&out),
        handler_(&handler),
        grammar_(&grammar),
        mode_(Mode::kUserExec),
        hostname_{'R', 'o', 'u', 't', 'e', 'r'},
        prompt_{'R', 'o', 'u', 't', 'e', 'r', '>'},
        prompt_len_(7) {}

  // One line as typed (a trailing CR/LF is ignored). A `?` anywhere asks for
  // help at that point; what follows it is discarded. Never prints the prompt.
  LineResult process_line(const char* line, size_t len);
  // The two halves of process_line: run a line (no `?`), or list what may
  // follow `line` (the text before the `?`).
  void execute(const char* line, size_t len);
  void help(const char* line, size_t len);

  void write_prompt() { out_->write(prompt_, prompt_len_); }
  const char* prompt() const { return prompt_; }
  size_t prompt_len() const { return prompt_len_; }
  Mode mode() const { return mode_; }
  void set_mode(Mode m);
  const char* hostname() const { return hostname_; }
  // Validates like `hostname`: 1-63 letters, digits and hyphens, starting
  // with a letter and not ending with a hyphen.
  bool set_hostname(const char* name);
  // Back to user EXEC after a logout; the hostname stays.
  void reset() { set_mode(Mode::kUserExec); }

 private:
  void run(CommandId id, const Args& args);
  void update_prompt();
  void print(const char* s) { out_->write(s, __builtin_strlen(s)); }
  void print_caret(size_t column);

  Output* out_;
  Handler* handler_;
  const Grammar* grammar_;
  Mode mode_;
  char hostname_[kMaxHostname + 1];
  char prompt_[kMaxPrompt + 1];
  size_t prompt_len_;
};

}  // namespace trustsim::cli
