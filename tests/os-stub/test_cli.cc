// CLI engine of the OS image: modes, matching, help and the IOS error forms
// (docs/os-cli.md). Expected texts are written out in full on purpose.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/cli.h"

namespace cli = trustsim::cli;
using cli::ArgTag;
using cli::CommandId;
using cli::FilePrompt;
using cli::FileSystem;
using cli::Mode;

namespace {

class StringOutput final : public cli::Output {
 public:
  void write(const char* data, size_t len) override { text.append(data, len); }
  std::string text;
};

struct RecordedArg {
  ArgTag tag;
  std::string text;
  uint32_t number;
};

struct Call {
  CommandId id;
  bool negated;
  Mode typed_in;
  std::vector<RecordedArg> args;

  const RecordedArg* arg(ArgTag tag) const {
    for (const auto& a : args)
      if (a.tag == tag) return &a;
    return nullptr;
  }
  // The argument with this tag; a missing one fails the test (no crash).
  const RecordedArg& at(ArgTag tag) const {
    static const RecordedArg missing{ArgTag::kNone, "<missing>", 0xDEADBEEF};
    if (const RecordedArg* a = arg(tag)) return *a;
    ADD_FAILURE() << "argument " << int(tag) << " missing from " << cli::command_name(id);
    return missing;
  }
};

class RecordingHandler final : public cli::Handler {
 public:
  void execute(CommandId id, const cli::Args& args, cli::Context& ctx) override {
    Call c{id, args.negated, ctx.mode(), {}};
    for (size_t i = 0; i < args.count; ++i)
      c.args.push_back({args.items[i].tag, args.items[i].text, args.items[i].number});
    calls.push_back(c);
    if (!reply.empty()) ctx.print(reply.c_str());
  }
  std::vector<Call> calls;
  std::string reply;
};

class Cli : public ::testing::Test {
 protected:
  // Types one line and returns what the engine printed for it.
  std::string type(const std::string& line) {
    out.text.clear();
    last = engine.process_line(line.data(), line.size());
    return out.text;
  }
  // Types a line that must run exactly one command; returns that call.
  Call run(const std::string& line) {
    size_t before = handler.calls.size();
    std::string printed = type(line);
    EXPECT_EQ(printed, "") << "line: " << line;
    EXPECT_EQ(handler.calls.size(), before + 1) << "line: " << line;
    if (handler.calls.size() != before + 1) return Call{CommandId::kNone, false, Mode::kUserExec, {}};
    return handler.calls.back();
  }
  void privileged() { engine.set_mode(Mode::kPrivExec); }
  void config() { engine.set_mode(Mode::kConfig); }

  StringOutput out;
  RecordingHandler handler;
  cli::Engine engine{out, handler};
  cli::LineResult last{};
};

std::string caret_at(size_t column) {
  return std::string(column, ' ') + "^\n% Invalid input detected at '^' marker.\n\n";
}

const std::string kIncomplete = "% Incomplete command.\n\n";
const std::string kUnrecognized = "% Unrecognized command\n";

// ---------------------------------------------------------------------------
// Modes and prompts
// ---------------------------------------------------------------------------

TEST_F(Cli, StartsInUserExecWithRouterPrompt) {
  EXPECT_EQ(engine.mode(), Mode::kUserExec);
  EXPECT_STREQ(engine.prompt(), "Router>");
  engine.write_prompt();
  EXPECT_EQ(out.text, "Router>");
}

TEST_F(Cli, EnableConfigureEndDisableWalkTheModes) {
  EXPECT_EQ(run("enable").id, CommandId::kEnable);
  EXPECT_STREQ(engine.prompt(), "Router#");
  EXPECT_EQ(run("configure terminal").id, CommandId::kConfigureTerminal);
  EXPECT_STREQ(engine.prompt(), "Router(config)#");
  Call end = run("end");
  EXPECT_EQ(end.id, CommandId::kEnd);
  EXPECT_EQ(end.typed_in, Mode::kConfig);
  EXPECT_STREQ(engine.prompt(), "Router#");
  EXPECT_EQ(run("conf t").id, CommandId::kConfigureTerminal);
  EXPECT_EQ(run("exit").id, CommandId::kExit);
  EXPECT_EQ(engine.mode(), Mode::kPrivExec);
  EXPECT_EQ(run("disable").id, CommandId::kDisable);
  EXPECT_STREQ(engine.prompt(), "Router>");
}

TEST_F(Cli, ExitAndLogoutInExecAskTheHostAndKeepTheMode) {
  Call c = run("exit");
  EXPECT_EQ(c.id, CommandId::kLogout);
  EXPECT_EQ(engine.mode(), Mode::kUserExec);
  privileged();
  EXPECT_EQ(run("logout").id, CommandId::kLogout);
  EXPECT_EQ(run("exi").id, CommandId::kLogout);
  EXPECT_EQ(engine.mode(), Mode::kPrivExec);
  engine.reset();
  EXPECT_STREQ(engine.prompt(), "Router>");
}

TEST_F(Cli, HostnameChangesEveryPrompt) {
  config();
  Call c = run("hostname R1");
  EXPECT_EQ(c.id, CommandId::kHostname);
  ASSERT_NE(c.arg(ArgTag::kName), nullptr);
  EXPECT_EQ(c.at(ArgTag::kName).text, "R1");
  EXPECT_STREQ(engine.prompt(), "R1(config)#");
  run("end");
  EXPECT_STREQ(engine.prompt(), "R1#");
  run("disable");
  EXPECT_STREQ(engine.prompt(), "R1>");
  EXPECT_STREQ(engine.hostname(), "R1");
}

TEST_F(Cli, NoHostnameRestoresRouter) {
  config();
  run("hostname edge-7");
  Call c = run("no hostname");
  EXPECT_TRUE(c.negated);
  EXPECT_EQ(c.id, CommandId::kHostname);
  EXPECT_STREQ(engine.prompt(), "Router(config)#");
}

TEST_F(Cli, InvalidHostnameIsRefusedAndNotReported) {
  config();
  const std::string refused =
      "% Hostname not changed: use 1-63 letters, digits and hyphens, starting with a letter and not ending with a "
      "hyphen.\n";
  EXPECT_EQ(type("hostname 1abc"), refused);
  EXPECT_EQ(type("hostname ab.c"), refused);
  EXPECT_EQ(type("hostname abc-"), refused);
  EXPECT_EQ(type("hostname " + std::string(64, 'a')), refused);
  EXPECT_TRUE(handler.calls.empty());
  EXPECT_STREQ(engine.prompt(), "Router(config)#");
  std::string longest = "h" + std::string(62, '9');
  run("hostname " + longest);
  EXPECT_EQ(std::string(engine.prompt()), longest + "(config)#");
  EXPECT_FALSE(engine.set_hostname(""));
  EXPECT_FALSE(engine.set_hostname(nullptr));
  EXPECT_TRUE(engine.set_hostname("A-1"));
  EXPECT_STREQ(engine.prompt(), "A-1(config)#");
}

TEST_F(Cli, HandlerSeesTheModeTheCommandWasTypedInAndCanPrint) {
  handler.reply = "done\n";
  out.text.clear();
  engine.process_line("enable", 6);
  EXPECT_EQ(out.text, "done\n");
  ASSERT_EQ(handler.calls.size(), 1u);
  EXPECT_EQ(handler.calls[0].typed_in, Mode::kUserExec);
  EXPECT_EQ(engine.mode(), Mode::kPrivExec);
}

// ---------------------------------------------------------------------------
// Matching: abbreviations, case, spaces
// ---------------------------------------------------------------------------

TEST_F(Cli, UnambiguousAbbreviationsRunTheFullCommand) {
  privileged();
  EXPECT_EQ(run("sh ver").id, CommandId::kShowVersion);
  EXPECT_EQ(run("sh soft auth run").id, CommandId::kShowSoftwareAuthenticityRunning);
  EXPECT_EQ(run("sh soft auth k").id, CommandId::kShowSoftwareAuthenticityKeys);
  EXPECT_EQ(run("sh soft auth up").id, CommandId::kShowSoftwareAuthenticityUpgradeStatus);
  EXPECT_EQ(run("sh run").id, CommandId::kShowRunningConfig);
  EXPECT_EQ(run("sh star").id, CommandId::kShowStartupConfig);
  EXPECT_EQ(run("wr").id, CommandId::kWriteMemory);
  EXPECT_EQ(run("wr mem").id, CommandId::kWriteMemory);
  EXPECT_EQ(run("rel").id, CommandId::kReload);
  EXPECT_EQ(run("un al").id, CommandId::kUndebugAll);
}

TEST_F(Cli, KeywordsAreCaseInsensitive) {
  privileged();
  EXPECT_EQ(run("SHOW VERSION").id, CommandId::kShowVersion);
  EXPECT_EQ(run("Sh Plat InTeGrItY").id, CommandId::kShowPlatformIntegrity);
  EXPECT_EQ(run("CONF T").id, CommandId::kConfigureTerminal);
}

TEST_F(Cli, AnExactKeywordWinsOverALongerOneItPrefixes) {
  privileged();
  EXPECT_EQ(run("show boot").id, CommandId::kShowBoot);
  Call c = run("show bootf");
  EXPECT_EQ(c.id, CommandId::kShowFileSystem);
  EXPECT_EQ(c.at(ArgTag::kFileSystem).number, uint32_t(FileSystem::kBootflash));
  EXPECT_EQ(c.at(ArgTag::kFileSystem).text, "bootflash:");
}

TEST_F(Cli, LeadingTrailingAndRepeatedSpacesAndTabsAreIgnored) {
  privileged();
  EXPECT_EQ(run("   show    version   ").id, CommandId::kShowVersion);
  EXPECT_EQ(run("\tshow\tversion\t").id, CommandId::kShowVersion);
  EXPECT_EQ(run("show version\r\n").id, CommandId::kShowVersion);
}

TEST_F(Cli, EmptyOrBlankLineDoesNothing) {
  for (const char* line : {"", " ", "      ", "\t", "\r\n", "\n"}) {
    EXPECT_EQ(type(line), "") << "line: [" << line << "]";
    EXPECT_FALSE(last.help_shown);
  }
  EXPECT_TRUE(handler.calls.empty());
  EXPECT_EQ(engine.mode(), Mode::kUserExec);
}

// ---------------------------------------------------------------------------
// Error forms
// ---------------------------------------------------------------------------

TEST_F(Cli, AmbiguousPrefixQuotesTheTrimmedLine) {
  EXPECT_EQ(type("e"), "% Ambiguous command:  \"e\"\n");
  privileged();
  EXPECT_EQ(type("s"), "% Ambiguous command:  \"s\"\n");
  EXPECT_EQ(type("sh s"), "% Ambiguous command:  \"sh s\"\n");
  EXPECT_EQ(type("  sh  s  auth  "), "% Ambiguous command:  \"sh  s  auth\"\n");
  EXPECT_EQ(type("de bootflash:x"), "% Ambiguous command:  \"de bootflash:x\"\n");
  config();
  EXPECT_EQ(type("e"), "% Ambiguous command:  \"e\"\n");
  EXPECT_TRUE(handler.calls.empty());
}

TEST_F(Cli, IncompleteCommands) {
  privileged();
  for (const char* line : {"show", "sh soft", "show software authenticity", "show platform", "show platform sudi",
                           "show platform integrity sign nonce", "copy", "copy bootflash:a.bin", "configure", "delete",
                           "delete /force", "format", "software authenticity key add", "upgrade rom-monitor filename",
                           "debug software", "undebug", "no", "no debug"})
    EXPECT_EQ(type(line), kIncomplete) << "line: " << line;
  config();
  for (const char* line : {"boot", "boot system", "config-register", "hostname", "ip ftp username", "no"})
    EXPECT_EQ(type(line), kIncomplete) << "line: " << line;
  EXPECT_TRUE(handler.calls.empty());
}

TEST_F(Cli, CaretMarksTheFirstBadCharacterAfterThePrompt) {
  privileged();  // "Router#" is 7 columns
  EXPECT_EQ(type("show versoin"), caret_at(7 + 5 + 4));
  EXPECT_EQ(type("shox version"), caret_at(7 + 3));
  EXPECT_EQ(type("show version extra"), caret_at(7 + 13));
  EXPECT_EQ(type("   show versoin"), caret_at(7 + 3 + 5 + 4));
  EXPECT_EQ(type("zzz"), caret_at(7));
  EXPECT_EQ(type("show bootflash:x"), caret_at(7 + 5 + 10));
  EXPECT_TRUE(handler.calls.empty());
}

TEST_F(Cli, CaretColumnFollowsThePromptLength) {
  EXPECT_EQ(type("show versoin"), caret_at(7 + 5 + 4));  // Router>
  config();                                              // Router(config)#
  EXPECT_EQ(type("hostnmae R1"), caret_at(15 + 5));      // "hostn" fits
  run("hostname R1");                                    // R1(config)#, as in the IOS capture
  EXPECT_EQ(type("logging 0255.255.1"), caret_at(11));
  EXPECT_EQ(type("boot sys fl bootflash:a tftp:"), caret_at(11 + 24));
  run("end");  // R1#
  EXPECT_EQ(type("show versoin"), caret_at(3 + 5 + 4));
  config();
  std::string host = "h" + std::string(62, 'x');
  run("hostname " + host);
  EXPECT_EQ(type("boot systme"), caret_at(63 + 9 + 5 + 4));
}

TEST_F(Cli, PrivilegedCommandsAreInvalidInputInUserExec) {
  EXPECT_EQ(type("configure terminal"), caret_at(7));
  EXPECT_EQ(type("copy running-config startup-config"), caret_at(7));
  EXPECT_EQ(type("show running-config"), caret_at(7 + 5));
  EXPECT_EQ(type("sh soft auth run"), caret_at(7 + 3));
  EXPECT_EQ(type("reload"), caret_at(7));
  EXPECT_TRUE(handler.calls.empty());
  EXPECT_EQ(engine.mode(), Mode::kUserExec);
}

TEST_F(Cli, ExecCommandsAreInvalidInputInConfigMode) {
  config();
  EXPECT_EQ(type("show version"), caret_at(15));
  EXPECT_EQ(type("copy run start"), caret_at(15 + 2));  // "co" of config-register
  EXPECT_EQ(type("reload"), caret_at(15));
  EXPECT_TRUE(handler.calls.empty());
}

TEST_F(Cli, LineLongerThanTheBufferIsRefusedWithoutRunning) {
  privileged();
  const std::string refused = "% Line too long: at most 512 characters are accepted; nothing was done.\n\n";
  std::string just_fits = "show version" + std::string(cli::kMaxLine - 12, ' ');
  ASSERT_EQ(just_fits.size(), cli::kMaxLine);
  EXPECT_EQ(run(just_fits).id, CommandId::kShowVersion);
  EXPECT_EQ(type(just_fits + " "), refused);
  EXPECT_EQ(type("show version " + std::string(100000, 'x')), refused);
  EXPECT_EQ(type(std::string(100000, 'x') + "?"), refused);
  EXPECT_EQ(type("copy bootflash:" + std::string(600, 'a') + " tftp:"), refused);
  EXPECT_EQ(handler.calls.size(), 1u);
}

TEST_F(Cli, CaretFarIntoALongLine) {
  privileged();
  std::string line = "show" + std::string(400, ' ') + "versoin";
  EXPECT_EQ(type(line), caret_at(7 + 404 + 4));
}

TEST_F(Cli, LongestArgumentsFitTheArgumentStore) {
  privileged();
  std::string a = "bootflash:" + std::string(240, 'a');
  std::string b = "bootflash:" + std::string(240, 'b');
  Call c = run("copy " + a + " " + b);
  EXPECT_EQ(c.at(ArgTag::kSource).text, a);
  EXPECT_EQ(c.at(ArgTag::kDestination).text, b);
}

TEST_F(Cli, ControlAndNonAsciiBytesAreInvalidInput) {
  privileged();
  EXPECT_EQ(type(std::string("show\x01version")), caret_at(7 + 4));
  EXPECT_EQ(type(std::string("show ver\0sion", 13)), caret_at(7 + 8));
  EXPECT_EQ(type("show \xc3\xa9"), caret_at(7 + 5));
  EXPECT_EQ(type("\x1b[A"), caret_at(7));
  // Where a parameter would otherwise take the byte, it is still refused.
  EXPECT_EQ(type(std::string("delete a\x07.bin")), caret_at(7 + 8));
  EXPECT_EQ(type(std::string("dir bootflash:\x7f")), caret_at(7 + 14));
  config();
  EXPECT_EQ(type(std::string("hostname R\x01")), caret_at(15 + 10));
  EXPECT_TRUE(handler.calls.empty());
}

// ---------------------------------------------------------------------------
// `?` help
// ---------------------------------------------------------------------------

TEST_F(Cli, QuestionMarkAtTheStartListsTheModeCommands) {
  EXPECT_EQ(type("?"),
            "  enable Enter privileged EXEC mode\n"
            "  exit   End this console session\n"
            "  logout End this console session\n"
            "  ping   Send echo messages\n"
            "  show   Display system state\n"
            "\n");
  EXPECT_TRUE(last.help_shown);
  EXPECT_EQ(last.keep, 0u);
  config();
  EXPECT_EQ(type("?"),
            "  autoupgrade     Auto-Upgrade Manager settings\n"
            "  boot            Boot-time settings\n"
            "  config-register Set the configuration register\n"
            "  crypto          Encryption settings\n"
            "  end             Leave configuration mode\n"
            "  exit            Leave configuration mode\n"
            "  file            File system settings\n"
            "  hostname        Set the name of this system\n"
            "  ip              IP settings\n"
            "  no              Undo a command or restore its default\n"
            "\n");
}

TEST_F(Cli, ShowQuestionMarkDependsOnTheMode) {
  EXPECT_EQ(type("show ?"),
            "  version Software, ROMmon and hardware summary\n"
            "\n");
  EXPECT_EQ(last.keep, 5u);
  privileged();
  EXPECT_EQ(type("show ?"),
            "  autoupgrade    Auto-Upgrade Manager\n"
            "  boot           Boot variable and configuration register\n"
            "  bootflash:     Files on bootflash:\n"
            "  flash:         Files on flash:\n"
            "  logging        The log buffer\n"
            "  platform       Platform identity and integrity\n"
            "  reload         Scheduled reload\n"
            "  running-config Configuration in effect now\n"
            "  software       Software image management\n"
            "  startup-config Configuration saved in NVRAM\n"
            "  version        Software, ROMmon and hardware summary\n"
            "\n");
}

TEST_F(Cli, CrIsListedWhereTheCommandIsComplete) {
  privileged();
  EXPECT_EQ(type("show version ?"),
            "  <cr> <cr>\n"
            "\n");
  EXPECT_EQ(type("sh plat integrity ?"),
            "  sign Sign the output with the device identity key\n"
            "  <cr> <cr>\n"
            "\n");
  EXPECT_EQ(type("sh plat integrity sign ?"),
            "  nonce Bind the signature to a nonce\n"
            "  <cr>  <cr>\n"
            "\n");
  EXPECT_EQ(type("show platform sudi certificate sign nonce 7 ?"),
            "  <cr> <cr>\n"
            "\n");
  EXPECT_EQ(type("write ?"),
            "  memory Save the running configuration to NVRAM\n"
            "  <cr>   <cr>\n"
            "\n");
}

TEST_F(Cli, NumberPlaceholdersShowTheirRange) {
  privileged();
  EXPECT_EQ(type("show platform integrity sign nonce ?"),
            "  <0-4294967295> Nonce to include in the signed output\n"
            "\n");
  config();
  EXPECT_EQ(type("config-register ?"),
            "  <0x0-0xFFFF> Configuration register value\n"
            "\n");
  EXPECT_EQ(type("hostname ?"),
            "  WORD Name of this system\n"
            "\n");
}

TEST_F(Cli, UrlParametersListEachFileSystemSorted) {
  privileged();
  EXPECT_EQ(type("copy ?"),
            "  bootflash:     Copy from bootflash:\n"
            "  flash:         Copy from flash:\n"
            "  ftp:           Copy from ftp:\n"
            "  http:          Copy from http:\n"
            "  https:         Copy from https:\n"
            "  nvram:         Copy from nvram:\n"
            "  running-config Copy the configuration in effect now\n"
            "  startup-config Copy the configuration saved in NVRAM\n"
            "  tftp:          Copy from tftp:\n"
            "\n");
  EXPECT_EQ(type("copy run ?"),
            "  bootflash:     Copy to bootflash:\n"
            "  flash:         Copy to flash:\n"
            "  ftp:           Copy to ftp:\n"
            "  http:          Copy to http:\n"
            "  https:         Copy to https:\n"
            "  nvram:         Copy to nvram:\n"
            "  running-config Merge into the configuration in effect now\n"
            "  startup-config Save as the configuration in NVRAM\n"
            "  tftp:          Copy to tftp:\n"
            "\n");
  EXPECT_EQ(type("delete ?"),
            "  /force     Do not ask for confirmation\n"
            "  bootflash: File to delete on bootflash:\n"
            "  flash:     File to delete on flash:\n"
            "  nvram:     File to delete on nvram:\n"
            "\n");
  EXPECT_EQ(type("dir ?"),
            "  bootflash: Directory or file on bootflash:\n"
            "  flash:     Directory or file on flash:\n"
            "  nvram:     Directory or file on nvram:\n"
            "  <cr>       <cr>\n"
            "\n");
}

TEST_F(Cli, PartialWordListsMatchingKeywords) {
  EXPECT_EQ(type("sh?"), "show  \n\n");
  EXPECT_EQ(last.keep, 2u);
  EXPECT_EQ(type("e?"), "enable  exit  \n\n");
  privileged();
  EXPECT_EQ(type("show soft?"), "software  \n\n");
  EXPECT_EQ(type("s?"), "show  software  \n\n");
  EXPECT_EQ(type("d?"), "debug  delete  dir  disable  \n\n");
  EXPECT_EQ(type("SH S?"), "software  startup-config  \n\n");
  EXPECT_EQ(type("show ver?"), "version  \n\n");
  EXPECT_EQ(type("show version?"), "version  \n\n");
  EXPECT_EQ(type("dir boot?"), "bootflash:  \n\n");
  EXPECT_EQ(type("copy f?"), "flash:  ftp:  \n\n");
  EXPECT_EQ(type("copy bootflash:x.bin?"), "WORD  \n\n");
  EXPECT_EQ(type("show platform integrity sign nonce 12?"), "<0-4294967295>  \n\n");
  config();
  EXPECT_EQ(type("hostname fo?"), "WORD  \n\n");
}

TEST_F(Cli, HelpIgnoresWhatFollowsTheQuestionMarkAndKeepsTheTextBeforeIt) {
  privileged();
  EXPECT_EQ(type("show ?version"), type("show ?"));
  EXPECT_EQ(type("sh ver? extra"), "version  \n\n");
  EXPECT_TRUE(last.help_shown);
  EXPECT_EQ(last.keep, 6u);
  EXPECT_TRUE(handler.calls.empty());
}

TEST_F(Cli, HelpAfterAnUnknownFirstWordIsUnrecognized) {
  EXPECT_EQ(type("xyz?"), kUnrecognized);
  EXPECT_EQ(type("xyz ?"), kUnrecognized);
  config();
  EXPECT_EQ(type("copy ?"), kUnrecognized);  // the IOS capture in ios-outputs.md
  EXPECT_EQ(type("copy?"), kUnrecognized);
}

TEST_F(Cli, HelpAfterALaterBadWordShowsTheCaret) {
  privileged();
  EXPECT_EQ(type("show foo ?"), caret_at(7 + 5 + 1));  // "f" of flash:
  EXPECT_EQ(type("show version x?"), kUnrecognized);
  EXPECT_EQ(type("sh s ?"), "% Ambiguous command:  \"sh s\"\n");
}

// ---------------------------------------------------------------------------
// `no` forms
// ---------------------------------------------------------------------------

TEST_F(Cli, NoBootSystemWithAndWithoutAnImage) {
  config();
  Call all = run("no boot system");
  EXPECT_EQ(all.id, CommandId::kBootSystem);
  EXPECT_TRUE(all.negated);
  EXPECT_EQ(all.arg(ArgTag::kPath), nullptr);

  Call one = run("no boot system bootflash:old.SPA.bin");
  EXPECT_TRUE(one.negated);
  ASSERT_NE(one.arg(ArgTag::kPath), nullptr);
  EXPECT_EQ(one.at(ArgTag::kPath).text, "bootflash:old.SPA.bin");
  EXPECT_EQ(one.at(ArgTag::kPath).number, uint32_t(FileSystem::kBootflash));

  Call flash = run("no boot system flash old.bin");
  EXPECT_TRUE(flash.negated);
  EXPECT_NE(flash.arg(ArgTag::kFlash), nullptr);
  EXPECT_EQ(flash.at(ArgTag::kPath).text, "old.bin");

  Call set = run("boot system bootflash:new.SPA.bin");
  EXPECT_FALSE(set.negated);
}

TEST_F(Cli, NoListsOnlyWhatCanBeUndone) {
  config();
  EXPECT_EQ(type("no ?"),
            "  autoupgrade Auto-Upgrade Manager settings\n"
            "  boot        Boot-time settings\n"
            "  crypto      Encryption settings\n"
            "  file        File system settings\n"
            "  hostname    Set the name back to Router\n"
            "  ip          IP settings\n"
            "\n");
  EXPECT_EQ(type("no config-register 0x2102"), caret_at(15 + 4));  // `c` still matches `crypto`
  EXPECT_EQ(type("no end"), caret_at(15 + 3));
  EXPECT_EQ(type("no boot system ?"),
            "  bootflash: Boot image on bootflash:\n"
            "  flash      Entries that boot from flash\n"
            "  flash:     Boot image on flash:\n"
            "  ftp:       Boot image on ftp:\n"
            "  tftp:      Boot image on tftp:\n"
            "  <cr>       <cr>\n"
            "\n");
}

TEST_F(Cli, NoAndUndebugTurnDebugOff) {
  privileged();
  Call d = run("debug software authenticity key");
  EXPECT_EQ(d.id, CommandId::kDebugSoftwareAuthenticity);
  EXPECT_FALSE(d.negated);
  EXPECT_EQ(d.at(ArgTag::kCategory).number, uint32_t(cli::DebugCategory::kKey));

  Call n = run("no debug software authenticity key");
  EXPECT_EQ(n.id, CommandId::kDebugSoftwareAuthenticity);
  EXPECT_TRUE(n.negated);

  Call u = run("undebug software authenticity verbose");
  EXPECT_TRUE(u.negated);
  EXPECT_EQ(u.at(ArgTag::kCategory).text, "verbose");

  EXPECT_EQ(run("undebug all").id, CommandId::kUndebugAll);
  Call na = run("no debug all");
  EXPECT_EQ(na.id, CommandId::kUndebugAll);
  EXPECT_TRUE(na.negated);
}

TEST_F(Cli, NoFtpSettings) {
  config();
  Call u = run("ip ftp username backup");
  EXPECT_EQ(u.id, CommandId::kIpFtpUsername);
  EXPECT_EQ(u.at(ArgTag::kName).text, "backup");
  Call p = run("no ip ftp password");
  EXPECT_EQ(p.id, CommandId::kIpFtpPassword);
  EXPECT_TRUE(p.negated);
  EXPECT_EQ(p.arg(ArgTag::kName), nullptr);
}

TEST_F(Cli, ReloadSchedules) {
  privileged();
  const std::pair<const char*, uint32_t> delays[] = {
      {"reload in 2:00", 120}, {"reload in 10", 10}, {"reload in 100:59", 6059}, {"rel i 0:01", 1}};
  for (const auto& [line, minutes] : delays) {
    Call c = run(line);
    EXPECT_EQ(c.id, CommandId::kReloadIn) << line;
    EXPECT_EQ(c.at(ArgTag::kValue).number, minutes) << line;
  }
  Call at = run("reload at 19:30");
  EXPECT_EQ(at.id, CommandId::kReloadAt);
  EXPECT_EQ(at.at(ArgTag::kValue).number, 19u * 60 + 30);
  EXPECT_EQ(at.arg(ArgTag::kDay), nullptr);
  Call dm = run("reload at 02:00 20 jun");
  EXPECT_EQ(dm.id, CommandId::kReloadAt);
  EXPECT_EQ(dm.at(ArgTag::kDay).number, 20u);
  EXPECT_EQ(dm.at(ArgTag::kMonth).number, 5u);
  Call md = run("reload at 02:00 jun 20");  // the guide's order
  EXPECT_EQ(md.at(ArgTag::kDay).number, 20u);
  EXPECT_EQ(md.at(ArgTag::kMonth).number, 5u);
  EXPECT_EQ(run("reload cancel").id, CommandId::kReloadCancel);
  EXPECT_EQ(run("show reload").id, CommandId::kShowReload);
  EXPECT_EQ(run("reload").id, CommandId::kReload);
  // Times that do not exist: the caret under the bad part, nothing runs.
  size_t before = handler.calls.size();
  EXPECT_EQ(type("reload at 25:00"), caret_at(17));
  EXPECT_EQ(type("reload at 10:60"), caret_at(20));
  EXPECT_EQ(type("reload at 10:5"), caret_at(20));
  EXPECT_EQ(type("reload at 1030"), caret_at(17));
  EXPECT_EQ(type("reload in 0"), caret_at(17));
  EXPECT_EQ(type("reload in 577:00"), caret_at(17));  // over 24 days
  EXPECT_EQ(type("reload at 10:00 32 jun"), caret_at(23));
  EXPECT_EQ(type("reload at 10:00 jun"), kIncomplete);
  EXPECT_EQ(type("reload at 10:00 20"), kIncomplete);
  EXPECT_EQ(handler.calls.size(), before);
}

TEST_F(Cli, FilePromptLevels) {
  config();
  const std::pair<const char*, FilePrompt> levels[] = {{"file prompt alert", FilePrompt::kAlert},
                                                       {"file prompt noisy", FilePrompt::kNoisy},
                                                       {"file prompt quiet", FilePrompt::kQuiet},
                                                       {"fi pr q", FilePrompt::kQuiet}};
  for (const auto& [line, level] : levels) {
    Call c = run(line);
    EXPECT_EQ(c.id, CommandId::kFilePrompt) << line;
    EXPECT_EQ(c.at(ArgTag::kPromptLevel).number, uint32_t(level)) << line;
  }
  Call bare = run("file prompt");  // IOS: the default level
  EXPECT_EQ(bare.id, CommandId::kFilePrompt);
  EXPECT_EQ(bare.arg(ArgTag::kPromptLevel), nullptr);
  Call no = run("no file prompt");
  EXPECT_EQ(no.id, CommandId::kFilePrompt);
  EXPECT_TRUE(no.negated);
  size_t before = handler.calls.size();
  EXPECT_NE(type("file prompt loud").find("% Invalid input detected"), std::string::npos);
  EXPECT_EQ(handler.calls.size(), before);
}

TEST_F(Cli, IpDomainName) {
  config();
  Call d = run("ip domain name example.net");
  EXPECT_EQ(d.id, CommandId::kIpDomainName);
  EXPECT_FALSE(d.negated);
  EXPECT_EQ(d.at(ArgTag::kName).text, "example.net");
  Call n = run("no ip domain name");
  EXPECT_EQ(n.id, CommandId::kIpDomainName);
  EXPECT_TRUE(n.negated);
  EXPECT_EQ(n.arg(ArgTag::kName), nullptr);
  size_t before = handler.calls.size();
  EXPECT_EQ(type("ip domain name"), kIncomplete);  // the name is required
  EXPECT_EQ(handler.calls.size(), before);
}

TEST_F(Cli, AutoupgradeConfiguration) {
  config();
  const std::pair<const char*, cli::AumCleanup> cleanups[] = {
      {"autoupgrade disk-cleanup crashinfo", cli::AumCleanup::kCrashinfo},
      {"autoupgrade disk-cleanup core", cli::AumCleanup::kCore},
      {"autoupgrade disk-cleanup image", cli::AumCleanup::kImage},
      {"autou disk-c irr", cli::AumCleanup::kIrrecoverable}};
  for (const auto& [line, c] : cleanups) {
    Call call = run(line);
    EXPECT_EQ(call.id, CommandId::kAutoupgradeDiskCleanup) << line;
    EXPECT_EQ(call.at(ArgTag::kCategory).number, uint32_t(c)) << line;
  }
  Call all = run("no autoupgrade disk-cleanup");
  EXPECT_TRUE(all.negated);
  EXPECT_EQ(all.arg(ArgTag::kCategory), nullptr);
  Call ida = run("autoupgrade ida url https://ida.example.net/cgi-bin/new-ida/locator/locator.pl");
  EXPECT_EQ(ida.id, CommandId::kAutoupgradeIdaUrl);
  EXPECT_EQ(ida.at(ArgTag::kPath).text, "https://ida.example.net/cgi-bin/new-ida/locator/locator.pl");
  EXPECT_EQ(run("no autoupgrade ida url").id, CommandId::kAutoupgradeIdaUrl);
  Call r = run("autoupgrade status email recipient tree@abc.com");
  EXPECT_EQ(r.id, CommandId::kAutoupgradeEmailRecipient);
  EXPECT_EQ(r.at(ArgTag::kName).text, "tree@abc.com");
  Call m = run("autoupgrade status email smtp-server smtpserver.abc.com");
  EXPECT_EQ(m.id, CommandId::kAutoupgradeSmtpServer);
  EXPECT_EQ(m.at(ArgTag::kName).text, "smtpserver.abc.com");
  Call nm = run("no autoupgrade status email smtp-server");
  EXPECT_EQ(nm.id, CommandId::kAutoupgradeSmtpServer);
  EXPECT_TRUE(nm.negated);
  size_t before = handler.calls.size();
  EXPECT_EQ(type("autoupgrade disk-cleanup"), kIncomplete);
  EXPECT_EQ(type("autoupgrade status email recipient"), kIncomplete);
  EXPECT_NE(type("autoupgrade disk-cleanup logs").find("% Invalid input detected"), std::string::npos);
  EXPECT_EQ(handler.calls.size(), before);
}

TEST_F(Cli, UpgradeAutomatic) {
  privileged();
  EXPECT_EQ(run("upgrade automatic").id, CommandId::kUpgradeAutomatic);
  Call g = run("upgrade automatic getversion tftp://10.1.0.1/c.bin at 07:30 disk-management auto");
  EXPECT_EQ(g.id, CommandId::kUpgradeAutomaticGetversion);
  EXPECT_EQ(g.at(ArgTag::kPath).text, "tftp://10.1.0.1/c.bin");
  EXPECT_EQ(g.at(ArgTag::kWhen).number, uint32_t(cli::AumWhen::kAt));
  EXPECT_EQ(g.at(ArgTag::kValue).number, 7u * 60 + 30);
  EXPECT_EQ(g.at(ArgTag::kDiskManagement).number, uint32_t(cli::AumDisk::kAuto));
  Call plain = run("upgrade automatic getversion ftp://u:p@h/c.bin");
  EXPECT_EQ(plain.arg(ArgTag::kWhen), nullptr);
  EXPECT_EQ(plain.arg(ArgTag::kDiskManagement), nullptr);
  Call in = run("upgrade automatic getversion tftp://h/c.bin in 1:15 disk-management no");
  EXPECT_EQ(in.at(ArgTag::kWhen).number, uint32_t(cli::AumWhen::kIn));
  EXPECT_EQ(in.at(ArgTag::kValue).number, 75u);
  EXPECT_EQ(in.at(ArgTag::kDiskManagement).number, uint32_t(cli::AumDisk::kNo));
  Call now = run("upgrade automatic getversion tftp://h/c.bin now");
  EXPECT_EQ(now.at(ArgTag::kWhen).number, uint32_t(cli::AumWhen::kNow));
  Call dm = run("upgrade automatic getversion tftp://h/c.bin disk-management confirm");
  EXPECT_EQ(dm.at(ArgTag::kDiskManagement).number, uint32_t(cli::AumDisk::kConfirm));
  Call cisco = run("upgrade automatic getversion cisco username bob password s3cret image c1841.bin in 10");
  EXPECT_TRUE(cisco.arg(ArgTag::kCisco) != nullptr);
  EXPECT_EQ(cisco.at(ArgTag::kUser).text, "bob");
  EXPECT_EQ(cisco.at(ArgTag::kPassword).text, "s3cret");
  EXPECT_EQ(cisco.at(ArgTag::kImage).text, "c1841.bin");
  EXPECT_EQ(cisco.at(ArgTag::kValue).number, 10u);
  Call rv = run("upgrade automatic runversion at 10:20");
  EXPECT_EQ(rv.id, CommandId::kUpgradeAutomaticRunversion);
  EXPECT_EQ(rv.at(ArgTag::kValue).number, 10u * 60 + 20);
  EXPECT_EQ(run("upgrade automatic runversion").arg(ArgTag::kWhen), nullptr);
  EXPECT_EQ(run("upgrade automatic runversion now").at(ArgTag::kWhen).number, uint32_t(cli::AumWhen::kNow));
  EXPECT_EQ(run("upgrade automatic abortversion").id, CommandId::kUpgradeAutomaticAbortversion);
  size_t before = handler.calls.size();
  EXPECT_NE(type("upgrade automatic getversion bootflash:x.bin").find("% Invalid input detected"), std::string::npos);
  EXPECT_NE(type("upgrade automatic getversion tftp://h/c.bin at 24:00").find("% Invalid input"), std::string::npos);
  EXPECT_EQ(type("upgrade automatic getversion cisco username bob password x"), kIncomplete);
  EXPECT_NE(type("upgrade automatic runversion disk-management auto").find("% Invalid input"), std::string::npos);
  EXPECT_EQ(handler.calls.size(), before);
  // show and debug
  Call sc = run("show autoupgrade configuration");
  EXPECT_EQ(sc.id, CommandId::kShowAutoupgradeConfiguration);
  EXPECT_EQ(sc.arg(ArgTag::kUnknown), nullptr);
  EXPECT_TRUE(run("show autoupgrade configuration unknown").arg(ArgTag::kUnknown) != nullptr);
  EXPECT_EQ(run("show logging").id, CommandId::kShowLogging);
  Call d = run("debug autoupgrade");
  EXPECT_EQ(d.id, CommandId::kDebugAutoupgrade);
  EXPECT_FALSE(d.negated);
  EXPECT_TRUE(run("undebug autoupgrade").negated);
  EXPECT_TRUE(run("no debug autoupgrade").negated);
}

// ---------------------------------------------------------------------------
// Parameter types
// ---------------------------------------------------------------------------

TEST_F(Cli, DecimalNonceRangeAndBadDigits) {
  privileged();
  Call c = run("show platform integrity sign nonce 4294967295");
  EXPECT_EQ(c.id, CommandId::kShowPlatformIntegrity);
  EXPECT_NE(c.arg(ArgTag::kSign), nullptr);
  EXPECT_EQ(c.at(ArgTag::kNonce).number, 4294967295u);
  EXPECT_EQ(c.at(ArgTag::kNonce).text, "4294967295");
  EXPECT_EQ(run("sh plat int sign non 0").at(ArgTag::kNonce).number, 0u);
  EXPECT_EQ(run("show platform sudi certificate sign nonce 123").id, CommandId::kShowPlatformSudiCertificate);

  const size_t at = 7 + std::string("show platform integrity sign nonce ").size();
  EXPECT_EQ(type("show platform integrity sign nonce 4294967296"), caret_at(at));
  EXPECT_EQ(type("show platform integrity sign nonce 99999999999999999999999"), caret_at(at));
  EXPECT_EQ(type("show platform integrity sign nonce 12x4"), caret_at(at + 2));
  EXPECT_EQ(type("show platform integrity sign nonce -1"), caret_at(at));
  EXPECT_EQ(handler.calls.size(), 3u);
}

TEST_F(Cli, WithoutSignThereIsNoSignOrNonceArgument) {
  privileged();
  Call c = run("show platform integrity");
  EXPECT_EQ(c.arg(ArgTag::kSign), nullptr);
  EXPECT_EQ(c.arg(ArgTag::kNonce), nullptr);
  Call s = run("show platform integrity sign");
  EXPECT_NE(s.arg(ArgTag::kSign), nullptr);
  EXPECT_EQ(s.arg(ArgTag::kNonce), nullptr);
}

TEST_F(Cli, HexConfigRegister) {
  config();
  Call c = run("config-register 0x2102");
  EXPECT_EQ(c.id, CommandId::kConfigRegister);
  EXPECT_EQ(c.at(ArgTag::kValue).number, 0x2102u);
  EXPECT_EQ(run("config-register 0X2142").at(ArgTag::kValue).number, 0x2142u);
  EXPECT_EQ(run("config-register 0xffff").at(ArgTag::kValue).number, 0xFFFFu);
  EXPECT_EQ(run("config-register 0x00000000000002102").at(ArgTag::kValue).number, 0x2102u);

  const size_t at = 15 + 16;  // "Router(config)#" + "config-register "
  EXPECT_EQ(type("config-register 0x10000"), caret_at(at));
  EXPECT_EQ(type("config-register 0x21G2"), caret_at(at + 4));
  EXPECT_EQ(type("config-register 2102"), caret_at(at));
  EXPECT_EQ(type("config-register 0x"), caret_at(at + 2));
  EXPECT_EQ(type("config-register 0"), caret_at(at + 1));
  EXPECT_EQ(type("config-register 0x1ffffffffff"), caret_at(at));
  EXPECT_EQ(handler.calls.size(), 4u);
}

TEST_F(Cli, CopyTakesUrlsAndConfigurationKeywords) {
  privileged();
  Call t = run("copy tftp://10.0.0.1/images/ts.SPA.bin bootflash:ts.SPA.bin");
  EXPECT_EQ(t.id, CommandId::kCopy);
  EXPECT_EQ(t.at(ArgTag::kSource).text, "tftp://10.0.0.1/images/ts.SPA.bin");
  EXPECT_EQ(t.at(ArgTag::kSource).number, uint32_t(FileSystem::kTftp));
  EXPECT_EQ(t.at(ArgTag::kDestination).text, "bootflash:ts.SPA.bin");
  EXPECT_EQ(t.at(ArgTag::kDestination).number, uint32_t(FileSystem::kBootflash));

  Call f = run("copy ftp://myuser:mypass@theserver/tftpboot/sub3/image flash:");
  EXPECT_EQ(f.at(ArgTag::kSource).number, uint32_t(FileSystem::kFtp));
  EXPECT_EQ(f.at(ArgTag::kDestination).text, "flash:");

  Call prompted = run("copy tftp: bootflash:");
  EXPECT_EQ(prompted.at(ArgTag::kSource).text, "tftp:");

  Call rs = run("copy run start");
  EXPECT_EQ(rs.at(ArgTag::kSource).number, uint32_t(FileSystem::kRunningConfig));
  EXPECT_EQ(rs.at(ArgTag::kSource).text, "running-config");
  EXPECT_EQ(rs.at(ArgTag::kDestination).number, uint32_t(FileSystem::kStartupConfig));

  Call up = run("copy startup-config tftp://h/router.cfg");
  EXPECT_EQ(up.at(ArgTag::kDestination).number, uint32_t(FileSystem::kTftp));

  Call bare = run("copy old.bin BOOTFLASH:new.bin");
  EXPECT_EQ(bare.at(ArgTag::kSource).number, uint32_t(FileSystem::kNone));
  EXPECT_EQ(bare.at(ArgTag::kDestination).number, uint32_t(FileSystem::kBootflash));
  EXPECT_EQ(bare.at(ArgTag::kDestination).text, "BOOTFLASH:new.bin");
}

TEST_F(Cli, MalformedUrlsPointAtTheBadCharacter) {
  privileged();
  const size_t at = 7 + 5;  // "Router#" + "copy "
  EXPECT_EQ(type("copy tftp:/x bootflash:"), caret_at(at + 6));
  EXPECT_EQ(type("copy tftp:x bootflash:"), caret_at(at + 5));
  EXPECT_EQ(type("copy tftp:// bootflash:"), caret_at(at + 7));
  EXPECT_EQ(type("copy ftp://user@/f bootflash:"), caret_at(at + 11));
  EXPECT_EQ(type("copy bootflsh:x tftp:"), caret_at(at + 6));
  EXPECT_EQ(type("copy scp://h/x bootflash:"), caret_at(at + 1));  // "s" of startup-config
  EXPECT_EQ(type("dir bootflsh:"), caret_at(7 + 4 + 6));
  EXPECT_EQ(type("dir tftp://h/"), caret_at(7 + 4));  // dir is local only
  EXPECT_TRUE(handler.calls.empty());
}

TEST_F(Cli, SplitUrlGivesTheParts) {
  cli::Url u{};
  ASSERT_TRUE(cli::split_url("ftp://myuser:mypass@172.23.1.129/dirt/sysadmin/your-ios", &u));
  EXPECT_EQ(u.fs, FileSystem::kFtp);
  EXPECT_EQ(std::string(u.user.data, u.user.size), "myuser");
  EXPECT_EQ(std::string(u.password.data, u.password.size), "mypass");
  EXPECT_EQ(std::string(u.host.data, u.host.size), "172.23.1.129");
  EXPECT_EQ(std::string(u.path.data, u.path.size), "dirt/sysadmin/your-ios");

  ASSERT_TRUE(cli::split_url("tftp://10.0.0.1/a.bin", &u));
  EXPECT_EQ(u.fs, FileSystem::kTftp);
  EXPECT_EQ(u.user.size, 0u);
  EXPECT_EQ(std::string(u.host.data, u.host.size), "10.0.0.1");
  EXPECT_EQ(std::string(u.path.data, u.path.size), "a.bin");

  ASSERT_TRUE(cli::split_url("ftp://anon@h", &u));
  EXPECT_EQ(std::string(u.user.data, u.user.size), "anon");
  EXPECT_EQ(u.password.size, 0u);
  EXPECT_EQ(std::string(u.host.data, u.host.size), "h");
  EXPECT_EQ(u.path.size, 0u);

  ASSERT_TRUE(cli::split_url("bootflash:/dir/x.bin", &u));
  EXPECT_EQ(u.fs, FileSystem::kBootflash);
  EXPECT_EQ(std::string(u.path.data, u.path.size), "/dir/x.bin");

  ASSERT_TRUE(cli::split_url("tftp:", &u));
  EXPECT_EQ(u.fs, FileSystem::kTftp);
  EXPECT_EQ(u.host.size, 0u);

  ASSERT_TRUE(cli::split_url("x.bin", &u));
  EXPECT_EQ(u.fs, FileSystem::kNone);
  EXPECT_EQ(std::string(u.path.data, u.path.size), "x.bin");

  EXPECT_FALSE(cli::split_url("scp://h/x", &u));
  EXPECT_FALSE(cli::split_url("tftp:/x", &u));
  EXPECT_FALSE(cli::split_url("ftp://u@/x", &u));
}

TEST_F(Cli, FileCommands) {
  privileged();
  Call dir = run("dir");
  EXPECT_EQ(dir.id, CommandId::kDir);
  EXPECT_TRUE(dir.args.empty());
  EXPECT_EQ(run("dir bootflash:").at(ArgTag::kPath).number, uint32_t(FileSystem::kBootflash));
  EXPECT_EQ(run("dir nvram:").at(ArgTag::kPath).number, uint32_t(FileSystem::kNvram));

  Call del = run("delete bootflash:old.bin");
  EXPECT_EQ(del.id, CommandId::kDelete);
  EXPECT_EQ(del.arg(ArgTag::kForce), nullptr);
  Call force = run("delete /f old.bin");
  EXPECT_NE(force.arg(ArgTag::kForce), nullptr);
  EXPECT_EQ(force.at(ArgTag::kPath).number, uint32_t(FileSystem::kNone));

  Call ren = run("rename bootflash:a.bin bootflash:b.bin");
  EXPECT_EQ(ren.id, CommandId::kRename);
  EXPECT_EQ(ren.at(ArgTag::kSource).text, "bootflash:a.bin");
  EXPECT_EQ(ren.at(ArgTag::kDestination).text, "bootflash:b.bin");

  EXPECT_EQ(run("more flash:notes.txt").id, CommandId::kMore);
  EXPECT_EQ(run("verify bootflash:ts.SPA.bin").id, CommandId::kVerify);
  Call fmt = run("format bootflash:");
  EXPECT_EQ(fmt.id, CommandId::kFormat);
  EXPECT_EQ(fmt.at(ArgTag::kFileSystem).number, uint32_t(FileSystem::kBootflash));
  EXPECT_EQ(run("format flash:").at(ArgTag::kFileSystem).number, uint32_t(FileSystem::kFlash));
  Call sf = run("show flash");
  EXPECT_EQ(sf.id, CommandId::kShowFileSystem);
  EXPECT_EQ(sf.at(ArgTag::kFileSystem).number, uint32_t(FileSystem::kFlash));
  Call auth = run("show software authenticity file bootflash:ts.SSA.bin");
  EXPECT_EQ(auth.id, CommandId::kShowSoftwareAuthenticityFile);
  EXPECT_EQ(auth.at(ArgTag::kPath).text, "bootflash:ts.SSA.bin");
}

TEST_F(Cli, KeyManagementAndRomUpgrade) {
  privileged();
  Call add = run("software authenticity key add production");
  EXPECT_EQ(add.id, CommandId::kSoftwareAuthenticityKeyAdd);
  EXPECT_EQ(add.at(ArgTag::kKeyType).number, uint32_t(cli::KeyType::kProduction));
  Call rev = run("soft auth key rev spec");
  EXPECT_EQ(rev.id, CommandId::kSoftwareAuthenticityKeyRevoke);
  EXPECT_EQ(rev.at(ArgTag::kKeyType).number, uint32_t(cli::KeyType::kSpecial));
  EXPECT_EQ(rev.at(ArgTag::kKeyType).text, "special");
  EXPECT_EQ(rev.arg(ArgTag::kPath), nullptr);
  // The guide's forms take no file: the key comes from the running image.
  handler.calls.clear();
  EXPECT_EQ(type("software authenticity key add production bootflash:rev.SRA.bin"), caret_at(7 + 41));
  EXPECT_EQ(type("software authenticity key revoke production flash:rev.SRA.bin"), caret_at(7 + 44));
  EXPECT_TRUE(handler.calls.empty());

  Call rom = run("upgrade rom-monitor filename bootflash:rommon.SPA.pkg");
  EXPECT_EQ(rom.id, CommandId::kUpgradeRomMonitor);
  EXPECT_EQ(rom.at(ArgTag::kPath).text, "bootflash:rommon.SPA.pkg");
  EXPECT_EQ(rom.arg(ArgTag::kLocation), nullptr);
  Call r0 = run("upgrade rom-monitor file bootflash:rommon.SPA.pkg R0");  // the guide's spelling
  EXPECT_EQ(r0.at(ArgTag::kLocation).number, uint32_t(cli::RomLocation::kR0));
  EXPECT_EQ(run("upgrade rom-monitor filename bootflash:r.pkg all").at(ArgTag::kLocation).number,
            uint32_t(cli::RomLocation::kAll));
}

TEST_F(Cli, EveryDebugCategory) {
  privileged();
  const std::vector<std::pair<std::string, cli::DebugCategory>> categories = {
      {"envelope", cli::DebugCategory::kEnvelope}, {"errors", cli::DebugCategory::kErrors},
      {"key", cli::DebugCategory::kKey},           {"revocation", cli::DebugCategory::kRevocation},
      {"show", cli::DebugCategory::kShow},         {"verbose", cli::DebugCategory::kVerbose}};
  for (const auto& [name, value] : categories) {
    Call c = run("debug software authenticity " + name);
    EXPECT_EQ(c.at(ArgTag::kCategory).number, uint32_t(value)) << name;
    EXPECT_EQ(c.at(ArgTag::kCategory).text, name);
  }
}

TEST_F(Cli, BootSystemForms) {
  config();
  Call url = run("boot system bootflash:ts.SPA.bin");
  EXPECT_EQ(url.id, CommandId::kBootSystem);
  EXPECT_EQ(url.arg(ArgTag::kFlash), nullptr);
  EXPECT_EQ(url.at(ArgTag::kPath).text, "bootflash:ts.SPA.bin");
  EXPECT_EQ(run("boot system tftp://10.0.0.1/ts.bin").at(ArgTag::kPath).number, uint32_t(FileSystem::kTftp));
  Call flash = run("boot system flash ts.SPA.bin");
  EXPECT_NE(flash.arg(ArgTag::kFlash), nullptr);
  EXPECT_EQ(flash.at(ArgTag::kPath).number, uint32_t(FileSystem::kNone));
  Call flash_only = run("boot sys fl");
  EXPECT_NE(flash_only.arg(ArgTag::kFlash), nullptr);
  EXPECT_EQ(flash_only.arg(ArgTag::kPath), nullptr);
  EXPECT_EQ(run("boot system flash bootflash:ts.SPA.bin").at(ArgTag::kPath).number, uint32_t(FileSystem::kBootflash));

  EXPECT_EQ(type("boot system nvram:x"), caret_at(15 + 12));    // nvram: holds no images
  EXPECT_EQ(type("boot system image.bin"), caret_at(15 + 12));  // bare names only after `flash`
}

// ---------------------------------------------------------------------------
// A test grammar for the types the default grammar uses little
// ---------------------------------------------------------------------------

namespace g {
using cli::keyword;
using cli::list;
using cli::Node;
constexpr Node kMessage[] = {cli::rest_of_line("Text to log").as(ArgTag::kText).runs(CommandId::kReload)};
constexpr Node kLevelArgs[] = {cli::number(1, 10, "Level").as(ArgTag::kValue).then(list(kMessage))};
constexpr Node kSend[] = {keyword("log", "Write to the log").then(list(kLevelArgs))};
constexpr Node kRoot[] = {keyword("send", "Send a message").then(list(kSend))};
constexpr cli::Grammar kGrammar = {{list(kRoot), list(kRoot), list(kRoot)}};
}  // namespace g

TEST(CliTestGrammar, LineTakesTheRestOfTheLineAndNumberRangesHaveAMinimum) {
  StringOutput out;
  RecordingHandler handler;
  cli::Engine engine(out, handler, g::kGrammar);
  std::string line = "send log 10   hello   wide world  ";
  engine.process_line(line.data(), line.size());
  ASSERT_EQ(handler.calls.size(), 1u);
  EXPECT_EQ(handler.calls[0].at(ArgTag::kValue).number, 10u);
  EXPECT_EQ(handler.calls[0].at(ArgTag::kText).text, "hello   wide world");

  line = "send log 0 x";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text, caret_at(7 + 9));
  out.text.clear();
  line = "send log 11 x";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text, caret_at(7 + 9));
  out.text.clear();
  line = "send log 5 ?";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text, "  LINE Text to log\n\n");
  out.text.clear();
  line = "send log 5 some words ?";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text, "  LINE Text to log\n  <cr> <cr>\n\n");
  out.text.clear();
  line = "send log 5 some wor?";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text, "LINE  \n\n");
  out.text.clear();
  line = "send log ?";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text, "  <1-10> Level\n\n");
  EXPECT_EQ(handler.calls.size(), 1u);
}

namespace wide {
using cli::keyword;
using cli::Node;
constexpr Node kRoot[] = {
    keyword("alpha001", "a").runs(CommandId::kReload), keyword("alpha002", "a").runs(CommandId::kReload),
    keyword("alpha003", "a").runs(CommandId::kReload), keyword("alpha004", "a").runs(CommandId::kReload),
    keyword("alpha005", "a").runs(CommandId::kReload), keyword("alpha006", "a").runs(CommandId::kReload),
    keyword("alpha007", "a").runs(CommandId::kReload), keyword("alpha008", "a").runs(CommandId::kReload),
    keyword("alpha009", "a").runs(CommandId::kReload), keyword("alpha010", "a").runs(CommandId::kReload),
    keyword("beta", "b").runs(CommandId::kReload),
};
constexpr cli::Grammar kGrammar = {{cli::list(kRoot), cli::list(kRoot), cli::list(kRoot)}};
}  // namespace wide

TEST(CliTestGrammar, PartialWordListingWrapsAtEightyColumns) {
  StringOutput out;
  RecordingHandler handler;
  cli::Engine engine(out, handler, wide::kGrammar);
  std::string line = "al?";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(out.text,
            "alpha001  alpha002  alpha003  alpha004  alpha005  alpha006  alpha007  alpha008  \n"
            "alpha009  alpha010  \n"
            "\n");
}

// ---------------------------------------------------------------------------
// Grammar soundness and the handler contract
// ---------------------------------------------------------------------------

void collect_commands(cli::NodeList l, std::set<CommandId>& ids) {
  for (size_t i = 0; i < l.count; ++i) {
    if (l.nodes[i].command != CommandId::kNone) ids.insert(l.nodes[i].command);
    collect_commands(l.nodes[i].children, ids);
  }
}

TEST(CliGrammar, DefaultGrammarIsSoundAndReachesEveryCommand) {
  char why[128];
  EXPECT_TRUE(cli::check_grammar(cli::kDefaultGrammar, why, sizeof why)) << why;
  std::set<CommandId> ids;
  for (auto root : cli::kDefaultGrammar.roots) collect_commands(root, ids);
  for (int i = 1; i < int(CommandId::kCount); ++i)
    EXPECT_TRUE(ids.count(CommandId(i))) << cli::command_name(CommandId(i)) << " has no path in the grammar";
}

TEST(CliGrammar, CommandNamesAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i < int(CommandId::kCount); ++i) {
    std::string n = cli::command_name(CommandId(i));
    EXPECT_NE(n, "?");
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

namespace bad {
using cli::keyword;
using cli::list;
using cli::Node;
constexpr Node kDeadEnd[] = {keyword("show", "Display")};
constexpr Node kDuplicate[] = {keyword("show", "Display").runs(CommandId::kShowVersion),
                               keyword("show", "Again").runs(CommandId::kShowBoot)};
constexpr Node kUpper[] = {keyword("Show", "Display").runs(CommandId::kShowVersion)};
constexpr Node kNoHelp[] = {keyword("show", "").runs(CommandId::kShowVersion)};
constexpr Node kRange[] = {cli::number(5, 1, "Backwards").runs(CommandId::kShowVersion)};
constexpr Node kMask[] = {cli::url(0, "Nothing").runs(CommandId::kShowVersion)};
constexpr Node kArgs9[] = {cli::word("w").as(ArgTag::kName).runs(CommandId::kShowVersion)};
constexpr Node kArgs8[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs9))};
constexpr Node kArgs7[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs8))};
constexpr Node kArgs6[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs7))};
constexpr Node kArgs5[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs6))};
constexpr Node kArgs4[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs5))};
constexpr Node kArgs3[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs4))};
constexpr Node kArgs2[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs3))};
constexpr Node kArgs1[] = {cli::word("w").as(ArgTag::kName).then(list(kArgs2))};
}  // namespace bad

std::string grammar_problem(cli::NodeList root) {
  cli::Grammar g{{root, root, root}};
  char why[128];
  if (cli::check_grammar(g, why, sizeof why)) return "sound";
  return why;
}

TEST(CliGrammar, CheckerNamesTheBrokenNode) {
  EXPECT_EQ(grammar_problem(cli::list(bad::kDeadEnd)), "path ends without a command: show");
  EXPECT_EQ(grammar_problem(cli::list(bad::kDuplicate)), "duplicate keyword: show");
  EXPECT_EQ(grammar_problem(cli::list(bad::kUpper)), "keyword must be lower case without spaces: Show");
  EXPECT_EQ(grammar_problem(cli::list(bad::kNoHelp)), "node without text or help: show");
  EXPECT_EQ(grammar_problem(cli::list(bad::kRange)), "number range with min > max");
  EXPECT_EQ(grammar_problem(cli::list(bad::kMask)), "URL node with an empty or unknown file-system mask: WORD");
  EXPECT_EQ(grammar_problem(cli::list(bad::kArgs1)), "more tagged tokens on one path than kMaxArgs: WORD");
  EXPECT_EQ(grammar_problem(cli::list(bad::kArgs2)), "sound");
}

// The OS may replay configuration lines from inside a handler (startup-config):
// the outer command's arguments must survive the nested line.
class ReplayingHandler final : public cli::Handler {
 public:
  void execute(CommandId id, const cli::Args& args, cli::Context& ctx) override {
    if (id == CommandId::kCopy) {
      const char* src = args.text(ArgTag::kSource);
      ctx.engine().set_mode(Mode::kConfig);
      const char nested[] = "hostname Replayed";
      ctx.engine().process_line(nested, sizeof nested - 1);
      ctx.engine().set_mode(Mode::kPrivExec);
      source_after_nested = src;
      destination_after_nested = args.text(ArgTag::kDestination);
    }
    ++calls;
  }
  std::string source_after_nested, destination_after_nested;
  int calls = 0;
};

TEST(CliReentrancy, NestedLinesDoNotDisturbTheOuterArguments) {
  StringOutput out;
  ReplayingHandler handler;
  cli::Engine engine(out, handler);
  engine.set_mode(Mode::kPrivExec);
  std::string line = "copy tftp://h/startup.cfg running-config";
  engine.process_line(line.data(), line.size());
  EXPECT_EQ(handler.calls, 2);
  EXPECT_EQ(handler.source_after_nested, "tftp://h/startup.cfg");
  EXPECT_EQ(handler.destination_after_nested, "running-config");
  EXPECT_STREQ(engine.prompt(), "Replayed#");
  EXPECT_EQ(out.text, "");
}

}  // namespace

// crypto pki trustpoint enters its submode; exit goes back to config, end
// to privileged EXEC, and a global command typed in the submode leaves it.
TEST_F(Cli, TrustpointSubmode) {
  config();
  Call tp = run("crypto pki trustpoint T1");
  EXPECT_EQ(tp.id, CommandId::kCryptoPkiTrustpoint);
  EXPECT_EQ(tp.at(ArgTag::kName).text, "T1");
  EXPECT_EQ(engine.mode(), Mode::kTrustpoint);
  EXPECT_STREQ(engine.prompt(), "Router(ca-trustpoint)#");
  EXPECT_EQ(run("enrollment terminal").id, CommandId::kTrustpointEnrollment);
  Call no_rev = run("no revocation-check none");
  EXPECT_EQ(no_rev.id, CommandId::kTrustpointRevocationNone);
  EXPECT_TRUE(no_rev.negated);
  EXPECT_EQ(run("exit").id, CommandId::kExit);
  EXPECT_EQ(engine.mode(), Mode::kConfig);
  run("crypto pki trustpoint T1");
  Call global = run("ip domain name example.com");
  EXPECT_EQ(global.id, CommandId::kIpDomainName);
  EXPECT_EQ(engine.mode(), Mode::kConfig);
  run("crypto pki trustpoint T1");
  EXPECT_EQ(type("bogus"), caret_at(22));
  EXPECT_EQ(engine.mode(), Mode::kTrustpoint);
  run("end");
  EXPECT_EQ(engine.mode(), Mode::kPrivExec);
  config();
  Call no_tp = run("no crypto pki trustpoint T1");
  EXPECT_TRUE(no_tp.negated);
  EXPECT_EQ(engine.mode(), Mode::kConfig);
  Call part = run("crypto pki certificate ca T1 MAMCAQE=");
  EXPECT_EQ(part.id, CommandId::kCryptoPkiCertificateCa);
  EXPECT_EQ(part.at(ArgTag::kText).text, "MAMCAQE=");
  EXPECT_EQ(run("crypto ca authenticate T1").id, CommandId::kCryptoCaAuthenticate);
}

TEST_F(Cli, PingTakesAHostInBothExecModes) {
  Call user = run("ping files.example");
  EXPECT_EQ(user.id, CommandId::kPing);
  EXPECT_EQ(user.at(ArgTag::kName).text, "files.example");
  privileged();
  EXPECT_EQ(run("ping 127.0.0.1").id, CommandId::kPing);
  EXPECT_EQ(type("ping"), "% Incomplete command.\n\n");
}
