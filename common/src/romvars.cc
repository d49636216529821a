#include "trustsim/romvars.h"

#include "trustsim/bytes.h"
#include "trustsim/crc32.h"

namespace trustsim::romvars {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool valid_name(const char* name, size_t* len) {
  size_t n = bounded_strlen(name, kMaxNameLen + 1);
  if (n == 0 || n > kMaxNameLen || !is_name_start(name[0])) return false;
  for (size_t i = 1; i < n; ++i)
    if (!is_name_char(name[i])) return false;
  *len = n;
  return true;
}

// Offset of the entry for `name` in s.data, or -1.
int64_t find(const Store& s, const char* name, size_t name_len) {
  uint32_t pos = 0;
  while (pos < s.data_len) {
    const char* e = s.data + pos;
    size_t elen = bounded_strlen(e, s.data_len - pos);
    if (elen > name_len && e[name_len] == '=' && __builtin_memcmp(e, name, name_len) == 0) return pos;
    pos += uint32_t(elen) + 1;
  }
  return -1;
}

void remove_at(Store& s, uint32_t pos) {
  size_t elen = bounded_strlen(s.data + pos, s.data_len - pos) + 1;
  __builtin_memmove(s.data + pos, s.data + pos + elen, s.data_len - pos - elen);
  s.data_len -= uint32_t(elen);
}

uint32_t slot_crc(const uint8_t* slot, uint32_t data_len) {
  uint8_t header[kHeaderSize];
  __builtin_memcpy(header, slot, kHeaderSize);
  store_le32(header + 20, 0);
  uint32_t crc = crc32(header, kHeaderSize);
  return crc32(slot + kHeaderSize, data_len, crc);
}

// Serial-number comparison, so generations may wrap.
bool newer(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }

}  // namespace

const char* status_text(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kBadName:
      return "variable name must be 1-31 characters of A-Z a-z 0-9 _, not starting with a digit";
    case Status::kBadValue:
      return "variable value must be at most 255 printable characters";
    case Status::kFull:
      return "ROMmon variable area is full";
    case Status::kNotFound:
      return "variable not set";
  }
  return "?";
}

const char* slot_state_text(SlotState s) {
  switch (s) {
    case SlotState::kValid:
      return "valid";
    case SlotState::kErased:
      return "erased";
    case SlotState::kBadMagic:
      return "bad magic";
    case SlotState::kBadVersion:
      return "unknown version";
    case SlotState::kBadLength:
      return "bad length";
    case SlotState::kBadCrc:
      return "checksum mismatch";
  }
  return "?";
}

void init_default(Store& s) {
  s.generation = 0;
  s.active_slot = -1;
  s.confreg = kDefaultConfreg;
  s.data_len = 0;
}

SlotState check_slot(const uint8_t* slot, size_t len) {
  if (len < kSlotSize) return SlotState::kBadLength;
  bool erased = true;
  for (uint32_t i = 0; i < kHeaderSize; ++i) erased &= (slot[i] == 0xFF || slot[i] == 0x00);
  uint32_t magic = load_le32(slot);
  if (magic != kMagic) return erased ? SlotState::kErased : SlotState::kBadMagic;
  if (load_le16(slot + 4) != kVersion || load_le16(slot + 6) != kHeaderSize) return SlotState::kBadVersion;
  uint32_t data_len = load_le32(slot + 12);
  if (data_len > kDataCapacity) return SlotState::kBadLength;
  if (data_len > 0 && slot[kHeaderSize + data_len - 1] != '\0') return SlotState::kBadLength;
  if (slot_crc(slot, data_len) != load_le32(slot + 20)) return SlotState::kBadCrc;
  return SlotState::kValid;
}

void load(Store& s, const uint8_t* region, size_t len) {
  init_default(s);
  int best = -1;
  uint32_t best_gen = 0;
  for (int i = 0; i < 2; ++i) {
    if (len < (i + 1) * size_t(kSlotSize)) break;
    const uint8_t* slot = region + i * kSlotSize;
    if (check_slot(slot, kSlotSize) != SlotState::kValid) continue;
    uint32_t gen = load_le32(slot + 8);
    if (best < 0 || newer(gen, best_gen)) {
      best = i;
      best_gen = gen;
    }
  }
  if (best < 0) return;
  const uint8_t* slot = region + best * kSlotSize;
  s.generation = best_gen;
  s.active_slot = best;
  s.confreg = uint16_t(load_le32(slot + 16));
  s.data_len = load_le32(slot + 12);
  __builtin_memcpy(s.data, slot + kHeaderSize, s.data_len);
}

const char* get(const Store& s, const char* name) {
  size_t nlen;
  if (!valid_name(name, &nlen)) return nullptr;
  int64_t pos = find(s, name, nlen);
  return pos < 0 ? nullptr : s.data + pos + nlen + 1;
}

Status set(Store& s, const char* name, const char* value) {
  size_t nlen;
  if (!valid_name(name, &nlen)) return Status::kBadName;
  size_t vlen = bounded_strlen(value, kMaxValueLen + 1);
  if (vlen > kMaxValueLen) return Status::kBadValue;
  for (size_t i = 0; i < vlen; ++i)
    if (uint8_t(value[i]) < 0x20 || uint8_t(value[i]) >= 0x7F) return Status::kBadValue;
  int64_t pos = find(s, name, nlen);
  size_t old_len = pos < 0 ? 0 : bounded_strlen(s.data + pos, s.data_len - pos) + 1;
  size_t need = nlen + 1 + vlen + 1;
  if (s.data_len - old_len + need > kDataCapacity) return Status::kFull;
  if (pos >= 0) remove_at(s, uint32_t(pos));
  char* e = s.data + s.data_len;
  __builtin_memcpy(e, name, nlen);
  e[nlen] = '=';
  __builtin_memcpy(e + nlen + 1, value, vlen);
  e[nlen + 1 + vlen] = '\0';
  s.data_len += uint32_t(need);
  return Status::kOk;
}

Status unset(Store& s, const char* name) {
  size_t nlen;
  if (!valid_name(name, &nlen)) return Status::kBadName;
  int64_t pos = find(s, name, nlen);
  if (pos < 0) return Status::kNotFound;
  remove_at(s, uint32_t(pos));
  return Status::kOk;
}

const char* next_entry(const Store& s, uint32_t* cursor) {
  if (*cursor >= s.data_len) return nullptr;
  const char* e = s.data + *cursor;
  *cursor += uint32_t(bounded_strlen(e, s.data_len - *cursor)) + 1;
  return e;
}

SlotImage serialize_next(const Store& s, uint8_t* slot) {
  uint32_t gen = s.generation + 1;
  int target = s.active_slot == 0 ? 1 : 0;
  store_le32(slot + 0, kMagic);
  store_le16(slot + 4, kVersion);
  store_le16(slot + 6, kHeaderSize);
  store_le32(slot + 8, gen);
  store_le32(slot + 12, s.data_len);
  store_le32(slot + 16, s.confreg);
  __builtin_memcpy(slot + kHeaderSize, s.data, s.data_len);
  store_le32(slot + 20, slot_crc(slot, s.data_len));
  return SlotImage{uint32_t(target) * kSlotSize, kHeaderSize + s.data_len, gen, target};
}

void mark_written(Store& s, const SlotImage& img) {
  s.generation = img.generation;
  s.active_slot = img.slot;
}

bool next_boot_entry(const char* boot, size_t* cursor, BootEntry* out) {
  if (!boot) return false;
  while (boot[*cursor]) {
    const char* e = boot + *cursor;
    size_t n = 0;
    while (e[n] && e[n] != ';') ++n;
    size_t path_len = 0;
    while (path_len < n && e[path_len] != ',') ++path_len;
    *cursor += n + (e[n] == ';' ? 1 : 0);
    ++out->index;
    if (path_len == 0) continue;
    out->path = e;
    out->len = path_len;
    return true;
  }
  return false;
}

bool copy_boot_path(const BootEntry& e, char* dst, size_t cap) {
  if (!cap) return false;
  if (e.len + 1 > cap) {
    dst[0] = '\0';
    return false;
  }
  __builtin_memcpy(dst, e.path, e.len);
  dst[e.len] = '\0';
  return true;
}

}  // namespace trustsim::romvars
