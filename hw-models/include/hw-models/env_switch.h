#pragma once
// The on/off switches trustsim reads from the environment (TRUSTSIM_KEEP_
// TRANSLATIONS, TRUSTSIM_PIN_SLOTS, ...: docs/campaigns.md, docs/cosim-
// protocol.md), parsed in one place.
#include <initializer_list>
#include <string>

namespace trustsim {

// Unset or empty: `fallback`; "0": off; "1": on. Any other value is named
// once on stderr and the fallback holds, so a typo does not go unnoticed.
bool env_switch(const char* name, bool fallback);

// A setting with named values (TRUSTSIM_RAM_CLEAR: "in-place" or "punch"):
// unset or empty gives `fallback`; a value in `choices` is returned as is;
// any other value is named once on stderr, with the choices, and the
// fallback holds.
std::string env_choice(const char* name, std::initializer_list<const char*> choices, const char* fallback);

}  // namespace trustsim
