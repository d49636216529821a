#include "devkit/register_table.h"

#include <cstdio>
#include <stdexcept>

namespace trustsim {
namespace {

enum Kind { kUnknown, kWidth, kDirection };

uint64_t load_le(const uint8_t* p, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

void store_le(uint8_t* p, uint32_t n, uint64_t v) {
  for (uint32_t i = 0; i < n; ++i) p[i] = uint8_t(v >> (8 * i));
}

}  // namespace

std::string hex_text(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

void RegisterTable::add(const RegisterSpec& spec, Hook on_read, Hook on_write, Peek peek) {
  if (row(spec.offset))
    throw std::logic_error(std::string("register ") + spec.name + " at " + hex_text(spec.offset) + " twice");
  rows_.push_back({spec, std::move(on_read), std::move(on_write), std::move(peek), spec.reset});
}

RegisterTable::Row* RegisterTable::row(uint64_t offset) {
  for (Row& r : rows_)
    if (r.spec.offset == offset) return &r;
  return nullptr;
}

const RegisterTable::Row* RegisterTable::row(uint64_t offset) const {
  for (const Row& r : rows_)
    if (r.spec.offset == offset) return &r;
  return nullptr;
}

const RegisterSpec* RegisterTable::find(uint64_t offset) const {
  const Row* r = row(offset);
  return r ? &r->spec : nullptr;
}

bool RegisterTable::is_port(uint64_t offset) const {
  const Row* r = row(offset);
  return r && r->spec.width == 0;
}

uint64_t RegisterTable::value(uint64_t offset) const {
  const Row* r = row(offset);
  if (!r) return 0;
  return r->peek ? r->peek() : r->stored;
}

uint64_t RegisterTable::stored(uint64_t offset) const {
  const Row* r = row(offset);
  return r ? r->stored : 0;
}

void RegisterTable::set_stored(uint64_t offset, uint64_t v) {
  if (Row* r = row(offset)) r->stored = v;
}

void RegisterTable::reset() {
  for (Row& r : rows_) r.stored = r.spec.reset;
}

void RegisterTable::misuse(uint64_t offset, int kind, const std::string& what, tlm::tlm_generic_payload& gp) {
  if (report_ && reported_.insert({offset, kind}).second) report_(what);
  gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

const RegisterSpec* RegisterTable::access(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay, uint64_t offset) {
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  Row* r = row(offset);
  uint64_t len = gp.get_data_length();
  if (!r) {
    misuse(offset, kUnknown, "access to unknown " + what_ + " offset " + hex_text(offset), gp);
    return nullptr;
  }
  const RegisterSpec& s = r->spec;
  if (s.width ? len != s.width : (len == 0 || (s.max_len && len > s.max_len))) {
    std::string allowed = s.width ? std::to_string(s.width) + " bytes"
                                  : "1.." + (s.max_len ? std::to_string(s.max_len) : std::string("any")) + " bytes";
    misuse(offset, kWidth,
           std::string(s.name) + " accessed with " + std::to_string(len) + " bytes (it takes " + allowed + ")", gp);
    return nullptr;
  }
  if (gp.is_read() && s.access == RegAccess::kWriteOnly) {
    misuse(offset, kDirection, std::string("read of write-only register ") + s.name, gp);
    return nullptr;
  }
  if (gp.is_write() && s.access == RegAccess::kReadOnly) {
    misuse(offset, kDirection, std::string("write to read-only register ") + s.name, gp);
    return nullptr;
  }
  RegisterAccess a{gp, delay, s};
  bool scalar = s.width && s.width <= 8;
  if (gp.is_read()) {
    if (scalar) a.value = r->peek ? r->peek() : r->stored;
    if (r->on_read) r->on_read(a);
    if (scalar && gp.get_response_status() == tlm::TLM_OK_RESPONSE) store_le(gp.get_data_ptr(), s.width, a.value);
    return &s;
  }
  if (scalar) {
    a.value = load_le(gp.get_data_ptr(), s.width);
    // Writable bits take the written value, read-only bits keep theirs, and
    // a written 1 clears a write-1-to-clear bit.
    uint64_t next = (r->stored & ~s.writable) | (a.value & s.writable);
    if (s.w1c) next = (next & ~s.w1c) | (r->stored & s.w1c & ~a.value);
    r->stored = next;
  }
  if (r->on_write) r->on_write(a);
  return &s;
}

unsigned RegisterTable::debug_read(tlm::tlm_generic_payload& gp, uint64_t offset) const {
  const Row* r = row(offset);
  if (!r || !gp.is_read() || !r->spec.width || r->spec.width > 8 || gp.get_data_length() != r->spec.width ||
      r->spec.access == RegAccess::kWriteOnly)
    return 0;
  store_le(gp.get_data_ptr(), r->spec.width, r->peek ? r->peek() : r->stored);
  return r->spec.width;
}

}  // namespace trustsim
