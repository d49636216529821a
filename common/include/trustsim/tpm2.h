// TPM 2.0 command and response marshalling for the few commands trustsim
// uses, written once for the firmware driver (fwlib/tpm.cc), manufacturing,
// the host verifier and the tests. Freestanding: no heap, no exceptions.
// Every parser checks every length against the buffer it was given and
// fails (returns false) rather than read past it. Spec: docs/tpm.md.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::tpm2 {

// Structure tags, command codes, handles, algorithms (TPM 2.0 Part 2).
constexpr uint16_t kStNoSessions = 0x8001;
constexpr uint16_t kStSessions = 0x8002;
constexpr uint16_t kStAttestQuote = 0x8018;
constexpr uint16_t kStHashcheck = 0x8024;
constexpr uint32_t kGenerated = 0xFF544347;  // TPM_GENERATED_VALUE

constexpr uint32_t kCcNvUndefineSpace = 0x122;
constexpr uint32_t kCcEvictControl = 0x120;
constexpr uint32_t kCcNvDefineSpace = 0x12A;
constexpr uint32_t kCcCreatePrimary = 0x131;
constexpr uint32_t kCcNvWrite = 0x137;
constexpr uint32_t kCcSelfTest = 0x143;
constexpr uint32_t kCcStartup = 0x144;
constexpr uint32_t kCcShutdown = 0x145;
constexpr uint32_t kCcNvRead = 0x14E;
constexpr uint32_t kCcQuote = 0x158;
constexpr uint32_t kCcSign = 0x15D;
constexpr uint32_t kCcNvReadPublic = 0x169;
constexpr uint32_t kCcReadPublic = 0x173;
constexpr uint32_t kCcGetCapability = 0x17A;
constexpr uint32_t kCcGetRandom = 0x17B;
constexpr uint32_t kCcPcrRead = 0x17E;
constexpr uint32_t kCcReadClock = 0x181;
constexpr uint32_t kCcPcrExtend = 0x182;

constexpr uint32_t kRcSuccess = 0;
constexpr uint32_t kRcInitialize = 0x100;  // TPM not started (no Startup yet)
constexpr uint32_t kRcFailure = 0x101;
constexpr uint32_t kRcRetry = 0x922;
constexpr uint32_t kRcYielded = 0x908;
constexpr uint32_t kRcTesting = 0x90A;

constexpr uint32_t kRhOwner = 0x40000001;
constexpr uint32_t kRhNull = 0x40000007;
constexpr uint32_t kRsPw = 0x40000009;
constexpr uint32_t kRhEndorsement = 0x4000000B;
constexpr uint32_t kRhPlatform = 0x4000000C;

constexpr uint16_t kSuClear = 0;
constexpr uint16_t kSuState = 1;

constexpr uint16_t kAlgRsa = 0x0001;
constexpr uint16_t kAlgSha256 = 0x000B;
constexpr uint16_t kAlgNull = 0x0010;
constexpr uint16_t kAlgRsassa = 0x0014;
constexpr uint16_t kAlgAes = 0x0006;
constexpr uint16_t kAlgCfb = 0x0043;

// Where trustsim's manufacturing puts things (docs/tpm.md).
constexpr uint32_t kEkHandle = 0x81010001;    // TCG EK, RSA-2048 template L-1
constexpr uint32_t kSudiHandle = 0x81010010;  // SUDI signing key, RSA-2048 RSASSA-SHA256
constexpr uint32_t kNvSudiRoot = 0x01C10100;  // DER certificates
constexpr uint32_t kNvSudiCa = 0x01C10101;
constexpr uint32_t kNvSudiDevice = 0x01C10102;
constexpr uint32_t kNvEkCert = 0x01C00002;  // TCG's RSA EK certificate index (left empty)

constexpr size_t kHeaderSize = 10;
constexpr size_t kMaxNvChunk = 1024;  // MAX_NV_BUFFER_SIZE
constexpr size_t kSha256Len = 32;
constexpr size_t kMaxNonce = 64;  // TPM2B_DATA of a SHA-512 qualifyingData

// Big-endian writer into a caller's buffer; ok turns false on overflow and
// stays false.
struct Writer {
  uint8_t* buf;
  size_t cap;
  size_t pos = 0;
  bool ok = true;
  Writer(uint8_t* b, size_t c) : buf(b), cap(c) {}
  void u8(uint8_t v);
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void bytes(const void* p, size_t n);
  void tpm2b(const void* p, size_t n);  // u16 size + bytes
};

// Big-endian reader over a buffer; ok turns false on any overrun.
struct Reader {
  const uint8_t* p;
  size_t len;
  size_t pos = 0;
  bool ok = true;
  Reader(const uint8_t* b, size_t n) : p(b), len(n) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  const uint8_t* take(size_t n);  // nullptr (and ok = false) if fewer than n bytes remain
  // A TPM2B: its u16 size and a pointer to the bytes; fails if size > max.
  const uint8_t* tpm2b(uint16_t* n, size_t max);
  size_t remaining() const { return ok ? len - pos : 0; }
};

// A PCR selection for the SHA-256 bank: bit i = PCR i (0..23).
constexpr uint32_t pcr_bit(unsigned pcr) { return 1u << pcr; }

// ---- commands (return the command length, 0 if it does not fit) ----
size_t cmd_startup(uint8_t* buf, size_t cap, uint16_t su);
size_t cmd_shutdown(uint8_t* buf, size_t cap, uint16_t su);
size_t cmd_pcr_extend(uint8_t* buf, size_t cap, uint32_t pcr, const uint8_t sha256[32]);
size_t cmd_pcr_read(uint8_t* buf, size_t cap, uint32_t pcr_mask);
size_t cmd_quote(uint8_t* buf, size_t cap, uint32_t key, const uint8_t* nonce, size_t nonce_len, uint32_t pcr_mask);
size_t cmd_sign(uint8_t* buf, size_t cap, uint32_t key, const uint8_t sha256[32]);
size_t cmd_nv_read_public(uint8_t* buf, size_t cap, uint32_t index);
size_t cmd_nv_read(uint8_t* buf, size_t cap, uint32_t index, uint16_t size, uint16_t offset);
size_t cmd_read_public(uint8_t* buf, size_t cap, uint32_t handle);
// Manufacturing only.
size_t cmd_create_primary_ek(uint8_t* buf, size_t cap);
size_t cmd_create_primary_sudi(uint8_t* buf, size_t cap);
size_t cmd_evict_control(uint8_t* buf, size_t cap, uint32_t object, uint32_t persistent);
size_t cmd_nv_define_space(uint8_t* buf, size_t cap, uint32_t index, uint16_t size);
size_t cmd_nv_write(uint8_t* buf, size_t cap, uint32_t index, const uint8_t* data, uint16_t len, uint16_t offset);

// ---- responses ----
// The header of a command or response: tag, size, code.
struct Header {
  uint16_t tag;
  uint32_t size;
  uint32_t code;
};
bool parse_header(const uint8_t* buf, size_t len, Header* out);
// The command code of a command (0 if it is too short to have one).
uint32_t command_code(const uint8_t* cmd, size_t len);

// A checked response: `handles` response handles, then (if the tag says so)
// parameterSize, then the parameters. rc != 0 responses have no body.
struct Response {
  uint32_t rc;
  uint32_t handle;        // the first response handle, if any
  const uint8_t* params;  // parameter area
  size_t params_len;
};
// false: malformed (size field disagrees with len, bad tag, parameterSize
// past the end). A well-formed error response returns true with rc != 0.
bool parse_response(const uint8_t* buf, size_t len, unsigned handles, Response* out);

struct PcrValues {
  uint32_t count;
  uint8_t digest[8][32];  // in PCR order of the selection
};
bool parse_pcr_read(const Response& r, PcrValues* out);

// Quote: the TPMS_ATTEST bytes and the marshalled TPMT_SIGNATURE.
struct Quote {
  const uint8_t* attest;
  uint16_t attest_len;
  const uint8_t* signature;  // TPMT_SIGNATURE, as tpm2_checkquote -s reads it
  size_t signature_len;
};
bool parse_quote(const Response& r, Quote* out);
bool parse_sign(const Response& r, const uint8_t** sig, size_t* sig_len);

struct NvPublic {
  uint32_t index;
  uint32_t attributes;
  uint16_t data_size;
};
bool parse_nv_read_public(const Response& r, NvPublic* out);
bool parse_nv_read(const Response& r, const uint8_t** data, uint16_t* len);
// CreatePrimary / ReadPublic: the RSA modulus of the returned public area.
bool parse_rsa_public(const uint8_t* pub, size_t len, const uint8_t** modulus, uint16_t* modulus_len);
bool parse_create_primary(const Response& r, const uint8_t** modulus, uint16_t* modulus_len);
bool parse_read_public(const Response& r, const uint8_t** modulus, uint16_t* modulus_len);

// A TPMS_ATTEST of a quote, as the verifier needs it.
struct Attest {
  uint32_t magic;
  uint16_t type;
  const uint8_t* extra;  // qualifyingData (the nonce)
  uint16_t extra_len;
  uint64_t clock;
  uint32_t reset_count;
  uint32_t restart_count;
  uint8_t safe;
  uint64_t firmware_version;
  uint16_t pcr_hash;  // the selection's bank (one bank only)
  uint32_t pcr_mask;
  const uint8_t* pcr_digest;
  uint16_t pcr_digest_len;
};
bool parse_attest(const uint8_t* buf, size_t len, Attest* out);

struct Signature {
  uint16_t alg;
  uint16_t hash;
  const uint8_t* sig;
  uint16_t sig_len;
};
bool parse_signature(const uint8_t* buf, size_t len, Signature* out);

const char* command_name(uint32_t cc);  // "PCR_Extend", ... or nullptr
const char* rc_text(uint32_t rc);       // short text for the codes trustsim reports

}  // namespace trustsim::tpm2
