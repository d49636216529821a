#include "host/signing.h"

#include <cstring>

#include "devkit/input_error.h"
#include "trustsim/crc32.h"

namespace trustsim::signing {

std::string signed_suffix(keys::KeyType type, char version) {
  char kind = type == keys::KeyType::kProduction ? 'P' : type == keys::KeyType::kSpecial ? 'S' : 'R';
  return std::string(".S") + kind + version;
}

bool parse_key_name(const std::string& text, keys::KeyType* type, char* version) {
  std::string t = text;
  size_t slash = t.rfind('/');
  if (slash != std::string::npos) t = t.substr(slash + 1);
  if (t.size() > 4 && t.substr(t.size() - 4) == ".pem") t = t.substr(0, t.size() - 4);
  size_t dash = t.rfind('-');
  if (dash == std::string::npos || dash + 2 != t.size()) return false;
  // Anything before the type is a label: "untrusted-production-A" is a production key.
  size_t start = t.rfind('-', dash - 1);
  std::string kind =
      t.substr(start == std::string::npos ? 0 : start + 1, dash - (start == std::string::npos ? 0 : start + 1));
  char v = t[dash + 1];
  if (v < 'A' || v > 'Z') return false;
  if (kind == "production")
    *type = keys::KeyType::kProduction;
  else if (kind == "special")
    *type = keys::KeyType::kSpecial;
  else if (kind == "rollover")
    *type = keys::KeyType::kRollover;
  else
    return false;
  *version = v;
  return true;
}

std::vector<uint8_t> build_key_bundle(const std::vector<std::string>& add_pems,
                                      const std::vector<std::string>& revoke_pems) {
  key_bundle::Bundle b{};
  auto put = [&b](key_bundle::Action action, const std::string& pem) {
    keys::KeyType t;
    char v;
    if (!parse_key_name(pem, &t, &v))
      throw InputError("key bundle: cannot tell the key type and version from '" + pem +
                       "': name the key file like production-B.pem");
    if (b.count >= key_bundle::kMaxEntries)
      throw InputError("key bundle: at most " + std::to_string(key_bundle::kMaxEntries) + " keys");
    b.entries[b.count].action = action;
    b.entries[b.count].key = ossl::public_record(ossl::load_private_key(pem), t, v);
    ++b.count;
  };
  for (const std::string& p : add_pems) put(key_bundle::Action::kAdd, p);
  for (const std::string& p : revoke_pems) put(key_bundle::Action::kRevoke, p);
  std::vector<uint8_t> out(key_bundle::encoded_len(b.count));
  key_bundle::encode(b, out.data());
  return out;
}

std::vector<uint8_t> build_signed_image(const ImageSpec& spec, const std::vector<uint8_t>& payload,
                                        const ossl::Pkey& key, keys::KeyType key_type, char key_version,
                                        const SignerInfo& signer) {
  image::Header h{};
  h.image_type = uint32_t(spec.type);
  h.platform_id = spec.platform_id;
  h.load_addr = spec.load_addr;
  h.entry = spec.entry ? spec.entry : spec.load_addr;
  h.payload_len = payload.size();
  h.payload_crc32 = crc32(payload.data(), payload.size());
  h.envelope_len = keys::kEnvelopeLen;
  strncpy(h.version, spec.version.c_str(), sizeof h.version - 1);
  strncpy(h.platform, spec.platform.c_str(), sizeof h.platform - 1);

  std::vector<uint8_t> out(image::kHeaderSize);
  out.reserve(image::kHeaderSize + payload.size() + keys::kEnvelopeLen);  // one copy of a large payload
  image::write_header(h, out.data());
  out.insert(out.end(), payload.begin(), payload.end());

  keys::KeyRecord rec = ossl::public_record(key, key_type, key_version);
  keys::Envelope env{};
  env.key_type = uint8_t(key_type);
  env.key_version = key_version;
  env.hash_alg = keys::kHashSha512;
  env.sig_alg = keys::kSigRsa2048Pkcs1;
  strncpy(env.common_name, signer.common_name.c_str(), sizeof env.common_name - 1);
  strncpy(env.org_unit, signer.org_unit.c_str(), sizeof env.org_unit - 1);
  strncpy(env.org_name, signer.org_name.c_str(), sizeof env.org_name - 1);
  std::string serial = signer.cert_serial.empty() ? ossl::hex(rec.key_id, 4) : signer.cert_serial;
  for (char& c : serial) c = char(toupper(static_cast<unsigned char>(c)));
  strncpy(env.cert_serial, serial.c_str(), sizeof env.cert_serial - 1);
  memcpy(env.key_id, rec.key_id, keys::kKeyIdLen);
  std::vector<uint8_t> digest = ossl::sha512(out.data(), out.size());
  memcpy(env.image_digest, digest.data(), 64);

  uint8_t encoded[keys::kEnvelopeLen];
  keys::encode_envelope(env, encoded);
  std::vector<uint8_t> sig = ossl::sign_sha512(key, encoded, keys::kEnvelopeSignedLen);
  memcpy(encoded + keys::kEnvelopeSignedLen, sig.data(), sig.size());
  out.insert(out.end(), encoded, encoded + keys::kEnvelopeLen);
  return out;
}

bool OpensslCrypto::sha512(const uint8_t* data, uint64_t len, uint8_t* out) {
  std::vector<uint8_t> d = ossl::sha512(data, len);
  memcpy(out, d.data(), 64);
  return true;
}

bool OpensslCrypto::rsa_verify(const keys::KeyRecord& key, const uint8_t* digest64, const uint8_t* sig) {
  return ossl::verify_sha512_digest(key, digest64, sig, 256);
}

verify::Result inspect(const std::vector<uint8_t>& file, const keys::Store& trusted) {
  OpensslCrypto crypto;
  verify::Result r;
  verify::verify_image(file.data(), file.size(), trusted, crypto, r);
  return r;
}

}  // namespace trustsim::signing
