// Compiled for aarch64 by check_freestanding.sh: a firmware-style global
// Engine must be constant-initialized (no .init_array entry).
#include "cli/cli.h"

namespace {
using namespace trustsim::cli;
struct ConsoleOut final : Output {
  void write(const char*, size_t) override {}
};
struct OsHandler final : Handler {
  void execute(CommandId, const Args&, Context&) override {}
};
ConsoleOut g_out;
OsHandler g_handler;
Engine g_engine(g_out, g_handler);
}  // namespace

void probe_line(const char* line, size_t len) { g_engine.process_line(line, len); }
