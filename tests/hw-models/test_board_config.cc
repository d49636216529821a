// Board files: the default board loads, and every kind of mistake gets a
// message naming file:line and the field.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>

#include "../support/test_util.h"
#include "devkit/input_error.h"
#include "hw-models/board_config.h"

using namespace trustsim;

namespace {

std::string default_board() {
  std::string path = std::string(TRUSTSIM_SOURCE_DIR) + "/boards/default.yaml";
  std::string s = test::read_text(path);
  if (s.empty()) throw std::runtime_error(path + " missing");
  return s;
}

}  // namespace

TEST(BoardFile, DefaultBoardLoadsWithDatasheetFigures) {
  BoardConfig c = load_board_config(std::string(TRUSTSIM_SOURCE_DIR) + "/boards/default.yaml");
  EXPECT_EQ(c.name, "ts-isr1100");
  EXPECT_EQ(c.nvram.page_size, 64u);
  EXPECT_EQ(c.nvram.page_write_ps, 5000000000ull);
  EXPECT_EQ(c.nvram.bus_clock_hz, 400000u);
  EXPECT_EQ(c.boot_flash.size, 16u << 20);
  EXPECT_EQ(c.boot_flash.read_clock_hz, 50000000u);
  EXPECT_EQ(c.console.baud, 9600u);
  EXPECT_FALSE(c.nvram.part.empty());
  EXPECT_FALSE(c.nvram.source.empty());
}

// A timing figure the board file leaves out is the registry's datasheet
// figure; one it gives overrides it (docs/board-file.md, "Timing figures").
TEST(BoardFile, TimingFiguresComeFromTheRegistryUnlessTheBoardGivesThem) {
  std::string text = default_board();
  for (const char* line : {"    page_write_time: 5 ms  # tWR, maximum\n",
                           "    read_time: 25 us       # tR with ECC, typical (60 us max)\n",
                           "    sha512_rate: 60 MB/s     # estimate: no vendor figure for SHA-512 in hardware\n"}) {
    size_t pos = text.find(line);
    ASSERT_NE(pos, std::string::npos) << line;
    text.erase(pos, strlen(line));
  }
  size_t pos = text.find("bus_clock: 400 kHz");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, strlen("bus_clock: 400 kHz"), "bus_clock: 100 kHz");
  test::TempDir dir;
  BoardConfig c = load_board_config(test::write_text(dir.file("board.yaml"), text));
  EXPECT_EQ(c.nvram.page_write_ps, kNvramPageWrite.value);
  EXPECT_EQ(c.nand.t_read_ps, kNandRead.value);
  EXPECT_EQ(c.crypto.sha512_bytes_per_s, kCryptoSha512Rate.value);
  EXPECT_EQ(c.nvram.bus_clock_hz, 100000u) << "the board file's figure wins";
  EXPECT_NE(c.nvram.bus_clock_hz, kNvramBusClock.value);
}

struct BadBoard {
  const char* what;
  const char* find;     // text in the default board to replace
  const char* replace;  // its replacement
  const char* expect;   // regex the error must match
};

class BoardFileErrors : public ::testing::TestWithParam<BadBoard> {};

TEST_P(BoardFileErrors, NamesFileLineAndField) {
  const BadBoard& b = GetParam();
  std::string text = default_board();
  size_t pos = text.find(b.find);
  ASSERT_NE(pos, std::string::npos) << b.find;
  text.replace(pos, strlen(b.find), b.replace);
  test::TempDir dir;
  std::string path = test::write_text(dir.file("bad.yaml"), text);
  try {
    load_board_config(path);
    FAIL() << b.what << ": accepted";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_TRUE(std::regex_search(msg, std::regex(b.expect))) << b.what << ": got: " << msg;
    EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << "message must start with the file: " << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EachMistake, BoardFileErrors,
    ::testing::Values(
        BadBoard{"unknown key", "    page_size: 64", "    page_size: 64\n    pagesize: 64",
                 R"(:4[0-9]: devices\.nvram\.pagesize: unknown key)"},
        BadBoard{"bad duration", "page_write_time: 5 ms", "page_write_time: fast",
                 R"(:\d+: devices\.nvram\.page_write_time: expected a duration.*'fast')"},
        BadBoard{"duration unit missing", "page_write_time: 5 ms", "page_write_time: 5",
                 R"(devices\.nvram\.page_write_time: expected a duration)"},
        BadBoard{"bad size", "size: 32 KiB", "size: 32 KB", R"(devices\.nvram\.size: expected a size)"},
        BadBoard{"nvram smaller than the map", "size: 32 KiB", "size: 21 KiB",
                 R"(devices\.nvram\.size: must be 22 KiB \.\. 16 MiB)"},
        BadBoard{"bad frequency", "read_clock: 50 MHz", "read_clock: 50 Mhz",
                 R"(devices\.rom_nor\.read_clock: expected a frequency)"},
        BadBoard{"page size not power of two", "page_size: 64", "page_size: 48",
                 R"(devices\.nvram\.page_size: must be a power of two)"},
        BadBoard{"missing key", "    size: 16 MiB\n", "", R"(devices\.rom_nor\.size: missing required key)"},
        BadBoard{"zero figure", "page_write_time: 5 ms", "page_write_time: 0 ms",
                 R"(devices\.nvram\.page_write_time: must be non-zero)"},
        BadBoard{"zero baud", "baud: 9600", "baud: 0", R"(devices\.console\.baud: must be non-zero)"},
        BadBoard{"overlapping devices", "bus_base: 0x20000000", "bus_base: 0x10000100",
                 R"(devices\.nvram\.bus_base: bus range .* overlaps devices\.rom_nor\.bus_base)"},
        BadBoard{"wrong RAM", "ram_size: 128 MiB", "ram_size: 256 MiB", R"(memory\.ram_size: must be 128 MiB)"},
        BadBoard{"quantum too small", "quantum_insns: 1000000", "quantum_insns: 10",
                 R"(cpu\.quantum_insns: must be between)"},
        BadBoard{"negative number", "platform_id: 0x1100", "platform_id: -4",
                 R"(board\.platform_id: expected a non-negative integer)"},
        BadBoard{"netxfer block size", "tftp_block: 512", "tftp_block: 4",
                 R"(devices\.netxfer\.tftp_block: must be 8\.\.65464)"},
        BadBoard{"netxfer dns port", "tftp_block: 512", "tftp_block: 512\n    dns_port: 70000",
                 R"(devices\.netxfer\.dns_port: must be 1\.\.65535)"},
        BadBoard{"netxfer rate", "link_rate: 11 MB/s", "link_rate: 100 Mbit/s",
                 R"(devices\.netxfer\.link_rate: expected a data rate)"},
        BadBoard{"netxfer overlaps", "bus_base: 0x07000000", "bus_base: 0x05000800",
                 R"(devices\.netxfer\.bus_base: bus range 0x5000800\+0x1000 overlaps devices\.crypto\.bus_base)"},
        BadBoard{
            "tpm fault with two forms", "    default_command_time: 20 ms\n",
            "    default_command_time: 20 ms\n    fault: {command: Quote, response_code: 0x101, no_response: true}\n",
            R"(devices\.tpm\.fault: give exactly one of)"},
        BadBoard{"tpm fault in the scenario spelling", "    default_command_time: 20 ms\n",
                 "    default_command_time: 20 ms\n    fault: {command: Quote, response-code: 0x101}\n",
                 R"(devices\.tpm\.fault\.response-code: unknown key: this file spells it response_code)"},
        BadBoard{"tpm fault unknown command", "    default_command_time: 20 ms\n",
                 "    default_command_time: 20 ms\n    fault: {command: Qoute, response_code: 0x101}\n",
                 R"(devices\.tpm\.fault\.command: unknown TPM command 'Qoute')"},
        BadBoard{"yaml syntax", "  name: ts-isr1100", "  name: [ts-isr1100", R"(:\d+: YAML syntax error)"},
        BadBoard{"old NOR name",
                 "  rom_nor:", "  boot_flash:", R"(:\d+: devices\.boot_flash: boot_flash was renamed to rom_nor)"},
        BadBoard{"old NAND name", "  bootflash_nand:", "  bootflash:",
                 R"(:\d+: devices\.bootflash: bootflash was renamed to bootflash_nand)"},
        BadBoard{"unknown top-level section", "memory:", "memroy:", R"(memroy: unknown key)"}),
    [](const ::testing::TestParamInfo<BadBoard>& i) {
      std::string n = i.param.what;
      for (char& c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(BoardFile, MissingOrEmptyFileIsAnInputError) {
  test::TempDir dir;
  EXPECT_THROW(load_board_config(dir.file("nope.yaml")), InputError);
  std::string empty = test::write_text(dir.file("empty.yaml"), "");
  try {
    load_board_config(empty);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}
