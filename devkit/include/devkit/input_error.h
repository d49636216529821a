// Errors in user input (board files, scenarios, command lines). They carry a
// location so the message names the file, line and field.
#pragma once
#include <stdexcept>
#include <string>

namespace trustsim {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace trustsim
