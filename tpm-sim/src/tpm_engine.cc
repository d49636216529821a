#include "tpm-sim/tpm_engine.h"

#define OPENSSL_SUPPRESS_DEPRECATED  // RAND_METHOD: the one hook RAND_bytes still honours
#include <dlfcn.h>
#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_memory.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/time.h>
#include <time.h>

#include <cstring>
#include <stdexcept>

#include "devkit/input_error.h"
#include "devkit/state_file.h"

namespace trustsim {
namespace {

bool g_active = false;  // libtpms is running under the engine right now

constexpr char kFileMagic[8] = {'T', 'S', 'T', 'P', 'M', 'N', 'V', '1'};

TPM_RESULT cb_init() { return TPM_SUCCESS; }
TPM_RESULT cb_load(unsigned char** data, uint32_t* length, uint32_t, const char* name) {
  return TpmEngine::instance().load(data, length, name);
}
TPM_RESULT cb_store(const unsigned char* data, uint32_t length, uint32_t, const char* name) {
  return TpmEngine::instance().store(data, length, name);
}
TPM_RESULT cb_delete(uint32_t, const char* name, TPM_BOOL) { return TpmEngine::instance().remove(name); }
TPM_RESULT cb_io_init() { return TPM_SUCCESS; }
TPM_RESULT cb_locality(TPM_MODIFIER_INDICATOR* loc, uint32_t) {
  *loc = TpmEngine::instance().locality();
  return TPM_SUCCESS;
}
TPM_RESULT cb_pp(TPM_BOOL* pp, uint32_t) {
  *pp = FALSE;
  return TPM_SUCCESS;
}

int det_seed(const void*, int) { return 1; }
int det_add(const void*, int, double) { return 1; }
int det_status() { return 1; }

}  // namespace

int det_rand_bytes(unsigned char* buf, int num) {
  if (num < 0) return 0;
  TpmEngine::instance().rng_bytes(buf, size_t(num));
  return 1;
}

namespace {
RAND_METHOD g_det_rand = {det_seed, det_rand_bytes, nullptr, det_add, det_rand_bytes, det_status};
}  // namespace

// While it lives, libtpms sees the virtual clock and the seeded generator.
struct EngineScope {
  const RAND_METHOD* saved;
  EngineScope() : saved(RAND_get_rand_method()) {
    RAND_set_rand_method(&g_det_rand);
    g_active = true;
  }
  ~EngineScope() {
    g_active = false;
    RAND_set_rand_method(saved);
  }
};

bool tpm_engine_active() { return g_active; }
uint64_t tpm_engine_clock_ns() { return TpmEngine::instance().clock_ns(); }

TpmEngine& TpmEngine::instance() {
  static TpmEngine e;
  return e;
}

std::map<std::string, std::vector<uint8_t>> TpmEngine::read_state_file(const std::string& path) {
  std::map<std::string, std::vector<uint8_t>> out;
  std::vector<uint8_t> f = read_file(path);
  if (f.size() < 8 || memcmp(f.data(), kFileMagic, 8) != 0)
    throw InputError(path + ": not a trustsim TPM state file (bad magic)");
  size_t pos = 8;
  while (pos < f.size()) {
    if (f.size() - pos < 1) throw InputError(path + ": truncated TPM state file");
    size_t nl = f[pos++];
    if (nl == 0 || nl > 32 || f.size() - pos < nl + 4)
      throw InputError(path + ": truncated TPM state file (entry name)");
    std::string name(reinterpret_cast<const char*>(&f[pos]), nl);
    pos += nl;
    uint32_t len =
        uint32_t(f[pos]) | uint32_t(f[pos + 1]) << 8 | uint32_t(f[pos + 2]) << 16 | uint32_t(f[pos + 3]) << 24;
    pos += 4;
    if (f.size() - pos < len) throw InputError(path + ": truncated TPM state file (entry '" + name + "')");
    out[name] = std::vector<uint8_t>(f.begin() + long(pos), f.begin() + long(pos + len));
    pos += len;
  }
  return out;
}

void TpmEngine::attach(const std::string& nv_path, const std::string& rng_seed) {
  if (attached_)
    throw std::logic_error("TPM engine already attached to " + path_ + " (libtpms is one TPM per process)");
  blobs_.clear();
  std::string s = "trustsim-tpm-rng:" + rng_seed + ":";
  if (file_exists(nv_path)) {
    blobs_ = read_state_file(nv_path);
    std::vector<uint8_t> raw = read_file(nv_path);
    s.append(raw.begin(), raw.end());  // each board and each NV state its own stream
  }
  path_ = nv_path;
  // Generator key = SHA-256("trustsim-tpm-rng:" || seed || ":" || NV file).
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), rng_key_, &n, EVP_sha256(), nullptr);
  rng_counter_ = 0;
  torn_armed_ = false;
  if (!callbacks_registered_) {
    if (TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2) != TPM_SUCCESS)
      throw std::runtime_error("libtpms: cannot select TPM 2.0");
    libtpms_callbacks cb{};
    cb.sizeOfStruct = sizeof cb;
    cb.tpm_nvram_init = cb_init;
    cb.tpm_nvram_loaddata = cb_load;
    cb.tpm_nvram_storedata = cb_store;
    cb.tpm_nvram_deletename = cb_delete;
    cb.tpm_io_init = cb_io_init;
    cb.tpm_io_getlocality = cb_locality;
    cb.tpm_io_getphysicalpresence = cb_pp;
    if (TPMLIB_RegisterCallbacks(&cb) != TPM_SUCCESS) throw std::runtime_error("libtpms: cannot register callbacks");
    callbacks_registered_ = true;
  }
  attached_ = true;
}

void TpmEngine::detach() {
  if (!attached_) return;
  power_off();
  attached_ = false;
  blobs_.clear();
  path_.clear();
}

bool TpmEngine::power_on() {
  if (!attached_) throw std::logic_error("TPM engine not attached");
  if (powered_) return true;
  EngineScope scope;
  powered_ = TPMLIB_MainInit() == TPM_SUCCESS;
  return powered_;
}

void TpmEngine::power_off() {
  if (!powered_) return;
  EngineScope scope;
  TPMLIB_Terminate();
  powered_ = false;
  blobs_.erase("volatilestate");  // never survives a power cut
}

std::vector<uint8_t> TpmEngine::execute(const uint8_t* cmd, size_t len, uint32_t locality) {
  // TPM_RC_FAILURE, the answer of a TPM that cannot process anything.
  std::vector<uint8_t> failure = {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01};
  if (!powered_) return failure;
  std::vector<uint8_t> in(cmd, cmd + len);
  unsigned char* resp = nullptr;
  uint32_t resp_len = 0, resp_cap = 0;
  locality_ = locality;
  TPM_RESULT r;
  {
    EngineScope scope;
    r = TPMLIB_Process(&resp, &resp_len, &resp_cap, in.data(), uint32_t(in.size()));
  }
  std::vector<uint8_t> out;
  if (r == TPM_SUCCESS && resp && resp_len >= 10)
    out.assign(resp, resp + resp_len);
  else
    out = failure;
  free(resp);
  return out;
}

uint32_t TpmEngine::load(unsigned char** data, uint32_t* length, const char* name) {
  auto it = blobs_.find(name);
  if (it == blobs_.end()) return TPM_RETRY;  // absent: libtpms manufactures a fresh TPM
  if (TPM_Malloc(data, uint32_t(it->second.size())) != TPM_SUCCESS) return TPM_FAIL;
  memcpy(*data, it->second.data(), it->second.size());
  *length = uint32_t(it->second.size());
  return TPM_SUCCESS;
}

uint32_t TpmEngine::store(const unsigned char* data, uint32_t length, const char* name) {
  std::vector<uint8_t> v(data, data + length);
  if (torn_armed_) {
    torn_armed_ = false;
    torn_happened_ = true;
    if (torn_keep_ < v.size()) v.resize(torn_keep_);
  }
  blobs_[name] = std::move(v);
  save();
  return TPM_SUCCESS;
}

uint32_t TpmEngine::remove(const char* name) {
  blobs_.erase(name);
  save();
  return TPM_SUCCESS;
}

void TpmEngine::move_nv_to(const std::string& nv_path) {
  path_ = nv_path;
  save();
}

void TpmEngine::save() {
  if (path_.empty()) return;
  std::vector<uint8_t> f(kFileMagic, kFileMagic + 8);
  for (const auto& [name, data] : blobs_) {
    if (name == "volatilestate") continue;  // RAM, not NV
    f.push_back(uint8_t(name.size()));
    f.insert(f.end(), name.begin(), name.end());
    uint32_t n = uint32_t(data.size());
    for (int i = 0; i < 4; ++i) f.push_back(uint8_t(n >> (8 * i)));
    f.insert(f.end(), data.begin(), data.end());
  }
  write_file_atomic(path_, f.data(), f.size());
}

void TpmEngine::rng_bytes(uint8_t* out, size_t n) {
  // SHA-256(key || counter) blocks: reproducible, distinct per board.
  while (n) {
    uint8_t in[40];
    memcpy(in, rng_key_, 32);
    for (int i = 0; i < 8; ++i) in[32 + i] = uint8_t(rng_counter_ >> (8 * i));
    ++rng_counter_;
    uint8_t block[32];
    unsigned int bl = 0;
    EVP_Digest(in, sizeof in, block, &bl, EVP_sha256(), nullptr);
    size_t k = n < 32 ? n : 32;
    memcpy(out, block, k);
    out += k;
    n -= k;
  }
}

}  // namespace trustsim

// ---- the clock libtpms sees ----
// libtpms reads the time with clock_gettime()/gettimeofday()/clock(). These
// definitions in the executable take precedence over libc's for every
// caller; outside the engine they forward to libc unchanged, inside it they
// return the board time the device set, so TPM clocks and signed quotes do
// not depend on the host.
extern "C" int clock_gettime(clockid_t id, struct timespec* ts) __THROW {
  if (trustsim::tpm_engine_active()) {
    uint64_t ns = trustsim::tpm_engine_clock_ns();
    ts->tv_sec = time_t(ns / 1000000000ull);
    ts->tv_nsec = long(ns % 1000000000ull);
    return 0;
  }
  using Fn = int (*)(clockid_t, struct timespec*);
  static Fn f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "clock_gettime"));
  return f(id, ts);
}

extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict tz) __THROW {
  if (trustsim::tpm_engine_active()) {
    uint64_t ns = trustsim::tpm_engine_clock_ns();
    tv->tv_sec = time_t(ns / 1000000000ull);
    tv->tv_usec = long(ns % 1000000000ull / 1000);
    return 0;
  }
  using Fn = int (*)(struct timeval*, void*);
  static Fn f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "gettimeofday"));
  return f(tv, tz);
}

extern "C" clock_t clock() __THROW {
  if (trustsim::tpm_engine_active()) return clock_t(trustsim::tpm_engine_clock_ns() / 1000);
  using Fn = clock_t (*)();
  static Fn f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "clock"));
  return f();
}
