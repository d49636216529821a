// The device registry (hw-models/board_devices.h): the docs' device table
// is made from it, and the parsers take their device names from it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "../support/test_util.h"
#include "hw-models/board_config.h"
#include "hw-models/board_devices.h"

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
  EXPECT_EQ(power_cut_devices(), (std::vector<std::string>{"nvram", "rom_nor", "bootflash_nand"}));
  EXPECT_EQ(power_cut_device_words(), "nvram, rom_nor or bootflash_nand");
  EXPECT_TRUE(is_power_cut_device("nvram"));
  EXPECT_FALSE(is_power_cut_device("crypto")) << "no state-changing operations";
  EXPECT_FALSE(is_power_cut_device("nand"));
  ASSERT_NE(find_board_device("tpm"), nullptr);
  EXPECT_FALSE(find_board_device("tpm")->required);
  EXPECT_EQ(find_board_device("flash"), nullptr);
}
