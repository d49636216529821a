// Firmware driver for the board's TPM (tpm-sim): the TIS/PTP FIFO protocol
// over the mailbox (locality 0), with the timeouts of the PTP spec, and the
// handful of TPM 2.0 commands the boot chain and the OS use. Marshalling is
// common/tpm2.h. No heap: one static command and one response buffer.
// docs/tpm.md.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "trustsim/tpm2.h"

namespace fw {

enum class TpmStatus : uint32_t {
  kOk = 0,
  kNoTpm,      // the board has no TPM
  kNotReady,   // the TPM has not finished its power-on init, or did not grant the locality
  kTimeout,    // a command did not complete in time
  kBusError,   // a mailbox transaction failed
  kMalformed,  // the response did not parse
  kTpmError,   // the TPM answered with a non-zero response code (last_rc())
};
const char* tpm_status_text(TpmStatus s);

// Finds the TPM and takes locality 0; waits at most `wait_ns` for the
// TPM's power-on init (0 = do not wait).
TpmStatus tpm_open(uint64_t wait_ns);
uint32_t tpm_last_rc();

// One command/response exchange. `resp` points into the driver's buffer
// and stays valid until the next call. TPM_RC_RETRY is retried.
TpmStatus tpm_transact(const uint8_t* cmd, size_t len, const uint8_t** resp, size_t* resp_len, uint64_t timeout_ns);

TpmStatus tpm_startup_clear();
TpmStatus tpm_pcr_extend(uint32_t pcr, const uint8_t sha256[32]);
TpmStatus tpm_pcr_read(uint32_t mask, trustsim::tpm2::PcrValues* out);
// Quote over `mask` with `nonce`; copies the TPMS_ATTEST and the
// TPMT_SIGNATURE into the caller's buffers.
TpmStatus tpm_quote(uint32_t key, const uint8_t* nonce, size_t nonce_len, uint32_t mask, uint8_t* attest,
                    size_t attest_cap, size_t* attest_len, uint8_t* sig, size_t sig_cap, size_t* sig_len);
TpmStatus tpm_sign(uint32_t key, const uint8_t digest[32], uint8_t* sig, size_t sig_cap, size_t* sig_len);
// Reads a whole NV index into buf.
TpmStatus tpm_nv_read(uint32_t index, uint8_t* buf, size_t cap, size_t* len);

// SHA-256 with the crypto engine (measurements); false if it failed.
bool sha256(const void* data, uint64_t len, uint8_t out[32]);

}  // namespace fw
