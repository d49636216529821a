// Shared by the YAML file targets: the loaders take a path, so each input is
// written to a fresh temporary file (in /dev/shm when it exists, else /tmp)
// and unlinked after the call. InputError is the documented way to reject a
// file; any other exception escaping the loader is a finding (abort, so
// libFuzzer saves the input).
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <exception>
#include <string>
#include <typeinfo>

#include "devkit/input_error.h"

namespace fuzz_yaml {

template <typename Load>
int run_on_file(const uint8_t* data, size_t size, Load load) {
  static const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string path = std::string(dir) + "/trustsim-fuzz-XXXXXX";
  int fd = mkstemp(&path[0]);
  if (fd < 0) {
    perror("mkstemp");
    abort();
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      perror("write");
      abort();
    }
    done += size_t(n);
  }
  close(fd);
  try {
    load(path);
  } catch (const trustsim::InputError&) {
    // Expected: the file was rejected with a message.
  } catch (const std::exception& e) {
    unlink(path.c_str());
    fprintf(stderr, "uncaught %s: %s\n", typeid(e).name(), e.what());
    abort();
  } catch (...) {
    unlink(path.c_str());
    fprintf(stderr, "uncaught non-std exception\n");
    abort();
  }
  unlink(path.c_str());
  return 0;
}

}  // namespace fuzz_yaml
