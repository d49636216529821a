// libFuzzer target: TPM responses as the firmware's TPM driver parses them
// (common/tpm2: the response frame, then PCR_Read, Quote and its
// TPMS_ATTEST and TPMT_SIGNATURE, Sign, NV_ReadPublic, NV_Read,
// CreatePrimary). The first input byte picks the command the response
// answers; the rest is the response. Whatever a parser accepts must lie
// inside the input.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "trustsim/tpm2.h"

namespace {
namespace tpm2 = trustsim::tpm2;

void inside(const uint8_t* p, size_t n, const uint8_t* buf, size_t len) {
  if (n && (p < buf || p + n > buf + len)) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t kind = data[0] % 7;
  const uint8_t* buf = data + 1;
  size_t len = size - 1;
  tpm2::Response r;
  if (!tpm2::parse_response(buf, len, kind == 6 ? 1 : 0, &r)) return 0;
  inside(r.params, r.params_len, buf, len);
  if (r.rc != 0) return 0;
  switch (kind) {
    case 0: {
      tpm2::PcrValues v;
      if (tpm2::parse_pcr_read(r, &v) && v.count > 8) abort();
      break;
    }
    case 1: {
      tpm2::Quote q;
      if (tpm2::parse_quote(r, &q)) {
        inside(q.attest, q.attest_len, buf, len);
        inside(q.signature, q.signature_len, buf, len);
        tpm2::Attest a;
        if (tpm2::parse_attest(q.attest, q.attest_len, &a)) {
          inside(a.extra, a.extra_len, buf, len);
          inside(a.pcr_digest, a.pcr_digest_len, buf, len);
        }
        tpm2::Signature s;
        if (tpm2::parse_signature(q.signature, q.signature_len, &s)) inside(s.sig, s.sig_len, buf, len);
      }
      break;
    }
    case 2: {
      const uint8_t* s;
      size_t n;
      if (tpm2::parse_sign(r, &s, &n)) inside(s, n, buf, len);
      break;
    }
    case 3: {
      tpm2::NvPublic p;
      tpm2::parse_nv_read_public(r, &p);
      break;
    }
    case 4: {
      const uint8_t* d;
      uint16_t n;
      if (tpm2::parse_nv_read(r, &d, &n)) inside(d, n, buf, len);
      break;
    }
    case 5: {
      tpm2::Attest a;
      if (tpm2::parse_attest(r.params, r.params_len, &a)) inside(a.pcr_digest, a.pcr_digest_len, buf, len);
      break;
    }
    case 6: {
      const uint8_t* m;
      uint16_t n;
      if (tpm2::parse_create_primary(r, &m, &n)) inside(m, n, buf, len);
      break;
    }
  }
  return 0;
}
