// ROMmon: bootflash: access and verified image booting.
#pragma once

namespace rommon {

void cmd_dir(const char* arg);
// Verifies and runs bootflash:NAME; returns only if it failed (after saying why).
bool boot_image(const char* path);
// Tries each entry of the BOOT variable in order.
void autoboot(const char* boot_var);

}  // namespace rommon
