#include "scenario/observers.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"

namespace trustsim {

std::vector<std::string> split_signal_list(const std::string& list) {
  std::vector<std::string> out;
  if (list.empty()) return out;
  size_t pos = 0;
  for (;;) {
    size_t comma = list.find(',', pos);
    std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.empty()) throw InputError("--vcd-signals: empty signal name in '" + list + "'");
    out.push_back(item);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

RunObservers::RunObservers(const ObserverOptions& o, const std::string& board_name, DeviceTrace& trace,
                           ConsoleLog& console)
    : console_(console) {
  if (!o.vcd_signals.empty() && o.vcd_path.empty()) throw InputError("--vcd-signals needs --vcd FILE");
  vcd_.open(o.vcd_path, split_signal_list(o.vcd_signals));
  timeline_.open(o.timeline_path, board_name);
  if (!timeline_.is_open() && !vcd_.is_open()) return;
  stages_.listeners.push_back([this](uint64_t t, BootStage s) {
    timeline_.on_stage(t, s);
    vcd_.on_stage(t, s);
  });
  trace.add_sink(&stages_);
  trace.add_sink(&timeline_);
  trace.add_sink(&vcd_);
  if (timeline_.is_open())
    console.on_line = [this](uint64_t t, const std::string& line) { timeline_.on_console_line(t, line); };
}

RunObservers::~RunObservers() { console_.on_line = nullptr; }

void RunObservers::attach(Board& board) {
  if (!timeline_.is_open() && !vcd_.is_open()) return;
  board.bridge().on_doorbell = [this](uint64_t pc) { stages_.on_doorbell(now_ns(), pc); };
}

void RunObservers::finish(uint64_t end_ns) {
  timeline_.finish(end_ns);
  vcd_.finish(end_ns);
}

namespace {

struct ElfSection {
  std::string name;
  uint64_t addr, size, flags;
  uint32_t type;
};

template <typename T>
T get(const std::vector<uint8_t>& b, size_t off) {
  T v{};
  if (off + sizeof v <= b.size()) memcpy(&v, b.data() + off, sizeof v);
  return v;
}

std::vector<ElfSection> elf_sections(const std::string& path) {
  std::vector<uint8_t> b = read_file(path);
  if (b.size() < 64 ||
      memcmp(b.data(),
             "\x7f"
             "ELF",
             4) != 0 ||
      b[4] != 2)
    throw InputError(path + ": not an ELF64 file");
  uint64_t shoff = get<uint64_t>(b, 0x28);
  uint16_t shentsize = get<uint16_t>(b, 0x3A), shnum = get<uint16_t>(b, 0x3C), shstrndx = get<uint16_t>(b, 0x3E);
  if (shentsize < 64 || shstrndx >= shnum || shoff + uint64_t(shnum) * shentsize > b.size())
    throw InputError(path + ": ELF section headers out of range");
  uint64_t strtab = get<uint64_t>(b, shoff + uint64_t(shstrndx) * shentsize + 0x18);
  std::vector<ElfSection> out;
  for (uint16_t i = 0; i < shnum; ++i) {
    size_t h = shoff + size_t(i) * shentsize;
    uint32_t name = get<uint32_t>(b, h);
    std::string n;
    for (size_t p = strtab + name; p < b.size() && b[p]; ++p) n += char(b[p]);
    out.push_back(
        {n, get<uint64_t>(b, h + 0x10), get<uint64_t>(b, h + 0x20), get<uint64_t>(b, h + 8), get<uint32_t>(b, h + 4)});
  }
  return out;
}

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// "add-symbol-file FILE TEXT -s .rodata X -s .data Y ..." with every
// allocated section at its link address (the stages run where they are linked).
std::string add_symbol_file(const std::string& path) {
  std::string cmd = "add-symbol-file " + path + " " + hex(elf_text_address(path));
  for (const ElfSection& s : elf_sections(path))
    if ((s.flags & 2 /* SHF_ALLOC */) && s.size > 0 && s.name != ".text" && !s.name.empty())
      cmd += " -s " + s.name + " " + hex(s.addr);
  return cmd;
}

}  // namespace

uint64_t elf_text_address(const std::string& path) {
  for (const ElfSection& s : elf_sections(path))
    if (s.name == ".text") return s.addr;
  throw InputError(path + ": no .text section");
}

std::string write_gdb_script(const std::string& path, const Artifacts& fw, int port) {
  for (const std::string* f : {&fw.boot0_elf, &fw.rommon_elf, &fw.os_elf, &fw.revocation_elf})
    if (!file_exists(*f)) throw InputError(*f + ": missing symbol file for --gdb (build the firmware with meson)");
  std::string target = "target remote 127.0.0.1:" + std::to_string(port);
  std::string rommon = add_symbol_file(fw.rommon_elf), os = add_symbol_file(fw.os_elf),
              revocation = add_symbol_file(fw.revocation_elf);
  std::string script =
      "# gdb command file written by trustsim run --gdb (docs/debugging.md).\n"
      "# Symbols of the three boot stages (the OS stage: the OS image and the revocation image), each at\n"
      "# its link address, then QEMU's gdbstub.\n"
      "set confirm off\n"
      "set pagination off\n"
      "set architecture aarch64\n"
      "file " +
      fw.boot0_elf + "\n" + rommon + "\n" + os + "\n" + revocation + "\n" + target + "\n";
  std::ofstream out(path);
  out << script;
  out.close();
  if (!out) throw InputError(path + ": cannot write the gdb script: " + strerror(errno));
  return "QEMU waits for gdb on 127.0.0.1:" + std::to_string(port) + ". In another terminal:\n" +
         "  gdb-multiarch -x " + path + "\n" +
         "or by hand:\n"
         "  gdb-multiarch " +
         fw.boot0_elf + " -ex '" + target +
         "' \\\n"
         "    -ex '" +
         rommon +
         "' \\\n"
         "    -ex '" +
         os +
         "' \\\n"
         "    -ex '" +
         revocation +
         "'\n"
         "Boot0 runs from the boot ROM (" +
         hex(elf_text_address(fw.boot0_elf)) + "), ROMmon from " + hex(elf_text_address(fw.rommon_elf)) +
         ", the OS image from " + hex(elf_text_address(fw.os_elf)) + ", the revocation image from " +
         hex(elf_text_address(fw.revocation_elf)) +
         ". Each power-on starts a new QEMU that waits again: reconnect after a power cycle or reset.\n";
}

}  // namespace trustsim
