#include "trustsim/flash_ops.h"

namespace trustsim::flash {

Result Ops::read_pages(uint32_t first, uint32_t count, uint8_t* buf, uint32_t* good) {
  Result all = Result::kOk;
  uint32_t ps = geometry().page_size;
  for (uint32_t i = 0; i < count; ++i) {
    *good = i;
    Result r = read_page(first + i, buf + size_t(i) * ps);
    if (r == Result::kCorrected)
      all = r;
    else if (r != Result::kOk)
      return r;
  }
  *good = count;
  return all;
}

const char* result_text(Result r) {
  switch (r) {
    case Result::kOk:
      return "ok";
    case Result::kCorrected:
      return "corrected bit errors";
    case Result::kEccError:
      return "uncorrectable ECC error";
    case Result::kProgramFailed:
      return "program failed";
    case Result::kEraseFailed:
      return "erase failed";
    case Result::kBadBlock:
      return "bad block";
    case Result::kOutOfRange:
      return "address out of range";
    case Result::kIoError:
      return "I/O error";
  }
  return "?";
}

}  // namespace trustsim::flash
