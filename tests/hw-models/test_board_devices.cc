// The device registry (hw-models/board_devices.h): the docs' device table
// is made from it, and the parsers take their device names from it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "../support/test_util.h"
#include "hw-models/board_config.h"
#include "hw-models/board_devices.h"
#include "hw-models/board_slots.h"

using namespace trustsim;

namespace {

// The text between `begin` and `end` in doc `rel` must be `want`; with
// TRUSTSIM_UPDATE_DOCS=1 the test rewrites it instead.
void expect_doc_table(const char* rel, const std::string& begin, const std::string& end, const std::string& want) {
  std::string path = test::src(rel);
  std::string doc = test::read_text(path);
  size_t b = doc.find(begin), e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << path << " has no marker " << begin;
  ASSERT_NE(e, std::string::npos) << path << " has no marker " << end;
  b += begin.size();
  if (getenv("TRUSTSIM_UPDATE_DOCS")) {
    std::ofstream(path) << doc.substr(0, b) + want + doc.substr(e);
    return;
  }
  EXPECT_EQ(doc.substr(b, e - b), want) << "run with TRUSTSIM_UPDATE_DOCS=1 to rewrite " << path;
}

}  // namespace

// docs/devices.md carries the registry's table verbatim; after a change to
// a device's entry, TRUSTSIM_UPDATE_DOCS=1 rewrites it.
TEST(BoardDevices, DocsTableIsTheRegistrys) {
  expect_doc_table("docs/devices.md", "<!-- device table: made from hw-models/board_devices.h -->\n",
                   "<!-- end of device table -->\n", device_table_markdown());
}

// So do docs/board-file.md's device and timing tables.
TEST(BoardDevices, BoardFileDocTablesAreTheRegistrys) {
  expect_doc_table("docs/board-file.md", "<!-- board device table: made from hw-models/board_devices.h -->\n",
                   "<!-- end of board device table -->\n", board_device_table_markdown());
  expect_doc_table("docs/board-file.md", "<!-- timing table: made from hw-models/board_devices.h -->\n",
                   "<!-- end of timing table -->\n", timing_table_markdown());
}

// Every figure has a value, a meaning and a source, and its default is
// written the way a board file would write it.
TEST(BoardDevices, EveryTimingFigureIsSourced) {
  size_t n = 0;
  for (const DeviceInfo* d : board_devices())
    for (size_t i = 0; i < d->timing_count; ++i, ++n) {
      const TimingFigure& f = d->timing[i];
      EXPECT_NE(f.value, 0u) << d->name << "." << f.key;
      EXPECT_GT(strlen(f.meaning), 5u) << d->name << "." << f.key;
      EXPECT_GT(strlen(f.source), 10u) << d->name << "." << f.key;
      EXPECT_EQ(d->figure(f.key), &f);
    }
  EXPECT_EQ(n, 19u) << "a figure was added or lost: update this count on purpose";
  EXPECT_EQ(kNvramDevice.figure("tWR"), nullptr);
  EXPECT_EQ(figure_text(kNvramPageWrite), "5 ms");
  EXPECT_EQ(figure_text(kNorPageProgram), "400 us");
  EXPECT_EQ(figure_text(kNandBusClock), "104 MHz");
  EXPECT_EQ(figure_text(kNvramBusClock), "400 kHz");
  EXPECT_EQ(figure_text(kCryptoSha256Rate), "105 MB/s");
  EXPECT_EQ(figure_text(kConsoleBaud), "9600");
}

TEST(BoardDevices, PowerCutDevicesAreTheStatefulOnes) {
  EXPECT_EQ(power_cut_devices(), (std::vector<std::string>{"rom_nor", "nvram", "bootflash_nand"}));
  EXPECT_EQ(power_cut_device_words(), "rom_nor, nvram or bootflash_nand");
  EXPECT_TRUE(is_power_cut_device("nvram"));
  EXPECT_FALSE(is_power_cut_device("crypto")) << "no state-changing operations";
  EXPECT_FALSE(is_power_cut_device("nand"));
  ASSERT_NE(find_board_device("tpm"), nullptr);
  EXPECT_FALSE(find_board_device("tpm")->required);
  EXPECT_EQ(find_board_device("flash"), nullptr);
}

// The board is assembled from one slot per registry device
// (hw-models/board_slots.h): the registry is the slots' devices, in their
// order, each with its own discovery-table type, and the default board's
// slots place every device at its section's bus_base.
TEST(BoardDevices, EachRegistryDeviceHasOneBoardSlot) {
  const std::vector<BoardSlot>& slots = board_slots();
  ASSERT_EQ(slots.size(), board_devices().size());
  std::set<uint32_t> types;
  for (size_t i = 0; i < slots.size(); ++i) {
    const BoardSlot& s = slots[i];
    SCOPED_TRACE(s.info->name);
    EXPECT_EQ(s.info, board_devices()[i]);
    EXPECT_TRUE(types.insert(s.info_type).second) << "two slots share a discovery type";
    EXPECT_NE(s.parse, nullptr);
    EXPECT_NE(s.build, nullptr);
    EXPECT_EQ(s.detach != nullptr, s.info->power_cuts || s.info == &kTpmDevice) << "devices with state files detach";
  }
  BoardConfig c = load_board_config(test::src("boards/default.yaml"));
  std::vector<std::pair<const char*, uint64_t>> want = {
      {"console", c.console.bus_base}, {"power", c.power.bus_base},    {"rom_nor", c.boot_flash.bus_base},
      {"nvram", c.nvram.bus_base},     {"crypto", c.crypto.bus_base},  {"bootflash_nand", c.nand.bus_base},
      {"tpm", c.tpm.bus_base},         {"netxfer", c.netxfer.bus_base}};
  ASSERT_EQ(want.size(), slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    EXPECT_STREQ(slots[i].info->name, want[i].first) << "the board builds and maps devices in this order";
    EXPECT_TRUE(slots[i].present(c)) << want[i].first;
    EXPECT_EQ(slots[i].base(c), want[i].second) << want[i].first;
    EXPECT_GT(slots[i].window(c), 0u) << want[i].first;
  }
}
