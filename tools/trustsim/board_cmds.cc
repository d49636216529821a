#include "board_cmds.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

#include "devices/openssl_util.h"
#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "flash_cmds.h"
#include "host/board_cache.h"
#include "host/image_flash.h"
#include "host/manufacture.h"
#include "host/signing.h"
#include "host/tpm_provision.h"
#include "hw-models/board.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/boot_flash_layout.h"
#include "trustsim/datetime.h"
#include "trustsim/keys.h"
#include "trustsim/nvram_map.h"
#include "trustsim/romvars.h"

#ifndef TRUSTSIM_SOURCE_DIR
#error "TRUSTSIM_SOURCE_DIR must be defined by the build"
#endif

namespace trustsim {
namespace {

struct BoardOptions {
  std::string dir, board_file = "default", keys_dir = std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev";
  std::string serial;
};

// The subject of the last certificate in a PEM chain file.
std::string sudi_subject(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return "(cannot open " + path + ")";
  std::string subject = "(no certificate in " + path + ")";
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    char buf[256];
    X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
    subject = buf;
    X509_free(x);
  }
  fclose(f);
  return subject;
}

int run_new(const BoardOptions& o) {
  BoardConfig cfg = load_board_config(resolve_board_file(o.board_file));
  Artifacts fw = Artifacts::locate();
  StatePaths paths{o.dir};
  if (file_exists(paths.manifest()))
    throw InputError(o.dir + ": already a board state directory; remove it first to make a new board");
  ManufactureOptions mo;
  mo.keys_dir = o.keys_dir;
  mo.serial = o.serial;
  prepare_state_dir(cfg, paths, [&](const StatePaths& d) { manufacture_board_cached(cfg, d, fw, mo); });
  printf("%s: new %s board (%s): Boot0, primary + golden ROMmon, key storage, bootflash: with the OS image%s\n",
         o.dir.c_str(), cfg.name.c_str(), cfg.platform.c_str(),
         cfg.tpm.present ? ", TPM with EK, SUDI key and certificate chain" : "");
  return 0;
}

// The primary and the golden ROMmon in the boot flash, each checked against
// the board's key storage as Boot0 would.
void inspect_boot_flash(const BoardConfig& cfg, const StatePaths& paths, const keys::Store& trusted) {
  printf("\nBoot flash (%s)\n", paths.boot_flash().c_str());
  std::vector<uint8_t> nor = read_file(paths.boot_flash());
  uint64_t golden = boot_flash::golden_rommon_offset(cfg.boot_flash.size);
  struct Slot {
    const char* name;
    uint64_t begin, end;
  } slots[] = {{"primary ROMmon", boot_flash::kPrimaryRommonOffset, golden}, {"golden ROMmon ", golden, nor.size()}};
  for (const Slot& s : slots) {
    if (s.begin >= nor.size() || s.end > nor.size() || s.begin >= s.end) {
      printf("  %s: outside the %zu-byte boot flash file\n", s.name, nor.size());
      continue;
    }
    std::vector<uint8_t> region(nor.begin() + long(s.begin), nor.begin() + long(s.end));
    bool erased = true;
    for (size_t i = 0; i < region.size() && i < image::kHeaderSize; ++i) erased &= region[i] == 0xFF;
    if (erased) {
      printf("  %s at 0x%llx: erased\n", s.name, (unsigned long long)s.begin);
      continue;
    }
    verify::Result r = signing::inspect(region, trusted);
    std::string what = r.have_header ? std::string(image::type_name(r.header.image_type)) + " " + r.header.version +
                                           ", " + std::to_string(r.header.payload_len) + " bytes"
                                     : std::string("no valid image header");
    std::string key = r.have_envelope ? std::string(", signed with ") + keys::key_type_name(r.envelope.key_type) +
                                            " key " + std::string(1, r.envelope.key_version)
                                      : "";
    std::string verdict = verify::verdict_text(r.verdict);
    if (r.detail) verdict += std::string(": ") + r.detail;
    printf("  %s at 0x%llx: %s%s: %s\n", s.name, (unsigned long long)s.begin, what.c_str(), key.c_str(),
           verdict.c_str());
  }
}

int run_inspect(const BoardOptions& o) {
  BoardConfig cfg = load_board_config(resolve_board_file(o.board_file));
  StatePaths paths{o.dir};
  if (!file_exists(paths.manifest())) throw InputError(o.dir + ": not a board state directory (no board-state.yaml)");
  prepare_state_dir(cfg, paths, [](const StatePaths&) {});  // checks it matches the board file
  std::vector<uint8_t> nv = read_file(paths.nvram());
  printf("Board %s (%s), state %s\n\n", cfg.name.c_str(), cfg.platform.c_str(), o.dir.c_str());

  printf("Key storage\n");
  keys::Store ks;
  keys::LoadResult lr = keys::load(nv.data() + keys::kPrimaryOffset, nv.data() + keys::kBackupOffset, ks);
  printf("  primary copy: %s, backup copy: %s%s\n", keys::copy_state_text(lr.primary), keys::copy_state_text(lr.backup),
         lr.repair_primary || lr.repair_backup ? " (the next boot repairs the other copy)" : "");
  if (lr.any_valid) {
    printf("  generation %u, %u keys\n", ks.generation, ks.count);
    for (uint32_t i = 0; i < ks.count; ++i)
      printf("    #%u %-10s version %c  key id %s...%s\n", i + 1, keys::key_type_name(ks.keys[i].type),
             ks.keys[i].version, ossl::hex(ks.keys[i].key_id, 8).c_str(),
             (ks.keys[i].flags & keys::kFlagRevoked) ? "  REVOKED" : "");
  }

  inspect_boot_flash(cfg, paths, lr.any_valid ? ks : keys::Store{});

  printf("\nROMmon variables\n");
  romvars::Store vs;
  romvars::load(vs, nv.data() + nvram_map::kRomvars, romvars::kRegionSize);
  printf("  slot A: %s, slot B: %s, active: %s, generation %u\n",
         romvars::slot_state_text(romvars::check_slot(nv.data(), romvars::kSlotSize)),
         romvars::slot_state_text(romvars::check_slot(nv.data() + romvars::kSlotSize, romvars::kSlotSize)),
         vs.active_slot < 0    ? "none (defaults)"
         : vs.active_slot == 0 ? "A"
                               : "B",
         vs.generation);
  printf("  confreg 0x%x\n", vs.confreg);
  uint32_t cursor = 0;
  while (const char* e = romvars::next_entry(vs, &cursor)) printf("  %s\n", e);

  if (cfg.nand.present) {
    printf("\nbootflash:\n");
    try {
      HostVolume v = open_bootflash(cfg.nand, paths.bootflash());
      uint32_t c = 0;
      bfs::FileInfo fi;
      char date[32];
      while (bfs::next_file(*v.volume, &c, &fi)) {
        datetime::format_ios(fi.timestamp, date, sizeof date);
        printf("  %5u  %12llu  %s  %s\n", fi.index, (unsigned long long)fi.size, date, fi.name);
      }
      uint64_t used, avail, total;
      bfs::space(*v.volume, &used, &avail, &total);
      printf("  %llu bytes total (%llu bytes free)\n", (unsigned long long)total, (unsigned long long)avail);
    } catch (const InputError& e) {
      printf("  %s\n", e.what());
    }
  }
  if (cfg.tpm.present) {
    printf("\nTPM (%s)\n", cfg.tpm.part.c_str());
    try {
      auto blobs = TpmEngine::read_state_file(paths.tpm_nv());
      for (const auto& [name, data] : blobs) printf("  NV state '%s': %zu bytes\n", name.c_str(), data.size());
      printf("  PCRs: volatile, reset at every power-on (read them with `show platform integrity`)\n");
      std::string chain = TpmExports::sudi_chain(paths);
      if (file_exists(chain)) printf("  SUDI device certificate: %s\n", sudi_subject(chain).c_str());
    } catch (const InputError& e) {
      printf("  %s\n", e.what());
    }
  } else {
    printf("\nTPM: none on this board\n");
  }
  return 0;
}

}  // namespace

void add_board_commands(CLI::App& app, std::function<int()>& action) {
  CLI::App* board = app.add_subcommand("board", "make or inspect a board state directory");
  board->require_subcommand(1);
  auto o = std::make_shared<BoardOptions>();
  board->add_option("--board-file", o->board_file, "board description: a name in boards/ or a path");
  CLI::App* nw = board->add_subcommand("new", "manufacture a board: keys, signed ROMmon, bootflash: with the OS");
  nw->add_option("dir", o->dir, "board state directory to create")->required();
  nw->add_option("--keys", o->keys_dir, "directory with rollover-A.pem, production-A.pem, special-A.pem");
  nw->add_option("--serial", o->serial,
                 "serial number for the SUDI certificate (default: TSB + 8 hex digits of the board name's SHA-256)");
  nw->callback([&action, o] { action = [o] { return run_new(*o); }; });
  CLI::App* ins =
      board->add_subcommand("inspect", "key storage, boot flash ROMmons, ROMmon variables, bootflash: listing, TPM");
  ins->add_option("dir", o->dir, "board state directory")->required();
  ins->callback([&action, o] { action = [o] { return run_inspect(*o); }; });
}

}  // namespace trustsim
