// TPM 2.0 marshalling (docs/tpm.md). Big-endian throughout, as the TPM
// specification requires; every read is bounds-checked.
#include "trustsim/tpm2.h"

namespace trustsim::tpm2 {

void Writer::u8(uint8_t v) {
  if (!ok || pos + 1 > cap) {
    ok = false;
    return;
  }
  buf[pos++] = v;
}
void Writer::u16(uint16_t v) {
  u8(uint8_t(v >> 8));
  u8(uint8_t(v));
}
void Writer::u32(uint32_t v) {
  u16(uint16_t(v >> 16));
  u16(uint16_t(v));
}
void Writer::u64(uint64_t v) {
  u32(uint32_t(v >> 32));
  u32(uint32_t(v));
}
void Writer::bytes(const void* p, size_t n) {
  if (!ok || n > cap - pos) {
    ok = false;
    return;
  }
  const uint8_t* s = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) buf[pos + i] = s[i];
  pos += n;
}
void Writer::tpm2b(const void* p, size_t n) {
  if (n > 0xFFFF) {
    ok = false;
    return;
  }
  u16(uint16_t(n));
  bytes(p, n);
}

const uint8_t* Reader::take(size_t n) {
  if (!ok || n > len - pos) {
    ok = false;
    return nullptr;
  }
  const uint8_t* r = p + pos;
  pos += n;
  return r;
}
uint8_t Reader::u8() {
  const uint8_t* b = take(1);
  return b ? b[0] : 0;
}
uint16_t Reader::u16() {
  const uint8_t* b = take(2);
  return b ? uint16_t((b[0] << 8) | b[1]) : 0;
}
uint32_t Reader::u32() {
  const uint8_t* b = take(4);
  return b ? (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3] : 0;
}
uint64_t Reader::u64() {
  uint64_t hi = u32();
  return (hi << 32) | u32();
}
const uint8_t* Reader::tpm2b(uint16_t* n, size_t max) {
  uint16_t s = u16();
  if (!ok || s > max) {
    ok = false;
    *n = 0;
    return nullptr;
  }
  *n = s;
  const uint8_t* b = take(s);
  if (!b) *n = 0;
  return b ? b : (s == 0 && ok ? p + pos : nullptr);
}

namespace {

// Starts a command: tag, size (patched by finish), code.
void begin(Writer& w, uint16_t tag, uint32_t cc) {
  w.u16(tag);
  w.u32(0);
  w.u32(cc);
}
size_t finish(Writer& w) {
  if (!w.ok) return 0;
  uint32_t n = uint32_t(w.pos);
  w.buf[2] = uint8_t(n >> 24);
  w.buf[3] = uint8_t(n >> 16);
  w.buf[4] = uint8_t(n >> 8);
  w.buf[5] = uint8_t(n);
  return w.pos;
}
// One password session with an empty password (TPM_RS_PW).
void password_session(Writer& w) {
  w.u32(9);      // authorizationSize
  w.u32(kRsPw);  // sessionHandle
  w.u16(0);      // nonce
  w.u8(0);       // sessionAttributes
  w.u16(0);      // hmac (the password)
}
void pcr_selection(Writer& w, uint32_t mask) {
  w.u32(1);  // one bank
  w.u16(kAlgSha256);
  w.u8(3);
  w.u8(uint8_t(mask));
  w.u8(uint8_t(mask >> 8));
  w.u8(uint8_t(mask >> 16));
}
// TPML_PCR_SELECTION with one SHA-256 (or other) bank of up to 3 bytes.
bool read_selection(Reader& r, uint16_t* hash, uint32_t* mask) {
  uint32_t count = r.u32();
  if (!r.ok || count != 1) return false;
  *hash = r.u16();
  uint8_t n = r.u8();
  if (!r.ok || n < 1 || n > 4) return false;
  const uint8_t* b = r.take(n);
  if (!b) return false;
  *mask = 0;
  for (uint8_t i = 0; i < n && i < 3; ++i) *mask |= uint32_t(b[i]) << (8 * i);
  if (n == 4 && b[3]) return false;
  return true;
}
void null_sig_scheme(Writer& w) { w.u16(kAlgNull); }

// TPMT_PUBLIC of an RSA-2048 key.
void rsa_public(Writer& w, uint32_t attributes, const uint8_t* policy, size_t policy_len, bool aes_cfb, uint16_t scheme,
                uint16_t unique_len) {
  Writer inner(w.buf + w.pos + 2, w.ok ? w.cap - w.pos - 2 : 0);
  if (w.cap - w.pos < 2) inner.ok = false;
  inner.u16(kAlgRsa);
  inner.u16(kAlgSha256);
  inner.u32(attributes);
  inner.tpm2b(policy, policy_len);
  if (aes_cfb) {
    inner.u16(kAlgAes);
    inner.u16(128);
    inner.u16(kAlgCfb);
  } else {
    inner.u16(kAlgNull);
  }
  inner.u16(scheme);
  if (scheme != kAlgNull) inner.u16(kAlgSha256);
  inner.u16(2048);
  inner.u32(0);  // default exponent
  inner.u16(unique_len);
  for (uint16_t i = 0; i < unique_len; ++i) inner.u8(0);
  if (!inner.ok) {
    w.ok = false;
    return;
  }
  w.u16(uint16_t(inner.pos));
  w.pos += inner.pos;
}

size_t create_primary(uint8_t* buf, size_t cap, uint32_t attributes, const uint8_t* policy, size_t policy_len,
                      bool aes_cfb, uint16_t scheme, uint16_t unique_len) {
  Writer w(buf, cap);
  begin(w, kStSessions, kCcCreatePrimary);
  w.u32(kRhEndorsement);
  password_session(w);
  w.u16(4);  // TPM2B_SENSITIVE_CREATE: empty userAuth, empty data
  w.u16(0);
  w.u16(0);
  rsa_public(w, attributes, policy, policy_len, aes_cfb, scheme, unique_len);
  w.u16(0);  // outsideInfo
  w.u32(0);  // creationPCR: none
  return finish(w);
}

}  // namespace

size_t cmd_startup(uint8_t* buf, size_t cap, uint16_t su) {
  Writer w(buf, cap);
  begin(w, kStNoSessions, kCcStartup);
  w.u16(su);
  return finish(w);
}

size_t cmd_shutdown(uint8_t* buf, size_t cap, uint16_t su) {
  Writer w(buf, cap);
  begin(w, kStNoSessions, kCcShutdown);
  w.u16(su);
  return finish(w);
}

size_t cmd_pcr_extend(uint8_t* buf, size_t cap, uint32_t pcr, const uint8_t sha256[32]) {
  Writer w(buf, cap);
  begin(w, kStSessions, kCcPcrExtend);
  w.u32(pcr);
  password_session(w);
  w.u32(1);  // TPML_DIGEST_VALUES: one digest
  w.u16(kAlgSha256);
  w.bytes(sha256, kSha256Len);
  return finish(w);
}

size_t cmd_pcr_read(uint8_t* buf, size_t cap, uint32_t pcr_mask) {
  Writer w(buf, cap);
  begin(w, kStNoSessions, kCcPcrRead);
  pcr_selection(w, pcr_mask);
  return finish(w);
}

size_t cmd_quote(uint8_t* buf, size_t cap, uint32_t key, const uint8_t* nonce, size_t nonce_len, uint32_t pcr_mask) {
  if (nonce_len > kMaxNonce) return 0;
  Writer w(buf, cap);
  begin(w, kStSessions, kCcQuote);
  w.u32(key);
  password_session(w);
  w.tpm2b(nonce, nonce_len);
  null_sig_scheme(w);  // the key's own scheme
  pcr_selection(w, pcr_mask);
  return finish(w);
}

size_t cmd_sign(uint8_t* buf, size_t cap, uint32_t key, const uint8_t sha256[32]) {
  Writer w(buf, cap);
  begin(w, kStSessions, kCcSign);
  w.u32(key);
  password_session(w);
  w.tpm2b(sha256, kSha256Len);
  null_sig_scheme(w);
  w.u16(kStHashcheck);  // NULL ticket: allowed for an unrestricted key
  w.u32(kRhNull);
  w.u16(0);
  return finish(w);
}

size_t cmd_nv_read_public(uint8_t* buf, size_t cap, uint32_t index) {
  Writer w(buf, cap);
  begin(w, kStNoSessions, kCcNvReadPublic);
  w.u32(index);
  return finish(w);
}

size_t cmd_nv_read(uint8_t* buf, size_t cap, uint32_t index, uint16_t size, uint16_t offset) {
  Writer w(buf, cap);
  begin(w, kStSessions, kCcNvRead);
  w.u32(index);  // authHandle: the index itself (TPMA_NV_AUTHREAD)
  w.u32(index);
  password_session(w);
  w.u16(size);
  w.u16(offset);
  return finish(w);
}

size_t cmd_read_public(uint8_t* buf, size_t cap, uint32_t handle) {
  Writer w(buf, cap);
  begin(w, kStNoSessions, kCcReadPublic);
  w.u32(handle);
  return finish(w);
}

size_t cmd_create_primary_ek(uint8_t* buf, size_t cap) {
  // TCG EK Credential Profile, RSA 2048 template (L-1): PolicyA, AES-128-CFB.
  static const uint8_t kPolicyA[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC,
                                       0x8D, 0x46, 0xA5, 0xD7, 0x24, 0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52,
                                       0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};
  return create_primary(buf, cap, 0x000300B2, kPolicyA, sizeof kPolicyA, true, kAlgNull, 256);
}

size_t cmd_create_primary_sudi(uint8_t* buf, size_t cap) {
  // fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | noDA | sign
  return create_primary(buf, cap, 0x00040472, nullptr, 0, false, kAlgRsassa, 0);
}

size_t cmd_evict_control(uint8_t* buf, size_t cap, uint32_t object, uint32_t persistent) {
  Writer w(buf, cap);
  begin(w, kStSessions, kCcEvictControl);
  w.u32(kRhOwner);
  w.u32(object);
  password_session(w);
  w.u32(persistent);
  return finish(w);
}

size_t cmd_nv_define_space(uint8_t* buf, size_t cap, uint32_t index, uint16_t size) {
  Writer w(buf, cap);
  begin(w, kStSessions, kCcNvDefineSpace);
  w.u32(kRhOwner);
  password_session(w);
  w.u16(0);   // auth: empty
  w.u16(14);  // TPM2B_NV_PUBLIC
  w.u32(index);
  w.u16(kAlgSha256);
  // OWNERWRITE | OWNERREAD | AUTHREAD | NO_DA
  w.u32(0x00000002u | 0x00020000u | 0x00040000u | 0x02000000u);
  w.u16(0);  // authPolicy
  w.u16(size);
  return finish(w);
}

size_t cmd_nv_write(uint8_t* buf, size_t cap, uint32_t index, const uint8_t* data, uint16_t len, uint16_t offset) {
  if (len > kMaxNvChunk) return 0;
  Writer w(buf, cap);
  begin(w, kStSessions, kCcNvWrite);
  w.u32(kRhOwner);
  w.u32(index);
  password_session(w);
  w.tpm2b(data, len);
  w.u16(offset);
  return finish(w);
}

bool parse_header(const uint8_t* buf, size_t len, Header* out) {
  Reader r(buf, len);
  out->tag = r.u16();
  out->size = r.u32();
  out->code = r.u32();
  return r.ok;
}

uint32_t command_code(const uint8_t* cmd, size_t len) {
  Header h;
  return parse_header(cmd, len, &h) ? h.code : 0;
}

bool parse_response(const uint8_t* buf, size_t len, unsigned handles, Response* out) {
  Header h;
  if (!parse_header(buf, len, &h) || h.size != len) return false;
  if (h.tag != kStNoSessions && h.tag != kStSessions) return false;
  out->rc = h.code;
  out->handle = 0;
  out->params = nullptr;
  out->params_len = 0;
  if (h.code != kRcSuccess) return len == kHeaderSize && h.tag == kStNoSessions;
  Reader r(buf, len);
  r.take(kHeaderSize);
  for (unsigned i = 0; i < handles; ++i) {
    uint32_t hd = r.u32();
    if (i == 0) out->handle = hd;
  }
  size_t plen = r.remaining();
  if (h.tag == kStSessions) {
    uint32_t ps = r.u32();
    if (!r.ok || ps > r.remaining()) return false;
    plen = ps;  // the session area follows; not needed
  }
  if (!r.ok) return false;
  out->params = buf + r.pos;
  out->params_len = plen;
  return true;
}

bool parse_pcr_read(const Response& resp, PcrValues* out) {
  Reader r(resp.params, resp.params_len);
  r.u32();  // pcrUpdateCounter
  uint16_t hash;
  uint32_t mask;
  if (!read_selection(r, &hash, &mask) || hash != kAlgSha256) return false;
  uint32_t count = r.u32();
  if (!r.ok || count > 8) return false;
  uint32_t want = 0;
  for (uint32_t m = mask; m; m &= m - 1) ++want;
  if (count != want) return false;
  out->count = count;
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t n;
    const uint8_t* d = r.tpm2b(&n, 64);
    if (!d || n != kSha256Len) return false;
    for (size_t k = 0; k < kSha256Len; ++k) out->digest[i][k] = d[k];
  }
  return r.ok;
}

bool parse_signature(const uint8_t* buf, size_t len, Signature* out) {
  Reader r(buf, len);
  out->alg = r.u16();
  if (!r.ok) return false;
  if (out->alg != kAlgRsassa) return false;  // the only scheme trustsim's keys use
  out->hash = r.u16();
  out->sig = r.tpm2b(&out->sig_len, 512);
  return r.ok && out->sig && r.remaining() == 0;
}

namespace {
// Length of a marshalled RSASSA TPMT_SIGNATURE at the start of r.
bool signature_span(Reader& r, const uint8_t** start, size_t* len) {
  size_t begin_pos = r.pos;
  uint16_t alg = r.u16();
  if (!r.ok || alg != kAlgRsassa) return false;
  r.u16();
  uint16_t n;
  if (!r.tpm2b(&n, 512) && n) return false;
  if (!r.ok) return false;
  *start = r.p + begin_pos;
  *len = r.pos - begin_pos;
  return true;
}
}  // namespace

bool parse_quote(const Response& resp, Quote* out) {
  Reader r(resp.params, resp.params_len);
  out->attest = r.tpm2b(&out->attest_len, 1024);
  if (!out->attest || !out->attest_len) return false;
  return signature_span(r, &out->signature, &out->signature_len) && r.remaining() == 0;
}

bool parse_sign(const Response& resp, const uint8_t** sig, size_t* sig_len) {
  Reader r(resp.params, resp.params_len);
  return signature_span(r, sig, sig_len) && r.remaining() == 0;
}

bool parse_nv_read_public(const Response& resp, NvPublic* out) {
  Reader r(resp.params, resp.params_len);
  uint16_t size = r.u16();
  size_t start = r.pos;
  out->index = r.u32();
  r.u16();  // nameAlg
  out->attributes = r.u32();
  uint16_t pn;
  r.tpm2b(&pn, 64);
  out->data_size = r.u16();
  if (!r.ok || r.pos - start != size) return false;
  uint16_t nn;
  r.tpm2b(&nn, 68);  // nvName
  return r.ok;
}

bool parse_nv_read(const Response& resp, const uint8_t** data, uint16_t* len) {
  Reader r(resp.params, resp.params_len);
  *data = r.tpm2b(len, kMaxNvChunk);
  return r.ok && *data && r.remaining() == 0;
}

bool parse_rsa_public(const uint8_t* pub, size_t len, const uint8_t** modulus, uint16_t* modulus_len) {
  Reader r(pub, len);
  if (r.u16() != kAlgRsa) return false;
  r.u16();  // nameAlg
  r.u32();  // attributes
  uint16_t pn;
  r.tpm2b(&pn, 64);
  uint16_t sym = r.u16();
  if (sym != kAlgNull) {
    r.u16();
    r.u16();
  }
  uint16_t scheme = r.u16();
  if (scheme != kAlgNull) r.u16();
  uint16_t bits = r.u16();
  uint32_t exponent = r.u32();
  if (!r.ok || bits != 2048 || (exponent != 0 && exponent != 65537)) return false;
  *modulus = r.tpm2b(modulus_len, 512);
  return r.ok && *modulus && *modulus_len == 256;
}

bool parse_create_primary(const Response& resp, const uint8_t** modulus, uint16_t* modulus_len) {
  Reader r(resp.params, resp.params_len);
  uint16_t n;
  const uint8_t* pub = r.tpm2b(&n, 1024);
  return pub && parse_rsa_public(pub, n, modulus, modulus_len);
}

bool parse_read_public(const Response& resp, const uint8_t** modulus, uint16_t* modulus_len) {
  return parse_create_primary(resp, modulus, modulus_len);  // outPublic comes first in both
}

bool parse_attest(const uint8_t* buf, size_t len, Attest* out) {
  Reader r(buf, len);
  out->magic = r.u32();
  out->type = r.u16();
  uint16_t nn;
  r.tpm2b(&nn, 68);  // qualifiedSigner
  out->extra = r.tpm2b(&out->extra_len, kMaxNonce);
  out->clock = r.u64();
  out->reset_count = r.u32();
  out->restart_count = r.u32();
  out->safe = r.u8();
  out->firmware_version = r.u64();
  if (!r.ok || out->type != kStAttestQuote) return false;
  if (!read_selection(r, &out->pcr_hash, &out->pcr_mask)) return false;
  out->pcr_digest = r.tpm2b(&out->pcr_digest_len, 64);
  return r.ok && out->pcr_digest && r.remaining() == 0;
}

const char* command_name(uint32_t cc) {
  switch (cc) {
    case kCcEvictControl:
      return "EvictControl";
    case kCcNvUndefineSpace:
      return "NV_UndefineSpace";
    case kCcNvDefineSpace:
      return "NV_DefineSpace";
    case kCcCreatePrimary:
      return "CreatePrimary";
    case kCcNvWrite:
      return "NV_Write";
    case kCcSelfTest:
      return "SelfTest";
    case kCcStartup:
      return "Startup";
    case kCcShutdown:
      return "Shutdown";
    case kCcNvRead:
      return "NV_Read";
    case kCcQuote:
      return "Quote";
    case kCcSign:
      return "Sign";
    case kCcNvReadPublic:
      return "NV_ReadPublic";
    case kCcReadPublic:
      return "ReadPublic";
    case kCcGetCapability:
      return "GetCapability";
    case kCcGetRandom:
      return "GetRandom";
    case kCcPcrRead:
      return "PCR_Read";
    case kCcReadClock:
      return "ReadClock";
    case kCcPcrExtend:
      return "PCR_Extend";
    default:
      return nullptr;
  }
}

const char* rc_text(uint32_t rc) {
  switch (rc) {
    case kRcSuccess:
      return "success";
    case kRcInitialize:
      return "TPM_RC_INITIALIZE (no Startup yet)";
    case kRcFailure:
      return "TPM_RC_FAILURE (failure mode)";
    case kRcRetry:
      return "TPM_RC_RETRY";
    case kRcYielded:
      return "TPM_RC_YIELDED";
    case kRcTesting:
      return "TPM_RC_TESTING";
    default:
      return "TPM error";
  }
}

}  // namespace trustsim::tpm2
