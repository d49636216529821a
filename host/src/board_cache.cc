#include "host/board_cache.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <libtpms/tpm_library.h>
#include <link.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "devkit/state_file.h"
#include "hw-models/run_files.h"

namespace trustsim {
namespace {

constexpr char kListName[] = "cache-files";  // an entry's file list, written last

class Hasher {
 public:
  Hasher() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("board cache: cannot start SHA-256");
  }
  // Every field is length-prefixed, so two different field lists never
  // hash the same bytes.
  void field(const void* data, size_t len) {
    uint64_t n = len;
    EVP_DigestUpdate(ctx_.get(), &n, sizeof n);
    EVP_DigestUpdate(ctx_.get(), data, len);
  }
  void field(const std::string& s) { field(s.data(), s.size()); }
  void file(const std::string& path) {
    std::vector<uint8_t> d = read_file(path);
    field(d.data(), d.size());
  }
  std::string hex() {
    uint8_t md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &n);
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += {digits[md[i] >> 4], digits[md[i] & 15]};
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// The GNU build id of every object loaded (the program, libtpms, OpenSSL,
// libstdc++, ...): any change to code manufacturing runs changes one.
struct BuildIds {
  std::vector<std::pair<std::string, std::string>> ids;
  bool complete = true;
};

std::string build_id(const dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    size_t align = ph.p_align == 8 ? 8 : 4;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = p + ph.p_memsz;
    while (size_t(end - p) >= sizeof(ElfW(Nhdr))) {
      const auto* nh = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const uint8_t* name = p + sizeof(ElfW(Nhdr));
      const uint8_t* desc = name + ((nh->n_namesz + align - 1) & ~(align - 1));
      if (desc > end || size_t(end - desc) < nh->n_descsz) break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0)
        return std::string(reinterpret_cast<const char*>(desc), nh->n_descsz);
      p = desc + ((nh->n_descsz + align - 1) & ~(align - 1));
    }
  }
  return "";
}

int collect_build_id(dl_phdr_info* info, size_t, void* data) {
  auto* b = static_cast<BuildIds*>(data);
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.rfind("linux-vdso", 0) == 0) return 0;  // the kernel's, runs no manufacturing code
  std::string id = build_id(info);
  if (id.empty()) b->complete = false;
  b->ids.emplace_back(name, id);
  return 0;
}

// Regular files of a directory, sorted.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) throw std::runtime_error(dir + ": cannot list: " + strerror(errno));
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    struct stat st;
    if (n != "." && n != ".." && stat((dir + "/" + n).c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void mkdirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/') {
      std::string p = path.substr(0, i);
      if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw std::runtime_error(p + ": " + strerror(errno));
    }
}

// Copies an entry into `dir` by its file list: an entry being pruned
// meanwhile makes a copy fail, never come out short.
void copy_from_entry(const std::string& entry, const std::string& dir) {
  std::vector<uint8_t> list = read_file(entry + "/" + kListName);
  std::string names(list.begin(), list.end());
  size_t pos = 0, copied = 0;
  while (pos < names.size()) {
    size_t nl = names.find('\n', pos);
    if (nl == std::string::npos) throw std::runtime_error(entry + ": truncated file list");
    std::string n = names.substr(pos, nl - pos);
    pos = nl + 1;
    copy_file_sparse(entry + "/" + n, dir + "/" + n);
    ++copied;
  }
  if (copied == 0) throw std::runtime_error(entry + ": empty file list");
  utimensat(AT_FDCWD, entry.c_str(), nullptr, 0);  // most recently used
}

void store_entry(const std::string& cache, const std::string& key, const std::string& dir) {
  mkdirs(cache);
  std::string tmp = cache + "/" + key + ".tmp-" + std::to_string(getpid());
  remove_tree(tmp);
  if (mkdir(tmp.c_str(), 0755) != 0) throw std::runtime_error(tmp + ": " + strerror(errno));
  try {
    std::string list;
    for (const std::string& n : files_in(dir)) {
      copy_file_sparse(dir + "/" + n, tmp + "/" + n);
      list += n + "\n";
    }
    write_file_atomic(tmp + "/" + kListName, reinterpret_cast<const uint8_t*>(list.data()), list.size());
    if (rename(tmp.c_str(), (cache + "/" + key).c_str()) != 0) remove_tree(tmp);  // another process was first
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
}

// Keeps the kBoardCacheEntries most recently used entries. A victim is
// renamed away first, so no reader finds it half removed.
void prune(const std::string& cache) {
  std::vector<std::pair<int64_t, std::string>> entries;
  DIR* d = opendir(cache.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    struct stat st;
    if (n.size() != 64 || stat((cache + "/" + n).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    entries.emplace_back(int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, n);
  }
  closedir(d);
  if (entries.size() <= size_t(kBoardCacheEntries)) return;
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + kBoardCacheEntries < entries.size(); ++i) {
    std::string victim = cache + "/" + entries[i].second + ".del-" + std::to_string(getpid());
    if (rename((cache + "/" + entries[i].second).c_str(), victim.c_str()) == 0) remove_tree(victim);
  }
}

void clear_dir(const std::string& dir) {
  for (const std::string& n : files_in(dir)) unlink((dir + "/" + n).c_str());
}

}  // namespace

std::string board_cache_dir() {
  const char* set = getenv("TRUSTSIM_BOARD_CACHE");
  if (set) {
    std::string s = set;
    return s == "off" || s == "0" || s.empty() ? "" : s;
  }
  const char* xdg = getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/trustsim/boards";
  const char* home = getenv("HOME");
  if (home && *home == '/') return std::string(home) + "/.cache/trustsim/boards";
  return "";
}

std::string board_cache_key(const BoardConfig& cfg, const Artifacts& fw, const ManufactureOptions& opt) {
  BuildIds ids;
  dl_iterate_phdr(collect_build_id, &ids);
  if (!ids.complete || ids.ids.empty()) return "";
  Hasher h;
  h.field("trustsim board cache 1");
  for (const auto& [name, id] : ids.ids) {
    h.field(name);
    h.field(id);
  }
  h.field(std::to_string(TPMLIB_GetVersion()));
  h.field(OpenSSL_version(OPENSSL_VERSION));
  // What manufacture_board reads: the board file (its path too, which
  // names nothing the board holds but keeps the key conservative), the
  // firmware artifacts, every file of the keys directory, the serial.
  h.field(cfg.file);
  h.file(cfg.file);
  for (const std::string* p : {&fw.boot0_bin, &fw.rommon_bin, &fw.rommon_version, &fw.os_bin, &fw.os_version})
    h.file(*p);
  std::vector<std::string> keys = files_in(opt.keys_dir);
  h.field(std::to_string(keys.size()));
  for (const std::string& n : keys) {
    h.field(n);
    h.file(opt.keys_dir + "/" + n);
  }
  h.field(opt.serial);
  return h.hex();
}

void manufacture_board_cached(const BoardConfig& cfg, const StatePaths& dir, const Artifacts& fw,
                              const ManufactureOptions& opt) {
  std::string cache = board_cache_dir(), key;
  if (!cache.empty()) {
    try {
      key = board_cache_key(cfg, fw, opt);
    } catch (const std::exception&) {  // an input missing: manufacturing names it
      key.clear();
    }
  }
  if (!key.empty()) {
    std::string entry = cache + "/" + key;
    if (file_exists(entry + "/" + kListName)) {
      try {
        copy_from_entry(entry, dir.dir);
        return;
      } catch (const std::exception&) {
        clear_dir(dir.dir);  // pruned meanwhile: make it
      }
    }
  }
  manufacture_board(cfg, dir, fw, opt);
  if (key.empty()) return;
  try {
    store_entry(cache, key, dir.dir);
    prune(cache);
  } catch (const std::exception&) {  // an unwritable cache costs the next run its time, nothing else
  }
}

}  // namespace trustsim
