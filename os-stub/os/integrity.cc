// Boot Integrity Visibility: `show platform integrity [sign [nonce N]]` and
// `show platform sudi certificate [sign [nonce N]]`. The stage versions and
// hashes come from the hand-off block the boot stages filled, the PCRs, the
// quote, the SUDI certificates (TPM NV) and the signature from the TPM.
// Output format and signature layout: docs/tpm.md.
#include "fwlib/tpm.h"
#include "os.h"

namespace os {
namespace {

namespace tpm2 = trustsim::tpm2;
namespace handoff = trustsim::handoff;

constexpr size_t kMaxCert = 2048;
const uint32_t kCertIndex[3] = {tpm2::kNvSudiRoot, tpm2::kNvSudiCa, tpm2::kNvSudiDevice};

uint8_t g_attest[1024];
uint8_t g_sig[600];
uint8_t g_signed[4 + 3 * kMaxCert];  // nonce || DER root || DER CA || DER device
size_t g_cert_len[3];

void print_hex(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) fw::printf("%02X", p[i]);
}

void hash_line(const char* label, const uint8_t* digest, bool measured) {
  fw::printf("%s: ", label);
  if (measured) print_hex(digest, 32);
  fw::printf("\n");
}

// The TPM state the commands report: ready, not ready yet, or failed.
enum class Ready { kOk, kTryLater, kError };
Ready open_tpm() {
  fw::TpmStatus s = fw::tpm_open(0);
  if (s == fw::TpmStatus::kOk) return Ready::kOk;
  if (s == fw::TpmStatus::kNotReady || s == fw::TpmStatus::kTimeout) return Ready::kTryLater;
  return Ready::kError;
}
Ready classify(fw::TpmStatus s) {
  if (s == fw::TpmStatus::kOk) return Ready::kOk;
  if (s == fw::TpmStatus::kTimeout || s == fw::TpmStatus::kNotReady) return Ready::kTryLater;
  if (s == fw::TpmStatus::kTpmError && (fw::tpm_last_rc() == tpm2::kRcRetry || fw::tpm_last_rc() == tpm2::kRcTesting))
    return Ready::kTryLater;
  return Ready::kError;
}

void nonce_bytes(const cli::Args& a, uint8_t out[4], size_t* len) {
  *len = 0;
  if (!a.has(cli::ArgTag::kNonce)) return;
  uint32_t n = a.number(cli::ArgTag::kNonce);
  out[0] = uint8_t(n >> 24);
  out[1] = uint8_t(n >> 16);
  out[2] = uint8_t(n >> 8);
  out[3] = uint8_t(n);
  *len = 4;
}

void signature_block(const uint8_t* a, size_t alen, const uint8_t* b, size_t blen) {
  fw::printf("Signature version: 1\nSignature:\n");
  print_hex(a, alen);
  print_hex(b, blen);
  fw::printf("\n");
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void print_pem(const uint8_t* der, size_t n) {
  fw::printf("-----BEGIN CERTIFICATE-----\n");
  char line[65];
  size_t col = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t(der[i]) << 16;
    if (i + 1 < n) v |= uint32_t(der[i + 1]) << 8;
    if (i + 2 < n) v |= der[i + 2];
    char q[4] = {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], i + 1 < n ? kB64[(v >> 6) & 63] : '=',
                 i + 2 < n ? kB64[v & 63] : '='};
    for (char c : q) {
      line[col++] = c;
      if (col == 64) {
        line[col] = '\0';
        fw::printf("%s\n", line);
        col = 0;
      }
    }
  }
  if (col) {
    line[col] = '\0';
    fw::printf("%s\n", line);
  }
  fw::printf("-----END CERTIFICATE-----\n");
}

}  // namespace

void cmd_show_platform_integrity(const cli::Args& a) {
  const handoff::Block* ho = g.handoff;
  Ready r = open_tpm();
  // A busy or still-initialising TPM: ask to come back, print nothing else.
  tpm2::PcrValues pcrs;
  fw::TpmStatus s = fw::TpmStatus::kNoTpm;
  if (r == Ready::kOk) {
    s = fw::tpm_pcr_read(tpm2::pcr_bit(0) | tpm2::pcr_bit(8), &pcrs);
    r = classify(s);
  }
  if (r == Ready::kTryLater) {
    fw::printf("%% Please Try After Few Seconds\n");
    return;
  }
  bool have = ho->magic == handoff::kMagic;
  uint32_t m = have ? ho->measure_flags : 0;
  fw::printf("Platform: %s\n", fw::board_info().platform);
  fw::printf("Boot 0 Version: %s\n", have ? ho->boot0.version : "");
  hash_line("Boot 0 Hash", ho->boot0_sha256, m & handoff::kMeasuredBoot0);
  fw::printf("Boot Loader Version: %s\n", have ? ho->rommon.version : "");
  hash_line("Boot Loader Hash", ho->rommon_sha256, m & handoff::kMeasuredRommon);
  fw::printf("OS Version: %s\n", OS_VERSION);
  hash_line("OS Hash", ho->os_sha256, m & handoff::kMeasuredOs);
  uint32_t all = handoff::kMeasuredBoot0 | handoff::kMeasuredRommon | handoff::kMeasuredOs;
  if (r != Ready::kOk || (m & all) != all || pcrs.count != 2) {
    fw::printf("%% Error retrieving integrity data\n");
    return;
  }
  fw::printf("PCR0: ");
  print_hex(pcrs.digest[0], 32);
  fw::printf("\nPCR8: ");
  print_hex(pcrs.digest[1], 32);
  fw::printf("\n");
  if (!a.has(cli::ArgTag::kSign)) return;
  uint8_t nonce[4];
  size_t nonce_len;
  nonce_bytes(a, nonce, &nonce_len);
  size_t alen = 0, slen = 0;
  s = fw::tpm_quote(tpm2::kSudiHandle, nonce, nonce_len, tpm2::pcr_bit(0) | tpm2::pcr_bit(8), g_attest + 2,
                    sizeof g_attest - 2, &alen, g_sig, sizeof g_sig, &slen);
  if (s != fw::TpmStatus::kOk) {
    fw::printf(classify(s) == Ready::kTryLater ? "%% Please Try After Few Seconds\n"
                                               : "%% Error retrieving integrity data\n");
    return;
  }
  g_attest[0] = uint8_t(alen >> 8);  // TPM2B_ATTEST: size, then the TPMS_ATTEST
  g_attest[1] = uint8_t(alen);
  signature_block(g_attest, alen + 2, g_sig, slen);
}

void cmd_show_platform_sudi(const cli::Args& a) {
  Ready r = open_tpm();
  if (r == Ready::kTryLater) {
    fw::printf("%% Please Try After Few Seconds\n");
    return;
  }
  if (r != Ready::kOk) {
    fw::printf("%% Error retrieving SUDI certificate\n");
    return;
  }
  size_t nonce_len;
  nonce_bytes(a, g_signed, &nonce_len);
  size_t pos = nonce_len;
  for (int i = 0; i < 3; ++i) {
    fw::TpmStatus s = fw::tpm_nv_read(kCertIndex[i], g_signed + pos, kMaxCert, &g_cert_len[i]);
    if (s != fw::TpmStatus::kOk) {
      fw::printf(classify(s) == Ready::kTryLater ? "%% Please Try After Few Seconds\n"
                                                 : "%% Error retrieving SUDI certificate\n");
      return;
    }
    pos += g_cert_len[i];
  }
  size_t p = nonce_len;
  for (int i = 0; i < 3; ++i) {
    print_pem(g_signed + p, g_cert_len[i]);
    p += g_cert_len[i];
  }
  if (!a.has(cli::ArgTag::kSign)) return;
  uint8_t digest[32];
  if (!fw::sha256(g_signed, pos, digest)) {
    fw::printf("%% Error retrieving SUDI certificate\n");
    return;
  }
  size_t slen = 0;
  fw::TpmStatus s = fw::tpm_sign(tpm2::kSudiHandle, digest, g_sig, sizeof g_sig, &slen);
  if (s != fw::TpmStatus::kOk) {
    fw::printf(classify(s) == Ready::kTryLater ? "%% Please Try After Few Seconds\n"
                                               : "%% Error retrieving SUDI certificate\n");
    return;
  }
  fw::printf("\n");
  signature_block(g_sig, slen, nullptr, 0);
}

}  // namespace os
