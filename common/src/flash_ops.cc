#include "trustsim/flash_ops.h"

namespace trustsim::flash {

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
