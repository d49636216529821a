// The timeline and VCD writers and the boot-stage tracker, fed by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../support/test_util.h"
#include "devkit/input_error.h"
#include "hw-models/observe.h"

using namespace trustsim;
using trustsim::test::read_text;
using trustsim::test::TempDir;

namespace {

TraceEvent ev(uint64_t t, const char* dev, const char* op, uint64_t lat = 0, const char* detail = "") {
  TraceEvent e;
  e.t_ns = t;
  e.dev = dev;
  e.op = op;
  e.latency_ns = lat;
  e.detail = detail;
  return e;
}

}  // namespace

TEST(Observe, StageOfAddressFollowsTheMemoryMap) {
  EXPECT_EQ(boot_stage_of_address(0x0), BootStage::kBoot0);
  EXPECT_EQ(boot_stage_of_address(0x3ffffff), BootStage::kBoot0);
  EXPECT_EQ(boot_stage_of_address(0x40200000), BootStage::kRommon);
  EXPECT_EQ(boot_stage_of_address(0x403fffff), BootStage::kRommon);
  EXPECT_EQ(boot_stage_of_address(0x40400000), BootStage::kOther);
  EXPECT_EQ(boot_stage_of_address(0x41000000), BootStage::kOs);
  EXPECT_EQ(boot_stage_of_address(0x43ffffff), BootStage::kOs);
  EXPECT_EQ(boot_stage_of_address(0x44000000), BootStage::kOther);  // staging buffer: never code
}

TEST(Observe, TrackerReportsEachChangeOnce) {
  BootStageTracker t;
  std::vector<std::pair<uint64_t, BootStage>> seen;
  t.listeners.push_back([&](uint64_t at, BootStage s) { seen.push_back({at, s}); });
  t.on_doorbell(5, 0x40200000);  // unpowered: ignored
  t.on_event(ev(10, "power", "power-on"));
  t.on_doorbell(20, 0x100);                // Boot0 again: no change
  t.on_event(ev(25, "power", "read", 3));  // a power-controller access is not a power event
  t.on_doorbell(30, 0x40201000);
  t.on_doorbell(40, 0x41000010);
  t.on_event(ev(50, "power", "reset"));
  t.on_event(ev(50, "power", "power-on"));
  t.on_event(ev(60, "power", "power-off"));
  std::vector<std::pair<uint64_t, BootStage>> want = {{10, BootStage::kBoot0}, {30, BootStage::kRommon},
                                                      {40, BootStage::kOs},    {50, BootStage::kOff},
                                                      {50, BootStage::kBoot0}, {60, BootStage::kOff}};
  EXPECT_EQ(seen, want);
}

// Busy lines from overlapping operations, a reset that asserts and releases
// in one instant (kept as a glitch, as is the stage passing through off),
// and the end time.
TEST(Observe, VcdIsExactlyThis) {
  TempDir d;
  {
    VcdWriter v;
    v.open(d.file("x.vcd"), {"power", "reset", "stage", "nand_busy", "mbox_busy"});
    v.on_event(ev(0, "power", "power-on"));
    v.on_stage(0, BootStage::kBoot0);
    v.on_event(ev(120, "bootflash_nand", "program-page", 100));  // completes after the one below started
    v.on_event(ev(100, "bootflash_nand", "read-page", 50));
    v.on_event(ev(90, "bootflash_nand", "write", 40));  // a bus access: mbox_busy, not nand_busy
    v.on_event(ev(300, "power", "reset"));
    v.on_stage(300, BootStage::kOff);
    v.on_event(ev(300, "power", "power-on"));
    v.on_stage(300, BootStage::kBoot0);
    v.on_event(ev(310, "bootflash_nand", "erase-block", 0));  // zero length: no edge
    v.on_stage(350, BootStage::kOs);
    v.on_event(ev(400, "power", "power-off"));
    v.on_stage(400, BootStage::kOff);
    v.finish(500);
  }
  EXPECT_EQ(read_text(d.file("x.vcd")),
            "$version trustsim $end\n"
            "$comment board signals in virtual board time (docs/traces.md) $end\n"
            "$timescale 1ns $end\n"
            "$scope module board $end\n"
            "$var wire 1 a power $end\n"
            "$var wire 1 b reset $end\n"
            "$var wire 3 c stage $end\n"
            "$var wire 1 d nand_busy $end\n"
            "$var wire 1 i mbox_busy $end\n"
            "$upscope $end\n"
            "$enddefinitions $end\n"
            "#0\n$dumpvars\n1a\n0b\nb001 c\n0d\n0i\n$end\n"
            "#90\n1i\n"
            "#100\n1d\n"
            "#130\n0i\n"
            "#220\n0d\n"
            "#300\n1b\n0b\nb000 c\nb001 c\n"
            "#350\nb011 c\n"
            "#400\n0a\n1b\nb000 c\n"
            "#500\n");
}

TEST(Observe, VcdRejectsUnknownAndRepeatedSignals) {
  TempDir d;
  VcdWriter a, b;
  try {
    a.open(d.file("a.vcd"), {"power", "vcc"});
    FAIL() << "accepted an unknown signal";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown signal 'vcc'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(b.open(d.file("b.vcd"), {"stage", "stage"}), InputError);
}

TEST(Observe, TimelineIsTraceEventJson) {
  TempDir d;
  {
    TimelineWriter t;
    t.open(d.file("t.json"), "test \"board\"");
    t.on_event(ev(0, "power", "power-on", 0, "power applied"));
    t.on_stage(0, BootStage::kBoot0);
    t.on_event(ev(1000, "nvram", "page-write", 5000));
    t.on_event(ev(900, "nvram", "write", 6000));
    t.on_event(ev(8000, "bootflash_nand", "fault", 0, "bit flip"));
    t.on_console_line(7000, "System Bootstrap \"quoted\" \\ text\x01");
    t.on_stage(9000, BootStage::kRommon);
    t.finish(12345);
  }
  nlohmann::json j = nlohmann::json::parse(read_text(d.file("t.json")));
  std::vector<std::string> spans, tracks;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") tracks.push_back(e["args"]["name"]);
    if (e.value("cat", "") == "stage") {
      spans.push_back(e["name"].get<std::string>() + "@" + std::to_string(e["ts"].get<double>()) + "+" +
                      std::to_string(e["dur"].get<double>()));
    }
    if (e["name"] == "page-write") {
      EXPECT_EQ(e["ph"], "X");
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 1.0);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 5.0);
    }
    if (e.value("cat", "") == "console-line") EXPECT_EQ(e["args"]["text"], "System Bootstrap \"quoted\" \\ text\x01");
    if (e["name"] == "fault") EXPECT_EQ(e["ph"], "i");
  }
  EXPECT_EQ(spans, (std::vector<std::string>{"Boot0@0.000000+9.000000", "ROMmon@9.000000+3.345000"}));
  EXPECT_EQ(tracks, (std::vector<std::string>{"boot stage", "power rail", "console lines", "nvram (device)", "nvram",
                                              "bootflash_nand (device)"}));
  EXPECT_EQ(j["otherData"]["board"], "test \"board\"");
}
