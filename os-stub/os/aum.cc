// The Auto-Upgrade Manager: upgrade automatic [getversion | runversion |
// abortversion], and the interactive upgrade automatic. The workflow of
// the guide: download the image (into RAM, through the transfer engine),
// check it is an OS image for this platform, make room on bootflash: by the
// configured clean-up policy, write it, verify its signature with the boot
// chain's policy, point boot system at it and schedule the reload.
// Failures go to the console and the log buffer. docs/aum.md.
#include "os.h"
#include "trustsim/datetime.h"
#include "trustsim/image.h"
#include "trustsim/netxfer_regs.h"
#include "trustsim/verify.h"

namespace os {
namespace {

namespace img = trustsim::image;
namespace dt = trustsim::datetime;
namespace verify = trustsim::verify;

// The download buffer: the upper half of the staging area, so that
// verification (which loads the written file into the lower half) and the
// clean-up's checks leave the downloaded bytes alone.
constexpr uint64_t kAumBuf = kStaging + kStagingSize / 2;
constexpr uint64_t kAumBufSize = kStaging + kStagingSize - kAumBuf;
constexpr size_t kWriteChunk = 64 * 1024;
constexpr size_t kBootLen = sizeof g.boot_system[0];

struct Upgrade {
  bool ready;                       // an image was downloaded and validated in this boot
  char name[bfs::kMaxNameLen + 1];  // its bootflash: name
  bool boot_saved;                  // saved_boot holds the boot list from before runversion
  char saved_boot[kMaxBootEntries][kBootLen];
  uint32_t saved_count;
} g_up;

uint8_t* buffer() { return reinterpret_cast<uint8_t*>(kAumBuf); }

void debug(const char* what, const char* arg) {
  if (g.debug.autoupgrade) fw::printf("AUM: %s%s\n", what, arg ? arg : "");
}

// The status mail (docs/aum.md, "Status mail"): one message to the
// configured recipient through the configured SMTP server, sent by the
// transfer engine's mail block. Its outcome is logged.
void status_mail(bool ok, const char* result) {
  if (!g.aum_recipient[0] || !g.aum_smtp_server[0]) {
    debug("no status mail (autoupgrade status email recipient and smtp-server are both needed)", nullptr);
    return;
  }
  char text[200];
  uint64_t base = fw::dev_base(TS_DEV_NETXFER);
  char from[160], env[TS_NETXFER_MAX_ENVELOPE], body[TS_NETXFER_MAX_MAIL], when[40];
  fw::snprintf(from, sizeof from, "%s@%s", router_name(), g.domain_name[0] ? g.domain_name : "localdomain");
  int en = fw::snprintf(env, sizeof env, "smtp://%s\n%s\n%s", g.aum_smtp_server, from, g.aum_recipient);
  dt::format_long(fw::rtc_seconds(), when, sizeof when);
  const trustsim::handoff::Block* h = g.handoff;
  int bn = fw::snprintf(body, sizeof body,
                        "From: %s\r\nTo: %s\r\nSubject: Auto-Upgrade Manager on %s: %s\r\n\r\n%s\r\n"
                        "Time: %s\r\nRunning image: %s\r\n",
                        from, g.aum_recipient, router_name(), ok ? "image ready" : "upgrade failed", result, when,
                        h && h->magic == trustsim::handoff::kMagic ? h->os_path : "unknown");
  uint64_t st = TS_NETXFER_FAILED;
  if (!base) {
    fw::snprintf(text, sizeof text, "%%AUM-4-STATUS_MAIL_FAILED: status mail to %s not sent (no transfer engine)",
                 g.aum_recipient);
    log_message(text);
    return;
  }
  if (en > 0 && size_t(en) < sizeof env && bn > 0 && size_t(bn) < sizeof body) {
    fw::Xfer x = fw::mbox_write(base + TS_NETXFER_MAIL_ENVELOPE, env, size_t(en));
    if (x.status == TS_MBOX_OK) x = fw::mbox_write(base + TS_NETXFER_MAIL_BODY, body, size_t(bn));
    if (x.status == TS_MBOX_OK) {
      fw::reg_write64(base + TS_NETXFER_MAIL_CTRL, TS_NETXFER_MAIL_CMD_SEND);
      st = fw::reg_read64(base + TS_NETXFER_MAIL_STATUS);
    }
  }
  if (st == TS_NETXFER_OK)
    fw::snprintf(text, sizeof text, "%%AUM-6-STATUS_MAIL: status mail sent to %s", g.aum_recipient);
  else
    fw::snprintf(text, sizeof text, "%%AUM-4-STATUS_MAIL_FAILED: status mail to %s not sent (%s)", g.aum_recipient,
                 net_error_text(st));
  log_message(text);
}

// A failure: its reason on the console and in the log buffer, and mailed.
void fail(const char* reason) {
  char text[360];
  fw::snprintf(text, sizeof text, "%%AUM-3-UPGRADE_FAILED: %s", reason);
  log_message(text);
  status_mail(false, reason);
}

const char* last_part(const char* path) {
  const char* b = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/') b = p + 1;
  return b;
}

// The running image's bootflash: name, or "" (from ROMmon's hand-off).
const char* running_name() {
  const trustsim::handoff::Block* h = g.handoff;
  if (!h || h->magic != trustsim::handoff::kMagic) return "";
  return fw::starts_with(h->os_path, "bootflash:") ? h->os_path + 10 : "";
}

bool in_boot_list(const char* name) {
  for (uint32_t i = 0; i < g.boot_count; ++i)
    if (!fw::strcmp(g.boot_system[i] + 10, name)) return true;  // entries are "bootflash:NAME"
  return false;
}

bool is_protected(const char* name) {
  return !fw::strcmp(name, running_name()) || in_boot_list(name) || (g_up.ready && !fw::strcmp(name, g_up.name));
}

uint64_t available() {
  uint64_t used = 0, avail = 0, total = 0;
  bfs::space(g.fs, &used, &avail, &total);
  return avail;
}

// Bytes of data space a file of `size` bytes takes (whole allocation units).
uint64_t footprint(uint64_t size) {
  bfs::Limits l = bfs::limits(g.fs);
  if (size <= l.inline_size) return 0;
  uint64_t unit = l.block_data_bytes ? l.block_data_bytes : 1;
  return (size + unit - 1) / unit * unit;
}

bool ends_with(const char* s, const char* tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && !fw::strcmp(s + a - b, tail);
}

// Which clean-up category a file falls in; -1 if none. Images are read
// and verified here (into the lower half of the staging area).
int category_of(const bfs::FileInfo& f) {
  if (fw::starts_with(f.name, "crashinfo")) return int(cli::AumCleanup::kCrashinfo);
  if (fw::starts_with(f.name, "core") || ends_with(f.name, ".core")) return int(cli::AumCleanup::kCore);
  uint8_t head[img::kHeaderSize];
  size_t got = 0;
  if (f.size < 4 || bfs::read(g.fs, f.name, 0, head, sizeof head, &got) != bfs::Status::kOk || got < 4) return -1;
  if (head[0] != 'T' || head[1] != 'S' || head[2] != 'I' || head[3] != 'M') return -1;  // not an image
  if (f.size > kAumBuf - kStaging) return int(cli::AumCleanup::kImage);                 // too large to verify here
  const char* verdict = verify_file_verdict(f.name);
  return verdict && !*verdict ? int(cli::AumCleanup::kImage) : int(cli::AumCleanup::kIrrecoverable);
}

const char* category_name(int c) {
  static const char* const kNames[] = {"crashinfo", "core", "image", "irrecoverable"};
  return c >= 0 && c < 4 ? kNames[c] : "?";
}

// Deletes what the clean-up policy allows, in directory order, until
// `need` bytes are free. Never the running image, a boot list entry or the
// image waiting for runversion.
void clean_up(cli::AumDisk disk, uint64_t need) {
  if (disk == cli::AumDisk::kNo) {
    fw::printf("Disk clean-up is off for this upgrade (disk-management no)\n");
    return;
  }
  if (!g.aum_cleanup) {
    fw::printf("No disk clean-up policy is configured (autoupgrade disk-cleanup)\n");
    return;
  }
  uint32_t cursor = 0;
  bfs::FileInfo f;
  while (available() < need && bfs::next_file(g.fs, &cursor, &f)) {
    if (is_protected(f.name)) continue;
    int c = category_of(f);
    if (c < 0 || !(g.aum_cleanup & (1u << c))) continue;
    char question[bfs::kMaxNameLen + 80];
    fw::snprintf(question, sizeof question, "Delete bootflash:%s (%lu bytes, %s)? [confirm]", f.name, f.size,
                 category_name(c));
    if (disk == cli::AumDisk::kConfirm) {
      if (!confirm(question)) continue;
    } else {
      fw::printf("Deleting bootflash:%s (%lu bytes, %s)\n", f.name, f.size, category_name(c));
    }
    bfs::Status st = bfs::remove(g.fs, f.name);
    if (st != bfs::Status::kOk) fw::printf("%%Error deleting bootflash:%s (%s)\n", f.name, ios_error(st));
  }
}

// The URL the image was fetched from (by fetch()), for the network boot
// entry of erase_running_image().
char g_source[kBootLen];

// tftp://A.B.C.D[:PORT]/PATH: a URL ROMmon can boot from (it has no name
// server and speaks TFTP only).
bool rommon_can_boot(const char* url) {
  if (!fw::starts_with(url, "tftp://") || strlen(url) >= kBootLen) return false;
  int dots = 0, digits = 0;
  const char* p = url + 7;
  for (; *p && *p != ':' && *p != '/'; ++p) {
    if (*p == '.' && digits) {
      ++dots;
      digits = 0;
    } else if (*p >= '0' && *p <= '9' && digits < 3) {
      ++digits;
    } else {
      return false;
    }
  }
  return dots == 3 && digits && *p;
}

enum class Erase { kNotNeeded, kFailed, kDone };

// The guide's last resort when bootflash: cannot hold both images (l. 924:
// the running image is erased and the new one fetched again), taken only
// when the clean-up left too little room and erasing the running image
// makes enough. Made safe against power loss (docs/aum.md, "No room for
// both images"): the image in RAM is verified first; the boot list becomes
// bootflash:NEW, then the URL it came from (ROMmon boots a tftp: entry
// through the transfer engine), then the other entries, and is saved
// before anything is erased. A cut after the erase and before the new
// file is committed therefore boots the new image from the server,
// verified by ROMmon; a cut before the erase boots the running image.
// Instead of fetching the image again, the verified bytes in RAM are
// written. Refused, with the reason, when ROMmon could not boot the URL.
Erase erase_running_image(const char* name, uint64_t size, cli::AumDisk disk, uint64_t need) {
  const char* running = running_name();
  bfs::FileInfo fi;
  if (!(g.aum_cleanup & (1u << int(cli::AumCleanup::kImage)))) return Erase::kNotNeeded;  // images may not go
  if (!running[0] || bfs::stat(g.fs, running, &fi) != bfs::Status::kOk) return Erase::kNotNeeded;
  if (available() + footprint(fi.size) < need) return Erase::kNotNeeded;  // it would not help either
  char why[2 * bfs::kMaxNameLen + 240];
  if (!rommon_can_boot(g_source)) {
    fw::snprintf(why, sizeof why,
                 "not enough space on bootflash: for %s (%lu bytes needed, %lu available); the running image %s is "
                 "not erased: ROMmon can boot the new image from tftp://A.B.C.D/ URLs only if power fails meanwhile",
                 name, need, available(), running);
    fail(why);
    return Erase::kFailed;
  }
  static verify::Result result;
  fw::EngineCrypto crypto;
  verify::verify_image(buffer(), size, g.keys, crypto, result);
  if (result.verdict != verify::Verdict::kOk) {
    fw::snprintf(why, sizeof why, "signature failure on %s (%s); the running image %s is not erased", name,
                 verify::verdict_text(result.verdict), running);
    fail(why);
    return Erase::kFailed;
  }
  char question[2 * bfs::kMaxNameLen + 80];
  fw::snprintf(question, sizeof question, "Erase the running image bootflash:%s (%lu bytes) to make room? [confirm]",
               running, fi.size);
  if (disk == cli::AumDisk::kConfirm && !confirm(question)) {
    fw::snprintf(why, sizeof why, "not enough space on bootflash: for %s (%lu bytes needed, %lu available)", name, need,
                 available());
    fail(why);
    return Erase::kFailed;
  }
  char list[kMaxBootEntries][kBootLen];
  uint32_t n = 0;
  fw::snprintf(list[n++], kBootLen, "bootflash:%s", name);
  memcpy(list[n++], g_source, strlen(g_source) + 1);
  for (uint32_t i = 0; i < g.boot_count && n < kMaxBootEntries; ++i)
    if (fw::strcmp(g.boot_system[i] + 10, running) && fw::strcmp(g.boot_system[i], list[0]) &&
        fw::strcmp(g.boot_system[i], list[1]))
      memcpy(list[n++], g.boot_system[i], kBootLen);
  memcpy(g.boot_system, list, sizeof list);
  g.boot_count = n;
  if (!save_config()) {
    fail("could not save the boot list to NVRAM; the running image is not erased");
    return Erase::kFailed;
  }
  fw::printf("Erasing the running image bootflash:%s; until bootflash:%s is written ROMmon boots %s\n", running, name,
             g_source);
  bfs::Status st = bfs::remove(g.fs, running);
  if (st != bfs::Status::kOk) {
    fw::snprintf(why, sizeof why, "erasing bootflash:%s failed (%s)", running, ios_error(st));
    fail(why);
    return Erase::kFailed;
  }
  return Erase::kDone;
}

// Writes the downloaded bytes as bootflash:NAME (atomically: a cut leaves
// no partial file).
bool write_image(const char* name, uint64_t size) {
  bfs::Status st = bfs::begin_write(g.fs, name, uint32_t(fw::rtc_seconds()));
  for (uint64_t off = 0; st == bfs::Status::kOk && off < size; off += kWriteChunk) {
    uint64_t n = size - off < kWriteChunk ? size - off : kWriteChunk;
    st = bfs::append(g.fs, buffer() + off, size_t(n));
  }
  if (st == bfs::Status::kOk) st = bfs::commit(g.fs);
  if (st == bfs::Status::kOk) return true;
  bfs::abort(g.fs);
  char why[bfs::kMaxNameLen + 80];
  fw::snprintf(why, sizeof why, "writing bootflash:%s failed (%s)", name, ios_error(st));
  fail(why);
  return false;
}

// The image name from a URL; false (after the failure) if it cannot be one.
bool image_name(const char* url, char* name, size_t cap) {
  const char* b = last_part(url);
  size_t n = strlen(b);
  if (n == 0 || n >= cap || bfs::check_name(b) != bfs::Status::kOk) {
    char why[300];
    fw::snprintf(why, sizeof why, "%s names no usable bootflash: file", url);
    fail(why);
    return false;
  }
  memcpy(name, b, n + 1);
  return true;
}

// Whether an upgrade may start: bootflash: mounted and none scheduled.
bool can_start() {
  if (!bootflash_mounted()) return false;
  if (upgrade_reload_pending()) {
    fw::printf("%%Error: an upgrade is scheduled already; cancel it with upgrade automatic abortversion first\n");
    return false;
  }
  return true;
}

// Step 1: the download into RAM. *size is its length.
bool fetch(const char* url, const char* name, uint64_t* size) {
  if (!can_start()) return false;
  if (!fw::strcmp(name, running_name()) || in_boot_list(name)) {
    char why[bfs::kMaxNameLen + 120];
    fw::snprintf(why, sizeof why, "bootflash:%s is the running image or in the boot list; it is not replaced", name);
    fail(why);
    return false;
  }
  debug("downloading ", url);
  if (strlen(url) < sizeof g_source)
    memcpy(g_source, url, strlen(url) + 1);
  else
    g_source[0] = '\0';
  uint64_t st = 0;
  if (!net_fetch(url, buffer(), kAumBufSize, size, &st)) {
    char why[300];
    if (st == TS_NETXFER_DENIED)
      fw::snprintf(why, sizeof why, "not authorised to download %s (the server refused the login)", name);
    else
      fw::snprintf(why, sizeof why, "download of %s failed (%s)", name, net_error_text(st));
    fail(why);
    return false;
  }
  return true;
}

// Steps 2-5: requirements, clean-up, write, signature. On success the
// image is ready for runversion.
bool install(const char* name, uint64_t size, cli::AumDisk disk) {
  img::Header h;
  img::Error e = img::parse_header(buffer(), size < img::kHeaderSize ? size_t(size) : img::kHeaderSize, h);
  const ts_boardinfo& bi = fw::board_info();
  char why[400];
  if (e != img::Error::kOk) {
    fw::snprintf(why, sizeof why, "%s is not valid for this platform (not an image: %s)", name, img::error_text(e));
    fail(why);
    return false;
  }
  if (h.image_type != uint32_t(img::Type::kOs)) {
    fw::snprintf(why, sizeof why, "%s is not valid for this platform (a %s image, not an OS image)", name,
                 img::type_name(h.image_type));
    fail(why);
    return false;
  }
  if (h.platform_id != bi.platform_id) {
    fw::snprintf(why, sizeof why, "%s is not valid for this platform (built for %s, this board is %s)", name,
                 h.platform, bi.platform);
    fail(why);
    return false;
  }
  debug("image is an OS image for ", h.platform);
  uint64_t need = footprint(size);
  if (available() < need) {
    fw::printf("bootflash: has %lu bytes free, %s needs %lu\n", available(), name, need);
    clean_up(disk, need);
  }
  if (available() < need && disk != cli::AumDisk::kNo && erase_running_image(name, size, disk, need) == Erase::kFailed)
    return false;
  if (available() < need) {
    fw::snprintf(why, sizeof why, "not enough space on bootflash: for %s (%lu bytes needed, %lu available)", name, need,
                 available());
    fail(why);
    return false;
  }
  if (!write_image(name, size)) return false;
  fw::printf("[download complete]\n");
  fw::printf("Verifiying the image: ");
  const char* verdict = verify_file_verdict(name);
  for (uint64_t mb = 0; mb <= size >> 20; ++mb) fw::putc('.');
  fw::printf("\nDone!\n");
  if (!verdict || *verdict) {
    fw::printf("Image Verification: FAIL\n");
    bfs::remove(g.fs, name);  // it can never boot, and nothing points at it (fetch() made sure)
    fw::snprintf(why, sizeof why, "signature failure on bootflash:%s (%s)", name, verdict ? verdict : "unreadable");
    fail(why);
    return false;
  }
  fw::printf("Image Verification: PASS\n");
  g_up.ready = true;
  memcpy(g_up.name, name, strlen(name) + 1);
  fw::snprintf(why, sizeof why, "%%AUM-6-IMAGE_READY: bootflash:%s downloaded and validated", name);
  log_message(why);
  return true;
}

// Seconds from now until hh:mm (today, or tomorrow if it has passed).
uint64_t until(uint32_t minutes_after_midnight) {
  uint64_t now = fw::rtc_seconds();
  dt::Civil c = dt::from_unix(now);
  c.hour = minutes_after_midnight / 60;
  c.minute = minutes_after_midnight % 60;
  c.second = 0;
  uint64_t at = dt::to_unix(c);
  if (at <= now) at += 86400;
  return at - now;
}

// Points the boot list at the ready image (the old entries after it, the
// running image last if it was not in the list), saves, and schedules.
void run_version(bool has_when, cli::AumWhen when, uint32_t value) {
  if (!g_up.ready) {
    fw::printf("%%Error: no image is ready; download one with upgrade automatic getversion first\n");
    return;
  }
  bfs::FileInfo fi;
  if (bfs::stat(g.fs, g_up.name, &fi) != bfs::Status::kOk) {
    fw::printf("%%Error: bootflash:%s is gone; download it again\n", g_up.name);
    g_up.ready = false;
    return;
  }
  char path[kBootLen];
  fw::snprintf(path, sizeof path, "bootflash:%s", g_up.name);
  fw::printf("Upgrading to \"%s\". Wait..\n", path);
  if (!g_up.boot_saved) {
    memcpy(g_up.saved_boot, g.boot_system, sizeof g_up.saved_boot);
    g_up.saved_count = g.boot_count;
    g_up.boot_saved = true;
  }
  char list[kMaxBootEntries][kBootLen];
  uint32_t n = 0;
  auto add = [&](const char* e) {
    for (uint32_t i = 0; i < n; ++i)
      if (!fw::strcmp(list[i], e)) return;
    if (n < kMaxBootEntries) memcpy(list[n++], e, strlen(e) + 1);
  };
  add(path);
  for (uint32_t i = 0; i < g_up.saved_count; ++i) add(g_up.saved_boot[i]);
  bfs::FileInfo running;  // not if the upgrade erased it
  if (running_name()[0] && bfs::stat(g.fs, running_name(), &running) == bfs::Status::kOk) add(g.handoff->os_path);
  memcpy(g.boot_system, list, sizeof list);
  g.boot_count = n;
  debug("boot system now starts with ", path);
  if (!save_config()) {
    fail("could not save the boot list to NVRAM");
    return;
  }
  uint64_t delay = 0;
  if (has_when && when == cli::AumWhen::kAt) delay = until(value);
  if (has_when && when == cli::AumWhen::kIn) delay = uint64_t(value) * 60;
  schedule_upgrade_reload(delay, has_when && when == cli::AumWhen::kAt, path);
}

void abort_version() {
  if (!upgrade_reload_pending()) {
    fw::printf("%%Error: no upgrade is scheduled\n");
    return;
  }
  fw::printf("Auto upgrade of image which was scheduled earlier is aborted!\n");
  if (g_up.boot_saved) {
    memcpy(g.boot_system, g_up.saved_boot, sizeof g_up.saved_boot);
    g.boot_count = g_up.saved_count;
    g_up.boot_saved = false;
    if (!save_config()) fail("could not restore the boot list in NVRAM");
  }
  cancel_scheduled_reload();
}

void after_ready(bool has_when, cli::AumWhen when, uint32_t value) {
  char result[bfs::kMaxNameLen + 120];
  int n = fw::snprintf(result, sizeof result, "bootflash:%s downloaded and validated; reload: ", g_up.name);
  if (n < 0 || size_t(n) >= sizeof result) n = 0;
  if (!has_when)
    fw::snprintf(result + n, sizeof result - size_t(n), "manual (upgrade automatic runversion)");
  else if (when == cli::AumWhen::kAt)
    fw::snprintf(result + n, sizeof result - size_t(n), "at %02u:%02u", value / 60, value % 60);
  else if (when == cli::AumWhen::kIn)
    fw::snprintf(result + n, sizeof result - size_t(n), "in %u minutes", value);
  else
    fw::snprintf(result + n, sizeof result - size_t(n), "now");
  status_mail(true, result);
  if (!has_when) {
    fw::printf("Use 'upgrade automatic runversion' command to reload manually.\n");
    return;
  }
  run_version(true, when, value);
}

// The URL as the console shows it: without "user:password@".
void shown_url(const char* url, char* out, size_t cap) {
  size_t n = strlen(url), host = 0, at = 0;
  for (size_t i = 0; i + 2 < n && !host; ++i)
    if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/') host = i + 3;
  for (size_t i = host; i < n && url[i] != '/'; ++i)
    if (url[i] == '@') at = i + 1;
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; ++i)
    if (i < host || i >= at || !at) out[k++] = url[i];
  out[k] = '\0';
}

// ---- The IDA exchange (docs/aum.md, "The IDA exchange") ----

constexpr size_t kIdaField = 64;    // characters of a user name, password or image name
constexpr size_t kIdaAnswer = 512;  // bytes of the answer the AUM reads
constexpr size_t kImageUrl = 300;   // characters of the image URL the IDA gives
uint8_t g_ida_answer[kIdaAnswer];

const char* ida_url() { return g.aum_ida_url[0] ? g.aum_ida_url : kAumDefaultIdaUrl; }

// A user name, password or image name the IDA can be asked with: 1..64
// printable characters, no space. Prints the error.
bool ida_field_ok(const char* what, const char* v) {
  size_t n = v ? strlen(v) : 0;
  if (n == 0 || n > kIdaField) {
    fw::printf("%%Error: the IDA %s must be 1 to %u characters\n", what, unsigned(kIdaField));
    return false;
  }
  for (size_t i = 0; i < n; ++i)
    if (v[i] <= ' ' || v[i] > '~') {
      fw::printf("%%Error: the IDA %s may hold printable characters only, no spaces\n", what);
      return false;
    }
  return true;
}

// The first bytes of an answer not understood, printable: \xNN for the rest.
void first_bytes(const uint8_t* b, uint64_t n, char* out, size_t cap) {
  size_t k = 0;
  for (uint64_t i = 0; i < n && i < 32 && k + 5 < cap; ++i) {
    if (b[i] >= ' ' && b[i] <= '~' && b[i] != '"' && b[i] != '\\')
      out[k++] = char(b[i]);
    else
      k += size_t(fw::snprintf(out + k, cap - k, "\\x%02x", b[i]));
  }
  out[k] = '\0';
}

// Asks the IDA where `image` is: one GET of the IDA URL with the escaped
// query user=U&password=P&image=I&platform=PLATFORM. The answer's first
// line is OK URL, DENIED REASON or NOT_FOUND REASON. On OK copies URL to
// `url` and returns true; anything else ends the upgrade with the reason.
bool ask_ida(const char* user, const char* password, const char* image, char* url, size_t cap) {
  if (!ida_field_ok("user name", user) || !ida_field_ok("password", password) || !ida_field_ok("image name", image))
    return false;
  if (!can_start()) return false;
  char query[4 * 3 * kIdaField + 64];
  size_t n = 0;
  const char* const keys[] = {"user=", "&password=", "&image=", "&platform="};
  const char* const values[] = {user, password, image, fw::board_info().platform};
  for (int i = 0; i < 4; ++i) {
    size_t k = strlen(keys[i]);
    memcpy(query + n, keys[i], k + 1);
    n += k;
    url_escape(values[i], query, sizeof query, &n);
  }
  fw::printf("Asking the IDA at %s for %s\n", ida_url(), image);
  debug("IDA request for user ", user);
  uint64_t size = 0, st = 0;
  char why[400];
  if (!net_ask(ida_url(), query, g_ida_answer, sizeof g_ida_answer, &size, &st)) {
    if (st == TS_NETXFER_DENIED)
      fw::snprintf(why, sizeof why, "not authorised to download %s (the IDA refused the request: %s)", image,
                   net_error_text(st));
    else
      fw::snprintf(why, sizeof why, "the IDA could not be asked for %s (%s)", image, net_error_text(st));
    fail(why);
    return false;
  }
  // The first line, without its CR; printable ASCII only.
  uint64_t len = 0;
  while (len < size && g_ida_answer[len] != '\n') ++len;
  bool whole_line = len < size;  // ended by a LF (a longer answer is cut)
  if (len && g_ida_answer[len - 1] == '\r') --len;
  bool printable = whole_line || size < sizeof g_ida_answer;
  for (uint64_t i = 0; i < len; ++i) printable = printable && g_ida_answer[i] >= ' ' && g_ida_answer[i] <= '~';
  char line[kIdaAnswer + 1];
  memcpy(line, g_ida_answer, size_t(len));
  line[len] = '\0';
  auto word = [&](const char* w) {
    size_t k = strlen(w);
    return !fw::strncmp(line, w, k) && (line[k] == '\0' || line[k] == ' ');
  };
  auto rest = [&](const char* w) { return line[strlen(w)] ? line + strlen(w) + 1 : ""; };
  const char* u = word("OK") ? rest("OK") : "";
  bool one_word = *u;
  for (const char* p = u; *p; ++p) one_word = one_word && *p != ' ';
  if (printable && word("OK") && one_word && strlen(u) < cap) {
    memcpy(url, u, strlen(u) + 1);
    debug("the IDA answered OK", nullptr);
    return true;
  }
  if (printable && word("DENIED")) {
    fw::snprintf(why, sizeof why, "not authorised to download %s (the IDA says: %s)", image, rest("DENIED"));
  } else if (printable && word("NOT_FOUND")) {
    fw::snprintf(why, sizeof why, "the IDA has no image %s for %s (%s)", image, fw::board_info().platform,
                 rest("NOT_FOUND"));
  } else if (size == 0) {
    fw::snprintf(why, sizeof why, "the IDA's answer for %s is empty", image);
  } else {
    char head[32 * 4 + 1];
    first_bytes(g_ida_answer, size, head, sizeof head);
    fw::snprintf(why, sizeof why, "the IDA's answer for %s is not understood (it begins \"%s\")", image, head);
  }
  fail(why);
  return false;
}

// getversion URL, or the URL the IDA gave: download, install, schedule.
void get_from(const char* url, cli::AumDisk disk, bool has_when, cli::AumWhen when, uint32_t value) {
  char name[bfs::kMaxNameLen + 1];
  if (!image_name(url, name, sizeof name)) return;
  fw::printf("Downloading Image from user specified url:\n");
  uint64_t size = 0;
  if (!fetch(url, name, &size) || !install(name, size, disk)) return;
  after_ready(has_when, when, value);
}

void get_version(const cli::Args& a) {
  cli::AumDisk disk = cli::AumDisk(a.number(cli::ArgTag::kDiskManagement, uint32_t(cli::AumDisk::kConfirm)));
  bool has_when = a.has(cli::ArgTag::kWhen);
  cli::AumWhen when = cli::AumWhen(a.number(cli::ArgTag::kWhen));
  uint32_t value = a.number(cli::ArgTag::kValue);
  if (!a.has(cli::ArgTag::kCisco)) return get_from(a.text(cli::ArgTag::kPath), disk, has_when, when, value);
  char url[kImageUrl];
  if (!ask_ida(a.text(cli::ArgTag::kUser), a.text(cli::ArgTag::kPassword), a.text(cli::ArgTag::kImage), url,
               sizeof url))
    return;
  get_from(url, disk, has_when, when, value);
}

bool yes(const char* question) {
  char buf[16];
  size_t n = ask(question, buf, sizeof buf);
  const char* t = fw::trim(buf);
  return n == 0 || !*t || t[0] == 'y' || t[0] == 'Y';
}

// hh:mm -> minutes after midnight; false if it is not a time of day.
bool parse_time(const char* s, uint32_t* minutes) {
  uint32_t h = 0, m = 0, digits = 0;
  for (; *s >= '0' && *s <= '9'; ++s, ++digits) h = h * 10 + uint32_t(*s - '0');
  if (digits == 0 || digits > 2 || *s++ != ':') return false;
  digits = 0;
  for (; *s >= '0' && *s <= '9'; ++s, ++digits) m = m * 10 + uint32_t(*s - '0');
  if (digits != 2 || *s || h > 23 || m > 59) return false;
  *minutes = h * 60 + m;
  return true;
}

void interactive() {
  static const char kRule[] = "################################################################################\n";
  fw::printf(
      "%sWelcome to the Cisco Auto Upgrade Manager. To upgrade your device, please answer the following\n"
      "questions. To accept the default value for a question, simply hit <ENTER>\n%s",
      kRule, kRule);
  fw::printf(
      "Would you like to download an image directly from Cisco Server over the Internet? A valid\n"
      "Cisco login will be required.\n");
  char url[kImageUrl];
  const char* u = url;
  if (yes("Download from Cisco server? [yes]: ")) {
    char user[kIdaField + 2], password[kIdaField + 2], image[kIdaField + 2];
    ask("Cisco.com username: ", user, sizeof user);
    ask("Cisco.com password: ", password, sizeof password);
    ask("Image name: ", image, sizeof image);
    if (!ask_ida(fw::trim(user), fw::trim(password), fw::trim(image), url, sizeof url)) return;
  } else {
    ask("Image location:", url, sizeof url);
    u = fw::trim(url);
  }
  char name[bfs::kMaxNameLen + 1];
  if (!image_name(u, name, sizeof name)) return;
  uint64_t size = 0;
  if (!fetch(u, name, &size)) return;
  fw::printf("Image Found: %s (%lu bytes)\n", name, size);
  fw::printf("Memory Available: %luMb Main Memory (RAM) - %lu bytes of flash space\n", fw::board_info().ram_size >> 20,
             available());
  fw::printf("New image will be downloaded to bootflash:%s\n", name);
  bool has_when = true;
  cli::AumWhen when = cli::AumWhen::kNow;
  uint32_t value = 0;
  if (!yes("Reload and upgrade the device immediately after image download is complete? [yes]: ")) {
    fw::printf(
        "When would you like to reload your device? Use hh:mm format or specify \"Manual\" to not\n"
        "schedule a reload time. Use 'upgrade automatic runversion' to reload manually.\n");
    char t[32];
    ask("Time to reload the box [Manual]? ", t, sizeof t);
    const char* tt = fw::trim(t);
    if (!*tt || !fw::strcmp(tt, "Manual") || !fw::strcmp(tt, "manual")) {
      has_when = false;
    } else if (parse_time(tt, &value)) {
      when = cli::AumWhen::kAt;
    } else {
      fw::printf("%%Error: %s is not a time of day (hh:mm) or Manual; nothing was changed\n", tt);
      return;
    }
  }
  char shown[kImageUrl];
  shown_url(u, shown, sizeof shown);
  fw::printf("Proceed with device image upgrade from\n[%s] to\n[bootflash:%s]? ", shown, name);
  if (!yes("[yes]: ")) {
    fw::printf("Upgrade cancelled; nothing was changed\n");
    return;
  }
  if (!install(name, size, cli::AumDisk::kConfirm)) return;
  after_ready(has_when, when, value);
}

}  // namespace

void cmd_upgrade_automatic(cli::CommandId id, const cli::Args& a) {
  using C = cli::CommandId;
  switch (id) {
    case C::kUpgradeAutomatic:
      interactive();
      break;
    case C::kUpgradeAutomaticGetversion:
      get_version(a);
      break;
    case C::kUpgradeAutomaticRunversion: {
      bool has = a.has(cli::ArgTag::kWhen);
      run_version(has, cli::AumWhen(a.number(cli::ArgTag::kWhen)), a.number(cli::ArgTag::kValue));
      break;
    }
    case C::kUpgradeAutomaticAbortversion:
      abort_version();
      break;
    default:
      break;
  }
}

}  // namespace os
