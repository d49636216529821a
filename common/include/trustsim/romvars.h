// ROMmon variable store in NVRAM: two slots, generation numbers, CRC-32.
// Format in docs/nvram-layout.md. Freestanding: no heap, no libc beyond
// the compiler builtins, so ROMmon, the OS image and host tools share it.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::romvars {

constexpr uint32_t kMagic = 0x52415652u;  // "RVAR"
constexpr uint16_t kVersion = 1;
constexpr uint32_t kHeaderSize = 24;
constexpr uint32_t kSlotSize = 2048;
constexpr uint32_t kRegionSize = 2 * kSlotSize;  // at NVRAM offset 0
constexpr uint32_t kDataCapacity = kSlotSize - kHeaderSize;
constexpr uint32_t kMaxNameLen = 31;
constexpr uint32_t kMaxValueLen = 255;
constexpr uint16_t kDefaultConfreg = 0x2102;

enum class Status {
  kOk,
  kBadName,   // empty, too long, or not [A-Za-z_][A-Za-z0-9_]*
  kBadValue,  // too long or contains a control character
  kFull,      // no room left in the slot
  kNotFound,
};
const char* status_text(Status s);

struct Store {
  uint32_t generation;  // generation of the slot the contents came from
  int active_slot;      // 0 or 1; -1 when neither slot was valid
  uint16_t confreg;
  uint32_t data_len;
  char data[kDataCapacity];  // "NAME=value\0" entries, back to back
};

// Fresh, empty store with the default config register.
void init_default(Store& s);

// Why a slot was rejected, for diagnostics (board inspect, ROMmon messages).
enum class SlotState { kValid, kErased, kBadMagic, kBadVersion, kBadLength, kBadCrc };
SlotState check_slot(const uint8_t* slot, size_t len);
const char* slot_state_text(SlotState s);

// Loads from the whole region (kRegionSize bytes). Picks the valid slot with
// the newest generation; with none valid, returns the default store.
void load(Store& s, const uint8_t* region, size_t len);

// Looks a variable up; returns its value (NUL-terminated inside the store)
// or nullptr.
const char* get(const Store& s, const char* name);

Status set(Store& s, const char* name, const char* value);
Status unset(Store& s, const char* name);

// Walks the entries: call with *cursor = 0 until it returns nullptr.
// Each result is "NAME=value", NUL-terminated.
const char* next_entry(const Store& s, uint32_t* cursor);

// The BOOT variable is a boot list, "PATH,N;PATH,N;..." (N is a retry
// count ROMmon ignores). next_boot_entry() walks it: call with *cursor = 0
// and a zeroed BootEntry, passing both again, until it returns false. Each entry's path is the text before its ',' (or
// its ';' / the end when there is no count); entries with an empty path
// (";;", ",1;") are skipped. The path points into `boot` and is not
// NUL-terminated: copy_boot_path() copies it, false when it does not fit
// in `cap` bytes with its NUL (dst then holds "").
struct BootEntry {
  const char* path;
  size_t len;
  uint32_t index;  // 1-based position in the list, counting skipped entries
};
bool next_boot_entry(const char* boot, size_t* cursor, BootEntry* out);
bool copy_boot_path(const BootEntry& e, char* dst, size_t cap);

// Prepares the next generation: fills `slot` (kSlotSize bytes) and returns
// the NVRAM offset to write it to (the slot not holding the current copy)
// and the number of bytes worth writing (header + data). The store is not
// changed: call mark_written() once the NVRAM write succeeded, so a failed
// write never retargets the slot that holds the last good copy.
struct SlotImage {
  uint32_t nvram_offset;
  uint32_t write_len;
  uint32_t generation;
  int slot;
};
SlotImage serialize_next(const Store& s, uint8_t* slot);
void mark_written(Store& s, const SlotImage& img);

}  // namespace trustsim::romvars
