#include "attest_cmds.h"

#include <cstdio>
#include <memory>

#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "host/attest.h"

namespace trustsim {
namespace {

struct VerifyOptions {
  std::string kgv, root_ca, sudi_pub, output;
  uint64_t nonce = 0;
  bool nonce_set = false;
};

std::string text_of(const std::string& path) {
  std::vector<uint8_t> b = read_file(path);
  return std::string(b.begin(), b.end());
}

int run_verify(const VerifyOptions& o) {
  if (o.nonce > 0xFFFFFFFFu) throw InputError("--nonce: expected 0..4294967295");
  attest::Kgv kgv = attest::load_kgv(o.kgv);
  attest::Options opt;
  opt.nonce = uint32_t(o.nonce);
  if (!o.root_ca.empty()) opt.root_ca = text_of(o.root_ca);
  if (!o.sudi_pub.empty()) opt.sudi_pub = text_of(o.sudi_pub);
  std::string text = text_of(o.output);
  std::vector<attest::Check> checks;
  try {
    checks = attest::verify(text, kgv, opt);
  } catch (const InputError& e) {
    throw InputError(o.output + ": " + e.what());
  }
  std::string failed;
  for (const attest::Check& c : checks) {
    printf("%-4s %-20s %s\n", c.ok ? "ok" : "FAIL", c.name.c_str(), c.detail.c_str());
    if (!c.ok) failed += (failed.empty() ? "" : ", ") + c.name;
  }
  if (failed.empty()) {
    printf("VERIFIED: %s matches %s (nonce %llu)\n", o.output.c_str(), o.kgv.c_str(), (unsigned long long)o.nonce);
    return 0;
  }
  printf("NOT VERIFIED: %s\n", failed.c_str());
  return 1;
}

}  // namespace

void add_attest_commands(CLI::App& app, std::function<int()>& action) {
  CLI::App* at = app.add_subcommand("attest", "check Boot Integrity Visibility output against known-good values");
  at->require_subcommand(1);
  auto vo = std::make_shared<VerifyOptions>();
  CLI::App* v =
      at->add_subcommand("verify", "verify a captured `show platform integrity sign nonce N` (and SUDI) output");
  v->add_option("output", vo->output, "captured console text (raw, or a trustsim --console-log)")->required();
  v->add_option("--kgv", vo->kgv, "known-good values JSON from `trustsim image sign --kgv`")->required();
  v->add_option("--nonce", vo->nonce, "the nonce the output must be signed for")->required();
  v->add_option("--root-ca", vo->root_ca, "trusted SUDI root CA certificate (PEM), for the SUDI chain");
  v->add_option("--sudi-pub", vo->sudi_pub, "SUDI public key (PEM), when the capture has no SUDI certificates");
  v->callback([&action, vo] { action = [vo] { return run_verify(*vo); }; });
}

}  // namespace trustsim
