#pragma once
// The on/off switches trustsim reads from the environment (TRUSTSIM_KEEP_
// TRANSLATIONS, TRUSTSIM_PIN_SLOTS, ...: docs/campaigns.md, docs/cosim-
// protocol.md), parsed in one place.
namespace trustsim {

// Unset or empty: `fallback`; "0": off; "1": on. Any other value is named
// once on stderr and the fallback holds, so a typo does not go unnoticed.
bool env_switch(const char* name, bool fallback);

}  // namespace trustsim
