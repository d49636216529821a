#include "devkit/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "devkit/input_error.h"

namespace trustsim {

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const char* limit_why) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path + ": cannot open: " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    throw InputError(path + ": is a directory, not a file");
  }
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && uint64_t(st.st_size) > max_bytes) {
    close(fd);
    throw InputError(path + ": file too large (" + std::to_string(st.st_size) + " bytes; at most " +
                     std::to_string(max_bytes) + (limit_why ? std::string(": ") + limit_why : std::string()) + ")");
  }
  // A regular file is read straight into one buffer of its size, with room
  // for the read that sees its end (a 16 MiB image would otherwise be copied
  // and faulted in again at every doubling of the vector). The loop still
  // copes with a file that grows or shrinks meanwhile, and with pipes.
  std::vector<uint8_t> data;
  const size_t step = 65536;
  size_t want = step;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    data.reserve(size_t(st.st_size) + step);
    want = size_t(st.st_size);
  }
  for (;;) {
    size_t have = data.size();
    data.resize(have + want);
    ssize_t n = read(fd, data.data() + have, want);
    int e = errno;
    data.resize(have + size_t(n > 0 ? n : 0));
    if (n < 0 && e == EINTR) continue;
    if (n < 0) {
      close(fd);
      throw InputError(path + ": read error: " + strerror(e));
    }
    if (n == 0) break;
    if (data.size() > max_bytes) {  // a pipe or device that keeps going
      close(fd);
      throw InputError(path + ": more than " + std::to_string(max_bytes) + " bytes" +
                       (limit_why ? std::string(" (") + limit_why + ")" : std::string()));
    }
    want = step;
  }
  close(fd);
  return data;
}

void write_file_atomic(const std::string& path, const uint8_t* data, size_t len) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(tmp + ": cannot create: " + strerror(errno));
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      throw std::runtime_error(tmp + ": write failed: " + strerror(e));
    }
    done += size_t(n);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot replace: " + strerror(e));
  }
}

namespace {

// copy_file_range's job with pread/pwrite, for file systems it cannot
// cross (a board cache on disk, a board in /dev/shm). Returns the bytes
// copied, or -1.
ssize_t copy_range_by_hand(int in, off_t* src, int out, off_t* dst, off_t end) {
  std::vector<uint8_t> buf(size_t(1) << 20);
  ssize_t total = 0;
  while (*src < end) {
    ssize_t n = pread(in, buf.data(), size_t(std::min<off_t>(end - *src, off_t(buf.size()))), *src);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return total > 0 ? total : -1;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = pwrite(out, buf.data() + done, size_t(n - done), *dst + done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return -1;
      done += w;
    }
    *src += n;
    *dst += n;
    total += n;
  }
  return total;
}

}  // namespace

void write_file_range(const std::string& path, uint64_t offset, const uint8_t* data, size_t len) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot open for writing: " + strerror(errno));
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, data + done, len - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      close(fd);
      throw std::runtime_error(path + ": write at offset " + std::to_string(offset + done) + " failed: " + strerror(e));
    }
    done += size_t(n);
  }
  if (close(fd) != 0) throw std::runtime_error(path + ": write failed: " + strerror(errno));
}

bool data_extents(int fd, uint64_t size, std::vector<std::pair<uint64_t, uint64_t>>& out) {
  out.clear();
  for (uint64_t pos = 0; pos < size;) {
    off_t data = lseek(fd, off_t(pos), SEEK_DATA);
    if (data < 0 && errno == ENXIO) return true;  // only a hole is left
    off_t hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
    if (hole >= 0 && uint64_t(hole) > size) hole = off_t(size);
    if (data < 0 || hole <= data) {  // the file system cannot say (or answers nonsense)
      out.assign(1, {0, size});
      return false;
    }
    out.emplace_back(uint64_t(data), uint64_t(hole));
    pos = uint64_t(hole);
  }
  return true;
}

void copy_file_sparse(const std::string& from, const std::string& to) {
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw std::runtime_error(from + ": cannot open: " + strerror(errno));
  int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    int e = errno;
    close(in);
    throw std::runtime_error(to + ": cannot create: " + strerror(e));
  }
  struct stat st;
  bool ok = fstat(in, &st) == 0 && ftruncate(out, st.st_size) == 0;
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  if (ok) data_extents(in, uint64_t(st.st_size), extents);  // can it not say: all of it
  for (size_t i = 0; ok && i < extents.size(); ++i) {
    off_t src = off_t(extents[i].first), dst = src, end = off_t(extents[i].second);
    while (src < end) {
      ssize_t n = copy_file_range(in, &src, out, &dst, size_t(end - src), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
        n = copy_range_by_hand(in, &src, out, &dst, end);  // across file systems
      if (n <= 0) {
        ok = false;
        break;
      }
    }
  }
  int e = errno;
  close(in);
  if (close(out) != 0) ok = false;
  if (!ok) throw std::runtime_error(to + ": copy of " + from + " failed: " + strerror(e));
}

void check_output_path(const std::string& path) {
  struct stat st;
  if (path.empty()) throw InputError("output file name is empty");
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw InputError(path + ": is a directory; name the output file");
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw InputError(path + ": cannot write there: directory " + dir + " does not exist");
  if (access(dir.c_str(), W_OK) != 0) throw InputError(path + ": cannot write there: " + dir + ": " + strerror(errno));
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace trustsim
