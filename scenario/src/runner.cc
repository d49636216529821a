#include "scenario/runner.h"

#include "flashtool/image_flash.h"
#include "hw-models/input_error.h"
#include "hw-models/sim_time.h"
#include "hw-models/state_file.h"
#include "signing/signing.h"

namespace trustsim {

ScenarioRunner::ScenarioRunner(sc_core::sc_module_name name, const Scenario& sc, Board& board, ConsoleLog& log,
                               HostContext host)
    : sc_module(name), sc_(sc), board_(board), log_(log), host_(std::move(host)) {
  SC_THREAD(run);
  set_stack_size(1 << 20);
}

bool ScenarioRunner::execute(const Step& s) {
  using sc_core::sc_time_stamp;
  switch (s.kind) {
    case Step::Kind::kPowerOn:
      log_.consume(log_.unmatched().size());
      board_.power_on();
      return true;
    case Step::Kind::kPowerOff:
      board_.power_off();
      return true;
    case Step::Kind::kPowerCycle:
      board_.power_off();
      wait(from_ps(s.has_duration ? s.duration_ps : board_.config().power_off_time_ps));
      log_.consume(log_.unmatched().size());  // expectations after a power-on see only new output
      board_.power_on();
      return true;
    case Step::Kind::kSend:
      board_.console().type(s.enter ? s.text + "\r" : s.text);
      return true;
    case Step::Kind::kWait:
      wait(from_ps(s.duration_ps));
      return true;
    case Step::Kind::kImageSign:
    case Step::Kind::kFlashCorrupt:
    case Step::Kind::kFlashTruncate:
    case Step::Kind::kFlashDelete:
    case Step::Kind::kBootFlashCorrupt:
    case Step::Kind::kNvramCorrupt:
      return host_action(s);
    case Step::Kind::kExpect: {
      sc_core::sc_time deadline = sc_time_stamp() + from_ps(s.timeout_ps);
      for (;;) {
        // A member, not a local: a run can end while this thread is parked in
        // wait() below, and its stack (with whatever it owns) is never unwound.
        std::smatch& m = match_;
        const std::string& buf = log_.unmatched();
        if (std::regex_search(buf, m, s.pattern)) {
          if (s.negate) {
            failure_ = "console output matching /" + s.text + "/ appeared, which must not happen: \"" + m.str(0) + "\"";
            return false;
          }
          log_.consume(size_t(m.position(0) + m.length(0)));
          return true;
        }
        if (sc_time_stamp() >= deadline) {
          if (s.negate) return true;
          failure_ = "expected console output matching /" + s.text + "/ was not seen within " +
                     s.describe().substr(s.describe().rfind("within ") + 7) + " of virtual time";
          return false;
        }
        wait(deadline - sc_time_stamp(), log_.output_event());
      }
    }
  }
  return false;
}

bool ScenarioRunner::host_action(const Step& s) {
  if (board_.power().is_on()) {
    failure_ = "host-side changes need the board powered off (add a power-off step before it)";
    return false;
  }
  try {
    if (s.kind == Step::Kind::kBootFlashCorrupt) {
      std::vector<uint8_t> f = read_file(host_.state.boot_flash());
      if (s.offset >= f.size()) throw InputError("offset " + std::to_string(s.offset) + " is beyond the boot flash");
      f[s.offset] ^= uint8_t(s.xor_mask);
      write_file_atomic(host_.state.boot_flash(), f.data(), f.size());
      return true;
    }
    if (s.kind == Step::Kind::kNvramCorrupt) {
      if (s.offset >= board_.nvram().contents().size())
        throw InputError("offset " + std::to_string(s.offset) + " is beyond NVRAM");
      uint8_t b = uint8_t(board_.nvram().contents()[s.offset] ^ s.xor_mask);
      board_.nvram().backdoor_write(uint32_t(s.offset), &b, 1);
      return true;
    }
    if (!board_.nand()) throw InputError("this board has no bootflash: device");
    HostVolume v = open_bootflash(board_.config().nand, board_.nand()->image());
    uint32_t now = uint32_t(board_.config().rtc_base + now_ns() / 1000000000ull);
    switch (s.kind) {
      case Step::Kind::kImageSign: {
        std::string key_path = s.key.find('/') != std::string::npos ? s.key : host_.keys_dir + "/" + s.key + ".pem";
        keys::KeyType kt;
        char kv;
        if (!signing::parse_key_name(key_path, &kt, &kv))
          throw InputError("key '" + s.key + "': name it [LABEL-]TYPE-VERSION, e.g. production-B or untrusted-production-A");
        ossl::Pkey key = ossl::load_private_key(key_path);
        signing::ImageSpec spec;
        spec.type = s.image_type == "rommon" ? image::Type::kRommon
                    : s.image_type == "revocation" ? image::Type::kRevocation : image::Type::kOs;
        std::vector<uint8_t> ver = read_file(host_.artifacts.os_version);
        spec.version = s.version.empty() ? std::string(ver.begin(), ver.end()) : s.version;
        while (!spec.version.empty() && spec.version.back() == '\n') spec.version.pop_back();
        spec.platform = board_.config().platform;
        spec.platform_id = board_.config().platform_id;
        spec.load_addr = spec.type == image::Type::kRommon ? 0x40200000 : 0x41000000;
        bool bundle = !s.add_keys.empty() || !s.revoke_keys.empty();
        std::vector<uint8_t> payload;
        // A revocation image is its key bundle alone unless a payload is named.
        if (!(bundle && spec.type == image::Type::kRevocation && s.payload.empty()))
          payload = read_file(!s.payload.empty()                     ? s.payload
                              : spec.type == image::Type::kRommon ? host_.artifacts.rommon_bin
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
        put_file(*v.volume, s.file, signing::build_signed_image(spec, payload, key, kt, kv), now);
        return true;
      }
      case Step::Kind::kFlashCorrupt:
      case Step::Kind::kFlashTruncate: {
        std::vector<uint8_t> data = get_file(*v.volume, s.file);
        if (s.kind == Step::Kind::kFlashCorrupt) {
          uint64_t off = s.from_end ? data.size() - s.offset : s.offset;
          if (s.from_end ? (s.offset == 0 || s.offset > data.size()) : s.offset >= data.size())
            throw InputError("offset " + std::to_string(s.offset) + " is beyond bootflash:" + s.file + " (" +
                             std::to_string(data.size()) + " bytes)");
          data[off] ^= uint8_t(s.xor_mask);
        } else {
          if (s.length >= data.size())
            throw InputError("bootflash:" + s.file + " is only " + std::to_string(data.size()) + " bytes");
          data.resize(s.length);
        }
        put_file(*v.volume, s.file, data, now);
        return true;
      }
      case Step::Kind::kFlashDelete: {
        bfs::Status st = bfs::remove(*v.volume, s.file.c_str());
        if (st != bfs::Status::kOk) throw InputError("bootflash:" + s.file + ": " + bfs::status_text(st));
        return true;
      }
      default:
        return false;
    }
  } catch (const std::exception& e) {
    failure_ = e.what();
    return false;
  }
}

void ScenarioRunner::run() {
  for (size_t i = 0; i < sc_.steps.size(); ++i) {
    const Step& s = sc_.steps[i];
    if (!execute(s)) {
      failure_ = "step " + std::to_string(i + 1) + " (" + s.where + ", " + s.describe() + "): " + failure_;
      break;
    }
    ++steps_done_;
  }
  finished_ = true;
  sc_core::sc_stop();
}

}  // namespace trustsim
