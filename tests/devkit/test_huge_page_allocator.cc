// The allocator of large device arrays: big blocks are their own 2 MiB
// aligned mapping (so the kernel can back them with huge pages), small ones
// come from the heap, and a vector using it behaves like any other.
#include "devkit/huge_page_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace trustsim;

TEST(HugePageAllocator, LargeBlocksAreTwoMiBAlignedAndHoldTheirBytes) {
  using Array = std::vector<uint8_t, HugePageAllocator<uint8_t>>;
  Array a(5u << 20, 0xA5);  // not a multiple of 2 MiB
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % (2u << 20), 0u);
  a[0] = 1;
  a[a.size() - 1] = 2;
  EXPECT_EQ(a[1], 0xA5);
  Array b = a;  // a second mapping with the same bytes
  EXPECT_NE(b.data(), a.data());
  EXPECT_EQ(b, a);
  b.resize(16u << 20);
  EXPECT_EQ(b[a.size() - 1], 2);
  EXPECT_EQ(b.back(), 0);
}

TEST(HugePageAllocator, SmallBlocksComeFromTheHeap) {
  HugePageAllocator<uint64_t> al;
  uint64_t* p = al.allocate(16);
  for (int i = 0; i < 16; ++i) p[i] = uint64_t(i);
  EXPECT_EQ(p[15], 15u);
  al.deallocate(p, 16);
  EXPECT_EQ(HugePageAllocator<uint64_t>::mapped_size(1), 2u << 20);
  EXPECT_EQ(HugePageAllocator<uint64_t>::mapped_size((2u << 20) + 1), 4u << 20);
}
