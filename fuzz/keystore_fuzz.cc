// libFuzzer target: everything that reads NVRAM contents written by someone
// else: key storage (primary + backup), ROMmon variables, the startup-config
// blob. NVRAM is writable by any software, so none of it is trusted.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trustsim/keys.h"
#include "trustsim/romvars.h"
#include "trustsim/text_blob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace keys = trustsim::keys;
  static uint8_t primary[keys::kStoreRegionLen], backup[keys::kStoreRegionLen];
  static uint8_t vars[trustsim::romvars::kRegionSize];
  memset(primary, 0xFF, sizeof primary);
  memset(backup, 0xFF, sizeof backup);
  memset(vars, 0xFF, sizeof vars);
  size_t n = size < sizeof primary ? size : sizeof primary;
  memcpy(primary, data, n);
  if (size > n) memcpy(backup, data + n, size - n < sizeof backup ? size - n : sizeof backup);
  keys::Store out;
  keys::LoadResult r = keys::load(primary, backup, out);
  if (r.any_valid) {
    keys::add_key(out, out.keys[0]);
    keys::revoke(out, 2, 'A');
    static uint8_t again[keys::kStoreRegionLen];
    keys::encode_copy(out, again);
  }
  memcpy(vars, data, size < sizeof vars ? size : sizeof vars);
  static trustsim::romvars::Store s;
  trustsim::romvars::load(s, vars, sizeof vars);
  uint32_t cursor = 0;
  while (trustsim::romvars::next_entry(s, &cursor)) {
  }
  trustsim::romvars::set(s, "BOOT", "bootflash:x,1;");
  const char* text;
  uint32_t len;
  trustsim::text_blob::decode(data, size, &text, &len);
  return 0;
}
