// Crypto engine (devices/crypto_engine.h): SHA-256/512 that agree with
// OpenSSL and cost the board file's throughput, RSA-2048 verification at
// its latency, the requests it refuses, power loss, and register misuse.
// Each TEST elaborates its own model.
#include <gtest/gtest.h>

#include <vector>

#include "../support/device_rig.h"
#include "devices/crypto_engine.h"
#include "devices/openssl_util.h"
#include "devkit/sim_time.h"
#include "trustsim/crypto_regs.h"

using namespace trustsim;
using test::ns_now;

namespace {

using Rig = test::DeviceRig<CryptoEngine>;

CryptoConfig figures() {
  CryptoConfig c;
  c.sha256_bytes_per_s = 100000000;  // 10 ns a byte
  c.sha512_bytes_per_s = 50000000;   // 20 ns a byte
  c.rsa_verify_ps = 700000000;       // 700 us
  return c;
}

void simulate(std::function<void(Rig&)> body) {
  test::simulate<CryptoEngine>([](Rig& r) { return std::make_unique<CryptoEngine>("crypto", r.power, figures()); },
                               std::move(body));
}

std::vector<uint8_t> message(size_t n) {
  std::vector<uint8_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = uint8_t(i * 7 + 3);
  return m;
}

// A verify request for `msg` signed by `signer`, checked against `key`.
ts_crypto_verify request(const ossl::Pkey& key, const ossl::Pkey& signer, const std::vector<uint8_t>& msg) {
  ts_crypto_verify req{};
  keys::encode_record(ossl::public_record(key, keys::KeyType::kProduction, 'A'), req.key_record);
  std::vector<uint8_t> d = ossl::sha512(msg.data(), msg.size());
  memcpy(req.digest, d.data(), sizeof req.digest);
  std::vector<uint8_t> sig = ossl::sign_sha512(signer, msg.data(), msg.size());
  memcpy(req.signature, sig.data(), sizeof req.signature);
  return req;
}

}  // namespace

TEST(CryptoEngine, HashesAgreeWithOpensslAndTakeTheBoardThroughput) {
  simulate([](Rig& r) {
    std::vector<uint8_t> m = message(3000);
    ASSERT_EQ(r.write64(TS_CRYPTO_CTRL, TS_CRYPTO_CMD_SHA256), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CRYPTO_DATA, m.data(), 1000), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CRYPTO_DATA, m.data() + 1000, 2000), tlm::TLM_OK_RESPONSE)
        << "DATA is a port: any length, even past the window";
    EXPECT_EQ(ns_now(), 30000u) << "3000 bytes at 100 MB/s";
    std::vector<uint8_t> d(32);
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, d.data(), 32), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(d, ossl::sha256(m.data(), m.size()));
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_OK));

    ASSERT_EQ(r.write64(TS_CRYPTO_CTRL, TS_CRYPTO_CMD_SHA512), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CRYPTO_DATA, m.data(), m.size()), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(ns_now(), 30000u + 60000u) << "3000 bytes at 50 MB/s";
    d.resize(64);
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, d.data(), 64), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(d, ossl::sha512(m.data(), m.size()));
  });
}

TEST(CryptoEngine, VerifyTakesItsLatencyAndTellsGoodFromBadSignatures) {
  ossl::Pkey key = ossl::generate_rsa2048();
  ossl::Pkey other = ossl::generate_rsa2048();
  simulate([&](Rig& r) {
    std::vector<uint8_t> m = message(100);
    ts_crypto_verify good = request(key, key, m);
    EXPECT_EQ(r.access(true, TS_CRYPTO_VERIFY, &good, sizeof good), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(ns_now(), 700000u);
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_OK));

    ts_crypto_verify wrong_key = request(key, other, m);
    EXPECT_EQ(r.access(true, TS_CRYPTO_VERIFY, &wrong_key, sizeof wrong_key), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_BAD_SIGNATURE));

    ts_crypto_verify flipped = good;
    flipped.signature[17] ^= 0x01;
    r.access(true, TS_CRYPTO_VERIFY, &flipped, sizeof flipped);
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_BAD_SIGNATURE));

    ts_crypto_verify bad_record = good;
    memset(bad_record.key_record, 0, sizeof bad_record.key_record);
    r.access(true, TS_CRYPTO_VERIFY, &bad_record, sizeof bad_record);
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_BAD_REQUEST));
  });
}

TEST(CryptoEngine, RequestsOutOfOrderAreRefusedWithBadRequest) {
  simulate([](Rig& r) {
    uint8_t b[64] = {};
    EXPECT_EQ(r.access(true, TS_CRYPTO_DATA, b, 16), tlm::TLM_COMMAND_ERROR_RESPONSE) << "no hash running";
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_BAD_REQUEST));
    EXPECT_EQ(r.write64(TS_CRYPTO_CTRL, 9), tlm::TLM_COMMAND_ERROR_RESPONSE) << "no such command";
    ASSERT_EQ(r.write64(TS_CRYPTO_CTRL, TS_CRYPTO_CMD_SHA256), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_OK));
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, b, 64), tlm::TLM_COMMAND_ERROR_RESPONSE) << "a SHA-256 is 32 bytes";
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_BAD_REQUEST));
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, b, 32), tlm::TLM_OK_RESPONSE) << "the hash still runs";
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, b, 32), tlm::TLM_COMMAND_ERROR_RESPONSE) << "and is finished now";
  });
}

TEST(CryptoEngine, PowerLossDropsTheRunningHash) {
  simulate([](Rig& r) {
    uint8_t b[32] = {};
    ASSERT_EQ(r.write64(TS_CRYPTO_CTRL, TS_CRYPTO_CMD_SHA256), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(r.access(true, TS_CRYPTO_DATA, b, 16), tlm::TLM_OK_RESPONSE);
    r.cut_power();
    r.restore_power();
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_OK)) << "STATUS resets to 0";
    EXPECT_EQ(r.access(true, TS_CRYPTO_DATA, b, 16), tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, b, 32), tlm::TLM_COMMAND_ERROR_RESPONSE);
  });
}

TEST(CryptoEngine, MisuseIsAnAddressErrorReportedOncePerRegister) {
  simulate([](Rig& r) {
    uint8_t b[128] = {};
    EXPECT_EQ(r.access(false, TS_CRYPTO_CTRL, b, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CRYPTO_STATUS, b, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CRYPTO_STATUS, b, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CRYPTO_DATA, b, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, TS_CRYPTO_DIGEST, b, 65), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CRYPTO_VERIFY, b, 128), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(true, TS_CRYPTO_VERIFY, b, 128), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.access(false, 0x400, b, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(r.read64(TS_CRYPTO_STATUS), uint64_t(TS_CRYPTO_OK)) << "misuse leaves STATUS alone";
    EXPECT_EQ(r.trace_count("read of write-only register CTRL"), 1u) << r.trace_text();
    EXPECT_EQ(r.trace_count("write to read-only register STATUS"), 1u);
    EXPECT_EQ(r.trace_count("STATUS accessed with 4 bytes (it takes 8 bytes)"), 1u);
    EXPECT_EQ(r.trace_count("read of write-only register DATA"), 1u);
    EXPECT_EQ(r.trace_count("DIGEST accessed with 65 bytes (it takes 1..64 bytes)"), 1u);
    EXPECT_EQ(r.trace_count("VERIFY accessed with 128 bytes (it takes 616 bytes)"), 1u) << "once";
    EXPECT_EQ(r.trace_count("access to unknown register offset 0x400"), 1u);
  });
}
