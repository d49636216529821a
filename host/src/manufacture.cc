#include "host/manufacture.h"

#include <unistd.h>

#include <cstring>

#include "devkit/input_error.h"
#include "devkit/state_file.h"
#include "host/image_flash.h"
#include "host/signing.h"
#include "host/tpm_provision.h"
#include "trustsim/boot_flash_layout.h"
#include "trustsim/keys.h"
#include "trustsim/nvram_map.h"
#include "trustsim/romvars.h"
#include "trustsim/text_blob.h"

namespace trustsim {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::vector<uint8_t> signed_rommon(const BoardConfig& cfg, const Artifacts& fw, const ossl::Pkey& key,
                                   keys::KeyType key_type) {
  std::vector<uint8_t> raw = read_file(fw.rommon_bin);
  signing::ImageSpec spec;
  spec.type = image::Type::kRommon;
  spec.version = rommon_version(fw);
  spec.platform = cfg.platform;
  spec.platform_id = cfg.platform_id;
  spec.load_addr = image::kRommonLoadAddr;
  return signing::build_signed_image(spec, raw, key, key_type, 'A');
}

std::string rommon_version(const Artifacts& fw) {
  std::vector<uint8_t> version_file = read_file(fw.rommon_version);
  return trim(std::string(version_file.begin(), version_file.end()));
}

void manufacture_board(const BoardConfig& cfg, const StatePaths& dir, const Artifacts& fw,
                       const ManufactureOptions& opt) {
  const std::string& kd = opt.keys_dir;
  ossl::Pkey rollover = ossl::load_private_key(kd + "/rollover-A.pem");
  ossl::Pkey production = ossl::load_private_key(kd + "/production-A.pem");
  ossl::Pkey special = ossl::load_private_key(kd + "/special-A.pem");

  // Boot ROM: Boot0, padded to the pflash size.
  std::vector<uint8_t> boot0 = read_file(fw.boot0_bin);
  if (boot0.size() > kBootRomSize) throw InputError(fw.boot0_bin + ": Boot0 larger than the boot ROM");
  write_file_atomic(dir.bootrom(), boot0.data(), boot0.size());
  if (truncate(dir.bootrom().c_str(), off_t(kBootRomSize)) != 0)
    throw InputError(dir.bootrom() + ": cannot size the boot ROM: " + strerror(errno));

  // Boot flash: the primary (upgradable) ROMmon signed with the production
  // key, the golden one (never rewritten) with the rollover key, which no
  // production key revocation removes (docs/keys-and-signing.md).
  std::vector<uint8_t> rommon = signed_rommon(cfg, fw, production, keys::KeyType::kProduction);
  std::vector<uint8_t> golden_rommon = signed_rommon(cfg, fw, rollover, keys::KeyType::kRollover);
  uint64_t golden = boot_flash::golden_rommon_offset(cfg.boot_flash.size);
  if (rommon.size() > boot_flash::kMaxRommonImage || rommon.size() > golden ||
      golden_rommon.size() > boot_flash::kMaxRommonImage || golden_rommon.size() > cfg.boot_flash.size - golden)
    throw InputError(fw.rommon_bin + ": ROMmon image does not fit its boot flash slot");
  std::vector<uint8_t> flash(cfg.boot_flash.size, 0xFF);
  std::copy(rommon.begin(), rommon.end(), flash.begin() + boot_flash::kPrimaryRommonOffset);
  std::copy(golden_rommon.begin(), golden_rommon.end(), flash.begin() + long(golden));
  write_file_atomic(dir.boot_flash(), flash.data(), flash.size());

  // NVRAM: erased, then both key storage copies.
  std::vector<uint8_t> nvram(cfg.nvram.size, 0xFF);
  keys::Store ks{};
  ks.generation = 1;
  keys::add_key(ks, ossl::public_record(rollover, keys::KeyType::kRollover, 'A'));
  keys::add_key(ks, ossl::public_record(production, keys::KeyType::kProduction, 'A'));
  keys::add_key(ks, ossl::public_record(special, keys::KeyType::kSpecial, 'A'));
  if (cfg.nvram.size < keys::kBackupOffset + keys::kStoreRegionLen)
    throw InputError(cfg.file + ": NVRAM too small for key storage (needs " +
                     std::to_string(keys::kBackupOffset + keys::kStoreRegionLen) + " bytes)");
  keys::encode_copy(ks, nvram.data() + keys::kPrimaryOffset);
  keys::encode_copy(ks, nvram.data() + keys::kBackupOffset);
  // bootflash: formatted, with the OS image, named as IOS names signed images.
  std::string os_name;
  if (cfg.nand.present) {
    NandFlash::create_image(cfg.nand, dir.bootflash());
    HostVolume bf = open_bootflash(cfg.nand, dir.bootflash(), true);
    std::vector<uint8_t> os_version_file = read_file(fw.os_version);
    std::string os_version = trim(std::string(os_version_file.begin(), os_version_file.end()));
    signing::ImageSpec os;
    os.type = image::Type::kOs;
    os.version = os_version;
    os.platform = cfg.platform;
    os.platform_id = cfg.platform_id;
    os.load_addr = image::kOsLoadAddr;
    std::vector<uint8_t> os_img =
        signing::build_signed_image(os, read_file(fw.os_bin), production, keys::KeyType::kProduction, 'A');
    os_name = os_image_name(cfg, os_version, keys::KeyType::kProduction, 'A');
    put_file(bf, os_name, os_img, uint32_t(cfg.rtc_base));
  }

  // ROMmon variables: boot the OS image from bootflash:.
  romvars::Store vars;
  romvars::init_default(vars);
  if (!os_name.empty()) romvars::set(vars, "BOOT", ("bootflash:" + os_name + ",1;").c_str());
  uint8_t slot[romvars::kSlotSize];
  romvars::SlotImage si = romvars::serialize_next(vars, slot);
  std::copy(slot, slot + si.write_len, nvram.begin() + si.nvram_offset);
  if (!os_name.empty()) {
    // A startup-config that names the factory image, so the OS's boot list
    // (and what write memory stores in BOOT) starts from it.
    std::string cfg_text = "!\nboot system bootflash:" + os_name + "\n!\nend\n";
    if (nvram.size() < nvram_map::kStartupConfig + nvram_map::kStartupConfigLen)
      throw InputError(cfg.file + ": NVRAM too small for the startup-config");
    text_blob::encode(cfg_text.data(), uint32_t(cfg_text.size()), 1, nvram.data() + nvram_map::kStartupConfig,
                      nvram_map::kStartupConfigLen);
  }
  write_file_atomic(dir.nvram(), nvram.data(), nvram.size());

  // TPM: endorsement key, SUDI key and certificate chain (docs/tpm.md).
  if (cfg.tpm.present) provision_tpm(cfg, dir, kd, opt.serial.empty() ? default_serial(cfg) : opt.serial);
}

std::string os_image_name(const BoardConfig& cfg, const std::string& version, keys::KeyType type, char key_version) {
  std::string platform = cfg.platform;
  for (char& c : platform) c = char(tolower(static_cast<unsigned char>(c)));
  return platform + "-universalk9." + version + signing::signed_suffix(type, key_version) + ".bin";
}

}  // namespace trustsim
