#include "tpm_cmds.h"

#include <cstdio>
#include <memory>

#include "tpm-sim/swtpm_ctrl.h"

namespace trustsim {
namespace {

struct ServeOptions {
  std::string ctrl, nv;
};

int run_serve(const ServeOptions& o) {
  SwtpmCtrlStats stats;
  SwtpmCtrlOptions so;
  so.ctrl_path = o.ctrl;
  so.nv_path = o.nv;
  so.stats = &stats;
  so.on_listening = [&] {
    printf("tpm serve: swtpm control channel on %s (TPM state %s)\n", o.ctrl.c_str(), o.nv.c_str());
    fflush(stdout);
  };
  serve_swtpm_ctrl(so);
  printf("tpm serve: done: %llu control commands, %llu TPM commands\n", (unsigned long long)stats.control,
         (unsigned long long)stats.commands);
  return 0;
}

}  // namespace

void add_tpm_commands(CLI::App& app, std::function<int()>& action) {
  CLI::App* tpm = app.add_subcommand("tpm", "the TPM model outside a board run");
  tpm->require_subcommand(1);
  auto so = std::make_shared<ServeOptions>();
  CLI::App* serve = tpm->add_subcommand(
      "serve", "speak the swtpm control-channel protocol, for stock QEMU's -tpmdev emulator (one client)");
  serve->add_option("--ctrl", so->ctrl, "unix socket to listen on (QEMU: -chardev socket,path=...)")->required();
  serve->add_option("--nv", so->nv, "TPM NV state file (created if missing; e.g. a board's tpm-nv.bin)")->required();
  serve->callback([&action, so] { action = [so] { return run_serve(*so); }; });
}

}  // namespace trustsim
