#include "scenario/runner.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "devices/openssl_util.h"
#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "devkit/timed_operation.h"
#include "flash-sim/boot_flash.h"
#include "host/attest.h"
#include "host/image_flash.h"
#include "host/signing.h"
#include "host/tpm_provision.h"
#include "hw-models/run_files.h"
#include "scenario/crash_state.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/handoff.h"
#include "trustsim/image.h"
#include "trustsim/keys.h"
#include "trustsim/romvars.h"
#include "trustsim/tpm2.h"

namespace trustsim {

namespace {

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string sha256_hex(const std::vector<uint8_t>& d) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(d.data(), d.size(), md, &n, EVP_sha256(), nullptr);
  return ossl::hex(md, n);
}

std::string key_name(uint8_t type, char version) {
  std::string t = keys::key_type_name(type);
  for (char& c : t) c = char(tolower(c));
  return t + "-" + std::string(1, version);
}

// A power-loss fault of a scenario fires now: its trace line, then the cut.
void fire_power_fault(Board& board, const char* why) {
  record_operation(board.trace(), "power", now_ns(), "fault", 0, 0, 0, "fired", why);
  board.power_off();
}

}  // namespace

ScenarioRunner::ScenarioRunner(sc_core::sc_module_name name, const Scenario& sc, Board& board, ConsoleLog& log,
                               HostContext host, CampaignRole role)
    : sc_module(name),
      sc_(sc),
      board_(board),
      log_(log),
      host_(std::move(host)),
      role_(std::move(role)),
      cut_points_(sc_.sweep, log_) {
  SC_THREAD(run);
  set_stack_size(1 << 20);
  SC_METHOD(console_cut);
  sensitive << log_.output_event();
  dont_initialize();
  SC_METHOD(timed_cut);
  sensitive << timed_cut_event_;
  dont_initialize();
  cut_points_.on_point = [this](Device& d, uint64_t i, const CutPoint& cp) { window_point(d, i, cp); };
  cut_points_.on_recovery_point = [this](Device& d, uint64_t i, const CutPoint& cp) { recovery_point(d, i, cp); };
  board_.set_operation_observer(&cut_points_);
  // Cuts nobody armed (a power-off step in the middle of a program) tear
  // with seeds from the run seed too, on every device.
  board_.set_run_seed(sc_.seed);
  forks_.on_result = role_.on_result;
  forks_.release_on_claim = !role_.dedup_dir.empty();
}

void ScenarioRunner::console_cut() {
  if (pending_cut_ && pending_cut_->pattern.search(log_.since(pending_cut_->from))) {
    PowerLoss c = pending_cut_->cut;
    c.at_operation += pending_cut_->device->operation_count();
    pending_cut_->device->arm_power_cut(c);
    pending_cut_.reset();
  }
  if (!console_cut_armed_) return;
  if (!console_cut_pattern_.search(log_.since(console_cut_from_))) return;
  console_cut_armed_ = false;
  fire_power_fault(board_, "power-loss on console match");
}

void ScenarioRunner::timed_cut() { fire_power_fault(board_, "power-loss at a virtual time"); }

bool ScenarioRunner::execute(const Step& step, size_t index) {
  using sc_core::sc_time_stamp;
  if (step.as<PowerOnStep>()) {
    log_.consume(log_.unmatched().size());
    board_.power_on();
    return true;
  }
  if (step.as<PowerOffStep>()) {
    board_.power_off();
    return true;
  }
  if (const auto* s = step.as<PowerCycleStep>()) {
    board_.power_off();
    wait(from_ps(s->off_ps ? *s->off_ps : board_.config().power_off_time_ps));
    log_.consume(log_.unmatched().size());  // expectations after a power-on see only new output
    board_.power_on();
    return true;
  }
  if (const auto* s = step.as<SendStep>()) {
    board_.console().type(s->enter ? s->text + "\r" : s->text);
    return true;
  }
  if (const auto* s = step.as<WaitStep>()) {
    if (cut_live_)
      wait(from_ps(s->duration_ps), board_.power().off_event());
    else
      wait(from_ps(s->duration_ps));
    return true;
  }
  if (const auto* s = step.as<WaitPowerOffStep>()) {
    sc_core::sc_time deadline = sc_time_stamp() + from_ps(s->timeout_ps);
    while (board_.power().is_on() && sc_time_stamp() < deadline)
      wait(deadline - sc_time_stamp(), board_.power().off_event());
    if (board_.power().is_on()) {
      failure_ = "the board was still powered on after " + step.describe().substr(step.describe().rfind("within ") + 7);
      return false;
    }
    return true;
  }
  if (const auto* s = step.as<FaultStep>()) return arm_fault(*s, index);
  if (const auto* s = step.as<CheckStep>()) return check(*s);
  if (const auto* s = step.as<ExpectStep>()) {
    sc_core::sc_time deadline = sc_time_stamp() + from_ps(s->timeout_ps);
    for (;;) {
      // Nothing heap-owning lives here across wait(): a run can end while
      // this thread is parked, and its stack is never unwound.
      const std::string& buf = log_.unmatched();
      size_t pos = 0, len = 0;
      if (s->pattern.search(buf, &pos, &len)) {
        if (s->negate) {
          failure_ = "console output matching /" + printable(s->text) + "/ appeared, which must not happen: \"" +
                     printable(buf.substr(pos, len)) + "\"";
          return false;
        }
        log_.consume(pos + len);
        return true;
      }
      if (interrupted()) return true;  // the sweep's cut: the caller moves on to the recovery
      if (sc_time_stamp() >= deadline) {
        if (s->negate) return true;
        failure_ = "expected console output matching /" + printable(s->text) + "/ was not seen within " +
                   step.describe().substr(step.describe().rfind("within ") + 7) + " of virtual time";
        return false;
      }
      if (cut_live_)
        wait(deadline - sc_time_stamp(), log_.output_event() | board_.power().off_event());
      else
        wait(deadline - sc_time_stamp(), log_.output_event());
    }
  }
  return host_action(step, index);
}

bool ScenarioRunner::host_action(const Step& step, size_t index) {
  if (board_.power().is_on()) {
    failure_ = "host-side changes need the board powered off (add a power-off step before it)";
    return false;
  }
  try {
    if (const auto* s = step.as<RomNorCorruptStep>()) {
      std::vector<uint8_t> f = read_file(board_.state().boot_flash());
      if (s->offset >= f.size()) throw InputError("offset " + std::to_string(s->offset) + " is beyond the ROM NOR");
      f[s->offset] ^= s->xor_mask;
      write_file_atomic(board_.state().boot_flash(), f.data(), f.size());
      return true;
    }
    if (const auto* s = step.as<NvramCorruptStep>()) {
      if (s->offset >= board_.nvram().contents().size())
        throw InputError("offset " + std::to_string(s->offset) + " is beyond NVRAM");
      uint8_t b = uint8_t(board_.nvram().contents()[s->offset] ^ s->xor_mask);
      board_.nvram().backdoor_write(uint32_t(s->offset), &b, 1);
      return true;
    }
    if (!board_.nand()) throw InputError("this board has no bootflash: device");
    HostVolume v = open_bootflash(board_.config().nand, board_.nand()->image());
    uint32_t now = uint32_t(board_.config().rtc_base + now_ns() / 1000000000ull);
    if (const auto* s = step.as<ImageSignStep>()) {
      put_file(*v.volume, s->file, sign_image(*s), now);
      return true;
    }
    if (const auto* s = step.as<FlashPutStep>()) {
      put_file(*v.volume, s->file, read_file(s->from), now);
      return true;
    }
    if (const auto* s = step.as<FlashCorruptStep>()) {
      std::vector<uint8_t> data = get_file(*v.volume, s->file);
      if (s->seeded_offset) {
        if (data.empty()) throw InputError("bootflash:" + s->file + " is empty");
        uint64_t seed = s->seed ? *s->seed : derive_seed(sc_.seed, index);
        uint64_t off = derive_seed(seed, 1) % data.size();
        data[off] ^= s->xor_mask;
        printf("trustsim: flash-corrupt bootflash:%s at seeded offset %llu (seed %llu)\n", s->file.c_str(),
               (unsigned long long)off, (unsigned long long)seed);
      } else {
        uint64_t off = s->from_end ? data.size() - s->offset : s->offset;
        if (s->from_end ? (s->offset == 0 || s->offset > data.size()) : s->offset >= data.size())
          throw InputError("offset " + std::to_string(s->offset) + " is beyond bootflash:" + s->file + " (" +
                           std::to_string(data.size()) + " bytes)");
        data[off] ^= s->xor_mask;
      }
      put_file(*v.volume, s->file, data, now);
      return true;
    }
    if (const auto* s = step.as<FlashTruncateStep>()) {
      std::vector<uint8_t> data = get_file(*v.volume, s->file);
      if (s->length >= data.size())
        throw InputError("bootflash:" + s->file + " is only " + std::to_string(data.size()) + " bytes");
      data.resize(s->length);
      put_file(*v.volume, s->file, data, now);
      return true;
    }
    if (const auto* s = step.as<FlashDeleteStep>()) {
      bfs::Status st = bfs::remove(*v.volume, s->file.c_str());
      if (st != bfs::Status::kOk) throw InputError("bootflash:" + s->file + ": " + bfs::status_text(st));
      return true;
    }
    return false;
  } catch (const std::exception& e) {
    failure_ = e.what();
    return false;
  }
}

// The signed image an image-sign step stores (docs/scenarios.md).
std::vector<uint8_t> ScenarioRunner::sign_image(const ImageSignStep& s) {
  std::string key_path = s.key.find('/') != std::string::npos ? s.key : host_.keys_dir + "/" + s.key + ".pem";
  keys::KeyType kt;
  char kv;
  if (!signing::parse_key_name(key_path, &kt, &kv))
    throw InputError("key '" + s.key + "': name it [LABEL-]TYPE-VERSION, e.g. production-B or untrusted-production-A");
  ossl::Pkey key = ossl::load_private_key(key_path);
  signing::ImageSpec spec;
  spec.type = s.image_type == "rommon"       ? image::Type::kRommon
              : s.image_type == "revocation" ? image::Type::kRevocation
                                             : image::Type::kOs;
  std::vector<uint8_t> ver = read_file(host_.artifacts.os_version);
  spec.version = s.version.empty() ? std::string(ver.begin(), ver.end()) : s.version;
  while (!spec.version.empty() && spec.version.back() == '\n') spec.version.pop_back();
  spec.platform = board_.config().platform;
  spec.platform_id = board_.config().platform_id;
  spec.load_addr = spec.type == image::Type::kRommon ? 0x40200000 : 0x41000000;
  bool bundle = !s.add_keys.empty() || !s.revoke_keys.empty();
  // A revocation image is the revocation build of the OS plus its bundle.
  std::vector<uint8_t> payload = read_file(!s.payload.empty()                      ? s.payload
                                           : spec.type == image::Type::kRommon     ? host_.artifacts.rommon_bin
                                           : spec.type == image::Type::kRevocation ? host_.artifacts.revocation_bin
                                                                                   : host_.artifacts.os_bin);
  if (bundle) {
    auto pem = [this](const std::string& n) {
      return n.find('/') != std::string::npos ? n : host_.keys_dir + "/" + n + ".pem";
    };
    std::vector<std::string> add, revoke;
    for (const std::string& n : s.add_keys) add.push_back(pem(n));
    for (const std::string& n : s.revoke_keys) revoke.push_back(pem(n));
    std::vector<uint8_t> kb = signing::build_key_bundle(add, revoke);
    payload.insert(payload.end(), kb.begin(), kb.end());
  }
  return signing::build_signed_image(spec, payload, key, kt, kv);
}

bool ScenarioRunner::arm_fault(const FaultStep& s, size_t index) {
  uint64_t seed = s.seed ? *s.seed : derive_seed(sc_.seed, index);
  try {
    if (const auto* p = std::get_if<PowerLossAtOperation>(&s.fault)) {
      Device* d = board_.device_by_name(p->device);
      if (!d) throw std::invalid_argument("this board has no " + p->device + " device");
      PowerLoss cut = p->cut;
      cut.seed = seed;
      if (!p->from_console_text.empty()) {  // count from the match (console_cut() arms it)
        pending_cut_ = PendingCut{d, cut, p->from_console, log_.total()};
        return true;
      }
      cut.at_operation += d->operation_count();
      d->arm_power_cut(cut);
      return true;
    }
    if (const auto* p = std::get_if<PowerLossAfter>(&s.fault)) {
      timed_cut_event_.notify(from_ps(p->after_ps));
      return true;
    }
    if (const auto* p = std::get_if<PowerLossOnConsole>(&s.fault)) {
      console_cut_pattern_ = p->pattern;
      console_cut_from_ = log_.total();
      console_cut_armed_ = true;
      return true;
    }
    if (const auto* f = std::get_if<tpm::Fault>(&s.fault)) {
      TpmDevice* tpm = board_.tpm();
      if (!tpm) throw std::invalid_argument("this board has no TPM (devices.tpm in the board file)");
      tpm->arm(*f);
      return true;
    }
    if (const auto* f = std::get_if<net::Fault>(&s.fault)) {
      NetXfer* nx = board_.netxfer();
      if (!nx) throw std::invalid_argument("this board has no transfer engine (devices.netxfer in the board file)");
      net::Fault armed = *f;
      if (auto* c = std::get_if<net::CorruptSeededByte>(&armed)) c->seed = seed;
      nx->arm(armed);
      return true;
    }
    nand::Fault f = std::get<nand::Fault>(s.fault);
    if (auto* b = std::get_if<nand::RandomBitFlips>(&f)) b->seed = seed;
    NandFlash* nand = board_.nand();
    if (!nand) throw std::invalid_argument("this board has no bootflash: NAND for bit faults");
    nand->arm(f);
    return true;
  } catch (const std::exception& e) {
    failure_ = e.what();
    return false;
  }
}

bool ScenarioRunner::check(const CheckStep& step) {
  try {
    if (const auto* c = std::get_if<FileCheck>(&step.check)) {
      const FileCheck& s = *c;
      if (!board_.nand()) throw InputError("this board has no bootflash: device");
      HostVolume v = open_bootflash(board_.config().nand, board_.nand()->image());
      bfs::FileInfo st;
      bool exists = bfs::stat(*v.volume, s.file.c_str(), &st) == bfs::Status::kOk;
      if (exists != s.exists) {
        failure_ = "bootflash:" + s.file + (exists ? " exists, which it must not" : " does not exist");
        return false;
      }
      if (!exists) return true;
      std::vector<uint8_t> data = get_file(*v.volume, s.file);
      if (s.size && data.size() != *s.size) {
        failure_ = "bootflash:" + s.file + " is " + std::to_string(data.size()) + " bytes, expected " +
                   std::to_string(*s.size);
        return false;
      }
      if (!s.sha256.empty() && sha256_hex(data) != s.sha256) {
        failure_ = "bootflash:" + s.file + " has SHA-256 " + sha256_hex(data) + ", expected " + s.sha256;
        return false;
      }
      return true;
    }
    if (const auto* c = std::get_if<RomvarCheck>(&step.check)) {
      const RomvarCheck& s = *c;
      romvars::Store st;
      romvars::load(st, board_.nvram().contents().data(), romvars::kRegionSize);
      const char* v = romvars::get(st, s.name.c_str());
      if (!s.exists) {
        if (v) failure_ = "ROMmon variable " + s.name + " is set (to \"" + v + "\"), expected it unset";
        return !v;
      }
      if (!v) {
        failure_ = "ROMmon variable " + s.name + " is not set";
        return false;
      }
      if (!s.equals.empty() && s.equals != v) {
        failure_ = "ROMmon variable " + s.name + " is \"" + v + "\", expected \"" + s.equals + "\"";
        return false;
      }
      return true;
    }
    if (const auto* c = std::get_if<KeysCheck>(&step.check)) {
      const KeysCheck& s = *c;
      const uint8_t* nv = board_.nvram().contents().data();
      keys::Store st;
      keys::LoadResult lr = keys::load(nv + keys::kPrimaryOffset, nv + keys::kBackupOffset, st);
      std::string copies =
          std::string("primary ") + keys::copy_state_text(lr.primary) + ", backup " + keys::copy_state_text(lr.backup);
      if (!lr.any_valid) {
        failure_ = "no valid key storage copy (" + copies + "): the board cannot verify anything";
        return false;
      }
      if (s.both_copies) {
        keys::Store a, b;
        bool pa = keys::decode_copy(nv + keys::kPrimaryOffset, keys::kStoreRegionLen, a) == keys::CopyState::kValid;
        bool pb = keys::decode_copy(nv + keys::kBackupOffset, keys::kStoreRegionLen, b) == keys::CopyState::kValid;
        if (!pa || !pb || a.generation != b.generation) {
          failure_ = "key storage copies differ or are not both valid (" + copies + ")";
          return false;
        }
      }
      auto find = [&](const std::string& name) -> const keys::KeyRecord* {
        for (uint32_t i = 0; i < st.count; ++i)
          if (key_name(st.keys[i].type, st.keys[i].version) == name) return &st.keys[i];
        return nullptr;
      };
      std::string held;
      for (uint32_t i = 0; i < st.count; ++i)
        held += (held.empty() ? "" : ", ") + key_name(st.keys[i].type, st.keys[i].version) +
                ((st.keys[i].flags & keys::kFlagRevoked) ? " (revoked)" : "");
      for (const std::string& k : s.active) {
        const keys::KeyRecord* r = find(k);
        if (!r || (r->flags & keys::kFlagRevoked)) {
          failure_ = "key " + k + " is not active in key storage (it holds: " + held + ")";
          return false;
        }
      }
      for (const std::string& k : s.revoked) {
        const keys::KeyRecord* r = find(k);
        if (r && !(r->flags & keys::kFlagRevoked)) {
          failure_ = "key " + k + " is still active in key storage (it holds: " + held + ")";
          return false;
        }
      }
      for (const std::string& k : s.absent) {
        if (find(k)) {
          failure_ = "key " + k + " is in key storage (it holds: " + held + ")";
          return false;
        }
      }
      return true;
    }
    if (const auto* c = std::get_if<PcrCheck>(&step.check)) {
      const PcrCheck& s = *c;
      if (!board_.tpm()) throw InputError("this board has no TPM (devices.tpm in the board file)");
      TpmEngine& e = TpmEngine::instance();
      if (!board_.power().is_on() || !e.powered())
        throw InputError("the board is off: PCRs are volatile, check them while it runs");
      uint8_t cmd[64];
      size_t n = tpm2::cmd_pcr_read(cmd, sizeof cmd, 1u << s.index);
      std::vector<uint8_t> rsp = e.execute(cmd, n, 0);
      tpm2::Response r;
      tpm2::PcrValues pv;
      if (!tpm2::parse_response(rsp.data(), rsp.size(), 0, &r) || r.rc != 0 || !tpm2::parse_pcr_read(r, &pv) ||
          pv.count < 1) {
        failure_ = "the TPM did not answer PCR_Read for PCR" + std::to_string(s.index) + " (it may not be started yet)";
        return false;
      }
      std::string v = ossl::hex(pv.digest[0], 32);
      for (char& ch : v) ch = char(toupper(ch));  // PCR values are written in capitals
      if (!s.equals.empty() && v != s.equals) {
        failure_ = "PCR" + std::to_string(s.index) + " is " + v + ", expected " + s.equals;
        return false;
      }
      if (s.extended && v == std::string(64, '0')) {
        failure_ = "PCR" + std::to_string(s.index) + " was never extended (all zero)";
        return false;
      }
      return true;
    }
    if (const auto* c = std::get_if<AttestCheck>(&step.check)) return check_attest(*c);
    if (const auto* c = std::get_if<BootedCheck>(&step.check)) {
      const BootedCheck& s = *c;
      const uint8_t* ram = board_.bridge().guest_ram();
      handoff::Block b;
      if (!ram || !board_.power().is_on()) throw InputError("the board is off: nothing has booted");
      memcpy(&b, ram + (handoff::kAddress - board_.config().ram_base), sizeof b);
      if (b.magic != handoff::kMagic || b.os.version[0] == 0) {
        failure_ = "no OS image has booted (no hand-off record from ROMmon)";
        return false;
      }
      std::string path(b.os_path, strnlen(b.os_path, sizeof b.os_path));
      std::string key = b.os.key_type ? key_name(b.os.key_type, b.os.key_version) : "none";
      if (!s.image.empty() && path != s.image) {
        failure_ = "the booted OS image is " + path + ", expected " + s.image;
        return false;
      }
      if (!s.key.empty() && key != s.key) {
        failure_ = "the booted OS image (" + path + ") was verified with key " + key + ", expected " + s.key;
        return false;
      }
      return true;
    }
  } catch (const std::exception& e) {
    failure_ = e.what();
    return false;
  }
  return false;
}

// The last `show platform integrity sign nonce N` output on the console (and
// the SUDI certificates, if printed) against known-good values, with the
// board's own SUDI trust anchor: what `trustsim attest verify` does with a
// capture (docs/attestation.md).
bool ScenarioRunner::check_attest(const AttestCheck& s) {
  attest::Kgv kgv;
  if (!s.kgv.empty()) {
    kgv = attest::load_kgv(s.kgv);
  } else {
    if (!board_.nand()) throw InputError("this board has no bootflash: device");
    HostVolume v = open_bootflash(board_.config().nand, board_.nand()->image());
    bfs::FileInfo st;
    if (bfs::stat(*v.volume, s.kgv_image.c_str(), &st) != bfs::Status::kOk)
      throw InputError("bootflash:" + s.kgv_image + " does not exist: no known-good values to compare with");
    std::vector<uint8_t> img = get_file(*v.volume, s.kgv_image);
    image::Header h;
    image::Error e = image::parse_header(img.data(), img.size(), h);
    if (e != image::Error::kOk)
      throw InputError("bootflash:" + s.kgv_image + " is not a signed image (" + image::error_text(e) + ")");
    kgv = attest::compute_kgv(board_.config(), host_.artifacts, host_.keys_dir, img, h.version, s.kgv_image);
  }
  attest::Options opt;
  opt.nonce = s.nonce;
  std::string root = TpmExports::sudi_root(host_.state), pub = TpmExports::sudi_pub(host_.state);
  auto text_of = [](const std::string& path) {
    std::vector<uint8_t> b = read_file(path);
    return std::string(b.begin(), b.end());
  };
  if (access(root.c_str(), R_OK) == 0) opt.root_ca = text_of(root);
  if (access(pub.c_str(), R_OK) == 0) opt.sudi_pub = text_of(pub);
  std::vector<attest::Check> checks;
  try {
    checks = attest::verify(log_.since(0), kgv, opt);
  } catch (const InputError& e) {
    throw InputError(std::string("console output: ") + e.what());
  }
  std::string failed, details;
  for (const attest::Check& c : checks)
    if (!c.ok) {
      failed += (failed.empty() ? "" : ", ") + c.name;
      details += (details.empty() ? "" : "; ") + c.name + ": " + c.detail;
    }
  if (s.verifies) {
    if (!failed.empty()) failure_ = "attestation does not verify: " + details;
    return failed.empty();
  }
  if (failed.empty()) {
    failure_ = "attestation verifies, but it must not (every check passed against the known-good values)";
    return false;
  }
  if (!s.failing.empty()) {
    std::string want;
    for (const std::string& f : s.failing) want += (want.empty() ? "" : ", ") + f;
    std::vector<std::string> a(s.failing), b;
    for (const attest::Check& c : checks)
      if (!c.ok) b.push_back(c.name);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    a.erase(std::unique(a.begin(), a.end()), a.end());
    if (a != b) {
      failure_ = "attestation fails on " + failed + ", expected it to fail on " + want + " (" + details + ")";
      return false;
    }
  }
  return true;
}

// ---- sweeps (docs/campaigns.md)

void ScenarioRunner::window_point(Device& dev, uint64_t index, const CutPoint& cp) {
  const Sweep& w = sc_.sweep;
  if (role_.kind == CampaignRole::Kind::kPoint) {
    if (cp.point != role_.point) return;
    record_cut(record_, cp, role_.mode, false);
    arm_cut(dev, index, false);
  } else if (role_.kind == CampaignRole::Kind::kWalk) {
    for (size_t m = 0; m < w.modes.size() && depth_ == 0; ++m)
      if (shard_selects(cp.point, m, w.modes.size(), role_.shard_index, role_.shard_count))
        fork_run(dev, index, cp, w.modes[m]);
  }
}

// The second cut: an operation of the recovery that follows the first.
void ScenarioRunner::recovery_point(Device& dev, uint64_t index, const CutPoint& cp) {
  if (role_.kind == CampaignRole::Kind::kPoint) {
    if (cp.point != role_.point2) return;
    record_cut(record_, cp, role_.mode2, true);
    arm_cut(dev, index, true);
  } else if (role_.kind == CampaignRole::Kind::kWalk && depth_ == 1) {
    for (PowerLoss::Mode m : sc_.sweep.modes2)
      if (depth_ == 1) fork_run(dev, index, cp, m);
  }
}

void ScenarioRunner::record_cut(RunRecord& r, const CutPoint& cp, PowerLoss::Mode mode, bool second) const {
  if (!second) {
    r.point = cp.point;
    r.device = cp.device;
    r.device_op = cp.device_op;
    r.mode = mode;
    r.seed = derive_seed(sc_.seed, cp.point);
  } else {
    r.point2 = cp.point;
    r.device2 = cp.device;
    r.device_op2 = cp.device_op;
    r.mode2 = mode;
  }
}

void ScenarioRunner::arm_cut(Device& dev, uint64_t index, bool second) {
  if (!second) {
    dev.arm_power_cut(PowerLoss{record_.mode, record_.seed, index});
    cut_armed_ = true;
    cut_points_.first_cut_armed();
  } else {
    dev.arm_power_cut(PowerLoss{record_.mode2, derive_seed(record_.seed, record_.point2), index});
    cut2_armed_ = true;
    cut_points_.second_cut_armed();
  }
  board_.bridge().hold_guest_until_power_off();
  cut_live_ = true;
}

// Forks a run that cuts at this operation: from the window (depth 0, the
// walk) or from a one-cut run's recovery (depth 1, its second cuts).
void ScenarioRunner::fork_run(Device& dev, uint64_t index, const CutPoint& cp, PowerLoss::Mode mode) {
  // A one-cut run forks its second cuts one at a time: the campaign's jobs
  // are already busy with one-cut runs.
  size_t limit = depth_ == 0 ? size_t(std::max(1, role_.jobs)) : 1;
  std::string dir = depth_ == 0 ? role_.work_dir + "/run-" + std::to_string(cp.point) + "-" + power_loss_mode_name(mode)
                                : child_dir_ + "/second-" + std::to_string(cp.point) + "-" + power_loss_mode_name(mode);
  RunRecord rec = record_;
  record_cut(rec, cp, mode, depth_ > 0);
  if (!forks_.fork(board_, dir, rec, limit, &failure_)) return;
  // The child: this run now cuts here.
  ++depth_;
  child_dir_ = dir;
  wall0_ = wall_now();
  record_ = rec;
  arm_cut(dev, index, depth_ == 2);
}

void ScenarioRunner::finish_child() {
  record_.passed = failure_.empty();
  record_.failure = failure_;
  record_.virtual_ns = now_ns();
  record_.end_ps = sc_core::sc_time_stamp().value();
  record_.wall_s = wall_now() - wall0_;
  forks_.finish_child(board_, child_dir_, record_);
}

bool ScenarioRunner::run_steps(const std::vector<Step>& steps, const char* phase) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    bool ok = execute(s, i);
    // Ctrl-C or SIGTERM: whatever the step saw (a download cut short by
    // it, say), the run is not a pass.
    if (int sig = pending_interrupt()) ok = false, failure_ = std::string("interrupted by ") + strsignal(sig);
    if (!ok) {
      failure_ = std::string(phase) + "step " + std::to_string(i + 1) + " (" + s.where + ", " + s.describe() +
                 "): " + failure_;
      return false;
    }
    ++steps_done_;
    if (interrupted()) return true;
  }
  return true;
}

// The sweep's steps, then (in a run that cuts) its recovery.
bool ScenarioRunner::run_sweep() {
  const Sweep& w = sc_.sweep;
  cut_points_.begin_window();
  bool ok = run_steps(w.steps, "sweep ");
  cut_points_.end_window();
  const std::vector<CutPoint>& points = cut_points_.points();
  if (depth_ > 0 || role_.kind == CampaignRole::Kind::kPoint) {
    if (ok && !interrupted()) {
      ok = false;
      failure_ = points.size() < role_.point
                     ? "cut point " + std::to_string(role_.point) + " was never reached: the window had " +
                           std::to_string(points.size()) + " operations of " + w.devices[0] +
                           (w.devices.size() > 1 ? " and the others" : "")
                     : "power was still on at the end of the sweep's steps: the cut at point " +
                           std::to_string(role_.point) + " did not fire";
    }
    if (ok) ok = run_recovery();
  } else if (ok && points.empty()) {
    ok = false;
    failure_ = "the sweep window (" + w.where + ") saw no state-changing operation of the swept devices";
  }
  if (role_.kind == CampaignRole::Kind::kWalk && depth_ < 2) forks_.reap_all();
  return ok;
}

// Everything the recovery that follows a cut can observe of the board
// (docs/campaigns.md, "Each distinct crash state once"). Not in the key: the
// board's absolute time (see the docs for why and what that means).
std::string ScenarioRunner::crash_state_key(const char* phase) {
  const std::vector<Step>& recovery = std::string(phase) == "recovery" ? sc_.sweep.recovery : sc_.sweep.recovery2;
  auto any_of = [](const std::vector<Step>& steps, auto pred) { return std::any_of(steps.begin(), steps.end(), pred); };
  CrashStateHasher h;
  h.add("phase", phase, strlen(phase));
  h.add("run-seed", sc_.seed);
  h.add("boot-count", uint64_t(board_.power().boot_count()));
  h.add("nvram", board_.nvram().contents());
  // The NOR's array is in memory (a forked run writes its file only with its first change).
  if (auto* nor = dynamic_cast<BootFlash*>(board_.device_by_name("rom_nor"))) h.add("rom_nor", nor->contents());
  if (NandFlash* nand = board_.nand()) {
    h.add_file_nonzero("bootflash_nand", nand->image().path(), nand->image().raw_page_bytes());
    std::string side = NandImage::meta_path(nand->image().path());
    h.add("bootflash_nand-side", read_file(side));
  }
  if (board_.tpm()) {
    std::string nv = board_.state().tpm_nv();
    h.add("tpm-nv", access(nv.c_str(), R_OK) == 0 ? read_file(nv) : std::vector<uint8_t>());
  }
  // Operation counters name later cut points and seed cuts nobody armed: a
  // recovery that may cut power itself sees them.
  auto cuts = [](const Step& s) { return s.as<PowerOffStep>() || s.as<PowerCycleStep>() || s.as<FaultStep>(); };
  if (any_of(recovery, cuts))
    for (const std::string& name : board_.cut_device_names())
      if (Device* d = board_.device_by_name(name)) h.add("operations:" + name, d->operation_count());
  // A recovery that does not start with a power-on can match console output
  // printed before the cut.
  if (recovery.empty() || !(recovery[0].as<PowerOnStep>() || recovery[0].as<PowerCycleStep>()))
    h.add("console", log_.unmatched().data(), log_.unmatched().size());
  // Faults armed before the cut (fault steps before or in the window) may
  // still be pending: every run is its own state then.
  auto fault = [](const Step& s) { return s.as<FaultStep>() != nullptr; };
  if (any_of(sc_.steps, fault) || any_of(sc_.sweep.steps, fault) ||
      (std::string(phase) != "recovery" && any_of(sc_.sweep.recovery, fault))) {
    std::string me = record_.describe();
    h.add("run", me.data(), me.size());
  }
  return h.key();
}

// With dedup: claims this run's crash state in the cache, or names the run
// that claimed it first. True if this run must execute its recovery.
bool ScenarioRunner::claim_crash_state(const char* phase) {
  bool owner = true;
  record_.recovery_start_ps = sc_core::sc_time_stamp().value();
  try {
    std::string key = crash_state_key(phase);
    std::string mine = child_dir_ + "/claim", entry = role_.dedup_dir + "/" + key;
    std::string me = record_.describe();
    write_file_atomic(mine, reinterpret_cast<const uint8_t*>(me.data()), me.size());
    owner = link(mine.c_str(), entry.c_str()) == 0;
    if (!owner) {
      std::vector<uint8_t> who = read_file(entry);
      record_.reuses.assign(who.begin(), who.end());
    }
    record_.state = key.substr(0, 16);
  } catch (const std::exception& e) {
    // No key, no reuse: this run executes its recovery like any other.
    fprintf(stderr, "trustsim: warning: %s: no crash-state key (%s)\n", record_.describe().c_str(), e.what());
    owner = true;
  }
  forks_.release();
  return owner;
}

bool ScenarioRunner::run_recovery() {
  const Sweep& w = sc_.sweep;
  cut_fired_ = true;
  cut_live_ = false;  // a power loss in the recovery is the recovery's business now
  // A one-cut run of a sweep with second cuts always runs its recovery: its
  // operations are where the second cuts fork (they dedup on their own).
  if (!role_.dedup_dir.empty() && depth_ == 1 && !claim_crash_state("recovery")) {
    if (!w.second) return true;
    record_.reuses.clear();  // it runs anyway: its recovery's operations are where its second cuts fork
  }
  cut_points_.begin_recovery();
  bool ok = run_steps(w.recovery, "recovery ");
  cut_points_.end_recovery();
  record_.recovery_points = cut_points_.recovery_points().size();
  if (cut2_armed_) {
    if (ok && !interrupted()) {
      ok = false;
      failure_ = "power was still on at the end of the recovery: the second cut at recovery point " +
                 std::to_string(record_.point2) + " did not fire";
    }
    if (ok) {
      cut_live_ = false;
      if (!role_.dedup_dir.empty() && depth_ == 2 && !claim_crash_state("second-recovery")) return true;
      ok = run_steps(w.recovery2, "second recovery ");
    }
  } else if (ok && role_.point2) {
    ok = false;
    failure_ = "recovery cut point " + std::to_string(role_.point2) + " was never reached: the recovery had " +
               std::to_string(cut_points_.recovery_points().size()) + " operations of " + w.devices2[0] +
               (w.devices2.size() > 1 ? " and the others" : "");
  }
  return ok;
}

void ScenarioRunner::run() {
  wall0_ = wall_now();
  bool ok = run_steps(sc_.steps, "");
  if (ok && sc_.has_sweep) ok = run_sweep();
  (void)ok;
  if (depth_ > 0) finish_child();
  record_.passed = failure_.empty();
  record_.failure = failure_;
  record_.virtual_ns = now_ns();
  record_.wall_s = wall_now() - wall0_;
  finished_ = true;
  sc_core::sc_stop();
}

}  // namespace trustsim
