#include "host/attest.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "devices/openssl_util.h"
#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "host/manufacture.h"
#include "trustsim/tpm2.h"
#include "trustsim/versions.h"
#include "x509_util.h"

namespace trustsim::attest {
namespace {

std::string upper_hex(const uint8_t* p, size_t n) {
  std::string h = ossl::hex(p, n);
  for (char& c : h) c = char(toupper(static_cast<unsigned char>(c)));
  return h;
}

std::vector<uint8_t> extend(const std::vector<uint8_t>& pcr, const std::vector<uint8_t>& digest) {
  std::vector<uint8_t> in(pcr);
  in.insert(in.end(), digest.begin(), digest.end());
  return ossl::sha256(in.data(), in.size());
}

bool is_hex(const std::string& s) {
  for (char c : s)
    if (!isxdigit(static_cast<unsigned char>(c))) return false;
  return !s.empty() && s.size() % 2 == 0;
}

std::vector<uint8_t> from_hex(const std::string& s) {
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(std::stoi(s.substr(2 * i, 2), nullptr, 16));
  return out;
}

std::string to_upper(std::string s) {
  for (char& c : s) c = char(toupper(static_cast<unsigned char>(c)));
  return s;
}

// Console lines without trustsim's "[    1.234567890] " prefix or a CR.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.size() > 2 && l[0] == '[') {
      size_t close = l.find("] ");
      bool stamp = close != std::string::npos && close > 1;
      for (size_t i = 1; stamp && i < close; ++i)
        if (!isdigit(static_cast<unsigned char>(l[i])) && l[i] != '.' && l[i] != ' ') stamp = false;
      if (stamp) l = l.substr(close + 2);
    }
    out.push_back(l);
  }
  while (!out.empty() && out.back().empty()) out.pop_back();  // a capture cut mid-line
  return out;
}

using X509Ptr = x509::Cert;
using x509::der;

std::string subject_of(X509* x) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof buf);
  return buf;
}

}  // namespace

Kgv compute_kgv(const BoardConfig& cfg, const Artifacts& fw, const std::string& keys_dir,
                const std::vector<uint8_t>& os_image, const std::string& os_version, const std::string& os_file) {
  Kgv k;
  k.platform = cfg.platform;
  std::vector<uint8_t> boot0 = read_file(fw.boot0_bin);
  ossl::Pkey production = ossl::load_private_key(keys_dir + "/production-A.pem");
  std::vector<uint8_t> rommon = signed_rommon(cfg, fw, production, keys::KeyType::kProduction);
  std::vector<uint8_t> h0 = ossl::sha256(boot0.data(), boot0.size());
  std::vector<uint8_t> h1 = ossl::sha256(rommon.data(), rommon.size());
  std::vector<uint8_t> h2 = ossl::sha256(os_image.data(), os_image.size());
  k.boot0 = {versions::kBoot0, upper_hex(h0.data(), 32)};
  k.rommon = {rommon_version(fw), upper_hex(h1.data(), 32)};
  k.os = {os_version, upper_hex(h2.data(), 32)};
  k.os_file = os_file;
  std::vector<uint8_t> zero(32, 0);
  std::vector<uint8_t> p0 = extend(extend(zero, h0), h1), p8 = extend(zero, h2);
  k.pcr0 = upper_hex(p0.data(), 32);
  k.pcr8 = upper_hex(p8.data(), 32);
  return k;
}

std::string kgv_json(const Kgv& k) {
  nlohmann::ordered_json j;
  j["format"] = "trustsim-kgv-1";
  j["platform"] = k.platform;
  j["stages"]["boot0"] = {{"version", k.boot0.version}, {"sha256", k.boot0.sha256}};
  j["stages"]["rommon"] = {{"version", k.rommon.version}, {"sha256", k.rommon.sha256}};
  j["stages"]["os"] = {{"version", k.os.version}, {"sha256", k.os.sha256}, {"file", k.os_file}};
  j["pcrs"]["bank"] = "sha256";
  j["pcrs"]["0"] = k.pcr0;
  j["pcrs"]["8"] = k.pcr8;
  return j.dump(2) + "\n";
}

Kgv load_kgv(const std::string& path) {
  std::vector<uint8_t> raw = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(raw.begin(), raw.end());
  } catch (const std::exception& e) {
    throw InputError(path + ": not JSON: " + e.what());
  }
  auto str = [&](const nlohmann::json& node, const char* key, const std::string& field) -> std::string {
    if (!node.is_object() || !node.contains(key) || !node[key].is_string())
      throw InputError(path + ": " + field + ": missing or not a string");
    return node[key].get<std::string>();
  };
  auto hex64 = [&](const nlohmann::json& node, const char* key, const std::string& field) {
    std::string v = to_upper(str(node, key, field));
    if (v.size() != 64 || !is_hex(v)) throw InputError(path + ": " + field + ": expected 64 hex digits");
    return v;
  };
  if (str(j, "format", "format") != "trustsim-kgv-1") throw InputError(path + ": format: expected trustsim-kgv-1");
  Kgv k;
  k.platform = str(j, "platform", "platform");
  if (!j.contains("stages") || !j["stages"].is_object()) throw InputError(path + ": stages: missing");
  const auto& st = j["stages"];
  for (auto [name, stage] : {std::pair<const char*, Stage*>{"boot0", &k.boot0}, {"rommon", &k.rommon}, {"os", &k.os}}) {
    if (!st.contains(name)) throw InputError(path + ": stages." + name + ": missing");
    std::string f = std::string("stages.") + name;
    stage->version = str(st[name], "version", f + ".version");
    stage->sha256 = hex64(st[name], "sha256", f + ".sha256");
  }
  if (st["os"].contains("file")) k.os_file = str(st["os"], "file", "stages.os.file");
  if (!j.contains("pcrs")) throw InputError(path + ": pcrs: missing");
  if (str(j["pcrs"], "bank", "pcrs.bank") != "sha256") throw InputError(path + ": pcrs.bank: expected sha256");
  k.pcr0 = hex64(j["pcrs"], "0", "pcrs.0");
  k.pcr8 = hex64(j["pcrs"], "8", "pcrs.8");
  return k;
}

std::vector<Check> verify(const std::string& text, const Kgv& kgv, const Options& opt) {
  std::vector<std::string> lines = lines_of(text);
  std::vector<Check> out;

  // ---- show platform integrity sign: the last one in the capture ----
  size_t at = lines.size();
  for (size_t i = lines.size(); i-- > 0;)
    if (lines[i].rfind("Platform: ", 0) == 0) {
      at = i;
      break;
    }
  if (at == lines.size()) throw InputError("no `show platform integrity` output found (no 'Platform:' line)");
  const char* fields[] = {
      "Platform", "Boot 0 Version", "Boot 0 Hash", "Boot Loader Version", "Boot Loader Hash", "OS Version",
      "OS Hash",  "PCR0",           "PCR8"};
  std::string value[9];
  size_t li = at;
  for (int f = 0; f < 9; ++f, ++li) {
    if (li >= lines.size())
      throw InputError(std::string("truncated: the output ends before the '") + fields[f] + ":' line");
    const std::string& l = lines[li];
    if (l.rfind("% ", 0) == 0) throw InputError("the device reported '" + l + "' instead of '" + fields[f] + ":'");
    std::string prefix = std::string(fields[f]) + ":";
    if (l.rfind(prefix, 0) != 0)
      throw InputError("malformed: expected the '" + prefix + "' line, found '" + l.substr(0, 60) + "'");
    value[f] = l.substr(prefix.size());
    if (!value[f].empty() && value[f][0] == ' ') value[f] = value[f].substr(1);
  }
  for (int f : {2, 4, 6, 7, 8})
    if (value[f].size() != 64 || !is_hex(value[f]))
      throw InputError(std::string(fields[f]) + ": expected 64 hex digits, found '" + value[f].substr(0, 70) + "'");
  if (li >= lines.size() || lines[li] != "Signature version: 1") {
    if (li < lines.size() && lines[li].rfind("% ", 0) == 0)
      throw InputError("the device reported '" + lines[li] + "' instead of a signature");
    throw InputError(li >= lines.size()
                         ? "truncated: no 'Signature version: 1' line (capture `show platform integrity sign nonce N`)"
                         : "no 'Signature version: 1' line after PCR8: capture `show platform integrity sign nonce N`");
  }
  if (li + 2 >= lines.size() || lines[li + 1] != "Signature:")
    throw InputError("truncated: the output ends before the signature");
  std::string sig_hex = lines[li + 2];
  if (!is_hex(sig_hex))
    throw InputError("Signature: not a hex string (" + std::to_string(sig_hex.size()) + " characters)");

  auto expect = [&](const std::string& name, const std::string& got, const std::string& want) {
    out.push_back({name, to_upper(got) == to_upper(want),
                   to_upper(got) == to_upper(want) ? got : "device reports " + got + ", known-good is " + want});
  };
  expect("Platform", value[0], kgv.platform);
  expect("Boot 0 Version", value[1], kgv.boot0.version);
  expect("Boot 0 Hash", value[2], kgv.boot0.sha256);
  expect("Boot Loader Version", value[3], kgv.rommon.version);
  expect("Boot Loader Hash", value[4], kgv.rommon.sha256);
  expect("OS Version", value[5], kgv.os.version);
  expect("OS Hash", value[6], kgv.os.sha256);
  expect("PCR0", value[7], kgv.pcr0);
  expect("PCR8", value[8], kgv.pcr8);

  // The quote: TPM2B_ATTEST || TPMT_SIGNATURE.
  std::vector<uint8_t> blob = from_hex(sig_hex);
  if (blob.size() < 2) throw InputError("Signature: too short to hold a quote");
  size_t alen = size_t(blob[0]) << 8 | blob[1];
  if (alen == 0 || 2 + alen > blob.size()) throw InputError("Signature: truncated (the attestation is cut short)");
  const uint8_t* attest = blob.data() + 2;
  const uint8_t* sigp = attest + alen;
  size_t siglen = blob.size() - 2 - alen;
  tpm2::Attest a;
  if (!tpm2::parse_attest(attest, alen, &a) || a.magic != tpm2::kGenerated)
    throw InputError("Signature: the attestation is not a TPM quote (bad TPMS_ATTEST)");
  tpm2::Signature sig;
  if (!tpm2::parse_signature(sigp, siglen, &sig)) throw InputError("Signature: truncated or malformed TPMT_SIGNATURE");

  uint8_t nonce[4] = {uint8_t(opt.nonce >> 24), uint8_t(opt.nonce >> 16), uint8_t(opt.nonce >> 8), uint8_t(opt.nonce)};
  bool nonce_ok = a.extra_len == 4 && memcmp(a.extra, nonce, 4) == 0;
  std::string quoted_nonce = a.extra_len == 4 ? std::to_string(uint32_t(a.extra[0]) << 24 | uint32_t(a.extra[1]) << 16 |
                                                               uint32_t(a.extra[2]) << 8 | a.extra[3])
                                              : "(" + std::to_string(a.extra_len) + "-byte qualifying data)";
  out.push_back({"nonce", nonce_ok,
                 nonce_ok ? std::to_string(opt.nonce)
                          : "the quote was made for nonce " + quoted_nonce + ", not " + std::to_string(opt.nonce) +
                                " (replayed or stale output)"});
  std::vector<uint8_t> pcrs = from_hex(value[7]);
  std::vector<uint8_t> p8 = from_hex(value[8]);
  pcrs.insert(pcrs.end(), p8.begin(), p8.end());
  std::vector<uint8_t> pd = ossl::sha256(pcrs.data(), pcrs.size());
  bool sel_ok = a.pcr_hash == tpm2::kAlgSha256 && a.pcr_mask == (tpm2::pcr_bit(0) | tpm2::pcr_bit(8));
  bool pd_ok = sel_ok && a.pcr_digest_len == 32 && memcmp(a.pcr_digest, pd.data(), 32) == 0;
  out.push_back({"quoted PCRs", pd_ok,
                 pd_ok     ? "PCR0+PCR8 digest matches the printed PCRs"
                 : !sel_ok ? "the quote does not cover exactly PCR0 and PCR8 of the SHA-256 bank"
                           : "the PCR digest the TPM signed does not match the printed PCR0/PCR8"});

  // ---- SUDI: the certificates (the last three in the capture) ----
  std::vector<std::string> pems;
  size_t after_certs = 0;
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i] == "-----BEGIN CERTIFICATE-----") {
      std::string pem;
      size_t j = i;
      for (; j < lines.size(); ++j) {
        pem += lines[j] + "\n";
        if (lines[j] == "-----END CERTIFICATE-----") break;
      }
      if (j == lines.size()) throw InputError("truncated: a certificate has no END line");
      pems.push_back(pem);
      after_certs = j + 1;
      i = j;
    }
  ossl::Pkey sudi_key;
  if (!pems.empty()) {
    if (pems.size() < 3)
      throw InputError("SUDI output: expected 3 certificates (root, CA, device), found " + std::to_string(pems.size()));
    std::vector<X509Ptr> c;
    for (size_t i = pems.size() - 3; i < pems.size(); ++i)
      c.push_back(x509::from_pem(pems[i], "SUDI certificate " + std::to_string(i + 1)));
    std::string chain_detail;
    bool chain_ok = false;
    if (opt.root_ca.empty()) {
      chain_detail = "no trusted root given (--root-ca)";
    } else {
      X509Ptr root = x509::from_pem(opt.root_ca, "--root-ca");
      X509_STORE* store = X509_STORE_new();
      X509_STORE_add_cert(store, root.get());
      STACK_OF(X509)* untrusted = sk_X509_new_null();
      sk_X509_push(untrusted, c[1].get());
      X509_STORE_CTX* ctx = X509_STORE_CTX_new();
      X509_STORE_CTX_init(ctx, store, c[2].get(), untrusted);
      X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);  // the board's clock is not the host's
      chain_ok = X509_verify_cert(ctx) == 1;
      chain_detail =
          chain_ok ? subject_of(c[2].get())
                   : std::string("does not verify: ") + X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
      X509_STORE_CTX_free(ctx);
      sk_X509_free(untrusted);
      X509_STORE_free(store);
      bool root_same = der(c[0].get()) == der(root.get());
      if (chain_ok && !root_same) {
        chain_ok = false;
        chain_detail = "the root certificate printed is not the trusted root";
      }
    }
    out.push_back({"SUDI chain", chain_ok, chain_detail});
    if (chain_ok) sudi_key.reset(X509_get_pubkey(c[2].get()));
    // Optional SUDI signature over nonce || DER root || DER CA || DER device.
    size_t k = after_certs;
    while (k < lines.size() && lines[k].empty()) ++k;
    if (k < lines.size() && lines[k] == "Signature version: 1") {
      if (k + 2 >= lines.size() || lines[k + 1] != "Signature:" || !is_hex(lines[k + 2]))
        throw InputError("SUDI output: truncated or malformed signature");
      std::vector<uint8_t> s = from_hex(lines[k + 2]);
      tpm2::Signature ss;
      if (!tpm2::parse_signature(s.data(), s.size(), &ss)) throw InputError("SUDI output: malformed TPMT_SIGNATURE");
      std::vector<uint8_t> msg(nonce, nonce + 4);
      for (auto& x : c) {
        std::vector<uint8_t> d = der(x.get());
        msg.insert(msg.end(), d.begin(), d.end());
      }
      EVP_PKEY* dk = X509_get0_pubkey(c[2].get());
      bool ok = dk && ossl::verify_sha256(dk, msg.data(), msg.size(), ss.sig, ss.sig_len);
      out.push_back({"SUDI signature", ok,
                     ok ? "nonce and certificates signed by the device key"
                        : "does not verify over nonce " + std::to_string(opt.nonce) +
                              " and the certificates (wrong nonce, or altered certificates)"});
    }
  }
  if (!sudi_key && !opt.sudi_pub.empty()) {
    BIO* b = BIO_new_mem_buf(opt.sudi_pub.data(), int(opt.sudi_pub.size()));
    EVP_PKEY* k = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    if (!k) throw InputError("--sudi-pub: not a PEM public key");
    sudi_key.reset(k);
  }
  if (!sudi_key) {
    out.push_back(
        {"signature", false,
         pems.empty() ? "no SUDI key to check it with: capture `show platform sudi certificate` too, or pass --sudi-pub"
                      : "not checked: the SUDI chain did not verify"});
  } else {
    bool ok = sig.hash == tpm2::kAlgSha256 && ossl::verify_sha256(sudi_key.get(), attest, alen, sig.sig, sig.sig_len);
    out.push_back(
        {"signature", ok,
         ok ? "TPM quote signed by the SUDI key" : "the quote's signature does not verify with the SUDI key"});
  }
  return out;
}

}  // namespace trustsim::attest
