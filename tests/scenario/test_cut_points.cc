// The sweep's cut-point observer (scenario/cut_points.h): which device
// operations it numbers as cut points, in the window and in the recovery,
// and that it stops counting once the run's cut is armed. Devices are bare
// Device modules (no elaboration is needed: only their names and the
// operation indices the observer is handed).
#include <gtest/gtest.h>

#include "devices/console.h"
#include "devkit/device.h"
#include "scenario/cut_points.h"

using namespace trustsim;

namespace {

struct Part : Device {
  Part(const char* name, PowerDomain& power) : Device(name, 0, 0x100, power) {}
};

void print(ConsoleLog& log, const std::string& text) {
  for (char c : text) log.on_byte(0, c);
}

struct Fixture {
  PowerDomain power;
  Part nvram{"nvram", power};
  Part nor{"rom_nor", power};
  ConsoleLog log;
  Sweep sweep;
  std::vector<std::string> heard;  // "<device>#<op> -> point N" per handler call

  Fixture() {
    sweep.devices = {"nvram"};
    sweep.second = true;
    sweep.devices2 = {"rom_nor"};
  }
  void listen(CutPointObserver& o) {
    o.on_point = [this](Device& d, uint64_t i, const CutPoint& cp) {
      heard.push_back(std::string(d.basename()) + "#" + std::to_string(i) + " -> point " + std::to_string(cp.point));
    };
    o.on_recovery_point = [this](Device& d, uint64_t i, const CutPoint& cp) {
      heard.push_back(std::string(d.basename()) + "#" + std::to_string(i) + " -> recovery point " +
                      std::to_string(cp.point));
    };
  }
};

}  // namespace

TEST(CutPoints, NumbersTheSweptDevicesOperationsInsideTheWindow) {
  Fixture f;
  f.sweep.from_text = "write now";
  f.sweep.from = Pattern("write now");
  f.sweep.to_text = "done";
  f.sweep.to = Pattern("done");
  CutPointObserver o(f.sweep, f.log);
  f.listen(o);
  print(f.log, "old output: write now\n");
  o.operation_starting(f.nvram, 1);  // before the window's steps: not a point
  o.begin_window();
  o.operation_starting(f.nvram, 2);  // `from` has not matched since the window began
  print(f.log, "write now\n");
  o.operation_starting(f.nor, 1);  // not a swept device
  o.operation_starting(f.nvram, 3);
  o.operation_starting(f.nvram, 4);
  print(f.log, "done\n");
  o.operation_starting(f.nvram, 5);  // after `to`
  print(f.log, "write now\n");
  o.operation_starting(f.nvram, 6);  // a closed window stays closed
  o.end_window();
  ASSERT_EQ(o.points().size(), 2u);
  EXPECT_EQ(o.points()[0].point, 1u);
  EXPECT_EQ(o.points()[0].device, "nvram");
  EXPECT_EQ(o.points()[0].device_op, 3u);
  EXPECT_EQ(o.points()[1].device_op, 4u);
  EXPECT_EQ(f.heard, (std::vector<std::string>{"nvram#3 -> point 1", "nvram#4 -> point 2"}));
}

TEST(CutPoints, StopsCountingOnceTheRunsCutIsArmedAndCountsTheRecoverysOwn) {
  Fixture f;
  CutPointObserver o(f.sweep, f.log);
  f.listen(o);
  o.begin_window();
  o.operation_starting(f.nvram, 1);
  o.first_cut_armed();
  o.operation_starting(f.nvram, 2);
  o.end_window();
  o.begin_recovery();
  o.operation_starting(f.nvram, 3);  // not a second-cut device
  o.operation_starting(f.nor, 1);
  o.operation_starting(f.nor, 2);
  o.second_cut_armed();
  o.operation_starting(f.nor, 3);
  o.end_recovery();
  o.operation_starting(f.nor, 4);  // after the recovery
  EXPECT_EQ(o.points().size(), 1u);
  ASSERT_EQ(o.recovery_points().size(), 2u);
  EXPECT_EQ(o.recovery_points()[1].device_op, 2u);
  EXPECT_EQ(f.heard, (std::vector<std::string>{"nvram#1 -> point 1", "rom_nor#1 -> recovery point 1",
                                               "rom_nor#2 -> recovery point 2"}));
}
