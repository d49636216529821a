#include "flash_cmds.h"

#include <cstdio>
#include <ctime>
#include <memory>

#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "host/image_flash.h"
#include "hw-models/board.h"
#include "trustsim/datetime.h"

namespace trustsim {
namespace {

struct FlashOptions {
  std::string board_dir, board_file = "default", src, name, dst;
  bool yes = false;
};

BoardConfig::Nand nand_of(const FlashOptions& o, BoardConfig& cfg) {
  cfg = load_board_config(resolve_board_file(o.board_file));
  if (!cfg.nand.present) throw InputError(cfg.file + ": this board has no bootflash: device (devices.bootflash)");
  StatePaths p{o.board_dir};
  if (!file_exists(p.manifest()))
    throw InputError(o.board_dir + ": not a board state directory (no board-state.yaml); `trustsim run --board " +
                     o.board_dir + " ...` makes one");
  prepare_state_dir(cfg, p, [](const StatePaths&) {});  // only checks: the manifest exists
  return cfg.nand;
}

std::string state_nand(const FlashOptions& o) { return StatePaths{o.board_dir}.bootflash(); }

int run_ls(const FlashOptions& o) {
  BoardConfig cfg;
  HostVolume v = open_bootflash(nand_of(o, cfg), state_nand(o));
  printf("Directory of bootflash:/\n\n");
  uint32_t cursor = 0;
  bfs::FileInfo fi;
  char date[32];
  while (bfs::next_file(*v.volume, &cursor, &fi)) {
    datetime::format_ios(fi.timestamp, date, sizeof date);
    printf("%5u  -rw-  %15llu  %s  %s\n", fi.index, (unsigned long long)fi.size, date, fi.name);
  }
  uint64_t used, avail, total;
  bfs::space(*v.volume, &used, &avail, &total);
  printf("\n%llu bytes total (%llu bytes free)\n", (unsigned long long)total, (unsigned long long)avail);
  return 0;
}

int run_mkfs(const FlashOptions& o) {
  if (!o.yes) throw InputError("mkfs erases every file on bootflash:; pass --yes to confirm");
  BoardConfig cfg;
  open_bootflash(nand_of(o, cfg), state_nand(o), true);
  printf("Format of bootflash: complete\n");
  return 0;
}

int run_put(const FlashOptions& o) {
  BoardConfig cfg;
  HostVolume v = open_bootflash(nand_of(o, cfg), state_nand(o));
  std::vector<uint8_t> data = read_file(o.src);
  std::string name = o.name.empty() ? o.src.substr(o.src.rfind('/') + 1) : o.name;
  bfs::Status st = bfs::check_name(name.c_str());
  if (st != bfs::Status::kOk) throw InputError("bootflash:" + name + ": " + bfs::status_text(st));
  // Refuse what cannot fit before anything is written: a write that runs out
  // of space half-way leaves erased and programmed blocks behind (swept at
  // the next mount, but the board state would have changed).
  uint64_t used, avail, total;
  bfs::space(*v.volume, &used, &avail, &total);
  if (data.size() > avail)
    throw InputError(o.src + ": " + std::to_string(data.size()) + " bytes do not fit on bootflash: (" +
                     std::to_string(avail) + " bytes free of " + std::to_string(total) + ")");
  put_file(v, name, data, uint32_t(cfg.rtc_base));
  printf("%zu bytes copied to bootflash:%s\n", data.size(), name.c_str());
  return 0;
}

int run_get(const FlashOptions& o) {
  BoardConfig cfg;
  HostVolume v = open_bootflash(nand_of(o, cfg), state_nand(o));
  std::vector<uint8_t> data = get_file(*v.volume, o.name);
  std::string dst = o.dst.empty() ? o.name : o.dst;
  check_output_path(dst);
  write_file_atomic(dst, data.data(), data.size());
  printf("%zu bytes copied from bootflash:%s to %s\n", data.size(), o.name.c_str(), dst.c_str());
  return 0;
}

int run_rm(const FlashOptions& o) {
  BoardConfig cfg;
  HostVolume v = open_bootflash(nand_of(o, cfg), state_nand(o));
  bfs::Status st = bfs::remove(*v.volume, o.name.c_str());
  if (st != bfs::Status::kOk) throw InputError("bootflash:" + o.name + ": " + bfs::status_text(st));
  printf("deleted bootflash:%s\n", o.name.c_str());
  return 0;
}

int run_fsck(const FlashOptions& o) {
  BoardConfig cfg;
  bfs::MountReport mr{};
  HostVolume v = open_bootflash(nand_of(o, cfg), state_nand(o), false, &mr);
  bfs::FsckReport fr{};
  bfs::Status st = bfs::fsck(*v.volume, &fr, true);
  printf("mount: generation %u, %u files, %u bad blocks, %u free blocks, %u pages read\n", mr.generation, mr.files,
         mr.bad_blocks, mr.free_blocks, mr.pages_read);
  printf("mount repaired: %u uncommitted blocks, %u uncommitted records, %u torn records, %u records rewritten\n",
         mr.uncommitted_blocks, mr.uncommitted_records, mr.torn_records, mr.repaired_records);
  printf("fsck: %u files, %llu bytes verified, %u errors, %u warnings\n", fr.files,
         (unsigned long long)fr.bytes_verified, fr.errors, fr.warnings);
  if (fr.first_error) printf("first error: %s\n", fr.first_error);
  if (fr.first_warning) printf("first warning: %s\n", fr.first_warning);
  return st == bfs::Status::kOk && fr.errors == 0 ? 0 : 1;
}

}  // namespace

void add_flash_commands(CLI::App& app, std::function<int()>& action) {
  CLI::App* flash = app.add_subcommand("flash", "inspect or prepare bootflash: of a board state directory");
  flash->require_subcommand(1);
  auto o = std::make_shared<FlashOptions>();
  flash->add_option("--board", o->board_dir, "board state directory")->required();
  flash->add_option("--board-file", o->board_file, "board description: a name in boards/ or a path");

  CLI::App* ls = flash->add_subcommand("ls", "list files");
  ls->callback([&action, o] { action = [o] { return run_ls(*o); }; });
  CLI::App* mkfs = flash->add_subcommand("mkfs", "format bootflash: (erases every file)");
  mkfs->add_flag("--yes", o->yes, "confirm");
  mkfs->callback([&action, o] { action = [o] { return run_mkfs(*o); }; });
  CLI::App* put = flash->add_subcommand("put", "copy a host file onto bootflash:");
  put->add_option("src", o->src, "host file")->required();
  put->add_option("name", o->name, "name on bootflash: (default: the file's name)");
  put->callback([&action, o] { action = [o] { return run_put(*o); }; });
  CLI::App* get = flash->add_subcommand("get", "copy a file from bootflash: to the host");
  get->add_option("name", o->name, "name on bootflash:")->required();
  get->add_option("dst", o->dst, "host file (default: the same name)");
  get->callback([&action, o] { action = [o] { return run_get(*o); }; });
  CLI::App* rm = flash->add_subcommand("rm", "delete a file from bootflash:");
  rm->add_option("name", o->name, "name on bootflash:")->required();
  rm->callback([&action, o] { action = [o] { return run_rm(*o); }; });
  CLI::App* fsck = flash->add_subcommand("fsck", "check the file system and every file's contents");
  fsck->callback([&action, o] { action = [o] { return run_fsck(*o); }; });
}

}  // namespace trustsim
