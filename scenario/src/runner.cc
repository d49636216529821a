#include "scenario/runner.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "devices/openssl_util.h"
#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "devkit/trace.h"
#include "host/attest.h"
#include "host/image_flash.h"
#include "host/signing.h"
#include "host/tpm_provision.h"
#include "hw-models/run_files.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/handoff.h"
#include "trustsim/image.h"
#include "trustsim/keys.h"
#include "trustsim/romvars.h"
#include "trustsim/tpm2.h"

namespace trustsim {

namespace {

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
                               HostContext host, SweepPhases* sweep)
    : sc_module(name), sc_(sc), board_(board), log_(log), host_(std::move(host)), sweep_(sweep) {
  SC_THREAD(run);
  set_stack_size(1 << 20);
  SC_METHOD(console_cut);
  sensitive << log_.output_event();
  dont_initialize();
  SC_METHOD(timed_cut);
  sensitive << timed_cut_event_;
  dont_initialize();
  // Cuts nobody armed (a power-off step in the middle of a program) tear
  // with seeds from the run seed too, on every device.
  board_.set_run_seed(sc_.seed);
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
      wait(from_ps(s->duration_ps), board_.power().off_event() | cut_event_);
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
        wait(deadline - sc_time_stamp(), log_.output_event() | board_.power().off_event() | cut_event_);
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
      put_file(v, s->file, sign_image(*s), now);
      return true;
    }
    if (const auto* s = step.as<FlashPutStep>()) {
      put_file(v, s->file, read_file(s->from), now);
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
      put_file(v, s->file, data, now);
      return true;
    }
    if (const auto* s = step.as<FlashTruncateStep>()) {
      std::vector<uint8_t> data = get_file(*v.volume, s->file);
      if (s->length >= data.size())
        throw InputError("bootflash:" + s->file + " is only " + std::to_string(data.size()) + " bytes");
      data.resize(s->length);
      put_file(v, s->file, data, now);
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
  spec.load_addr = image::default_load_addr(spec.type);
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
      if (exists != s.exists && !s.either) {
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

void ScenarioRunner::run() {
  bool ok = run_steps(sc_.steps, "");
  if (ok && sc_.has_sweep) {
    if (sweep_)
      sweep_->run(*this);
    else
      failure_ = "the scenario ends in a sweep: run it with trustsim campaign";
  }
  finished_ = true;
  sc_core::sc_stop();
}

}  // namespace trustsim
