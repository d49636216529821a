// tpm-sim as an swtpm replacement for stock QEMU: the swtpm control-channel
// protocol (swtpm-dev's tpm_ioctl.h, "commands used by the non-CUSE TPMs")
// on a unix socket, raw TPM commands on the data socket QEMU hands over with
// CMD_SET_DATAFD. The TPM behind it is the same TpmEngine as the board's.
// docs/tpm.md, section "swtpm control channel".
#include "tpm-sim/swtpm_ctrl.h"

#include <poll.h>
#include <swtpm/tpm_ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "tpm-sim/tpm_engine.h"
#include "trustsim/tpm2.h"

namespace trustsim {
namespace {

void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int i = 3; i >= 0; --i) v.push_back(uint8_t(x >> (8 * i)));
}
uint32_t get32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= size_t(k);
  }
  return true;
}

// Request bytes that follow the 4-byte command code, per command.
size_t request_size(uint32_t cmd) {
  switch (cmd) {
    case CMD_INIT:
      return 4;
    case CMD_SET_LOCALITY:
      return 1;
    case CMD_RESET_TPMESTABLISHED:
      return 1;
    case CMD_SET_BUFFERSIZE:
      return 4;
    default:
      return 0;
  }
}

}  // namespace

int serve_swtpm_ctrl(const SwtpmCtrlOptions& o) {
  SwtpmCtrlStats local;
  SwtpmCtrlStats* stats = o.stats ? o.stats : &local;
  TpmEngine& e = TpmEngine::instance();
  e.attach(o.nv_path, o.seed);
  int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (o.ctrl_path.size() >= sizeof a.sun_path) throw std::runtime_error(o.ctrl_path + ": socket path too long");
  strncpy(a.sun_path, o.ctrl_path.c_str(), sizeof a.sun_path - 1);
  unlink(o.ctrl_path.c_str());
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lfd, 1) != 0)
    throw std::runtime_error(o.ctrl_path + ": cannot listen: " + strerror(errno));
  if (o.on_listening) o.on_listening();

  int cfd = -1, dfd = -1;
  uint32_t locality = 0;
  uint32_t buffer_size = 4096;
  uint64_t clock_ns = 0;
  bool running = true;
  std::vector<uint8_t> cmdbuf;
  while (running) {
    pollfd p[3];
    int n = 0;
    p[n++] = {cfd >= 0 ? cfd : lfd, POLLIN, 0};
    int didx = -1;
    if (dfd >= 0) {
      didx = n;
      p[n++] = {dfd, POLLIN, 0};
    }
    if (poll(p, nfds_t(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (didx >= 0 && (p[didx].revents & (POLLIN | POLLHUP))) {
      // One TPM command (QEMU writes it whole); the response goes back whole.
      uint8_t buf[4096];
      ssize_t k = read(dfd, buf, sizeof buf);
      if (k <= 0) {
        close(dfd);
        dfd = -1;
      } else {
        cmdbuf.assign(buf, buf + k);
        tpm2::Header h{};
        while (tpm2::parse_header(cmdbuf.data(), cmdbuf.size(), &h) && cmdbuf.size() < h.size && h.size <= 4096) {
          k = read(dfd, buf, std::min<size_t>(sizeof buf, h.size - cmdbuf.size()));
          if (k <= 0) break;
          cmdbuf.insert(cmdbuf.end(), buf, buf + k);
        }
        clock_ns += 1000000;  // the TPM's clock: 1 ms per command, never the host's
        e.set_clock_ns(clock_ns);
        std::vector<uint8_t> r = e.execute(cmdbuf.data(), cmdbuf.size(), locality);
        ++stats->commands;
        if (!write_all(dfd, r.data(), r.size())) {
          close(dfd);
          dfd = -1;
        }
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP))) continue;
    if (cfd < 0) {
      cfd = accept(lfd, nullptr, nullptr);
      continue;
    }
    // A control message: 4-byte big-endian code, its request, maybe an fd.
    uint8_t msg[64];
    char cbuf[CMSG_SPACE(sizeof(int))];
    iovec iov{msg, sizeof msg};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t k = recvmsg(cfd, &mh, 0);
    if (k <= 0) {
      close(cfd);
      cfd = -1;
      if (o.exit_on_disconnect) running = false;
      continue;
    }
    int passed_fd = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&passed_fd, CMSG_DATA(c), sizeof(int));
    if (k < 4) continue;
    uint32_t cmd = get32(msg);
    size_t need = 4 + request_size(cmd);
    while (size_t(k) < need) {  // the request may come in a second segment
      ssize_t more = read(cfd, msg + k, need - size_t(k));
      if (more <= 0) break;
      k += more;
    }
    std::vector<uint8_t> resp;
    ++stats->control;
    switch (cmd) {
      case CMD_GET_CAPABILITY: {
        uint64_t caps = PTM_CAP_INIT | PTM_CAP_SHUTDOWN | PTM_CAP_GET_TPMESTABLISHED | PTM_CAP_SET_LOCALITY |
                        PTM_CAP_CANCEL_TPM_CMD | PTM_CAP_RESET_TPMESTABLISHED | PTM_CAP_STOP | PTM_CAP_SET_DATAFD |
                        PTM_CAP_SET_BUFFERSIZE;
        put32(resp, uint32_t(caps >> 32));
        put32(resp, uint32_t(caps));
        break;
      }
      case CMD_INIT:
        e.power_off();  // INIT is a TPM reset: volatile state goes, like a power cycle
        put32(resp, e.power_on() ? 0 : tpm2::kRcFailure);
        break;
      case CMD_SHUTDOWN:
        e.power_off();
        put32(resp, 0);
        running = !o.exit_on_shutdown;
        break;
      case CMD_STOP:
        e.power_off();
        put32(resp, 0);
        break;
      case CMD_GET_TPMESTABLISHED:
        put32(resp, 0);
        resp.push_back(0);  // bit
        resp.insert(resp.end(), 3, 0);
        break;
      case CMD_SET_LOCALITY:
        locality = msg[4];
        put32(resp, locality <= 4 ? 0 : tpm2::kRcFailure);
        break;
      case CMD_RESET_TPMESTABLISHED:
      case CMD_CANCEL_TPM_CMD:
        put32(resp, 0);
        break;
      case CMD_SET_DATAFD:
        if (passed_fd >= 0) {
          if (dfd >= 0) close(dfd);
          dfd = passed_fd;
          put32(resp, 0);
        } else {
          put32(resp, tpm2::kRcFailure);
        }
        break;
      case CMD_SET_BUFFERSIZE: {
        uint32_t want = get32(msg + 4);
        if (want) buffer_size = std::max<uint32_t>(1024, std::min<uint32_t>(want, 4096));
        put32(resp, 0);
        put32(resp, buffer_size);
        put32(resp, 1024);
        put32(resp, 4096);
        break;
      }
      default:
        put32(resp, 0x0A);  // TPM_BAD_ORDINAL: not supported by this TPM
    }
    if (!write_all(cfd, resp.data(), resp.size())) {
      close(cfd);
      cfd = -1;
    }
  }
  if (dfd >= 0) close(dfd);
  if (cfd >= 0) close(cfd);
  close(lfd);
  unlink(o.ctrl_path.c_str());
  e.detach();
  return 0;
}

}  // namespace trustsim
