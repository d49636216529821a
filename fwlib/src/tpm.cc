// TPM driver: TIS/PTP FIFO handshake over the mailbox (docs/tpm.md).
#include "fwlib/tpm.h"

#include "fwlib/fw.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/tpm_regs.h"

namespace fw {
namespace tpm2 = trustsim::tpm2;

namespace {

constexpr uint64_t kMs = 1000000ull;
constexpr uint64_t kTimeoutA = 750 * kMs;   // locality (PTP TIMEOUT_A)
constexpr uint64_t kTimeoutB = 2000 * kMs;  // commandReady (TIMEOUT_B)
constexpr uint64_t kPoll = 1 * kMs;

uint64_t g_base;
uint32_t g_rc;
uint8_t g_cmd[TS_TPM_MAX_COMMAND];
uint8_t g_resp[TS_TPM_MAX_COMMAND];
uint8_t g_reg[8];  // register staging (DMA buffers must be in RAM)

bool read_access(uint8_t* v) {
  if (mbox_read(g_base + TS_TPM_ACCESS, g_reg, 1).status != TS_MBOX_OK) return false;
  *v = g_reg[0];
  return true;
}
bool write_access(uint8_t v) {
  g_reg[0] = v;
  return mbox_write(g_base + TS_TPM_ACCESS, g_reg, 1).status == TS_MBOX_OK;
}
bool read_sts(uint32_t* v) {
  if (mbox_read(g_base + TS_TPM_STS, g_reg, 4).status != TS_MBOX_OK) return false;
  *v = uint32_t(g_reg[0]) | uint32_t(g_reg[1]) << 8 | uint32_t(g_reg[2]) << 16 | uint32_t(g_reg[3]) << 24;
  return true;
}
bool write_sts(uint32_t v) {
  for (int i = 0; i < 4; ++i) g_reg[i] = uint8_t(v >> (8 * i));
  return mbox_write(g_base + TS_TPM_STS, g_reg, 4).status == TS_MBOX_OK;
}
uint32_t burst(uint32_t sts) { return (sts >> TS_TPM_STS_BURST_SHIFT) & TS_TPM_STS_BURST_MASK; }

// Reads a register with `read` until `done` holds for its value, sleeping
// on the TPM's event line in between (commandReady, dataAvail, init done and
// locality granted raise it; docs/tpm.md, "Event line").
template <class T, class Read, class Done>
TpmStatus wait_for(Read read, Done done, uint64_t timeout_ns, TpmStatus on_timeout, T* v, bool sleep_first = false) {
  switch (wait_until(
      TS_DEV_TPM, timeout_ns, [&] { return read(v) ? int(done(*v)) : -1; }, sleep_first)) {
    case Wait::kReady:
      return TpmStatus::kOk;
    case Wait::kTimeout:
      return on_timeout;
    case Wait::kError:
      break;
  }
  return TpmStatus::kBusError;
}

// Waits until (STS & mask) == want; false on timeout or bus error.
TpmStatus wait_sts(uint32_t mask, uint32_t want, uint64_t timeout_ns, uint32_t* sts, bool sleep_first = false) {
  return wait_for(
      read_sts, [&](uint32_t v) { return (v & TS_TPM_STS_VALID) && (v & mask) == want; }, timeout_ns,
      TpmStatus::kTimeout, sts, sleep_first);
}

TpmStatus exchange(const uint8_t* cmd, size_t len, size_t* resp_len, uint64_t timeout_ns) {
  uint32_t sts;
  if (!write_sts(TS_TPM_STS_COMMAND_READY)) return TpmStatus::kBusError;
  TpmStatus s = wait_sts(TS_TPM_STS_COMMAND_READY, TS_TPM_STS_COMMAND_READY, kTimeoutB, &sts);
  if (s != TpmStatus::kOk) return s;
  size_t sent = 0;
  while (sent < len) {
    uint32_t b = burst(sts);
    if (b == 0) {
      sleep_ns(kPoll);
      if (!read_sts(&sts)) return TpmStatus::kBusError;
      continue;
    }
    size_t n = len - sent < b ? len - sent : b;
    if (cmd + sent != g_cmd + sent) memcpy(g_cmd + sent, cmd + sent, n);
    if (mbox_write(g_base + TS_TPM_DATA_FIFO, g_cmd + sent, n).status != TS_MBOX_OK) return TpmStatus::kBusError;
    sent += n;
    if (!read_sts(&sts)) return TpmStatus::kBusError;
    if (sent < len && !(sts & TS_TPM_STS_EXPECT)) return TpmStatus::kMalformed;  // TPM took less than we have
  }
  if (sts & TS_TPM_STS_EXPECT) return TpmStatus::kMalformed;  // TPM wants more than the header said
  if (!write_sts(TS_TPM_STS_GO)) return TpmStatus::kBusError;
  // tpmGo starts the command; the STS reads after each FIFO write have
  // acknowledged every earlier event, so only the completion can wake us.
  s = wait_sts(TS_TPM_STS_DATA_AVAIL, TS_TPM_STS_DATA_AVAIL, timeout_ns, &sts, true);
  if (s != TpmStatus::kOk) return s;
  // Header first: it says how much follows.
  size_t got = 0, want = tpm2::kHeaderSize;
  while (got < want) {
    uint32_t b = burst(sts);
    size_t n = want - got;
    if (b && n > b) n = b;
    if (mbox_read(g_base + TS_TPM_DATA_FIFO, g_resp + got, n).status != TS_MBOX_OK) return TpmStatus::kBusError;
    got += n;
    if (got == tpm2::kHeaderSize) {
      tpm2::Header h;
      if (!tpm2::parse_header(g_resp, got, &h) || h.size < tpm2::kHeaderSize || h.size > sizeof g_resp)
        return TpmStatus::kMalformed;
      want = h.size;
    }
    if (got < want && !read_sts(&sts)) return TpmStatus::kBusError;
    if (got < want && !(sts & TS_TPM_STS_DATA_AVAIL)) return TpmStatus::kMalformed;  // shorter than its header
  }
  write_sts(TS_TPM_STS_COMMAND_READY);  // back to idle; the response is ours
  *resp_len = got;
  return TpmStatus::kOk;
}

}  // namespace

const char* tpm_status_text(TpmStatus s) {
  switch (s) {
    case TpmStatus::kOk:
      return "ok";
    case TpmStatus::kNoTpm:
      return "no TPM on this board";
    case TpmStatus::kNotReady:
      return "TPM not ready";
    case TpmStatus::kTimeout:
      return "TPM command timed out";
    case TpmStatus::kBusError:
      return "TPM bus error";
    case TpmStatus::kMalformed:
      return "malformed TPM response";
    case TpmStatus::kTpmError:
      return "TPM returned an error";
  }
  return "?";
}

uint32_t tpm_last_rc() { return g_rc; }

TpmStatus tpm_open(uint64_t wait_ns) {
  g_base = dev_base(TS_DEV_TPM);
  if (!g_base) return TpmStatus::kNoTpm;
  uint8_t a = 0;
  TpmStatus s = wait_for(
      read_access, [](uint8_t v) { return (v & TS_TPM_ACCESS_VALID) != 0; }, wait_ns, TpmStatus::kNotReady, &a);
  if (s != TpmStatus::kOk) return s;
  if (a & TS_TPM_ACCESS_ACTIVE_LOCALITY) return TpmStatus::kOk;
  if (!write_access(TS_TPM_ACCESS_REQUEST_USE)) return TpmStatus::kBusError;
  constexpr uint8_t kGranted = TS_TPM_ACCESS_VALID | TS_TPM_ACCESS_ACTIVE_LOCALITY;
  return wait_for(
      read_access, [](uint8_t v) { return (v & kGranted) == kGranted; }, kTimeoutA, TpmStatus::kNotReady, &a);
}

TpmStatus tpm_transact(const uint8_t* cmd, size_t len, const uint8_t** resp, size_t* resp_len, uint64_t timeout_ns) {
  if (!g_base) return TpmStatus::kNoTpm;
  if (len > sizeof g_cmd) return TpmStatus::kMalformed;
  for (int attempt = 0; attempt < 3; ++attempt) {
    TpmStatus s = exchange(cmd, len, resp_len, timeout_ns);
    if (s != TpmStatus::kOk) return s;
    tpm2::Header h;
    tpm2::parse_header(g_resp, *resp_len, &h);
    g_rc = h.code;
    if (h.code != tpm2::kRcRetry && h.code != tpm2::kRcYielded && h.code != tpm2::kRcTesting) break;
  }
  *resp = g_resp;
  return TpmStatus::kOk;
}

namespace {
// Runs the command in g_cmd and checks the response's framing and code.
TpmStatus run(size_t len, unsigned handles, tpm2::Response* r, uint64_t timeout_ns = kTimeoutB) {
  if (len == 0) return TpmStatus::kMalformed;
  const uint8_t* resp;
  size_t n;
  TpmStatus s = tpm_transact(g_cmd, len, &resp, &n, timeout_ns);
  if (s != TpmStatus::kOk) return s;
  if (!tpm2::parse_response(resp, n, handles, r)) return TpmStatus::kMalformed;
  g_rc = r->rc;
  return r->rc == tpm2::kRcSuccess ? TpmStatus::kOk : TpmStatus::kTpmError;
}
}  // namespace

TpmStatus tpm_startup_clear() {
  tpm2::Response r;
  return run(tpm2::cmd_startup(g_cmd, sizeof g_cmd, tpm2::kSuClear), 0, &r);
}

TpmStatus tpm_pcr_extend(uint32_t pcr, const uint8_t sha256[32]) {
  tpm2::Response r;
  return run(tpm2::cmd_pcr_extend(g_cmd, sizeof g_cmd, pcr, sha256), 0, &r);
}

TpmStatus tpm_pcr_read(uint32_t mask, tpm2::PcrValues* out) {
  tpm2::Response r;
  TpmStatus s = run(tpm2::cmd_pcr_read(g_cmd, sizeof g_cmd, mask), 0, &r);
  if (s != TpmStatus::kOk) return s;
  return tpm2::parse_pcr_read(r, out) ? TpmStatus::kOk : TpmStatus::kMalformed;
}

TpmStatus tpm_quote(uint32_t key, const uint8_t* nonce, size_t nonce_len, uint32_t mask, uint8_t* attest,
                    size_t attest_cap, size_t* attest_len, uint8_t* sig, size_t sig_cap, size_t* sig_len) {
  tpm2::Response r;
  TpmStatus s = run(tpm2::cmd_quote(g_cmd, sizeof g_cmd, key, nonce, nonce_len, mask), 0, &r, 30000 * kMs);
  if (s != TpmStatus::kOk) return s;
  tpm2::Quote q;
  if (!tpm2::parse_quote(r, &q) || q.attest_len > attest_cap || q.signature_len > sig_cap) return TpmStatus::kMalformed;
  memcpy(attest, q.attest, q.attest_len);
  *attest_len = q.attest_len;
  memcpy(sig, q.signature, q.signature_len);
  *sig_len = q.signature_len;
  return TpmStatus::kOk;
}

TpmStatus tpm_sign(uint32_t key, const uint8_t digest[32], uint8_t* sig, size_t sig_cap, size_t* sig_len) {
  tpm2::Response r;
  TpmStatus s = run(tpm2::cmd_sign(g_cmd, sizeof g_cmd, key, digest), 0, &r, 30000 * kMs);
  if (s != TpmStatus::kOk) return s;
  const uint8_t* p;
  size_t n;
  if (!tpm2::parse_sign(r, &p, &n) || n > sig_cap) return TpmStatus::kMalformed;
  memcpy(sig, p, n);
  *sig_len = n;
  return TpmStatus::kOk;
}

TpmStatus tpm_nv_read(uint32_t index, uint8_t* buf, size_t cap, size_t* len) {
  tpm2::Response r;
  TpmStatus s = run(tpm2::cmd_nv_read_public(g_cmd, sizeof g_cmd, index), 0, &r);
  if (s != TpmStatus::kOk) return s;
  tpm2::NvPublic pub;
  if (!tpm2::parse_nv_read_public(r, &pub) || pub.index != index || pub.data_size > cap) return TpmStatus::kMalformed;
  size_t done = 0;
  while (done < pub.data_size) {
    uint16_t n = uint16_t(pub.data_size - done > tpm2::kMaxNvChunk ? tpm2::kMaxNvChunk : pub.data_size - done);
    s = run(tpm2::cmd_nv_read(g_cmd, sizeof g_cmd, index, n, uint16_t(done)), 0, &r);
    if (s != TpmStatus::kOk) return s;
    const uint8_t* d;
    uint16_t got;
    if (!tpm2::parse_nv_read(r, &d, &got) || got != n) return TpmStatus::kMalformed;
    memcpy(buf + done, d, n);
    done += n;
  }
  *len = done;
  return TpmStatus::kOk;
}

bool sha256(const void* data, uint64_t len, uint8_t out[32]) {
  uint64_t base = dev_base(TS_DEV_CRYPTO);
  if (!base) return false;
  reg_write64(base + TS_CRYPTO_CTRL, TS_CRYPTO_CMD_SHA256);
  const uint64_t chunk = 16ull << 20;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (uint64_t done = 0; done < len; done += chunk) {
    uint64_t n = len - done < chunk ? len - done : chunk;
    if (mbox_write(base + TS_CRYPTO_DATA, p + done, n).status != TS_MBOX_OK) return false;
  }
  return mbox_read(base + TS_CRYPTO_DIGEST, out, 32).status == TS_MBOX_OK;
}

}  // namespace fw
