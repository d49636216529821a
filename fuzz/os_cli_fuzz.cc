// libFuzzer target: the OS image's CLI engine (os-stub/cli/src/cli.cc), fed
// what a console user types. The input is split into lines on '\n'; every
// line goes through Engine::process_line, so `?` help, abbreviations, modes
// (enable / configure terminal / end / exit), hostname changes and every
// command's argument parsing are reached. The handler records each call,
// checks that every argument text it is given is NUL-terminated within
// kMaxLine characters, and looks the arguments up the way the OS handlers do
// (find/text/number, split_url for URLs). Output is discarded; anything else
// is left to the sanitizers.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

namespace {

namespace cli = trustsim::cli;

class NullOutput final : public cli::Output {
 public:
  void write(const char* data, size_t len) override {
    if (len) bytes += uint8_t(data[0]) + uint8_t(data[len - 1]);  // touch both ends
  }
  size_t bytes = 0;
};

[[noreturn]] void finding(const char* what, cli::CommandId id, size_t i) {
  fprintf(stderr, "fuzz-os-cli: %s (command \"%s\", argument %zu)\n", what, cli::command_name(id), i);
  abort();
}

class RecordingHandler final : public cli::Handler {
 public:
  void execute(cli::CommandId id, const cli::Args& args, cli::Context& ctx) override {
    ++calls;
    last = id;
    if (args.count > cli::kMaxArgs) finding("Args::count beyond kMaxArgs", id, args.count);
    for (size_t i = 0; i < args.count; ++i) {
      const cli::Arg& a = args.items[i];
      if (!a.text) finding("argument text is null", id, i);
      if (strnlen(a.text, cli::kMaxLine + 1) > cli::kMaxLine)
        finding("argument text not NUL-terminated within kMaxLine", id, i);
      if (args.find(a.tag) == nullptr) finding("Args::find misses a recorded tag", id, i);
      args.text(a.tag);
      args.number(a.tag, 7);
      if (a.type == cli::TokenType::kUrl) {
        cli::Url u;
        if (cli::split_url(a.text, &u)) {
          // Spans must lie inside the text.
          size_t n = strlen(a.text);
          const cli::Span* spans[] = {&u.user, &u.password, &u.host, &u.path};
          for (const cli::Span* s : spans)
            if (s->size && (s->data < a.text || s->data + s->size > a.text + n))
              finding("URL span outside the text", id, i);
          cli::fs_prefix(u.fs);
          cli::is_remote(u.fs);
        }
      }
    }
    if (cli::command_name(id) == nullptr) finding("command without a name", id, 0);
    ctx.print("ok\n");
    ctx.engine().prompt();
  }
  size_t calls = 0;
  cli::CommandId last = cli::CommandId::kNone;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char why[256];
  if (!cli::check_grammar(cli::kDefaultGrammar, why, sizeof why)) {
    fprintf(stderr, "default grammar unsound: %s\n", why);
    abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NullOutput out;
  RecordingHandler handler;
  cli::Engine engine(out, handler);
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  while (p < end) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', size_t(end - p)));
    size_t len = nl ? size_t(nl - p) : size_t(end - p);
    // Each line in its own heap block, so ASan sees reads past its end.
    char* line = static_cast<char*>(malloc(len ? len : 1));
    memcpy(line, p, len);
    cli::LineResult r = engine.process_line(line, len);
    if (r.help_shown && r.keep > len) finding("help keeps more than the line", cli::CommandId::kNone, r.keep);
    free(line);
    engine.write_prompt();
    if (handler.last == cli::CommandId::kLogout) engine.reset();
    p += len + 1;
  }
  return 0;
}
