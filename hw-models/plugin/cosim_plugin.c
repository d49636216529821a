/* trustsim cosim plugin, loaded into stock qemu-system-aarch64 with -plugin.
 *
 * It keeps QEMU in lock-step with the SystemC board (the time master):
 *  - every executed translation block adds its instruction count to icount;
 *    when icount reaches the deadline SystemC gave, the vCPU blocks and the
 *    plugin sends SYNC and waits for CONTINUE with the next deadline;
 *  - the doorbell instruction (hint #0x2a) blocks the vCPU the same way and
 *    sends DOORBELL: SystemC services the mailbox request in guest RAM and
 *    answers before the guest's next instruction runs.
 *  - a PARK reply (power is off; trustsim keeps this QEMU for the next
 *    power-on) makes every later callback return at once, uncounted and
 *    silent, and asks QEMU to flush all translations at its next safe
 *    point. trustsim stops and resets the machine, clears RAM, bumps the
 *    channel's epoch and lets it go: the first callback that sees the new
 *    epoch starts counting from 0 again with a HELLO on the channel.
 * If trustsim goes away (socket closed), QEMU exits at once: a guest never
 * runs unsupervised. Protocol: docs/cosim-protocol.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu_plugin_api.h"
#include "trustsim/cosim_protocol.h"
#include "trustsim/cosim_wait.h"
#include "trustsim/mailbox_abi.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);

static int g_sock = -1;
static struct ts_cosim_channel* g_chan; /* NULL: messages go over the socket */
static struct ts_spin g_spin = {50000, 50000};
static uint64_t g_icount;
static uint64_t g_deadline;
static qemu_plugin_id_t g_id;
static int g_parked;     /* after PARK, until the channel's epoch changes */
static uint32_t g_epoch; /* the channel epoch this count belongs to */

static void die(const char* what) {
  fprintf(stderr, "trustsim-cosim: %s (%s); stopping QEMU\n", what, strerror(errno));
  _exit(3);
}

static void write_all(const void* buf, size_t len) {
  const char* p = buf;
  while (len > 0) {
    ssize_t n = write(g_sock, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("lost the trustsim connection while sending");
    p += n;
    len -= (size_t)n;
  }
}

static void read_all(void* buf, size_t len) {
  char* p = buf;
  while (len > 0) {
    ssize_t n = read(g_sock, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) _exit(0); /* trustsim ended the run: power is off */
    if (n < 0) die("lost the trustsim connection while waiting");
    p += n;
    len -= (size_t)n;
  }
}

/* Exits quietly if trustsim has closed the socket (it ended the run). */
static void check_alive(void) {
  struct pollfd p = {g_sock, POLLIN, 0};
  if (poll(&p, 1, 0) > 0) {
    char c;
    if (read(g_sock, &c, 1) <= 0) _exit(0);
  }
}

/* Runs in QEMU's safe-work context after the translation flush that PARK
 * asked for: callbacks are registered again for the next epoch. */
static void on_reset(qemu_plugin_id_t id) {
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
  __atomic_store_n(&g_chan->flushed, 1, __ATOMIC_RELEASE);
}

static void channel_round_trip(struct ts_cosim_msg* m) {
  uint32_t seq = g_chan->req_seq + 1;
  g_chan->req = *m;
  ts_chan_publish(&g_chan->req_seq, seq, &g_chan->host_sleeping);
  while (!ts_chan_wait(&g_chan->rsp_seq, seq - 1, &g_chan->guest_sleeping, &g_spin, 100)) check_alive();
  *m = g_chan->rsp;
}

static void round_trip(uint32_t type, uint64_t arg) {
  struct ts_cosim_msg m = {type, 0, g_icount, arg};
  if (g_chan) {
    channel_round_trip(&m);
  } else {
    write_all(&m, sizeof m);
    read_all(&m, sizeof m);
  }
  if (m.type == TS_COSIM_PARK && g_chan) {
    g_parked = 1;
    g_deadline = UINT64_MAX;
    /* Drops every callback and, with all vCPUs out of translated code,
     * flushes the translation cache and calls on_reset. */
    qemu_plugin_reset(g_id, on_reset);
    return;
  }
  if (m.type != TS_COSIM_CONTINUE) {
    errno = EPROTO;
    die("unexpected message from trustsim");
  }
  g_deadline = m.arg;
}

/* While parked: 1 once trustsim has started a new epoch (the machine was
 * reset while stopped); the count restarts at 0 with a HELLO. */
static int still_parked(void) {
  uint32_t e = __atomic_load_n(&g_chan->epoch, __ATOMIC_ACQUIRE);
  if (e == g_epoch) return 1;
  g_epoch = e;
  g_parked = 0;
  g_icount = 0;
  round_trip(TS_COSIM_HELLO, TS_COSIM_PROTOCOL_VERSION);
  return g_parked;
}

static void on_tb_exec(unsigned int vcpu, void* udata) {
  (void)vcpu;
  if (g_parked && still_parked()) return;
  g_icount += (uint64_t)(uintptr_t)udata;
  if (g_icount >= g_deadline) round_trip(TS_COSIM_SYNC, 0);
}

static void on_doorbell(unsigned int vcpu, void* udata) {
  (void)vcpu;
  if (g_parked && still_parked()) return;
  round_trip(TS_COSIM_DOORBELL, (uint64_t)(uintptr_t)udata); /* the doorbell's address */
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void*)(uintptr_t)n);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    if (qemu_plugin_insn_size(insn) != 4) continue;
    uint32_t word;
    memcpy(&word, qemu_plugin_insn_data(insn), 4);
    if (word == TS_DOORBELL_INSN)
      qemu_plugin_register_vcpu_insn_exec_cb(insn, on_doorbell, QEMU_PLUGIN_CB_NO_REGS,
                                             (void*)(uintptr_t)qemu_plugin_insn_vaddr(insn));
  }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc, char** argv) {
  g_id = id;
  const char* sock_path = NULL;
  const char* chan_path = NULL;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "sock=", 5) == 0) sock_path = argv[i] + 5;
    if (strncmp(argv[i], "chan=", 5) == 0) chan_path = argv[i] + 5;
    if (strncmp(argv[i], "spin_us=", 8) == 0) g_spin.budget_ns = g_spin.max_ns = strtoull(argv[i] + 8, NULL, 10) * 1000;
  }
  if (!sock_path) {
    fprintf(stderr, "trustsim-cosim: missing plugin argument sock=PATH\n");
    return -1;
  }
  if (!info->system_emulation) {
    fprintf(stderr, "trustsim-cosim: needs system emulation\n");
    return -1;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(sock_path) >= sizeof addr.sun_path) {
    fprintf(stderr, "trustsim-cosim: socket path too long: %s\n", sock_path);
    return -1;
  }
  strcpy(addr.sun_path, sock_path);
  g_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (g_sock < 0 || connect(g_sock, (struct sockaddr*)&addr, sizeof addr) != 0) {
    fprintf(stderr, "trustsim-cosim: cannot connect to %s: %s\n", sock_path, strerror(errno));
    return -1;
  }
  struct ts_cosim_msg hello = {TS_COSIM_HELLO, 0, 0, TS_COSIM_PROTOCOL_VERSION};
  write_all(&hello, sizeof hello);
  read_all(&hello, sizeof hello);
  if (hello.type != TS_COSIM_CONTINUE) {
    fprintf(stderr, "trustsim-cosim: bad handshake\n");
    return -1;
  }
  g_deadline = hello.arg;
  if (chan_path) {
    int fd = open(chan_path, O_RDWR | O_CLOEXEC);
    void* p = fd < 0 ? MAP_FAILED : mmap(NULL, sizeof *g_chan, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0) close(fd);
    if (p == MAP_FAILED || ((struct ts_cosim_channel*)p)->magic != TS_COSIM_CHANNEL_MAGIC) {
      fprintf(stderr, "trustsim-cosim: cannot map the channel %s: %s\n", chan_path, strerror(errno));
      return -1;
    }
    g_chan = p;
    g_epoch = __atomic_load_n(&g_chan->epoch, __ATOMIC_ACQUIRE);
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
  return 0;
}
