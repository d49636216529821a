#include "x509_util.h"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "devkit/input_error.h"

namespace trustsim::x509 {
namespace {

// What `write` puts into a memory BIO, as a string.
template <class Write>
std::string through_memory_bio(Write write) {
  BIO* b = BIO_new(BIO_s_mem());
  write(b);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string s(data, size_t(n > 0 ? n : 0));
  BIO_free(b);
  return s;
}

}  // namespace

std::vector<uint8_t> der(X509* cert) {
  int n = i2d_X509(cert, nullptr);
  std::vector<uint8_t> out(size_t(n > 0 ? n : 0));
  uint8_t* p = out.data();
  i2d_X509(cert, &p);
  return out;
}

std::string pem(X509* cert) {
  return through_memory_bio([cert](BIO* b) { PEM_write_bio_X509(b, cert); });
}

std::string pubkey_pem(EVP_PKEY* key) {
  return through_memory_bio([key](BIO* b) { PEM_write_bio_PUBKEY(b, key); });
}

Cert from_pem(const std::string& pem, const std::string& what) {
  BIO* b = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!x) throw InputError(what + ": not a PEM certificate");
  return Cert(x);
}

}  // namespace trustsim::x509
