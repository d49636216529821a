// Files a run keeps outside the board state directory: the guest RAM file in
// /dev/shm and the run directory in /tmp (sockets, QEMU log). Both carry the
// owning trustsim's pid in their name; a run that was killed cannot remove
// them, so every new run sweeps those whose owner is gone.
#pragma once
#include <string>

namespace trustsim {

// Removes a file or a directory tree (symbolic links themselves, never
// what they point to), ignoring errors: `rm -rf` without starting a shell
// and rm, which every forked campaign run used to do.
void remove_tree(const std::string& path);

// Removes trustsim-<pid>-* files and trustsim-run-<pid>-* directories of
// dead pids from /dev/shm and /tmp.
void sweep_stale_run_files();

// SIGINT/SIGTERM: recorded here, acted on by the bridge at its next poll.
void install_interrupt_handlers();
int pending_interrupt();  // the signal number, or 0

}  // namespace trustsim
