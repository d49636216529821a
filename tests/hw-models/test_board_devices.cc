// The device registry (hw-models/board_devices.h): the docs' device table
// is made from it, and the parsers take their device names from it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "../support/test_util.h"
#include "hw-models/board_devices.h"

using namespace trustsim;

namespace {

constexpr const char* kBegin = "<!-- device table: made from hw-models/board_devices.h -->\n";
constexpr const char* kEnd = "<!-- end of device table -->\n";

}  // namespace

// docs/devices.md carries the registry's table verbatim; after a change to
// a device's entry, TRUSTSIM_UPDATE_DOCS=1 rewrites it.
TEST(BoardDevices, DocsTableIsTheRegistrys) {
  std::string path = test::src("docs/devices.md");
  std::string doc = test::read_text(path);
  size_t b = doc.find(kBegin), e = doc.find(kEnd);
  ASSERT_NE(b, std::string::npos) << path << " has no device table marker";
  ASSERT_NE(e, std::string::npos) << path << " has no end of device table marker";
  b += strlen(kBegin);
  std::string want = device_table_markdown();
  if (getenv("TRUSTSIM_UPDATE_DOCS")) {
    std::ofstream(path) << doc.substr(0, b) + want + doc.substr(e);
    return;
  }
  EXPECT_EQ(doc.substr(b, e - b), want) << "run with TRUSTSIM_UPDATE_DOCS=1 to rewrite " << path;
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
