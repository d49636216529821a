// ts-mkimage: wraps a raw firmware binary in a trustsim image container
// (docs/image-format.md). Used by the build to package ROMmon.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "trustsim/crc32.h"
#include "trustsim/image.h"

namespace {

int usage() {
  fprintf(stderr,
          "usage: ts-mkimage --type rommon|os --version STR --platform NAME --platform-id N\n"
          "                  --load ADDR [--entry ADDR] INPUT.bin OUTPUT.img\n");
  return 2;
}

bool parse_num(const char* s, uint64_t* v) {
  char* end;
  errno = 0;
  *v = strtoull(s, &end, 0);
  return *s && !*end && errno == 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace img = trustsim::image;
  img::Header h{};
  std::string type, version, platform, in, out;
  uint64_t load = 0, entry = 0, pid = 0;
  bool have_load = false, have_entry = false;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "ts-mkimage: %s needs a value\n", name);
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--type") type = val("--type");
    else if (a == "--version") version = val("--version");
    else if (a == "--platform") platform = val("--platform");
    else if (a == "--platform-id") { if (!parse_num(val("--platform-id"), &pid)) return usage(); }
    else if (a == "--load") { if (!parse_num(val("--load"), &load)) return usage(); have_load = true; }
    else if (a == "--entry") { if (!parse_num(val("--entry"), &entry)) return usage(); have_entry = true; }
    else if (a.rfind("--", 0) == 0) { fprintf(stderr, "ts-mkimage: unknown option %s\n", a.c_str()); return usage(); }
    else pos.push_back(a);
  }
  if (pos.size() != 2 || !have_load || version.empty() || platform.empty()) return usage();
  if (type == "rommon") h.image_type = uint32_t(img::Type::kRommon);
  else if (type == "os") h.image_type = uint32_t(img::Type::kOs);
  else { fprintf(stderr, "ts-mkimage: --type must be rommon or os, not '%s'\n", type.c_str()); return 2; }
  if (version.size() >= img::kVersionLen || platform.size() >= img::kPlatformLen) {
    fprintf(stderr, "ts-mkimage: version (max %u) or platform (max %u) too long\n", img::kVersionLen - 1, img::kPlatformLen - 1);
    return 2;
  }
  std::ifstream f(pos[0], std::ios::binary);
  if (!f) { fprintf(stderr, "ts-mkimage: %s: cannot open\n", pos[0].c_str()); return 2; }
  std::vector<uint8_t> payload((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (payload.empty()) { fprintf(stderr, "ts-mkimage: %s: empty payload\n", pos[0].c_str()); return 2; }
  h.platform_id = uint32_t(pid);
  h.load_addr = load;
  h.entry = have_entry ? entry : load;
  h.payload_len = payload.size();
  h.payload_crc32 = trustsim::crc32(payload.data(), payload.size());
  strncpy(h.version, version.c_str(), sizeof h.version - 1);
  strncpy(h.platform, platform.c_str(), sizeof h.platform - 1);
  uint8_t header[img::kHeaderSize];
  img::write_header(h, header);
  img::Header check;
  if (img::parse_header(header, sizeof header, check) != img::Error::kOk) {
    fprintf(stderr, "ts-mkimage: %s\n", img::error_text(img::parse_header(header, sizeof header, check)));
    return 2;
  }
  std::ofstream o(pos[1], std::ios::binary | std::ios::trunc);
  o.write(reinterpret_cast<const char*>(header), sizeof header);
  o.write(reinterpret_cast<const char*>(payload.data()), std::streamsize(payload.size()));
  if (!o) { fprintf(stderr, "ts-mkimage: %s: write failed\n", pos[1].c_str()); return 2; }
  return 0;
}
