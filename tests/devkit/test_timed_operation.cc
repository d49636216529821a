// devkit's timed operation (devkit/timed_operation.h), the part of a flash
// program or erase the two flash models share: which instant the worker
// waits for, when an armed torn cut is due, the words of an interrupted
// operation's trace detail, and the trace line itself. No elaboration: the
// worker loop itself runs in the flash-sim tests.
#include <gtest/gtest.h>

#include "../support/test_util.h"
#include "devkit/timed_operation.h"

using namespace trustsim;
using sc_core::SC_NS;
using sc_core::sc_time;

namespace {

TimedOperation running(sc_time start, sc_time end) {
  TimedOperation op;
  op.active = true, op.start = start, op.end = end;
  return op;
}

}  // namespace

TEST(TimedOperation, WaitsForItsEndUnlessATornCutComesFirst) {
  TimedOperation op = running(sc_time(100, SC_NS), sc_time(600, SC_NS));
  EXPECT_EQ(op.next_instant(), sc_time(600, SC_NS));
  EXPECT_FALSE(op.cut_due(sc_time(1000, SC_NS))) << "no cut armed";
  op.cut.armed = true;
  op.cut.mode = PowerLoss::Mode::kAfter;
  op.cut_at = sc_time(300, SC_NS);
  EXPECT_EQ(op.next_instant(), sc_time(600, SC_NS)) << "an after-cut fires at the end";
  EXPECT_FALSE(op.cut_due(sc_time(300, SC_NS)));
  op.cut.mode = PowerLoss::Mode::kTorn;
  EXPECT_EQ(op.next_instant(), sc_time(300, SC_NS));
  EXPECT_FALSE(op.cut_due(sc_time(299, SC_NS)));
  EXPECT_TRUE(op.cut_due(sc_time(300, SC_NS)));
}

TEST(TimedOperation, InterruptionNamesCauseElapsedAndDuration) {
  TimedOperation op = running(sc_time(100, SC_NS), sc_time(600, SC_NS));
  EXPECT_EQ(op.interruption("power lost", sc_time(250, SC_NS)), "power lost 250 ns into 500 ns");
}

TEST(TimedOperation, StopEndsItAndDropsTheLatchedBytes) {
  TimedOperation op = running(sc_time(0, SC_NS), sc_time(10, SC_NS));
  op.data = {1, 2, 3};
  sc_core::sc_event changed("changed");
  op.stop(changed);
  EXPECT_FALSE(op.active);
  EXPECT_TRUE(op.data.empty());
}

TEST(TimedOperation, RecordOperationWritesOneTraceLine) {
  test::TempDir dir;
  DeviceTrace trace;
  trace.open(dir.file("trace.jsonl"));
  record_operation(trace, "rom_nor", 7, "page-program", 0x100, 256, 400, "torn", "power lost 1 ns into 2 ns");
  EXPECT_EQ(trace.count(), 1u);
  trace.detach();
  std::string t = test::read_text(dir.file("trace.jsonl"));
  EXPECT_NE(t.find("\"dev\":\"rom_nor\""), std::string::npos) << t;
  EXPECT_NE(t.find("\"op\":\"page-program\""), std::string::npos) << t;
  EXPECT_NE(t.find("\"status\":\"torn\""), std::string::npos) << t;
  EXPECT_NE(t.find("power lost 1 ns into 2 ns"), std::string::npos) << t;
}
