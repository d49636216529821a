#include "host/tpm_provision.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "devices/openssl_util.h"
#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/tpm2.h"
#include "x509_util.h"

namespace trustsim {
namespace {

using X509Ptr = x509::Cert;
using x509::der;
using x509::pem;
using x509::pubkey_pem;

void add_name(X509_NAME* nm, const char* field, const std::string& value) {
  X509_NAME_add_entry_by_txt(nm, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error(std::string("cannot make certificate extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate with fixed dates and serial, so the same board always gets
// the same bytes (RSA PKCS#1 v1.5 signatures are deterministic).
X509Ptr make_cert(EVP_PKEY* subject_key, X509_NAME* subject, X509* issuer_cert, X509_NAME* issuer_name,
                  EVP_PKEY* issuer_key, uint64_t serial, time_t not_before, bool ca, int pathlen) {
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(c.get()), not_before);
  ASN1_TIME_set_string(X509_getm_notAfter(c.get()), "20991231235959Z");  // like Cisco's SUDI certificates
  X509_set_subject_name(c.get(), subject);
  X509_set_issuer_name(c.get(), issuer_name);
  X509_set_pubkey(c.get(), subject_key);
  X509* iss = issuer_cert ? issuer_cert : c.get();
  if (ca) {
    std::string bc = pathlen >= 0 ? "critical,CA:TRUE,pathlen:" + std::to_string(pathlen) : "critical,CA:TRUE";
    add_ext(c.get(), iss, NID_basic_constraints, bc.c_str());
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), iss, NID_key_usage, "critical,digitalSignature,nonRepudiation,keyEncipherment");
  }
  add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
  if (issuer_cert) add_ext(c.get(), iss, NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(c.get(), issuer_key, EVP_sha256())) throw std::runtime_error("cannot sign a SUDI certificate");
  return c;
}

void write_text(const std::string& path, const std::string& s) {
  write_file_atomic(path, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Lets go of the engine however provisioning ends.
struct Attached {
  ~Attached() { TpmEngine::instance().detach(); }
};

}  // namespace

std::string default_serial(const BoardConfig& cfg) {
  std::vector<uint8_t> h = ossl::sha256(reinterpret_cast<const uint8_t*>(cfg.name.data()), cfg.name.size());
  std::string hex = ossl::hex(h.data(), 4);
  for (char& c : hex) c = char(toupper(static_cast<unsigned char>(c)));
  return "TSB" + hex;
}

std::vector<uint8_t> tpm_host_command(const uint8_t* cmd, size_t len, const char* what) {
  if (len == 0) throw std::runtime_error(std::string("TPM ") + what + ": command does not fit its buffer");
  std::vector<uint8_t> resp = TpmEngine::instance().execute(cmd, len);
  tpm2::Header h{};
  if (!tpm2::parse_header(resp.data(), resp.size(), &h) || h.code != 0) {
    char buf[160];
    snprintf(buf, sizeof buf, "TPM %s failed: rc 0x%x (%s)", what, h.code, tpm2::rc_text(h.code));
    throw std::runtime_error(buf);
  }
  return resp;
}

void provision_tpm(const BoardConfig& cfg, const StatePaths& dir, const std::string& keys_dir,
                   const std::string& serial) {
  ossl::Pkey root_key = ossl::load_private_key(keys_dir + "/sudi-root-ca.pem");
  ossl::Pkey ca_key = ossl::load_private_key(keys_dir + "/sudi-ca.pem");

  TpmEngine& e = TpmEngine::instance();
  e.attach(dir.tpm_nv(), "manufacture:" + cfg.name + ":" + serial);
  Attached guard;
  e.set_clock_ns(0);
  if (!e.power_on()) throw std::runtime_error("libtpms: cannot initialise a new TPM");
  uint8_t cmd[4096];
  tpm_host_command(cmd, tpm2::cmd_startup(cmd, sizeof cmd, tpm2::kSuClear), "Startup");

  // EK and SUDI key: primaries in the endorsement hierarchy, made persistent.
  auto make_primary = [&](size_t len, uint32_t persistent, const char* what, std::vector<uint8_t>* modulus) {
    std::vector<uint8_t> resp = tpm_host_command(cmd, len, what);
    tpm2::Response r;
    const uint8_t* n;
    uint16_t nlen;
    if (!tpm2::parse_response(resp.data(), resp.size(), 1, &r) || !tpm2::parse_create_primary(r, &n, &nlen))
      throw std::runtime_error(std::string("TPM ") + what + ": unexpected response");
    modulus->assign(n, n + nlen);
    uint32_t handle = r.handle;
    tpm_host_command(cmd, tpm2::cmd_evict_control(cmd, sizeof cmd, handle, persistent), "EvictControl");
  };
  std::vector<uint8_t> ek_n, sudi_n;
  make_primary(tpm2::cmd_create_primary_ek(cmd, sizeof cmd), tpm2::kEkHandle, "CreatePrimary (EK)", &ek_n);
  make_primary(tpm2::cmd_create_primary_sudi(cmd, sizeof cmd), tpm2::kSudiHandle, "CreatePrimary (SUDI)", &sudi_n);
  ossl::Pkey ek = ossl::rsa_public_from_modulus(ek_n.data(), ek_n.size());
  ossl::Pkey sudi = ossl::rsa_public_from_modulus(sudi_n.data(), sudi_n.size());

  // Certificates: root CA (self-signed) -> SUDI CA -> device.
  time_t nb = time_t(cfg.rtc_base);
  X509_NAME* root_name = X509_NAME_new();
  add_name(root_name, "O", "trustsim");
  add_name(root_name, "CN", "trustsim Root CA 2099");
  X509_NAME* ca_name = X509_NAME_new();
  add_name(ca_name, "O", "trustsim");
  add_name(ca_name, "CN", "trustsim ACT2 SUDI CA");
  X509_NAME* dev_name = X509_NAME_new();
  add_name(dev_name, "CN", cfg.platform);
  add_name(dev_name, "serialNumber", "PID:" + cfg.platform + " SN:" + serial);
  add_name(dev_name, "O", "trustsim");
  add_name(dev_name, "OU", "ACT-2 Lite SUDI");
  std::vector<uint8_t> sh = ossl::sha256(reinterpret_cast<const uint8_t*>(serial.data()), serial.size());
  uint64_t dev_serial = 0;
  for (int i = 0; i < 8; ++i) dev_serial = (dev_serial << 8) | sh[size_t(i)];
  dev_serial &= 0x7FFFFFFFFFFFFFFFull;
  X509Ptr root = make_cert(root_key.get(), root_name, nullptr, root_name, root_key.get(), 1, nb, true, -1);
  X509Ptr ca = make_cert(ca_key.get(), ca_name, root.get(), root_name, root_key.get(), 2, nb, true, 0);
  X509Ptr dev = make_cert(sudi.get(), dev_name, ca.get(), ca_name, ca_key.get(), dev_serial, nb, false, -1);
  X509_NAME_free(root_name);
  X509_NAME_free(ca_name);
  X509_NAME_free(dev_name);

  const std::pair<uint32_t, X509*> certs[] = {
      {tpm2::kNvSudiRoot, root.get()}, {tpm2::kNvSudiCa, ca.get()}, {tpm2::kNvSudiDevice, dev.get()}};
  for (const auto& [index, cert] : certs) {
    std::vector<uint8_t> d = der(cert);
    if (d.size() > 2048) throw std::runtime_error("SUDI certificate larger than its NV index (2048 bytes)");
    tpm_host_command(cmd, tpm2::cmd_nv_define_space(cmd, sizeof cmd, index, uint16_t(d.size())), "NV_DefineSpace");
    for (size_t off = 0; off < d.size(); off += tpm2::kMaxNvChunk) {
      size_t n = std::min(tpm2::kMaxNvChunk, d.size() - off);
      tpm_host_command(cmd, tpm2::cmd_nv_write(cmd, sizeof cmd, index, d.data() + off, uint16_t(n), uint16_t(off)),
                       "NV_Write");
    }
  }
  tpm_host_command(cmd, tpm2::cmd_shutdown(cmd, sizeof cmd, tpm2::kSuClear), "Shutdown");

  write_text(TpmExports::ek_pub(dir), pubkey_pem(ek.get()));
  write_text(TpmExports::sudi_pub(dir), pubkey_pem(sudi.get()));
  write_text(TpmExports::sudi_chain(dir), pem(root.get()) + pem(ca.get()) + pem(dev.get()));
  write_text(TpmExports::sudi_root(dir), pem(root.get()));
}

}  // namespace trustsim
