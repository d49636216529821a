#include "devices/openssl_util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "devkit/input_error.h"

namespace trustsim::ossl {
namespace {

std::string ssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "unknown OpenSSL error";
}

std::vector<uint8_t> digest(const EVP_MD* md, const uint8_t* data, size_t len) {
  std::vector<uint8_t> out(EVP_MD_get_size(md));
  unsigned int n = 0;
  if (!EVP_Digest(data, len, out.data(), &n, md, nullptr)) throw std::runtime_error("EVP_Digest: " + ssl_error());
  return out;
}

namespace {
// An RSA public key from its big-endian modulus and exponent; null on failure.
EVP_PKEY* rsa_public(const uint8_t* modulus, size_t len, unsigned long exponent) {
  BIGNUM* n = BN_bin2bn(modulus, int(len), nullptr);
  BIGNUM* e = BN_new();
  BN_set_word(e, exponent);
  OSSL_PARAM_BLD* b = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(b);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 && EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) > 0;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(b);
  BN_free(n);
  BN_free(e);
  return ok ? key : nullptr;
}
}  // namespace

Pkey public_key_from_record(const keys::KeyRecord& rec) {
  return Pkey(rsa_public(rec.modulus, keys::kModulusLen, rec.exponent));
}

}  // namespace

void PkeyDeleter::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

std::vector<uint8_t> sha256(const uint8_t* data, size_t len) { return digest(EVP_sha256(), data, len); }
std::vector<uint8_t> sha512(const uint8_t* data, size_t len) { return digest(EVP_sha512(), data, len); }

Pkey load_private_key(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (!f) throw InputError(path + ": cannot open key file: " + strerror(errno));
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  fclose(f);
  if (!k) throw InputError(path + ": not a PEM private key (" + ssl_error() + ")");
  Pkey key(k);
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_get_bits(k) != 2048)
    throw InputError(path + ": key must be RSA-2048, this one is " + std::to_string(EVP_PKEY_get_bits(k)) + "-bit " +
                     EVP_PKEY_get0_type_name(k));
  return key;
}

Pkey generate_rsa2048() {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  if (!k) throw std::runtime_error("RSA key generation failed: " + ssl_error());
  return Pkey(k);
}

void write_private_key(const Pkey& key, const std::string& path) {
  FILE* f = fopen(path.c_str(), "wx");
  if (!f) throw InputError(path + ": cannot create (it must not exist yet): " + strerror(errno));
  bool ok = PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  if (!ok) throw std::runtime_error(path + ": writing the key failed: " + ssl_error());
}

keys::KeyRecord public_record(const Pkey& key, keys::KeyType type, char version) {
  keys::KeyRecord r{};
  r.type = uint8_t(type);
  r.version = version;
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (!EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, &n) ||
      !EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &e))
    throw std::runtime_error("cannot read RSA parameters: " + ssl_error());
  BN_bn2binpad(n, r.modulus, keys::kModulusLen);
  r.exponent = uint32_t(BN_get_word(e));
  BN_free(n);
  BN_free(e);
  std::vector<uint8_t> id = sha256(r.modulus, keys::kModulusLen);
  memcpy(r.key_id, id.data(), keys::kKeyIdLen);
  return r;
}

std::vector<uint8_t> sign_sha512(const Pkey& key, const uint8_t* msg, size_t len) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  size_t sig_len = 0;
  std::vector<uint8_t> sig;
  bool ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha512(), nullptr, key.get()) > 0 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
            EVP_DigestSign(ctx, nullptr, &sig_len, msg, len) > 0;
  if (ok) {
    sig.resize(sig_len);
    ok = EVP_DigestSign(ctx, sig.data(), &sig_len, msg, len) > 0;
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("signing failed: " + ssl_error());
  sig.resize(sig_len);
  return sig;
}

bool verify_sha512_digest(const keys::KeyRecord& rec, const uint8_t* digest64, const uint8_t* sig, size_t sig_len) {
  Pkey key = public_key_from_record(rec);
  if (!key) return false;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key.get(), nullptr);
  bool ok = ctx && EVP_PKEY_verify_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
            EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha512()) > 0 &&
            EVP_PKEY_verify(ctx, sig, sig_len, digest64, 64) == 1;
  EVP_PKEY_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

Pkey rsa_public_from_modulus(const uint8_t* n, size_t len) {
  EVP_PKEY* key = rsa_public(n, len, 65537);
  if (!key) throw InputError("cannot make an RSA public key from a " + std::to_string(len) + "-byte modulus");
  return Pkey(key);
}

bool verify_sha256_digest(EVP_PKEY* key, const uint8_t* digest32, const uint8_t* sig, size_t sig_len) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  bool ok = ctx && EVP_PKEY_verify_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
            EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
            EVP_PKEY_verify(ctx, sig, sig_len, digest32, 32) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

bool verify_sha256(EVP_PKEY* key, const uint8_t* msg, size_t len, const uint8_t* sig, size_t sig_len) {
  std::vector<uint8_t> d = sha256(msg, len);
  return verify_sha256_digest(key, d.data(), sig, sig_len);
}

}  // namespace trustsim::ossl
