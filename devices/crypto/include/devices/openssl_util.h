// The OpenSSL 3 calls trustsim makes, in one place: hashing, RSA-2048
// PKCS#1 v1.5 / SHA-512 signatures, and converting keys to the key records
// of common/keys.h. Used by the crypto engine model and the host tools.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trustsim/keys.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace trustsim::ossl {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const;
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

std::vector<uint8_t> sha256(const uint8_t* data, size_t len);
std::vector<uint8_t> sha512(const uint8_t* data, size_t len);

// Throws InputError naming the file when it is not an RSA-2048 private key.
Pkey load_private_key(const std::string& pem_path);
Pkey generate_rsa2048();
void write_private_key(const Pkey& key, const std::string& pem_path);

// The public half as a key record (key_id = SHA-256 of the modulus).
keys::KeyRecord public_record(const Pkey& key, keys::KeyType type, char version);

// RSA-2048 PKCS#1 v1.5 signature over SHA-512(message).
std::vector<uint8_t> sign_sha512(const Pkey& key, const uint8_t* msg, size_t len);
// Verifies a signature over a SHA-512 digest with the key in `rec`.
bool verify_sha512_digest(const keys::KeyRecord& rec, const uint8_t* digest64, const uint8_t* sig, size_t sig_len);

std::string hex(const uint8_t* p, size_t n);

// TPM keys (tpm-sim, trustsim attest): an RSA public key from a big-endian
// modulus (exponent 65537), and RSA PKCS#1 v1.5 / SHA-256 verification.
Pkey rsa_public_from_modulus(const uint8_t* n, size_t len);
bool verify_sha256(EVP_PKEY* key, const uint8_t* msg, size_t len, const uint8_t* sig, size_t sig_len);
bool verify_sha256_digest(EVP_PKEY* key, const uint8_t* digest32, const uint8_t* sig, size_t sig_len);

}  // namespace trustsim::ossl
