// The register table (devkit/register_table.h) on its own: reset values,
// writable and write-1-to-clear bits, callbacks, ports, blocks, the checks
// and their once-per-register reports, the backdoor. No elaboration needed:
// the callbacks here never wait.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "devkit/register_table.h"

using namespace trustsim;

namespace {

struct Bench {
  std::vector<std::string> reports;
  RegisterTable t{"register", [this](const std::string& w) { reports.push_back(w); }};
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;

  tlm::tlm_response_status access(bool write, uint64_t off, void* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    if (write)
      gp.set_write();
    else
      gp.set_read();
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    t.access(gp, delay, off);  // the table takes the offset, not the payload's address
    return gp.get_response_status();
  }
  uint32_t read32(uint64_t off) {
    uint32_t v = 0xDEADBEEF;
    EXPECT_EQ(access(false, off, &v, 4), tlm::TLM_OK_RESPONSE);
    return v;
  }
  tlm::tlm_response_status write32(uint64_t off, uint32_t v) { return access(true, off, &v, 4); }
};

}  // namespace

TEST(RegisterTable, ResetWritableAndWriteOneToClearBits) {
  Bench b;
  // bits 0-7 writable, bits 8-9 write-1-to-clear, bit 31 read-only (set at reset)
  b.t.add({"CTRL", 0x0, 4, RegAccess::kReadWrite, 0x80000300u, 0xFFu, 0x300u});
  EXPECT_EQ(b.read32(0x0), 0x80000300u);
  EXPECT_EQ(b.write32(0x0, 0xFFFFF1A5u), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(b.read32(0x0), 0x800002A5u) << "writable bits taken, bit 8 cleared by its 1, bit 9 kept, bit 31 kept";
  b.write32(0x0, 0x200u);
  EXPECT_EQ(b.read32(0x0), 0x80000000u) << "bit 9 cleared, and the writable bits took the write's zeros";
  b.t.reset();
  EXPECT_EQ(b.t.stored(0x0), 0x80000300u);
  EXPECT_TRUE(b.reports.empty());
}

TEST(RegisterTable, CallbacksSeeTheWrittenValueAndMayRefuseOrReplaceTheRead) {
  Bench b;
  uint64_t seen = 0;
  uint32_t live = 7;
  b.t.add({"CMD", 0x4, 4, RegAccess::kWriteOnly}, {}, [&](RegisterAccess& a) {
    seen = a.value;
    if (a.value == 9) a.refuse();
  });
  b.t.add({"STATUS", 0x8, 4, RegAccess::kReadOnly}, {}, {}, [&] { return uint64_t(live); });
  b.t.add({"COUNT", 0xC, 8, RegAccess::kReadOnly}, [&](RegisterAccess& a) { a.value += 1000; });
  EXPECT_EQ(b.write32(0x4, 5), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(seen, 5u);
  EXPECT_EQ(b.write32(0x4, 9), tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(b.read32(0x8), 7u);
  live = 8;
  EXPECT_EQ(b.t.value(0x8), 8u) << "peek is the value";
  uint64_t c = 0;
  EXPECT_EQ(b.access(false, 0xC, &c, 8), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(c, 1000u);
  // The backdoor reads through peek, never through on_read.
  tlm::tlm_generic_payload gp;
  uint32_t v = 0;
  gp.set_command(tlm::TLM_READ_COMMAND);
  gp.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
  gp.set_data_length(4);
  EXPECT_EQ(b.t.debug_read(gp, 0x8), 4u);
  EXPECT_EQ(v, 8u);
  EXPECT_EQ(b.t.debug_read(gp, 0x4), 0u) << "write-only";
}

TEST(RegisterTable, PortsTakeOneToMaxBytesAndBlocksTheirExactSize) {
  Bench b;
  std::string got;
  b.t.add({"FIFO", 0x100, 0, RegAccess::kWriteOnly, 0, 0, 0, 16}, {},
          [&](RegisterAccess& a) { got.append(reinterpret_cast<char*>(a.data()), a.length()); });
  b.t.add({"REQ", 0x200, 40, RegAccess::kWriteOnly});
  char buf[40] = "hello";
  EXPECT_TRUE(b.t.is_port(0x100));
  EXPECT_EQ(b.access(true, 0x100, buf, 5), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(b.access(true, 0x100, buf, 17), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(b.access(true, 0x200, buf, 40), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(b.access(true, 0x200, buf, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  EXPECT_EQ(b.reports, (std::vector<std::string>{"FIFO accessed with 17 bytes (it takes 1..16 bytes)",
                                                 "REQ accessed with 8 bytes (it takes 40 bytes)"}));
}

TEST(RegisterTable, MisuseIsAnAddressErrorReportedOncePerRegisterAndKind) {
  Bench b;
  b.t.add({"STATUS", 0x0, 4, RegAccess::kReadOnly, 5});
  uint32_t v = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b.access(false, 0x40, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(b.access(false, 0x0, &v, 2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(b.access(true, 0x0, &v, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
  }
  EXPECT_EQ(b.t.stored(0x0), 5u) << "a refused write changes nothing";
  EXPECT_EQ(b.reports, (std::vector<std::string>{"access to unknown register offset 0x40",
                                                 "STATUS accessed with 2 bytes (it takes 4 bytes)",
                                                 "write to read-only register STATUS"}));
  EXPECT_THROW((b.t.add({"AGAIN", 0x0, 4, RegAccess::kReadOnly})), std::logic_error) << "one row per offset";
}
