#include "image_cmds.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "flash_cmds.h"
#include "host/attest.h"
#include "host/signing.h"
#include "hw-models/board.h"

namespace trustsim {
namespace {

// ROMmon verifies an image in a staging buffer of 0x44000000..0x47FF0000:
// nothing larger can ever boot.
constexpr uint64_t kMaxImageBytes = 0x47FF0000ull - 0x44000000ull;
constexpr const char* kImageLimitWhy = "the size of ROMmon's staging buffer";

struct SignOptions {
  std::string input, key, key_name, type = "os", version, out, platform = "TS-ISR1100";
  std::string kgv, kgv_board_file = "default";         // --kgv: also export known-good values (docs/attestation.md)
  uint64_t platform_id = 0x1100, load = 0, entry = 0;  // load 0: the type's usual address
  std::vector<std::string> add_keys, revoke_keys;      // key bundle appended to the payload
};

struct InspectOptions {
  std::string file;
  std::vector<std::string> keys;
};

struct KeygenOptions {
  std::string name, out;
};

keys::KeyType key_type_of(const std::string& key_path, const std::string& key_name, char* version) {
  keys::KeyType t;
  const std::string& text = key_name.empty() ? key_path : key_name;
  if (!signing::parse_key_name(text, &t, version))
    throw InputError("cannot tell the key type and version from '" + text +
                     "': name the key file like production-A.pem, or pass --key-name production-A");
  return t;
}

int run_sign(const SignOptions& o) {
  char version;
  keys::KeyType kt = key_type_of(o.key, o.key_name, &version);
  ossl::Pkey key = ossl::load_private_key(o.key);
  signing::ImageSpec spec;
  if (o.type == "os")
    spec.type = image::Type::kOs;
  else if (o.type == "rommon")
    spec.type = image::Type::kRommon;
  else if (o.type == "revocation")
    spec.type = image::Type::kRevocation;
  else
    throw InputError("--type: expected os, rommon or revocation, not '" + o.type + "'");
  if (o.version.empty() || o.version.size() >= image::kVersionLen)
    throw InputError("--version: expected 1.." + std::to_string(image::kVersionLen - 1) + " characters");
  if (o.platform.empty() || o.platform.size() >= image::kPlatformLen)
    throw InputError("--platform: expected 1.." + std::to_string(image::kPlatformLen - 1) + " characters");
  spec.version = o.version;
  spec.platform = o.platform;
  spec.platform_id = uint32_t(o.platform_id);
  spec.load_addr = o.load ? o.load : image::default_load_addr(spec.type);
  spec.entry = o.entry;
  bool bundle = !o.add_keys.empty() || !o.revoke_keys.empty();
  std::string input = o.input;
  if (spec.type == image::Type::kRevocation) {
    // The IOS XE guide's revocation image: rollover-signed, one new
    // production key, nothing else (docs/keys-and-signing.md).
    keys::KeyType at;
    char av;
    if (kt != keys::KeyType::kRollover)
      throw InputError("--type revocation: a revocation image is signed with the rollover key, not " +
                       std::string(keys::key_type_name(uint8_t(kt))) + " key " + version);
    if (o.add_keys.size() != 1 || !o.revoke_keys.empty() || !signing::parse_key_name(o.add_keys[0], &at, &av) ||
        at != keys::KeyType::kProduction)
      throw InputError(
          "--type revocation: a revocation image carries exactly one production key to add "
          "(--add-key production-V.pem) and no --revoke-key");
    if (input.empty()) input = Artifacts::locate().revocation_bin;  // the revocation build of the OS
  }
  if (input.empty() && !bundle)
    throw InputError("INPUT is required (only an image that carries --add-key/--revoke-key may leave it out)");
  if (o.input.empty() && o.out.empty()) throw InputError("--out is required when there is no INPUT");
  std::vector<uint8_t> payload;
  if (!input.empty()) {
    payload = read_file(input, kMaxImageBytes, kImageLimitWhy);
    if (payload.empty()) throw InputError(input + ": empty payload");
  }
  if (bundle) {
    std::vector<uint8_t> kb = signing::build_key_bundle(o.add_keys, o.revoke_keys);
    payload.insert(payload.end(), kb.begin(), kb.end());
  }
  std::vector<uint8_t> img = signing::build_signed_image(spec, payload, key, kt, version);
  std::string out = o.out;
  if (out.empty()) {
    std::string base = o.input;
    size_t dot = base.rfind('.');
    size_t slash = base.rfind('/');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) base = base.substr(0, dot);
    out = base + signing::signed_suffix(kt, version) + ".bin";
  }
  check_output_path(out);
  write_file_atomic(out, img.data(), img.size());
  printf("%s: %s image, %zu bytes, signed with %s key version %c\n", out.c_str(), image::type_name(uint32_t(spec.type)),
         img.size(), keys::key_type_name(uint8_t(kt)), version);
  if (bundle) printf("key bundle: %zu key(s) to add, %zu to revoke\n", o.add_keys.size(), o.revoke_keys.size());
  if (!o.kgv.empty()) {
    if (spec.type != image::Type::kOs) throw InputError("--kgv: known-good values are for OS images (--type os)");
    BoardConfig cfg = load_board_config(resolve_board_file(o.kgv_board_file));
    if (cfg.platform != spec.platform)
      throw InputError("--kgv: the image is for platform " + spec.platform + ", the board file " + cfg.file + " is " +
                       cfg.platform);
    std::string name = out.substr(out.rfind('/') == std::string::npos ? 0 : out.rfind('/') + 1);
    attest::Kgv k = attest::compute_kgv(cfg, Artifacts::locate(), std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev", img,
                                        spec.version, name);
    std::string j = attest::kgv_json(k);
    write_file_atomic(o.kgv, reinterpret_cast<const uint8_t*>(j.data()), j.size());
    printf("%s: known-good values (PCR0 %s..., PCR8 %s...)\n", o.kgv.c_str(), k.pcr0.substr(0, 16).c_str(),
           k.pcr8.substr(0, 16).c_str());
  }
  return 0;
}

void field(const char* name, const std::string& value, int indent = 0) {
  std::string label = std::string(indent, ' ') + name;
  printf("%-30s: %s\n", label.c_str(), value.c_str());
}

int run_inspect(const InspectOptions& o) {
  std::vector<uint8_t> file = read_file(o.file, kMaxImageBytes, kImageLimitWhy);
  // Something that is not an image at all is bad input (exit 2); an image
  // that fails verification, truncated or tampered with, is a verdict (exit 1).
  if (file.empty()) throw InputError(o.file + ": empty file, not a trustsim image");
  uint32_t magic = 0;
  memcpy(&magic, file.data(), file.size() < 4 ? file.size() : 4);
  if (file.size() < 4 || magic != image::kMagic)
    throw InputError(o.file + ": not a trustsim image (no 'TSIM' magic at offset 0; " + std::to_string(file.size()) +
                     " bytes)");
  keys::Store trusted{};
  for (const std::string& path : o.keys) {
    char version;
    keys::KeyType kt = key_type_of(path, "", &version);
    keys::KeyRecord rec = ossl::public_record(ossl::load_private_key(path), kt, version);
    if (keys::add_key(trusted, rec) != keys::EditStatus::kOk)
      throw InputError(path + ": duplicate or too many keys (at most " + std::to_string(keys::kMaxKeys) + ")");
  }
  verify::Result r = signing::inspect(file, trusted);
  field("File Name", o.file);
  if (r.have_envelope) {
    const keys::Envelope& e = r.envelope;
    field("Image type", keys::key_type_name(e.key_type));
    printf("    Signer Information\n");
    field("Common Name", e.common_name, 8);
    field("Organization Unit", e.org_unit, 8);
    field("Organization Name", e.org_name, 8);
    field("Certificate Serial Number", e.cert_serial, 4);
    field("Hash Algorithm", "SHA512", 4);
    field("Signature Algorithm", "2048-bit RSA", 4);
    field("Key Version", std::string(1, e.key_version), 4);
    field("Key Id (SHA-256)", ossl::hex(e.key_id, 8) + "...", 4);
  }
  if (r.have_header) {
    const image::Header& h = r.header;
    char buf[64];
    printf("Image Header\n");
    field("Format Version", std::to_string(h.format_version), 4);
    field("Image Content", image::type_name(h.image_type), 4);
    snprintf(buf, sizeof buf, "%s (0x%x)", h.platform, h.platform_id);
    field("Platform", buf, 4);
    field("Version", h.version, 4);
    snprintf(buf, sizeof buf, "0x%llx / 0x%llx", (unsigned long long)h.load_addr, (unsigned long long)h.entry);
    field("Load Address / Entry", buf, 4);
    field("Payload Length", std::to_string(h.payload_len) + " bytes", 4);
    if (r.have_envelope) field("Image Digest (SHA-512)", ossl::hex(r.envelope.image_digest, 16) + "...", 4);
    uint64_t avail = file.size() - image::kHeaderSize;
    uint64_t plen = h.payload_len < avail ? h.payload_len : avail;
    key_bundle::Bundle kb;
    key_bundle::Error be = key_bundle::find(file.data() + image::kHeaderSize, plen, kb);
    if (be != key_bundle::Error::kNone) {
      printf("Key Bundle\n");
      if (be != key_bundle::Error::kOk) field("Error", key_bundle::error_text(be), 4);
      for (uint32_t i = 0; i < kb.count; ++i) {
        const keys::KeyRecord& k = kb.entries[i].key;
        char buf[96];
        snprintf(buf, sizeof buf, "%s key version %c, key id %s...", keys::key_type_name(k.type), k.version,
                 ossl::hex(k.key_id, 8).c_str());
        field(kb.entries[i].action == key_bundle::Action::kAdd ? "Add" : "Revoke", buf, 4);
      }
    }
  }
  std::string verdict = verify::verdict_text(r.verdict);
  if (r.detail) verdict += std::string(": ") + r.detail;
  if (o.keys.empty() && r.verdict == verify::Verdict::kUnknownKey)
    verdict = "not checked against any key (pass --key KEY.pem to verify)";
  field("Verification", verdict);
  if (o.keys.empty() && r.verdict == verify::Verdict::kUnknownKey) return 0;
  return r.verdict == verify::Verdict::kOk ? 0 : 1;
}

int run_keygen(const KeygenOptions& o) {
  keys::KeyType kt;
  char version;
  if (!signing::parse_key_name(o.name, &kt, &version))
    throw InputError("key name '" + o.name + "': expected TYPE-VERSION, e.g. production-B, special-A, rollover-A");
  std::string out = o.out.empty() ? o.name + ".pem" : o.out;
  ossl::Pkey key = ossl::generate_rsa2048();
  ossl::write_private_key(key, out);
  keys::KeyRecord rec = ossl::public_record(key, kt, version);
  printf("%s: RSA-2048 %s key version %c, key id %s\n", out.c_str(), keys::key_type_name(uint8_t(kt)), version,
         ossl::hex(rec.key_id, 32).c_str());
  return 0;
}

}  // namespace

void add_image_commands(CLI::App& app, std::function<int()>& action) {
  // CLI11 turns "-5" into a huge unsigned number; refuse it instead.
  CLI::Validator non_negative(
      [](std::string& s) {
        return !s.empty() && s[0] == '-' ? "expected a non-negative number, got " + s : std::string();
      },
      "UINT", "non-negative");
  CLI::App* image = app.add_subcommand("image", "make keys, sign and inspect images");
  image->require_subcommand(1);

  auto kg = std::make_shared<KeygenOptions>();
  CLI::App* keygen = image->add_subcommand("keygen", "make an RSA-2048 signing key");
  keygen->add_option("name", kg->name, "TYPE-VERSION: production-B, special-A, rollover-A, ...")->required();
  keygen->add_option("--out", kg->out, "output PEM file (default NAME.pem; must not exist)");
  keygen->callback([&action, kg] { action = [kg] { return run_keygen(*kg); }; });

  auto so = std::make_shared<SignOptions>();
  CLI::App* sign = image->add_subcommand("sign", "wrap a binary in a signed image container");
  sign->add_option("input", so->input,
                   "payload (raw binary); may be left out when --add-key/--revoke-key give it (--type revocation: the "
                   "revocation build of the OS)");
  sign->add_option("--key", so->key, "private key PEM (its name gives type and version, e.g. production-A.pem)")
      ->required();
  sign->add_option("--key-name", so->key_name, "key type and version when the file name does not say, e.g. special-B");
  sign->add_option("--type", so->type, "image type: os, rommon or revocation");
  sign->add_option("--version", so->version, "version string shown by the boot chain")->required();
  sign->add_option("--load", so->load,
                   "load address (default 0x40200000 for rommon, 0x43000000 for revocation, 0x41000000 for os)")
      ->check(non_negative);
  sign->add_option("--entry", so->entry, "entry point (default: the load address)")->check(non_negative);
  sign->add_option("--platform", so->platform, "platform name");
  sign->add_option("--platform-id", so->platform_id, "platform id (32 bits)")
      ->check(non_negative)
      ->check(CLI::Range(uint64_t(0), uint64_t(0xffffffffu)));
  sign->add_option("--out", so->out, "output file (default: INPUT with .SPA/.SSA/.SRA + .bin)");
  sign->add_option("--add-key", so->add_keys, "key bundle: a key to add (PEM named TYPE-V.pem; repeatable)");
  sign->add_option("--revoke-key", so->revoke_keys, "key bundle: a key to revoke (PEM named TYPE-V.pem; repeatable)");
  sign->add_option("--kgv", so->kgv, "also write the known-good values (stage hashes, expected PCRs) as JSON here");
  sign->add_option("--kgv-board-file", so->kgv_board_file,
                   "board file whose Boot0/ROMmon the known-good values assume (default: default)");
  sign->callback([&action, so] { action = [so] { return run_sign(*so); }; });

  auto io = std::make_shared<InspectOptions>();
  CLI::App* ins = image->add_subcommand("inspect", "print every field of an image and verify it");
  ins->add_option("file", io->file, "image file")->required();
  ins->add_option("--key", io->keys, "trusted key PEM (repeatable); named TYPE-VERSION.pem");
  ins->callback([&action, io] { action = [io] { return run_inspect(*io); }; });
}

}  // namespace trustsim
