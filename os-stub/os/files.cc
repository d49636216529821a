// bootflash: file commands: dir, show flash:, delete, rename, copy, more,
// format, verify.
#include "os.h"
#include "trustsim/crc32.h"
#include "trustsim/datetime.h"

namespace os {
namespace {

constexpr size_t kChunk = 64 * 1024;
uint8_t g_chunk[kChunk];

}  // namespace

// The errno-style wording IOS uses for file errors.
const char* ios_error(bfs::Status st) {
  switch (st) {
    case bfs::Status::kNotFound:
      return "No such file or directory";
    case bfs::Status::kExists:
      return "File exists";
    case bfs::Status::kNoSpace:
      return "No space left on device";
    case bfs::Status::kNameTooLong:
      return "File name too long";
    case bfs::Status::kBadName:
      return "Invalid argument";
    default:
      return bfs::status_text(st);
  }
}

namespace {

void print_space_line(bool show_flash) {
  uint64_t used = 0, avail = 0, total = 0;
  bfs::space(g.fs, &used, &avail, &total);
  if (show_flash)
    fw::printf("\n%lu bytes available (%lu bytes used)\n", avail, used);
  else
    fw::printf("\n%lu bytes total (%lu bytes free)\n", total, avail);
}

const char* base_name(const char* path) {
  const char* p = path;
  for (const char* s = path; *s; ++s)
    if (*s == ':' || *s == '/') p = s + 1;
  return p;
}

}  // namespace

bool bootflash_mounted() {
  if (g.fs_mounted) return true;
  fw::printf("%%Error: bootflash: is not available (not mounted)\n");
  return false;
}

bool local_name(const char* path, char* name, size_t cap) {
  cli::Url u;
  if (!path || !cli::split_url(path, &u)) {
    fw::printf("%%Error: invalid path %s\n", path ? path : "");
    return false;
  }
  if (u.fs != cli::FileSystem::kBootflash && u.fs != cli::FileSystem::kFlash && u.fs != cli::FileSystem::kNone) {
    fw::printf("%%Error: %s is not on bootflash: (only bootflash: and flash: are local file systems here)\n", path);
    return false;
  }
  const char* p = u.path.data;
  size_t n = u.path.size;
  while (n && *p == '/') ++p, --n;  // bootflash:/name == bootflash:name
  if (n == 0 || n >= cap) {
    fw::printf("%%Error: %s: file name missing or too long\n", path);
    return false;
  }
  memcpy(name, p, n);
  name[n] = '\0';
  return true;
}

bool load_file(const char* name, uint64_t* size) {
  bfs::FileInfo fi;
  bfs::Status st = bfs::stat(g.fs, name, &fi);
  if (st != bfs::Status::kOk) {
    fw::printf("%%Error opening bootflash:%s (%s)\n", name, ios_error(st));
    return false;
  }
  if (fi.size > kStagingSize) {
    fw::printf("%%Error: bootflash:%s is too large to load (%lu bytes)\n", name, fi.size);
    return false;
  }
  size_t got = 0;
  st = bfs::read(g.fs, name, 0, reinterpret_cast<void*>(kStaging), size_t(fi.size), &got);
  if (st != bfs::Status::kOk || got != fi.size) {
    fw::printf("%%Error reading bootflash:%s (%s)\n", name, ios_error(st));
    return false;
  }
  *size = fi.size;
  return true;
}

void cmd_dir(const cli::Args& a) {
  if (!bootflash_mounted()) return;
  const char* path = a.text(cli::ArgTag::kPath);
  char one[bfs::kMaxNameLen + 1] = {};
  if (path) {
    cli::Url u;
    if (cli::split_url(path, &u) && u.path.size > 0 && !(u.path.size == 1 && u.path.data[0] == '/')) {
      if (!local_name(path, one, sizeof one)) return;
    } else if (!cli::split_url(path, &u) || (u.fs != cli::FileSystem::kBootflash && u.fs != cli::FileSystem::kFlash)) {
      fw::printf("%%Error: %s is not on bootflash:\n", path);
      return;
    }
  }
  fw::printf("Directory of bootflash:/\n\n");
  uint32_t cursor = 0, shown = 0;
  bfs::FileInfo fi;
  char date[32];
  while (bfs::next_file(g.fs, &cursor, &fi)) {
    if (one[0] && fw::strcmp(one, fi.name) != 0) continue;
    trustsim::datetime::format_ios(fi.timestamp, date, sizeof date);
    fw::printf("%5u  -rw-  %15lu  %s  %s\n", fi.index, fi.size, date, fi.name);
    ++shown;
  }
  if (one[0] && !shown) {
    fw::printf("%%Error opening bootflash:/%s (No such file or directory)\n", one);
    return;
  }
  if (!shown) fw::printf("No files in directory\n");
  print_space_line(false);
}

void cmd_show_flash() {
  if (!bootflash_mounted()) return;
  fw::printf("-#- --length-- ---------date/time--------- path\n");
  uint32_t cursor = 0;
  bfs::FileInfo fi;
  char date[32];
  while (bfs::next_file(g.fs, &cursor, &fi)) {
    trustsim::datetime::format_ios(fi.timestamp, date, sizeof date);
    fw::printf("%3u %10lu %s /bootflash/%s\n", fi.index, fi.size, date, fi.name);
  }
  print_space_line(true);
}

bool ask_name(const char* label, char* name, size_t cap) {
  if (g.file_prompt == cli::FilePrompt::kQuiet) return true;
  char answer[bfs::kMaxNameLen + 1];
  fw::printf("%s [%s]? ", label, name);
  fw::flush();
  if (fw::readline(answer, sizeof answer) && fw::strcmp(fw::trim(answer), name) != 0)
    return local_name(fw::trim(answer), name, cap);
  return true;
}

void ask_text(const char* label, char* text, size_t cap, bool noisy_only) {
  if (g.file_prompt == cli::FilePrompt::kQuiet || (noisy_only && g.file_prompt != cli::FilePrompt::kNoisy)) return;
  char answer[256];
  fw::printf("%s [%s]? ", label, text);
  fw::flush();
  size_t n = fw::readline(answer, sizeof answer);
  const char* t = fw::trim(answer);
  if (n && *t && strlen(t) < cap) memcpy(text, t, strlen(t) + 1);
}

bool overwrite_ok() {
  fw::printf("%%Warning: There is a file already existing with this name\n");
  if (g.file_prompt == cli::FilePrompt::kQuiet) return true;
  return confirm("Do you want to over write? [confirm]");
}

void cmd_file_prompt(const cli::Args& a) {
  g.file_prompt = a.negated ? cli::FilePrompt::kAlert
                            : cli::FilePrompt(a.number(cli::ArgTag::kPromptLevel, uint32_t(cli::FilePrompt::kAlert)));
}

void cmd_delete(const cli::Args& a) {
  if (!bootflash_mounted()) return;
  char name[bfs::kMaxNameLen + 1];
  if (!local_name(a.text(cli::ArgTag::kPath), name, sizeof name)) return;
  if (!a.has(cli::ArgTag::kForce) && g.file_prompt != cli::FilePrompt::kQuiet) {
    if (!ask_name("Delete filename", name, sizeof name)) return;
    fw::printf("Delete bootflash:/%s? [confirm]", name);
    if (!confirm("")) return;
  }
  bfs::Status st = bfs::remove(g.fs, name);
  if (st != bfs::Status::kOk) fw::printf("%%Error deleting bootflash:/%s (%s)\n", name, ios_error(st));
}

void cmd_rename(const cli::Args& a) {
  if (!bootflash_mounted()) return;
  char from[bfs::kMaxNameLen + 1], to[bfs::kMaxNameLen + 1];
  if (!local_name(a.text(cli::ArgTag::kSource), from, sizeof from) ||
      !local_name(a.text(cli::ArgTag::kDestination), to, sizeof to))
    return;
  if (!ask_name("Destination filename", to, sizeof to)) return;
  bfs::Status st = bfs::rename(g.fs, from, to);
  if (st != bfs::Status::kOk) fw::printf("%%Error renaming bootflash:/%s (%s)\n", from, ios_error(st));
}

void cmd_copy(const cli::Args& a) {
  const char* src = a.text(cli::ArgTag::kSource);
  const char* dst = a.text(cli::ArgTag::kDestination);
  // The config keywords come back as their FileSystem in the argument's number.
  auto fs_of = [&](cli::ArgTag tag) { return cli::FileSystem(a.number(tag)); };
  if (fs_of(cli::ArgTag::kSource) == cli::FileSystem::kRunningConfig &&
      fs_of(cli::ArgTag::kDestination) == cli::FileSystem::kStartupConfig) {
    fw::printf("Destination filename [startup-config]? ");
    char answer[8];
    fw::flush();
    fw::readline(answer, sizeof answer);
    cmd_write_memory();
    return;
  }
  if (fs_of(cli::ArgTag::kSource) == cli::FileSystem::kRunningConfig ||
      fs_of(cli::ArgTag::kSource) == cli::FileSystem::kStartupConfig ||
      fs_of(cli::ArgTag::kDestination) == cli::FileSystem::kRunningConfig ||
      fs_of(cli::ArgTag::kDestination) == cli::FileSystem::kStartupConfig) {
    fw::printf("%%Error: only copy running-config startup-config is supported for configurations\n");
    return;
  }
  cli::Url su, du;
  if (!cli::split_url(src, &su) || !cli::split_url(dst, &du)) {
    fw::printf("%%Error: invalid copy source or destination\n");
    return;
  }
  if (cli::is_remote(du.fs)) {
    bool local_src =
        su.fs == cli::FileSystem::kBootflash || su.fs == cli::FileSystem::kFlash || su.fs == cli::FileSystem::kNone;
    if (!local_src) {
      fw::printf("%%Error: %s is not on bootflash: (uploads come from bootflash:)\n", src);
    } else {
      net_upload(src, dst, du);
    }
    return;
  }
  if (cli::is_remote(su.fs)) {
    if (du.fs != cli::FileSystem::kBootflash && du.fs != cli::FileSystem::kFlash && du.fs != cli::FileSystem::kNone) {
      fw::printf("%%Error: %s is not on bootflash: (downloads go to bootflash:)\n", dst);
      return;
    }
    net_copy(src, su, dst, du);
    return;
  }
  if (!bootflash_mounted()) return;
  char from[bfs::kMaxNameLen + 1], to[bfs::kMaxNameLen + 1];
  if (!local_name(src, from, sizeof from)) return;
  if (du.path.size == 0 || (du.path.size == 1 && du.path.data[0] == '/')) {
    size_t n = strlen(base_name(src));
    memcpy(to, base_name(src), n + 1);
  } else if (!local_name(dst, to, sizeof to)) {
    return;
  }
  if (g.file_prompt == cli::FilePrompt::kNoisy && !ask_name("Source filename", from, sizeof from)) return;
  if (!ask_name("Destination filename", to, sizeof to)) return;
  if (fw::strcmp(from, to) == 0) {
    fw::printf("%%Error: source and destination are the same file\n");
    return;
  }
  bfs::FileInfo src_info, dst_info;
  bfs::Status st = bfs::stat(g.fs, from, &src_info);
  if (st != bfs::Status::kOk) {
    fw::printf("%%Error opening bootflash:/%s (%s)\n", from, ios_error(st));
    return;
  }
  if (bfs::stat(g.fs, to, &dst_info) == bfs::Status::kOk && !overwrite_ok()) return;
  uint64_t t0 = fw::uptime_ns();
  st = bfs::begin_write(g.fs, to, uint32_t(fw::rtc_seconds()));
  uint32_t crc = 0;
  for (uint64_t off = 0; st == bfs::Status::kOk && off < src_info.size; off += kChunk) {
    size_t want = src_info.size - off < kChunk ? size_t(src_info.size - off) : kChunk;
    size_t got = 0;
    st = bfs::read(g.fs, from, off, g_chunk, want, &got);
    if (st == bfs::Status::kOk && got != want) st = bfs::Status::kIoError;
    if (st == bfs::Status::kOk) st = bfs::append(g.fs, g_chunk, got);
    crc = trustsim::crc32(g_chunk, got, crc);
    fw::putc('!');
  }
  fw::puts("\n");
  if (st == bfs::Status::kOk)
    st = bfs::commit(g.fs);
  else
    bfs::abort(g.fs);
  if (st != bfs::Status::kOk) {
    fw::printf("%%Error copying bootflash:/%s (%s)\n", from, ios_error(st));
    return;
  }
  bool ok = bfs::stat(g.fs, to, &dst_info) == bfs::Status::kOk && dst_info.crc32 == crc && crc == src_info.crc32;
  fw::printf("Verifying checksum ...  %s (0x%08x)\n", ok ? "OK" : "FAILED", dst_info.crc32);
  uint64_t ns = fw::uptime_ns() - t0;
  uint64_t ms = ns / 1000000;
  fw::printf("%lu bytes copied in %lu.%03lu secs (%lu bytes/sec)\n", src_info.size, ms / 1000, ms % 1000,
             uint64_t(ns ? src_info.size * 1000000000ull / ns : 0));
}

void cmd_more(const cli::Args& a) {
  const char* path = a.text(cli::ArgTag::kPath);
  if (path && (!fw::strcmp(path, "nvram:invalid-config") || !fw::strcmp(path, "nvram:/invalid-config"))) {
    cmd_more_invalid_config();
    return;
  }
  if (!bootflash_mounted()) return;
  char name[bfs::kMaxNameLen + 1];
  if (!local_name(a.text(cli::ArgTag::kPath), name, sizeof name)) return;
  bfs::FileInfo fi;
  bfs::Status st = bfs::stat(g.fs, name, &fi);
  if (st != bfs::Status::kOk) {
    fw::printf("%%Error opening bootflash:%s (%s)\n", name, ios_error(st));
    return;
  }
  for (uint64_t off = 0; off < fi.size; off += kChunk) {
    size_t got = 0;
    if (bfs::read(g.fs, name, off, g_chunk, kChunk, &got) != bfs::Status::kOk) break;
    for (size_t i = 0; i < got; ++i) {
      char c = char(g_chunk[i]);
      fw::putc((c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7F)) ? c : '.');
    }
  }
  if (fi.size) fw::puts("\n");
}

void cmd_format(const cli::Args& a) {
  cli::FileSystem fs = cli::FileSystem(a.number(cli::ArgTag::kFileSystem));
  if (fs != cli::FileSystem::kBootflash && fs != cli::FileSystem::kFlash) {
    fw::printf("%%Error: only bootflash: can be formatted\n");
    return;
  }
  if (!confirm("Format operation may take a while. Continue? [confirm]")) return;
  if (!confirm("Format operation will destroy all data in \"bootflash:\".  Continue? [confirm]")) return;
  if (!g.nand.geometry().page_size) {
    fw::printf("%%Error: no bootflash: device\n");
    return;
  }
  g.fs.attach(g.nand);
  bfs::Status st = bfs::format(g.fs, "bootflash");
  if (st != bfs::Status::kOk) {
    g.fs_mounted = false;
    fw::printf("%%Error formatting bootflash: (%s)\n", ios_error(st));
    return;
  }
  g.fs_mounted = true;
  fw::printf("Format of bootflash: complete\n");
}

}  // namespace os
