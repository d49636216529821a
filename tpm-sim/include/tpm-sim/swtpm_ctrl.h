// tpm-sim behind the swtpm control-channel protocol, so that stock QEMU's
// `-tpmdev emulator` (+ `tpm-tis-device`) can use it: `trustsim tpm serve`.
// docs/tpm.md, section "swtpm control channel".
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace trustsim {

struct SwtpmCtrlStats {
  uint64_t control = 0;   // control-channel commands served
  uint64_t commands = 0;  // TPM commands executed
};

struct SwtpmCtrlOptions {
  std::string ctrl_path;  // unix socket QEMU's -chardev socket connects to
  std::string nv_path;    // the TPM's NV state file
  std::string seed = "swtpm-ctrl";
  bool exit_on_disconnect = true;  // end when QEMU closes the control channel
  bool exit_on_shutdown = true;    // end on CMD_SHUTDOWN
  std::function<void()> on_listening;
  SwtpmCtrlStats* stats = nullptr;
};

// Serves one client until it disconnects (or shuts the TPM down). Throws
// std::runtime_error if the socket cannot be made.
int serve_swtpm_ctrl(const SwtpmCtrlOptions& o);

}  // namespace trustsim
