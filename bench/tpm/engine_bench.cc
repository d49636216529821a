// bench/tpm: host (wall) time of the TPM engine alone: libtpms executing
// PCR_Extend and Quote in-process, through the same marshalling the firmware
// uses. The virtual time of the same commands is the board file's figure
// plus the FIFO transfers; bench/tpm.py measures that from a real boot.
// Usage: bench-tpm-engine [N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "host/tpm_provision.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/tpm2.h"

using namespace trustsim;

extern "C" int sc_main(int, char**) { return 0; }

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  char tmpl[] = "/tmp/trustsim-bench-tpm-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  TpmEngine& e = TpmEngine::instance();
  e.attach(dir + "/tpm-nv.bin", "bench");
  if (!e.power_on()) return 1;
  static uint8_t cmd[4096];
  tpm_host_command(cmd, tpm2::cmd_startup(cmd, sizeof cmd, tpm2::kSuClear), "Startup");
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  std::vector<uint8_t> r = tpm_host_command(cmd, tpm2::cmd_create_primary_sudi(cmd, sizeof cmd), "CreatePrimary");
  double create_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  tpm2::Response resp;
  tpm2::parse_response(r.data(), r.size(), 1, &resp);
  tpm_host_command(cmd, tpm2::cmd_evict_control(cmd, sizeof cmd, resp.handle, tpm2::kSudiHandle), "EvictControl");
  uint8_t d[32] = {1};
  t0 = clock::now();
  for (int i = 0; i < n; ++i) tpm_host_command(cmd, tpm2::cmd_pcr_extend(cmd, sizeof cmd, 0, d), "PCR_Extend");
  double extend_us = std::chrono::duration<double, std::micro>(clock::now() - t0).count() / n;
  const uint8_t nonce[4] = {0, 0, 0x30, 0x39};
  t0 = clock::now();
  for (int i = 0; i < n; ++i)
    tpm_host_command(cmd, tpm2::cmd_quote(cmd, sizeof cmd, tpm2::kSudiHandle, nonce, 4, 0x101), "Quote");
  double quote_us = std::chrono::duration<double, std::micro>(clock::now() - t0).count() / n;
  e.detach();
  std::system(("rm -rf '" + dir + "'").c_str());
  printf(
      "engine (libtpms on the host, wall): PCR_Extend %.1f us, Quote (RSA-2048) %.1f us, CreatePrimary (RSA-2048) %.1f "
      "ms; %d runs each\n",
      extend_us, quote_us, create_ms, n);
  return 0;
}
