// The TPM engine (libtpms in-process) driven with common/tpm2's
// marshalling: PCR arithmetic, power-cut semantics, NV persistence,
// determinism, quotes that verify with OpenSSL, and parsers that refuse
// every truncation of a real response.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>

#include "../support/test_util.h"
#include "devices/openssl_util.h"
#include "host/tpm_provision.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/tpm2.h"

using namespace trustsim;

namespace {

struct Session {
  test::TempDir dir;
  explicit Session(const std::string& seed = "test") {
    TpmEngine::instance().attach(dir.file("tpm-nv.bin"), seed);
    EXPECT_TRUE(TpmEngine::instance().power_on());
  }
  ~Session() { TpmEngine::instance().detach(); }
};

uint8_t g_cmd[4096];

// With TRUSTSIM_TPM_SEEDS=DIR, every response is also written to DIR as a
// seed for fuzz/tpm_response_fuzz.cc (first byte: the parser it feeds).
std::vector<uint8_t> run(size_t len) {
  std::vector<uint8_t> r = TpmEngine::instance().execute(g_cmd, len);
  if (const char* dir = getenv("TRUSTSIM_TPM_SEEDS")) {
    static int n = 0;
    int kind = -1;
    switch (tpm2::command_code(g_cmd, len)) {
      case tpm2::kCcPcrRead:
        kind = 0;
        break;
      case tpm2::kCcQuote:
        kind = 1;
        break;
      case tpm2::kCcSign:
        kind = 2;
        break;
      case tpm2::kCcNvReadPublic:
        kind = 3;
        break;
      case tpm2::kCcNvRead:
        kind = 4;
        break;
      case tpm2::kCcCreatePrimary:
        kind = 6;
        break;
    }
    if (kind >= 0) {
      std::vector<uint8_t> seed(1, uint8_t(kind));
      seed.insert(seed.end(), r.begin(), r.end());
      std::string f = std::string(dir) + "/seed-" + std::to_string(n++);
      FILE* out = fopen(f.c_str(), "wb");
      if (out) {
        fwrite(seed.data(), 1, seed.size(), out);
        fclose(out);
      }
    }
  }
  return r;
}
uint32_t rc_of(const std::vector<uint8_t>& r) {
  tpm2::Header h{};
  EXPECT_TRUE(tpm2::parse_header(r.data(), r.size(), &h));
  return h.code;
}

std::vector<uint8_t> extend(const std::vector<uint8_t>& pcr, const uint8_t* d) {
  std::vector<uint8_t> in(pcr);
  in.insert(in.end(), d, d + 32);
  return ossl::sha256(in.data(), in.size());
}

tpm2::PcrValues read_pcrs(uint32_t mask) {
  std::vector<uint8_t> r = run(tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, mask));
  tpm2::Response resp;
  EXPECT_TRUE(tpm2::parse_response(r.data(), r.size(), 0, &resp));
  tpm2::PcrValues v{};
  EXPECT_TRUE(tpm2::parse_pcr_read(resp, &v));
  return v;
}

// Makes and persists the SUDI key; returns its modulus.
std::vector<uint8_t> make_sudi() {
  std::vector<uint8_t> r = run(tpm2::cmd_create_primary_sudi(g_cmd, sizeof g_cmd));
  tpm2::Response resp;
  EXPECT_TRUE(tpm2::parse_response(r.data(), r.size(), 1, &resp));
  EXPECT_EQ(resp.rc, 0u);
  const uint8_t* n;
  uint16_t nlen;
  EXPECT_TRUE(tpm2::parse_create_primary(resp, &n, &nlen));
  std::vector<uint8_t> mod(n, n + nlen);
  EXPECT_EQ(rc_of(run(tpm2::cmd_evict_control(g_cmd, sizeof g_cmd, resp.handle, tpm2::kSudiHandle))), 0u);
  return mod;
}

bool verify_rsa_sha256(const std::vector<uint8_t>& modulus, const uint8_t* msg, size_t len, const uint8_t* sig,
                       size_t sig_len) {
  ossl::Pkey k = ossl::rsa_public_from_modulus(modulus.data(), modulus.size());
  return ossl::verify_sha256(k.get(), msg, len, sig, sig_len);
}

}  // namespace

TEST(TpmEngine, PcrExtendFollowsTheSpecArithmetic) {
  Session s;
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  uint8_t a[32], b[32];
  memset(a, 0x11, 32);
  memset(b, 0x22, 32);
  ASSERT_EQ(rc_of(run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, a))), 0u);
  ASSERT_EQ(rc_of(run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, b))), 0u);
  ASSERT_EQ(rc_of(run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 8, b))), 0u);
  std::vector<uint8_t> zero(32, 0);
  std::vector<uint8_t> p0 = extend(extend(zero, a), b), p8 = extend(zero, b);
  tpm2::PcrValues v = read_pcrs(tpm2::pcr_bit(0) | tpm2::pcr_bit(8));
  ASSERT_EQ(v.count, 2u);
  EXPECT_EQ(std::vector<uint8_t>(v.digest[0], v.digest[0] + 32), p0);
  EXPECT_EQ(std::vector<uint8_t>(v.digest[1], v.digest[1] + 32), p8);
}

TEST(TpmEngine, CommandsBeforeStartupAreRefused) {
  Session s;
  uint8_t a[32] = {1};
  EXPECT_EQ(rc_of(run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, a))), tpm2::kRcInitialize);
}

TEST(TpmEngine, PowerCutResetsPcrsAndNeedsStartupClear) {
  Session s;
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  uint8_t a[32];
  memset(a, 0x5A, 32);
  ASSERT_EQ(rc_of(run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 8, a))), 0u);
  TpmEngine::instance().power_off();  // no Shutdown: a power cut
  ASSERT_TRUE(TpmEngine::instance().power_on());
  EXPECT_NE(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuState))), 0u);
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  tpm2::PcrValues v = read_pcrs(tpm2::pcr_bit(8));
  EXPECT_EQ(std::vector<uint8_t>(v.digest[0], v.digest[0] + 32), std::vector<uint8_t>(32, 0));
}

TEST(TpmEngine, NvIndexAndPersistentKeySurviveReattach) {
  test::TempDir dir;
  std::string path = dir.file("tpm-nv.bin");
  std::vector<uint8_t> mod;
  uint8_t data[1500];
  for (size_t i = 0; i < sizeof data; ++i) data[i] = uint8_t(i * 7);
  {
    TpmEngine::instance().attach(path, "nv");
    ASSERT_TRUE(TpmEngine::instance().power_on());
    ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
    mod = make_sudi();
    ASSERT_EQ(rc_of(run(tpm2::cmd_nv_define_space(g_cmd, sizeof g_cmd, tpm2::kNvSudiRoot, sizeof data))), 0u);
    ASSERT_EQ(rc_of(run(tpm2::cmd_nv_write(g_cmd, sizeof g_cmd, tpm2::kNvSudiRoot, data, 1024, 0))), 0u);
    ASSERT_EQ(rc_of(run(tpm2::cmd_nv_write(g_cmd, sizeof g_cmd, tpm2::kNvSudiRoot, data + 1024, 476, 1024))), 0u);
    TpmEngine::instance().detach();  // power cut, no Shutdown
  }
  TpmEngine::instance().attach(path, "nv");
  ASSERT_TRUE(TpmEngine::instance().power_on());
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  std::vector<uint8_t> r = run(tpm2::cmd_nv_read_public(g_cmd, sizeof g_cmd, tpm2::kNvSudiRoot));
  tpm2::Response resp;
  ASSERT_TRUE(tpm2::parse_response(r.data(), r.size(), 0, &resp));
  tpm2::NvPublic pub;
  ASSERT_TRUE(tpm2::parse_nv_read_public(resp, &pub));
  EXPECT_EQ(pub.data_size, sizeof data);
  r = run(tpm2::cmd_nv_read(g_cmd, sizeof g_cmd, tpm2::kNvSudiRoot, 476, 1024));
  ASSERT_TRUE(tpm2::parse_response(r.data(), r.size(), 0, &resp));
  ASSERT_EQ(resp.rc, 0u);
  const uint8_t* d;
  uint16_t n;
  ASSERT_TRUE(tpm2::parse_nv_read(resp, &d, &n));
  ASSERT_EQ(n, 476);
  EXPECT_EQ(memcmp(d, data + 1024, 476), 0);
  r = run(tpm2::cmd_read_public(g_cmd, sizeof g_cmd, tpm2::kSudiHandle));
  ASSERT_TRUE(tpm2::parse_response(r.data(), r.size(), 0, &resp));
  const uint8_t* m;
  uint16_t ml;
  ASSERT_TRUE(tpm2::parse_read_public(resp, &m, &ml));
  EXPECT_EQ(std::vector<uint8_t>(m, m + ml), mod);
  TpmEngine::instance().detach();
}

TEST(TpmEngine, SameSeedGivesTheSameKeysDifferentSeedDifferentKeys) {
  std::vector<uint8_t> a, b, c;
  for (auto [seed, out] :
       {std::pair<const char*, std::vector<uint8_t>*>{"board-1", &a}, {"board-1", &b}, {"board-2", &c}}) {
    Session s(seed);
    ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
    *out = make_sudi();
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(TpmEngine, QuoteCarriesNonceAndPcrDigestAndVerifiesWithOpenssl) {
  Session s;
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  std::vector<uint8_t> mod = make_sudi();
  uint8_t a[32];
  memset(a, 0x33, 32);
  ASSERT_EQ(rc_of(run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, 0, a))), 0u);
  const uint8_t nonce[4] = {0, 0, 0x30, 0x39};
  TpmEngine::instance().set_clock_ns(5000000000ull);
  read_pcrs(tpm2::pcr_bit(0));
  TpmEngine::instance().set_clock_ns(7000000000ull);
  std::vector<uint8_t> r =
      run(tpm2::cmd_quote(g_cmd, sizeof g_cmd, tpm2::kSudiHandle, nonce, 4, tpm2::pcr_bit(0) | tpm2::pcr_bit(8)));
  tpm2::Response resp;
  ASSERT_TRUE(tpm2::parse_response(r.data(), r.size(), 0, &resp));
  ASSERT_EQ(resp.rc, 0u) << std::hex << resp.rc;
  tpm2::Quote q;
  ASSERT_TRUE(tpm2::parse_quote(resp, &q));
  tpm2::Attest at;
  ASSERT_TRUE(tpm2::parse_attest(q.attest, q.attest_len, &at));
  EXPECT_EQ(at.magic, tpm2::kGenerated);
  ASSERT_EQ(at.extra_len, 4);
  EXPECT_EQ(memcmp(at.extra, nonce, 4), 0);
  EXPECT_EQ(at.pcr_mask, tpm2::pcr_bit(0) | tpm2::pcr_bit(8));
  tpm2::PcrValues v = read_pcrs(tpm2::pcr_bit(0) | tpm2::pcr_bit(8));
  std::vector<uint8_t> cat(v.digest[0], v.digest[0] + 32);
  cat.insert(cat.end(), v.digest[1], v.digest[1] + 32);
  std::vector<uint8_t> want = ossl::sha256(cat.data(), cat.size());
  ASSERT_EQ(at.pcr_digest_len, 32);
  EXPECT_EQ(std::vector<uint8_t>(at.pcr_digest, at.pcr_digest + 32), want);
  // The TPM's clock advanced by exactly the 2 s of virtual time between the
  // two commands (libtpms starts counting at its first command), not by host time.
  EXPECT_EQ(at.clock, 2000u);
  tpm2::Signature sig;
  ASSERT_TRUE(tpm2::parse_signature(q.signature, q.signature_len, &sig));
  EXPECT_EQ(sig.hash, tpm2::kAlgSha256);
  EXPECT_TRUE(verify_rsa_sha256(mod, q.attest, q.attest_len, sig.sig, sig.sig_len));
}

TEST(TpmEngine, SignWithANullTicketVerifiesWithOpenssl) {
  Session s;
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  std::vector<uint8_t> mod = make_sudi();
  const char msg[] = "nonce and certificates";
  std::vector<uint8_t> digest = ossl::sha256(reinterpret_cast<const uint8_t*>(msg), sizeof msg);
  std::vector<uint8_t> r = run(tpm2::cmd_sign(g_cmd, sizeof g_cmd, tpm2::kSudiHandle, digest.data()));
  tpm2::Response resp;
  ASSERT_TRUE(tpm2::parse_response(r.data(), r.size(), 0, &resp));
  ASSERT_EQ(resp.rc, 0u) << std::hex << resp.rc;
  const uint8_t* sp;
  size_t sl;
  ASSERT_TRUE(tpm2::parse_sign(resp, &sp, &sl));
  tpm2::Signature sig;
  ASSERT_TRUE(tpm2::parse_signature(sp, sl, &sig));
  EXPECT_TRUE(verify_rsa_sha256(mod, reinterpret_cast<const uint8_t*>(msg), sizeof msg, sig.sig, sig.sig_len));
  EXPECT_FALSE(verify_rsa_sha256(mod, reinterpret_cast<const uint8_t*>(msg), sizeof msg - 1, sig.sig, sig.sig_len));
}

TEST(TpmEngine, EveryTruncationOfARealQuoteResponseIsRejected) {
  Session s;
  ASSERT_EQ(rc_of(run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear))), 0u);
  make_sudi();
  const uint8_t nonce[4] = {1, 2, 3, 4};
  std::vector<uint8_t> r =
      run(tpm2::cmd_quote(g_cmd, sizeof g_cmd, tpm2::kSudiHandle, nonce, 4, tpm2::pcr_bit(0) | tpm2::pcr_bit(8)));
  for (size_t n = 0; n < r.size(); ++n) {
    tpm2::Response resp;
    tpm2::Quote q;
    bool ok = tpm2::parse_response(r.data(), n, 0, &resp) && tpm2::parse_quote(resp, &q);
    EXPECT_FALSE(ok) << "accepted a response cut to " << n << " of " << r.size() << " bytes";
  }
}
