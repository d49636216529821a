// Certificate and public-key conversions the host tools share (SUDI
// provisioning in tpm_provision.cc, the checks in attest.cc): DER and PEM
// out of OpenSSL objects, a certificate back in from PEM. Private to
// ts-host; the signing calls every component uses are in
// devices/openssl_util.h.
#pragma once
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trustsim::x509 {

struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Cert = std::unique_ptr<X509, CertFree>;

std::vector<uint8_t> der(X509* cert);
std::string pem(X509* cert);
std::string pubkey_pem(EVP_PKEY* key);

// Throws InputError "<what>: not a PEM certificate".
Cert from_pem(const std::string& pem, const std::string& what);

}  // namespace trustsim::x509
