// Bad input everywhere: one table of rows, each a trustsim command line fed
// an empty, truncated, oversized, wrong-type or malformed input (or a bad
// number, or a damaged board state directory). Every row checks
//  - the exit code (2 = bad input; 1 only where the tool's job is to give a
//    verdict on a damaged image),
//  - that stderr names the file/field and says what was expected (a regex),
//  - that every board state directory on the command line is byte-identical
//    before and after (each file's content hash, size, mtime, inode),
//  - that nothing was created or removed next to the inputs (no stray
//    output, no half-made board directory).
// The fixtures (input files, a healthy board, damaged copies of it) are made
// once for the whole table. docs/robustness.md lists what the rows cover.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

struct Output {
  pid_t pid = 0;
  int exit_code = -1;
  std::string out, err;
};

// Runs trustsim with `args` (no shell), stdout and stderr captured apart.
Output run_args(const std::vector<std::string>& args, const std::string& scratch) {
  std::string out_path = scratch + "/.stdout", err_path = scratch + "/.stderr";
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(TRUSTSIM_EXE));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TRUSTSIM_EXE, argv.data());
    _exit(127);
  }
  Output r;
  r.pid = pid;
  int st = 0;
  waitpid(pid, &st, 0);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return r;
}

// 64-bit FNV-1a over 8-byte words: fast enough for a 220 MB board per row.
uint64_t hash_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  uint64_t h = 1469598103934665603ull;
  std::vector<uint64_t> buf(1 << 17);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size() * 8)) > 0) {
    size_t words = size_t(n) / 8;
    for (size_t i = 0; i < words; ++i) h = (h ^ buf[i]) * 1099511628211ull;
    for (ssize_t i = ssize_t(words * 8); i < n; ++i)
      h = (h ^ reinterpret_cast<uint8_t*>(buf.data())[i]) * 1099511628211ull;
  }
  close(fd);
  return h;
}

// Name -> "size mtime inode hash" for every entry of a directory (one level;
// subdirectories by name only). `with_content`: hash regular files too.
std::map<std::string, std::string> snapshot(const std::string& dir, bool with_content) {
  std::map<std::string, std::string> m;
  DIR* d = opendir(dir.c_str());
  if (!d) return m;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == ".stdout" || name == ".stderr") continue;
    std::string p = dir + "/" + name;
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) continue;
    std::string v = S_ISDIR(st.st_mode) ? "dir" : std::to_string(st.st_size);
    if (with_content && S_ISREG(st.st_mode))
      v += " " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " " +
           std::to_string(st.st_ino) + " " + std::to_string(hash_file(p));
    m[name] = v;
  }
  closedir(d);
  return m;
}

struct Row {
  const char* name;
  // Placeholders: {F} the fixtures directory, {SRC} the source tree, {EXE}
  // the trustsim binary, {KEY} keys/dev/production-A.pem. A board state
  // directory is named {F}/board, {F}/bad-*; those are snapshotted.
  std::vector<std::string> args;
  int exit_code;
  const char* stderr_re;
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

std::string expand(std::string s, const std::string& fixtures) {
  const std::pair<const char*, std::string> subst[] = {{"{F}", fixtures},
                                                       {"{SRC}", TRUSTSIM_SOURCE_DIR},
                                                       {"{EXE}", TRUSTSIM_EXE},
                                                       {"{KEY}", src("keys/dev/production-A.pem")}};
  for (const auto& [from, to] : subst)
    for (size_t p; (p = s.find(from)) != std::string::npos;) s.replace(p, strlen(from), to);
  return s;
}

// A tiny but real PNG (8x8 grey) and an ELF header: wrong-type inputs with NUL bytes.
const unsigned char kPng[] = {0x89, 'P',  'N',  'G', 0x0d, 0x0a, 0x1a, 0x0a, 0,   0,   0,   0x0d, 'I',  'H',  'D',
                              'R',  0,    0,    0,   8,    0,    0,    0,    8,   8,   0,   0,    0,    0,    0x4b,
                              0x6d, 0x29, 0xdc, 0,   0,    0,    0,    'I',  'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
const unsigned char kElf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0xb7, 0, 1, 0, 0, 0};

class Fixtures {
 public:
  TempDir dir;
  std::string f(const std::string& n) const { return dir.file(n); }

  void bytes(const std::string& name, const void* p, size_t n) const {
    FILE* fp = fopen(f(name).c_str(), "wb");
    fwrite(p, 1, n, fp);
    fclose(fp);
  }
  bool copy_board(const std::string& to) const {
    return std::system(("cp -a --sparse=always '" + f("board") + "' '" + f(to) + "'").c_str()) == 0;
  }

  std::string setup() {
    write_text(f("empty"), "");
    bytes("picture.png", kPng, sizeof kPng);
    bytes("program.elf", kElf, sizeof kElf);
    mkdir(f("adir").c_str(), 0755);
    mkdir(f("foreign").c_str(), 0755);
    write_text(f("foreign/precious.txt"), "not a board\n");
    std::string smoke = read_text(src("scenarios/smoke.yaml"));
    write_text(f("truncated.yaml"), smoke.substr(0, smoke.find("RSA Signed RELE") + 15));
    write_text(f("comments-only.yaml"), "# a scenario with nothing in it yet\n");
    write_text(f("malformed.yaml"), "name: x\nsteps: [power-on, {expect: \"y\"\n");
    write_text(f("tabs.yaml"), "name: x\nsteps:\n\t- power-on\n");
    write_text(f("negative.yaml"), "name: x\ntimeout: -5 s\nsteps:\n  - power-on\n");
    write_text(f("huge-number.yaml"), "name: x\nsteps:\n  - wait: 99999999999999999999999 s\n");
    write_text(f("no-unit.yaml"), "name: x\nsteps:\n  - wait: 10\n");
    write_text(f("duplicate.yaml"), "name: a\nname: b\nsteps:\n  - power-on\n");
    write_text(f("unknown-step.yaml"), "name: x\nsteps:\n  - power-on\n  - jump: 3\n");
    write_text(f("no-steps.yaml"), "name: x\nsteps: []\n");
    write_text(f("list.yaml"), "- power-on\n- power-off\n");
    write_text(f("negative-offset.yaml"), "name: x\nsteps:\n  - flash-corrupt: {file: a.bin, offset: -1}\n");
    write_text(f("xor-too-big.yaml"), "name: x\nsteps:\n  - flash-corrupt: {file: a.bin, offset: 5, xor: 0x100}\n");
    write_text(f("huge-length.yaml"),
               "name: x\nsteps:\n  - flash-truncate: {file: a.bin, length: 99999999999999999999999}\n");
    write_text(f("bad-bool.yaml"), "name: x\nsteps:\n  - send: {text: hi, enter: maybe}\n");
    write_text(f("bad-regex.yaml"), "name: x\nsteps:\n  - expect: {pattern: \"(\", timeout: 1 s}\n");
    std::string big = "name: big\nsteps:\n";
    while (big.size() < 1200 * 1024) big += "  - wait: 1 ms\n";
    write_text(f("oversized.yaml"), big);
    std::string board = read_text(src("boards/default.yaml"));
    // Cut just after a key, before its value (a download that stopped there).
    size_t cut = board.find("sector_erase_time:");
    if (cut == std::string::npos) return "boards/default.yaml has no sector_erase_time key to cut after";
    write_text(f("board-truncated.yaml"), board.substr(0, cut + strlen("sector_erase_time:")));
    std::string other = board;
    other.replace(other.find("name: ts-isr1100"), strlen("name: ts-isr1100"), "name: ts-other");
    write_text(f("other-board.yaml"), other);
    std::string bad_baud = board;
    bad_baud.replace(bad_baud.find("baud: 9600"), strlen("baud: 9600"), "baud: -9600");
    write_text(f("board-negative.yaml"), bad_baud);
    // 70 MB, sparse: larger than ROMmon's staging buffer and than any YAML limit.
    if (truncate(write_text(f("oversized.bin"), "x").c_str(), 70 << 20) != 0) return "truncate failed";
    if (truncate(write_text(f("oversized-flash.bin"), "x").c_str(), 200 << 20) != 0) return "truncate failed";
    write_text(f("payload.bin"), std::string(3000, 'p'));
    write_text(f("existing.pem"), "keep\n");
    bytes("production-B.pem", kPng, sizeof kPng);  // named like a key, is a picture
    mkdir(f("garbage-keys").c_str(), 0755);
    for (const char* k : {"rollover-A.pem", "production-A.pem", "special-A.pem"})
      write_text(f(std::string("garbage-keys/") + k),
                 "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n");

    Output r = run_args({"board", "new", f("board")}, dir.path);
    if (r.exit_code != 0) return "board new failed: " + r.out + r.err;
    Output s = run_args({"image", "sign", f("payload.bin"), "--key", src("keys/dev/production-A.pem"), "--version",
                         "1.0", "--out", f("image.bin")},
                        dir.path);
    if (s.exit_code != 0) return "image sign failed: " + s.out + s.err;
    std::string img = read_text(f("image.bin"));
    write_text(f("image-cut-header.bin"), img.substr(0, 100));
    write_text(f("image-cut-payload.bin"), img.substr(0, 1000));

    // Damaged copies of the healthy board.
    if (!copy_board("bad-manifest")) return "cp failed";
    write_text(f("bad-manifest/board-state.yaml"), "format: 1\nboard: [ts-isr1100\n");
    if (!copy_board("bad-format")) return "cp failed";
    write_text(f("bad-format/board-state.yaml"), "format: 7\nboard: ts-isr1100\n");
    if (!copy_board("bad-nvram")) return "cp failed";
    if (truncate(f("bad-nvram/nvram.bin").c_str(), 1000) != 0) return "truncate failed";
    if (!copy_board("bad-nand")) return "cp failed";
    if (truncate(f("bad-nand/bootflash.nand").c_str(), 1000000) != 0) return "truncate failed";
    if (!copy_board("bad-meta")) return "cp failed";
    write_text(f("bad-meta/bootflash.nand.meta"), "garbage");
    if (!copy_board("bad-bootrom")) return "cp failed";
    unlink(f("bad-bootrom/bootrom.bin").c_str());
    mkdir(f("bad-bootrom/bootrom.bin").c_str(), 0755);
    return "";
  }
};

Fixtures* g_fix = nullptr;

class BadInput : public ::testing::TestWithParam<Row> {
 protected:
  static void SetUpTestSuite() {
    g_fix = new Fixtures;
    std::string err = g_fix->setup();
    if (!err.empty()) {
      fprintf(stderr, "fixture setup failed: %s\n", err.c_str());
      abort();
    }
  }
  static void TearDownTestSuite() {
    delete g_fix;
    g_fix = nullptr;
  }
};

// The board state directories a row names.
std::vector<std::string> boards_in(const std::vector<std::string>& args, const std::string& fixtures) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    if (a.rfind("{F}/", 0) != 0) continue;
    std::string name = a.substr(4);
    if (name == "board" || (name.rfind("bad-", 0) == 0 && name.find('/') == std::string::npos))
      out.push_back(fixtures + "/" + name);
  }
  return out;
}

TEST_P(BadInput, ClearErrorAndNothingChanged) {
  const Row& row = GetParam();
  const std::string& F = g_fix->dir.path;
  std::vector<std::string> args;
  for (const std::string& a : row.args) args.push_back(expand(a, F));
  std::vector<std::string> boards = boards_in(row.args, F);
  std::vector<std::map<std::string, std::string>> before;
  for (const std::string& b : boards) before.push_back(snapshot(b, true));
  auto listing = snapshot(F, false);

  Output r = run_args(args, F);
  std::string cmd = "trustsim";
  for (const std::string& a : args) cmd += " " + a;
  std::string shown = cmd + "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;

  EXPECT_EQ(r.exit_code, row.exit_code) << shown;
  std::string re = expand(row.stderr_re, F);
  EXPECT_TRUE(std::regex_search(r.err, std::regex(re))) << "stderr does not match /" << re << "/\n" << shown;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << shown;
  EXPECT_EQ(r.err.find("Sanitizer"), std::string::npos) << shown;
  EXPECT_EQ(r.out.find("PASS"), std::string::npos) << shown;
  for (size_t i = 0; i < boards.size(); ++i)
    EXPECT_EQ(snapshot(boards[i], true), before[i]) << "board state directory " << boards[i] << " changed\n" << shown;
  EXPECT_EQ(snapshot(F, false), listing) << "files appeared or vanished next to the inputs\n" << shown;
  // Nothing of this trustsim survives in /dev/shm or /tmp (run directory, RAM file).
  for (const char* tmp : {"/dev/shm", "/tmp"})
    for (const auto& [name, v] : snapshot(tmp, false)) {
      EXPECT_NE(name.rfind("trustsim-run-" + std::to_string(r.pid) + "-", 0), 0u) << tmp << "/" << name << "\n"
                                                                                  << shown;
      EXPECT_NE(name.rfind("trustsim-" + std::to_string(r.pid) + "-", 0), 0u) << tmp << "/" << name << "\n" << shown;
    }
}

const char* kSmoke = "{SRC}/scenarios/smoke.yaml";

// clang-format off
const Row kRows[] = {
  // ---- trustsim run: the scenario file ----
  {"RunEmptyScenario", {"run", "{F}/empty"}, 2, "{F}/empty: no YAML content \\(the file is empty or only comments\\)"},
  {"RunCommentsOnlyScenario", {"run", "{F}/comments-only.yaml"}, 2, "comments-only.yaml: no YAML content"},
  {"RunTruncatedScenario", {"run", "{F}/truncated.yaml"}, 2, "truncated.yaml:16: YAML syntax error: illegal EOF in scalar"},
  {"RunMalformedScenario", {"run", "{F}/malformed.yaml"}, 2, "malformed.yaml:\\d+: YAML syntax error"},
  {"RunTabsInScenario", {"run", "{F}/tabs.yaml"}, 2, "tabs.yaml:\\d+: "},
  {"RunPngAsScenario", {"run", "{F}/picture.png"}, 2, "picture.png:3: binary data \\(a NUL byte\\), not YAML text"},
  {"RunElfAsScenario", {"run", "{F}/program.elf"}, 2, "program.elf:1: binary data \\(a NUL byte\\), not YAML text"},
  {"RunDirectoryAsScenario", {"run", "{F}/adir"}, 2, "adir: is a directory, not a YAML file"},
  {"RunOversizedScenario", {"run", "{F}/oversized.yaml"}, 2, "oversized.yaml: file too large \\(\\d+ bytes; a board or scenario file is at most 1024 KiB\\)"},
  {"RunMissingScenario", {"run", "{F}/no-such.yaml"}, 2, "no-such.yaml: cannot open file: No such file or directory"},
  {"RunNegativeDuration", {"run", "{F}/negative.yaml"}, 2, "negative.yaml:2: timeout: expected a duration like '5 ms'.*got '-5 s'"},
  {"RunHugeDuration", {"run", "{F}/huge-number.yaml"}, 2, "huge-number.yaml:3: steps\\[0\\]\\.wait: expected a duration"},
  {"RunDurationWithoutUnit", {"run", "{F}/no-unit.yaml"}, 2, "no-unit.yaml:3: steps\\[0\\]\\.wait: expected a duration.*got '10'"},
  {"RunDuplicateKey", {"run", "{F}/duplicate.yaml"}, 2, "duplicate.yaml:2: name: duplicate key"},
  {"RunUnknownStep", {"run", "{F}/unknown-step.yaml"}, 2, "unknown-step.yaml:4: steps\\[1\\]"},
  {"RunNoSteps", {"run", "{F}/no-steps.yaml"}, 2, "no-steps.yaml:2: steps"},
  {"RunNegativeStepOffset", {"run", "{F}/negative-offset.yaml"}, 2, "negative-offset.yaml:3: steps\\[0\\]\\.flash-corrupt\\.offset: expected a non-negative integer.*got '-1'"},
  {"RunXorOutOfRange", {"run", "{F}/xor-too-big.yaml"}, 2, "xor-too-big.yaml:3: steps\\[0\\]\\.flash-corrupt\\.xor: must be 0x01\\.\\.0xff"},
  {"RunLengthTooLarge", {"run", "{F}/huge-length.yaml"}, 2, "huge-length.yaml:3: steps\\[0\\]\\.flash-truncate\\.length: expected a non-negative integer"},
  {"RunBadBoolean", {"run", "{F}/bad-bool.yaml"}, 2, "bad-bool.yaml:3: steps\\[0\\]\\.send\\.enter: expected true or false"},
  {"RunBadRegex", {"run", "{F}/bad-regex.yaml"}, 2, "bad-regex.yaml:3: steps\\[0\\]\\.expect: invalid regular expression '\\('"},
  {"RunListAsScenario", {"run", "{F}/list.yaml"}, 2, "list.yaml:1: top level: expected a mapping of keys"},
  // ---- trustsim run: board file, board state directory, options ----
  {"RunEmptyBoardFile", {"run", "--board", "{F}/board", "--board-file", "{F}/empty", kSmoke}, 2, "{F}/empty: no YAML content"},
  {"RunTruncatedBoardFile", {"run", "--board", "{F}/board", "--board-file", "{F}/board-truncated.yaml", kSmoke}, 2, "board-truncated.yaml:\\d+: devices.rom_nor.sector_erase_time: expected a duration like '5 ms'.*got nothing"},
  {"RunPngAsBoardFile", {"run", "--board", "{F}/board", "--board-file", "{F}/picture.png", kSmoke}, 2, "picture.png:3: binary data"},
  {"RunDirectoryAsBoardFile", {"run", "--board", "{F}/board", "--board-file", "{F}/adir", kSmoke}, 2, "adir: is a directory"},
  {"RunNegativeBaud", {"run", "--board", "{F}/board", "--board-file", "{F}/board-negative.yaml", kSmoke}, 2, "board-negative.yaml:\\d+: devices\\.console\\.baud: expected a non-negative integer.*got '-9600'"},
  {"RunBoardMadeForAnotherBoardFile", {"run", "--board", "{F}/board", "--board-file", "{F}/other-board.yaml", kSmoke}, 2, "board: this board state was made for board 'ts-isr1100', not 'ts-other'"},
  {"RunForeignDirectoryAsBoard", {"run", "--board", "{F}/foreign", kSmoke}, 2, "foreign: not a trustsim board state directory \\(no board-state.yaml\\) and not empty"},
  {"RunFileAsBoard", {"run", "--board", "{F}/picture.png", kSmoke}, 2, "picture.png: not a directory \\(expected a board state directory\\)"},
  {"RunDamagedManifest", {"run", "--board", "{F}/bad-manifest", kSmoke}, 2, "bad-manifest/board-state.yaml:3: YAML syntax error: end of sequence flow not found"},
  {"RunUnknownStateFormat", {"run", "--board", "{F}/bad-format", kSmoke}, 2, "bad-format/board-state.yaml:1: format: unsupported board state format \\(expected 1\\)"},
  {"RunShortNvram", {"run", "--board", "{F}/bad-nvram", kSmoke}, 2, "bad-nvram/nvram.bin: is 1000 bytes, expected 32768 \\(devices.nvram.size"},
  {"RunShortNand", {"run", "--board", "{F}/bad-nand", kSmoke}, 2, "bad-nand/bootflash.nand: NAND image is 1000000 bytes but .* needs 138412032"},
  {"RunGarbageNandMeta", {"run", "--board", "{F}/bad-meta", kSmoke}, 2, "bad-meta/bootflash.nand.meta: NAND wear file has no TSNM header"},
  {"RunDirectoryAsBootRom", {"run", "--board", "{F}/bad-bootrom", kSmoke}, 2, "bad-bootrom/bootrom.bin: not a regular file"},
  {"RunWallTimeoutNotANumber", {"run", "--board", "{F}/board", "--wall-timeout", "soon", kSmoke}, 2, "--wall-timeout"},
  {"RunWallTimeoutZero", {"run", "--board", "{F}/board", "--wall-timeout", "0", kSmoke}, 2, "--wall-timeout: Value 0 not in range 1 to 3600"},
  {"RunNegativeSpin", {"run", "--board", "{F}/board", "--spin-us", "-1", kSmoke}, 2, "--spin-us: Value -1 not in range"},
  {"RunGdbPortTooLarge", {"run", "--board", "{F}/board", "--gdb-port", "70000", kSmoke}, 2, "--gdb-port: Value 70000 not in range 1 to 65535"},
  {"RunTraceIntoDirectory", {"run", "--board", "{F}/board", "--trace", "{F}/adir", kSmoke}, 2, "adir: cannot write trace: Is a directory"},
  {"RunConsoleLogNowhere", {"run", "--board", "{F}/board", "--console-log", "/nonexistent/log.txt", kSmoke}, 2, "/nonexistent/log.txt: cannot write console transcript"},
  {"RunWithoutScenario", {"run", "--board", "{F}/board"}, 2, "scenario is required"},
  // ---- trustsim image keygen ----
  {"KeygenBadName", {"image", "keygen", "production"}, 2, "key name 'production': expected TYPE-VERSION"},
  {"KeygenUnknownType", {"image", "keygen", "debug-A", "--out", "{F}/k.pem"}, 2, "key name 'debug-A': expected TYPE-VERSION"},
  {"KeygenOutIsDirectory", {"image", "keygen", "production-C", "--out", "{F}/adir"}, 2, "adir: cannot create \\(it must not exist yet\\)"},
  {"KeygenOutExists", {"image", "keygen", "production-C", "--out", "{F}/existing.pem"}, 2, "existing.pem: cannot create \\(it must not exist yet\\): File exists"},
  {"KeygenOutNowhere", {"image", "keygen", "production-C", "--out", "/nonexistent/k.pem"}, 2, "/nonexistent/k.pem: cannot create"},
  // ---- trustsim image sign ----
  {"SignEmptyPayload", {"image", "sign", "{F}/empty", "--key", "{KEY}", "--version", "1", "--out", "{F}/o.bin"}, 2, "{F}/empty: empty payload"},
  {"SignDirectoryPayload", {"image", "sign", "{F}/adir", "--key", "{KEY}", "--version", "1", "--out", "{F}/o.bin"}, 2, "adir: is a directory, not a file"},
  {"SignOversizedPayload", {"image", "sign", "{F}/oversized.bin", "--key", "{KEY}", "--version", "1", "--out", "{F}/o.bin"}, 2, "oversized.bin: file too large \\(73400320 bytes; at most 67043328: the size of ROMmon's staging buffer\\)"},
  {"SignMissingPayload", {"image", "sign", "{F}/no-such.bin", "--key", "{KEY}", "--version", "1", "--out", "{F}/o.bin"}, 2, "no-such.bin: cannot open: No such file or directory"},
  {"SignPngAsKey", {"image", "sign", "{F}/payload.bin", "--key", "{F}/picture.png", "--key-name", "production-A", "--version", "1", "--out", "{F}/o.bin"}, 2, "picture.png: not a PEM private key"},
  {"SignEmptyKey", {"image", "sign", "{F}/payload.bin", "--key", "{F}/empty", "--key-name", "production-A", "--version", "1", "--out", "{F}/o.bin"}, 2, "{F}/empty: not a PEM private key"},
  {"SignKeyNameUnknown", {"image", "sign", "{F}/payload.bin", "--key", "{F}/picture.png", "--version", "1", "--out", "{F}/o.bin"}, 2, "cannot tell the key type and version from '.*picture.png'"},
  {"SignNegativeLoad", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "1", "--load", "-5", "--out", "{F}/o.bin"}, 2, "--load: expected a non-negative number, got -5"},
  {"SignLoadNotANumber", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "1", "--load", "high", "--out", "{F}/o.bin"}, 2, "--load"},
  {"SignPlatformIdTooLarge", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "1", "--platform-id", "99999999999", "--out", "{F}/o.bin"}, 2, "--platform-id: Value 99999999999 not in range 0 to 4294967295"},
  {"SignEmptyVersion", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "", "--out", "{F}/o.bin"}, 2, "--version: expected 1..63 characters"},
  {"SignVersionTooLong", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", std::string(64, 'v'), "--out", "{F}/o.bin"}, 2, "--version: expected 1..63 characters"},
  {"SignUnknownType", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "1", "--type", "elf", "--out", "{F}/o.bin"}, 2, "--type: expected os, rommon or revocation, not 'elf'"},
  {"SignRevocationWithProductionKey", {"image", "sign", "--type", "revocation", "--key", "{KEY}", "--version", "r", "--add-key", "{SRC}/keys/dev/production-B.pem", "--out", "{F}/o.bin"}, 2, "--type revocation: a revocation image is signed with the rollover key, not Production key A"},
  {"SignRevocationTwoKeys", {"image", "sign", "--type", "revocation", "--key", "{SRC}/keys/dev/rollover-A.pem", "--version", "r", "--add-key", "{SRC}/keys/dev/production-B.pem", "--add-key", "{SRC}/keys/dev/special-B.pem", "--out", "{F}/o.bin"}, 2, "--type revocation: a revocation image carries exactly one production key to add \\(--add-key production-V.pem\\) and no --revoke-key"},
  {"SignRevocationWithRevoke", {"image", "sign", "--type", "revocation", "--key", "{SRC}/keys/dev/rollover-A.pem", "--version", "r", "--add-key", "{SRC}/keys/dev/production-B.pem", "--revoke-key", "{KEY}", "--out", "{F}/o.bin"}, 2, "carries exactly one production key to add"},
  {"SignRevocationSpecialKey", {"image", "sign", "--type", "revocation", "--key", "{SRC}/keys/dev/rollover-A.pem", "--version", "r", "--add-key", "{SRC}/keys/dev/special-B.pem", "--out", "{F}/o.bin"}, 2, "carries exactly one production key to add"},
  {"SignOutIsDirectory", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "1", "--out", "{F}/adir"}, 2, "adir: is a directory; name the output file"},
  {"SignOutNowhere", {"image", "sign", "{F}/payload.bin", "--key", "{KEY}", "--version", "1", "--out", "/nonexistent/o.bin"}, 2, "/nonexistent/o.bin: cannot write there: directory /nonexistent does not exist"},
  // ---- trustsim image inspect ----
  {"InspectEmpty", {"image", "inspect", "{F}/empty"}, 2, "{F}/empty: empty file, not a trustsim image"},
  {"InspectPng", {"image", "inspect", "{F}/picture.png"}, 2, "picture.png: not a trustsim image \\(no 'TSIM' magic at offset 0; 45 bytes\\)"},
  {"InspectElf", {"image", "inspect", "{F}/program.elf"}, 2, "program.elf: not a trustsim image"},
  {"InspectYaml", {"image", "inspect", "{F}/malformed.yaml"}, 2, "malformed.yaml: not a trustsim image"},
  {"InspectDirectory", {"image", "inspect", "{F}/adir"}, 2, "adir: is a directory, not a file"},
  {"InspectOversized", {"image", "inspect", "{F}/oversized.bin"}, 2, "oversized.bin: file too large"},
  {"InspectMissing", {"image", "inspect", "{F}/no-such.bin"}, 2, "no-such.bin: cannot open"},
  {"InspectPngNamedLikeAKey", {"image", "inspect", "{F}/image.bin", "--key", "{F}/production-B.pem"}, 2, "production-B.pem: not a PEM private key"},
  {"InspectKeyNameUnknown", {"image", "inspect", "{F}/image.bin", "--key", "{F}/empty"}, 2, "cannot tell the key type and version from '.*empty'"},
  // A damaged image is the tool's verdict, not bad input: exit 1, on stdout.
  {"InspectImageCutInItsHeader", {"image", "inspect", "{F}/image-cut-header.bin", "--key", "{KEY}"}, 1, "^$"},
  {"InspectImageCutInItsPayload", {"image", "inspect", "{F}/image-cut-payload.bin", "--key", "{KEY}"}, 1, "^$"},
  // ---- trustsim flash ----
  {"FlashWithoutBoard", {"flash", "ls"}, 2, "--board is required"},
  {"FlashBoardMissing", {"flash", "--board", "{F}/no-such-board", "ls"}, 2, "no-such-board: not a board state directory \\(no board-state.yaml\\)"},
  {"FlashEmptyDirectoryAsBoard", {"flash", "--board", "{F}/adir", "ls"}, 2, "adir: not a board state directory"},
  {"FlashFileAsBoard", {"flash", "--board", "{F}/picture.png", "ls"}, 2, "picture.png: not a board state directory"},
  {"FlashPngAsBoardFile", {"flash", "--board", "{F}/board", "--board-file", "{F}/picture.png", "ls"}, 2, "picture.png:3: binary data"},
  {"FlashBoardMadeForAnotherBoardFile", {"flash", "--board", "{F}/board", "--board-file", "{F}/other-board.yaml", "ls"}, 2, "made for board 'ts-isr1100', not 'ts-other'"},
  {"FlashLsDamagedManifest", {"flash", "--board", "{F}/bad-manifest", "ls"}, 2, "bad-manifest/board-state.yaml:3: YAML syntax error: end of sequence flow not found"},
  {"FlashLsUnknownStateFormat", {"flash", "--board", "{F}/bad-format", "ls"}, 2, "unsupported board state format"},
  {"FlashLsShortNand", {"flash", "--board", "{F}/bad-nand", "ls"}, 2, "bad-nand/bootflash.nand: NAND image is 1000000 bytes"},
  {"FlashFsckGarbageMeta", {"flash", "--board", "{F}/bad-meta", "fsck"}, 2, "bad-meta/bootflash.nand.meta: NAND wear file has no TSNM header"},
  {"FlashPutShortNvramBoard", {"flash", "--board", "{F}/bad-nvram", "put", "{F}/payload.bin"}, 2, "bad-nvram/nvram.bin: is 1000 bytes"},
  {"FlashPutDirectory", {"flash", "--board", "{F}/board", "put", "{F}/adir"}, 2, "adir: is a directory, not a file"},
  {"FlashPutMissing", {"flash", "--board", "{F}/board", "put", "{F}/no-such.bin"}, 2, "no-such.bin: cannot open"},
  {"FlashPutOversized", {"flash", "--board", "{F}/board", "put", "{F}/oversized-flash.bin"}, 2, "oversized-flash.bin: 209715200 bytes do not fit on bootflash: \\(\\d+ bytes free of \\d+\\)"},
  {"FlashPutBadName", {"flash", "--board", "{F}/board", "put", "{F}/payload.bin", "a/b"}, 2, "bootflash:a/b: invalid file name"},
  {"FlashPutNameWithSpace", {"flash", "--board", "{F}/board", "put", "{F}/payload.bin", "a b"}, 2, "bootflash:a b: invalid file name"},
  {"FlashPutNameTooLong", {"flash", "--board", "{F}/board", "put", "{F}/payload.bin", std::string(200, 'n')}, 2, "file name longer than 127 characters"},
  {"FlashGetMissing", {"flash", "--board", "{F}/board", "get", "no-such.bin", "{F}/out.bin"}, 2, "bootflash:no-such.bin: no such file"},
  {"FlashGetIntoDirectory", {"flash", "--board", "{F}/board", "get", "ts-isr1100-universalk9.17.03.01.SPA.bin", "{F}/adir"}, 2, "adir: is a directory; name the output file"},
  {"FlashGetNowhere", {"flash", "--board", "{F}/board", "get", "ts-isr1100-universalk9.17.03.01.SPA.bin", "/nonexistent/x.bin"}, 2, "/nonexistent/x.bin: cannot write there"},
  {"FlashRmMissing", {"flash", "--board", "{F}/board", "rm", "no-such.bin"}, 2, "bootflash:no-such.bin: no such file"},
  {"FlashRmEmptyName", {"flash", "--board", "{F}/board", "rm", ""}, 2, "bootflash:: invalid file name"},
  {"FlashRmPath", {"flash", "--board", "{F}/board", "rm", "../board-state.yaml"}, 2, "bootflash:../board-state.yaml: invalid file name"},
  {"FlashMkfsWithoutYes", {"flash", "--board", "{F}/board", "mkfs"}, 2, "mkfs erases every file on bootflash:; pass --yes to confirm"},
  {"FlashUnknownSubcommand", {"flash", "--board", "{F}/board", "format"}, 2, "format"},
  // ---- trustsim board ----
  {"BoardNewOverBoard", {"board", "new", "{F}/board"}, 2, "board: already a board state directory"},
  {"BoardNewOverForeignDirectory", {"board", "new", "{F}/foreign"}, 2, "foreign: not a trustsim board state directory \\(no board-state.yaml\\) and not empty; refusing to touch it"},
  {"BoardNewNowhere", {"board", "new", "/nonexistent/x/b"}, 2, "/nonexistent/x/b: cannot create the board state directory"},
  {"BoardNewPngBoardFile", {"board", "--board-file", "{F}/picture.png", "new", "{F}/new-board"}, 2, "picture.png:3: binary data"},
  {"BoardNewMissingKeys", {"board", "new", "{F}/new-board", "--keys", "{F}/adir"}, 2, "adir/rollover-A.pem: cannot open key file"},
  {"BoardNewGarbageKeys", {"board", "new", "{F}/new-board", "--keys", "{F}/garbage-keys"}, 2, "garbage-keys/rollover-A.pem: not a PEM private key"},
  {"BoardInspectEmptyDirectory", {"board", "inspect", "{F}/adir"}, 2, "adir: not a board state directory \\(no board-state.yaml\\)"},
  {"BoardInspectMissing", {"board", "inspect", "{F}/no-such-board"}, 2, "no-such-board: not a board state directory"},
  {"BoardInspectFile", {"board", "inspect", "{F}/picture.png"}, 2, "picture.png: not a board state directory"},
  {"BoardInspectDamagedManifest", {"board", "inspect", "{F}/bad-manifest"}, 2, "bad-manifest/board-state.yaml:3: YAML syntax error: end of sequence flow not found"},
  {"BoardInspectShortNvram", {"board", "inspect", "{F}/bad-nvram"}, 2, "bad-nvram/nvram.bin: is 1000 bytes, expected 32768"},
  {"BoardInspectDirectoryAsBootRom", {"board", "inspect", "{F}/bad-bootrom"}, 2, "bad-bootrom/bootrom.bin: not a regular file"},
  {"BoardInspectAnotherBoardFile", {"board", "--board-file", "{F}/other-board.yaml", "inspect", "{F}/board"}, 2, "made for board 'ts-isr1100', not 'ts-other'"},
  // ---- the command line itself ----
  {"NoCommand", {}, 2, "A subcommand is required"},
  {"UnknownCommand", {"frobnicate"}, 2, "frobnicate: unknown command \\(expected one of run, [a-z, ]+; see --help\\)"},
  {"UnknownOption", {"run", "--bored", "{F}/board", kSmoke}, 2, "--bored"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Table, BadInput, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& i) { return std::string(i.param.name); });

}  // namespace
