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
 *    silent, and (unless it asks to keep them) has QEMU flush all
 *    translations at its next safe point. trustsim stops and resets the
 *    machine, clears RAM, bumps the channel's epoch and lets it go: the
 *    first callback that sees the new epoch starts counting from 0 again
 *    with a HELLO on the channel.
 *  - translations kept across a power cycle stay correct by two checks
 *    (docs/cosim-protocol.md, "Keeping translations"): every block in guest
 *    RAM remembers its instruction bytes; after a doorbell, the RAM the
 *    device wrote is compared with the blocks it overlaps (a difference
 *    flushes everything before the next block), and the first execution of
 *    a kept block in a new epoch compares it with RAM (a difference is
 *    reported as STALE before any of its instructions run).
 * If trustsim goes away (socket closed), QEMU exits at once: a guest never
 * runs unsupervised. Protocol: docs/cosim-protocol.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
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

static void die(const char* what);

/* ---- what each translated block looked like (the two checks) */

/* One per translated block, the exec callback's argument: a copy of its
 * bytes and where QEMU reads them (its host address: guest RAM, the RAM
 * file QEMU maps, or the boot ROM). Blocks in RAM are also indexed by their
 * RAM offset for the DMA check (the host writes nothing else). */
struct block {
  uint64_t cost; /* what on_tb_exec adds: insns, or insns | UNCHECKED */
  uint64_t insns;
  uint64_t vaddr;      /* guest address of the first instruction */
  const uint8_t* host; /* NULL (len 0): not checkable */
  uint64_t ram_off;    /* UINT64_MAX: not in RAM */
  uint32_t len;
  struct block* next_in_page; /* same first RAM page */
  struct block* next_all;     /* every block, newest first */
  uint8_t bytes[];
};

#define PAGE_SHIFT 12
#define ARENA_CHUNK (1u << 20)
#define ARENA_LIMIT (64u << 20) /* more than this: flush at the next PARK */

static const char* g_ram_path;
static uint8_t* g_ram_host; /* QEMU's own mapping of the RAM file */
static uint64_t g_ram_size;
static int g_ram_looked;
static struct block** g_pages; /* RAM page -> blocks that start in it */
static struct block* g_all;    /* every block recorded since the last flush */
/* Set in a block's cost while it has not been compared with RAM in this
 * epoch: the cost is then beyond any deadline, so on_tb_exec hands the
 * block to tb_exec_slow, which checks it. Deadlines stay below it. */
#define UNCHECKED (1ull << 62)
static int g_flush_pending; /* qemu_plugin_reset asked, on_reset not yet run */
static int g_must_flush;    /* a block the checks cannot cover: flush at PARK */
static int g_flush_parked;  /* the last PARK flushed: so must the next epoch start */
static int g_parked_trans;  /* blocks translated while parked */
static char** g_chunks;
static size_t g_nchunks, g_chunk_used, g_arena_bytes;

static void* arena_alloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (g_nchunks == 0 || g_chunk_used + n > ARENA_CHUNK) {
    size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    char** c = realloc(g_chunks, (g_nchunks + 1) * sizeof *c);
    char* chunk = malloc(sz);
    if (!c || !chunk) die("out of memory for the block records");
    g_chunks = c;
    g_chunks[g_nchunks++] = chunk;
    g_chunk_used = 0;
    g_arena_bytes += sz;
  }
  void* p = g_chunks[g_nchunks - 1] + g_chunk_used;
  g_chunk_used += n;
  return p;
}

/* After a flush no block of ours is reachable any more. */
static void forget_blocks(void) {
  for (size_t i = 0; i < g_nchunks; ++i) free(g_chunks[i]);
  free(g_chunks);
  g_chunks = NULL;
  g_nchunks = g_chunk_used = g_arena_bytes = 0;
  if (g_pages) memset(g_pages, 0, (size_t)(g_ram_size >> PAGE_SHIFT) * sizeof *g_pages);
  g_all = NULL;
  g_must_flush = 0;
}

/* QEMU's mapping of the guest RAM file (its memory-backend-file), from
 * /proc/self/maps: host address -> RAM offset. Looked up once, at the
 * first translation (QEMU has mapped RAM by then). */
static void find_ram(void) {
  g_ram_looked = 1;
  if (!g_ram_path) return;
  FILE* f = fopen("/proc/self/maps", "re");
  if (!f) return;
  char line[4096];
  size_t plen = strlen(g_ram_path);
  uint64_t lo = UINT64_MAX, hi = 0, base = 0;
  while (fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;
    if (n < plen || strcmp(line + n - plen, g_ram_path) != 0 || (n > plen && line[n - plen - 1] != ' ')) continue;
    unsigned long long s, e, off;
    if (sscanf(line, "%llx-%llx %*s %llx", &s, &e, &off) != 3) continue;
    if (s < lo) {
      lo = s;
      base = s - off;
    }
    if (e > hi) hi = e;
  }
  fclose(f);
  if (lo == UINT64_MAX) return;
  g_ram_host = (uint8_t*)(uintptr_t)base;
  g_ram_size = hi - base;
  g_pages = calloc((size_t)(g_ram_size >> PAGE_SHIFT) + 1, sizeof *g_pages);
  if (!g_pages) g_ram_host = NULL;
}

static int in_ram(const uint8_t* h, size_t len) {
  return g_ram_host && h >= g_ram_host && (uint64_t)(h - g_ram_host) + len <= g_ram_size;
}

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
  forget_blocks();
  g_flush_pending = 0;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
  if (g_chan) __atomic_store_n(&g_chan->flushed, 1, __ATOMIC_RELEASE);
}

/* Drops every callback and, with all vCPUs out of translated code (QEMU
 * leaves the current block at the next block boundary), flushes the
 * translation cache and calls on_reset. */
static void request_flush(void) {
  if (g_flush_pending) return;
  g_flush_pending = 1;
  qemu_plugin_reset(g_id, on_reset);
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
    g_deadline = 0; /* every block goes to tb_exec_slow, which sees g_parked */
    g_parked_trans = 0;
    g_flush_parked = m.arg != TS_COSIM_PARK_KEEP;
    if (m.arg == TS_COSIM_PARK_KEEP && !g_must_flush && !g_flush_pending && g_arena_bytes < ARENA_LIMIT) {
      __atomic_store_n(&g_chan->flushed, 1, __ATOMIC_RELEASE); /* nothing to wait for */
    } else {
      __atomic_store_n(&g_chan->flushes, g_chan->flushes + 1, __ATOMIC_RELEASE);
      request_flush();
    }
    return;
  }
  if (m.type != TS_COSIM_CONTINUE) {
    errno = EPROTO;
    die("unexpected message from trustsim");
  }
  g_deadline = m.arg < UNCHECKED ? m.arg : UNCHECKED - 1; /* 2^62 instructions: never reached */
}

/* While parked: 1 once trustsim has started a new epoch (the machine was
 * reset while stopped); the count restarts at 0 with a HELLO. */
static int still_parked(void) {
  uint32_t e = __atomic_load_n(&g_chan->epoch, __ATOMIC_ACQUIRE);
  if (e == g_epoch) return 1;
  g_epoch = e;
  g_parked = 0;
  g_icount = 0;
  /* Every kept block is checked again before it runs: one pass over the
   * records per power-on of a reused QEMU, so that the per-block path has
   * one compare instead of two. */
  for (struct block* b = g_all; b; b = b->next_all) b->cost = b->insns | UNCHECKED;
  /* The vCPU runs on after PARK until the VM stops, and may translate
   * blocks of the old guest after the PARK's flush: a flushing QEMU drops
   * them before the new guest's second block. */
  if (g_flush_parked && g_parked_trans) request_flush();
  g_parked_trans = 0;
  round_trip(TS_COSIM_HELLO, TS_COSIM_PROTOCOL_VERSION);
  return g_parked;
}

/* The exec check: a block translated in an earlier epoch runs for the
 * first time in this one. Its bytes must still be what RAM holds; if not,
 * the guest is about to run code that is no longer there (RAM written
 * behind QEMU's back before this power-on and not loaded again since).
 * The block's instructions have not run yet: trustsim is told (STALE) and
 * never lets it go on. */
static void exec_check(struct block* b) {
  if (b->len == 0 || memcmp(b->host, b->bytes, b->len) == 0) {
    b->cost = b->insns;
    return;
  }
  if (g_chan) __atomic_store_n(&g_chan->stale, g_chan->stale + 1, __ATOMIC_RELEASE);
  round_trip(TS_COSIM_STALE, b->vaddr);
}

/* Everything on_tb_exec does not do itself: parked, a kept block's first
 * run in this epoch, the deadline. Kept out of line so that the common
 * case needs no stack frame. */
static __attribute__((noinline)) void tb_exec_slow(struct block* b) {
  if (g_parked && still_parked()) return;
  if (b->cost != b->insns) {
    exec_check(b);
    if (g_parked) return;
  }
  g_icount += b->insns;
  if (g_icount >= g_deadline) round_trip(TS_COSIM_SYNC, 0);
}

/* Runs before every translated block: the lock-step's per-block cost
 * (docs/performance.md, "The lock-step's per-block cost"), so it is one add
 * and one compare. Anything else goes to tb_exec_slow, which does what this
 * function did before it was split: a block not yet checked in this epoch
 * has UNCHECKED in its cost, and g_deadline is 0 while parked. */
static void on_tb_exec(unsigned int vcpu, void* udata) {
  (void)vcpu;
  struct block* b = udata;
  uint64_t n = g_icount + b->cost;
  if (__builtin_expect(n >= g_deadline, 0)) {
    tb_exec_slow(b);
    return;
  }
  g_icount = n;
}

/* The DMA check: after a doorbell, trustsim names the RAM it wrote (the
 * device's DMA into the buffer, the mailbox response). A block whose bytes
 * there changed would run stale: everything is flushed before the next
 * block (the rest of the current one runs; it rang the doorbell and is
 * not in the written range). */
static void dma_check(void) {
  int flush = 0;
  for (int r = 0; r < TS_COSIM_WRITTEN_RANGES && !flush && g_pages; ++r) {
    uint64_t off = g_chan->written[r].ram_off, len = g_chan->written[r].len;
    if (len == 0 || off >= g_ram_size) continue;
    if (len > g_ram_size - off) len = g_ram_size - off;
    uint64_t end = off + len;
    uint64_t p0 = off >> PAGE_SHIFT, p1 = (end - 1) >> PAGE_SHIFT;
    if (p0 > 0) --p0; /* a block may start in the page before and reach in */
    for (uint64_t p = p0; p <= p1 && !flush; ++p)
      for (struct block* b = g_pages[p]; b && !flush; b = b->next_in_page) {
        uint64_t lo = b->ram_off > off ? b->ram_off : off;
        uint64_t hi = b->ram_off + b->len < end ? b->ram_off + b->len : end;
        if (lo < hi && memcmp(g_ram_host + lo, b->bytes + (lo - b->ram_off), hi - lo) != 0) flush = 1;
      }
  }
  if (flush) {
    __atomic_store_n(&g_chan->flushes, g_chan->flushes + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&g_chan->dma_flushes, g_chan->dma_flushes + 1, __ATOMIC_RELEASE);
    request_flush();
  }
}

static void on_doorbell(unsigned int vcpu, void* udata) {
  (void)vcpu;
  if (g_parked && still_parked()) return;
  round_trip(TS_COSIM_DOORBELL, (uint64_t)(uintptr_t)udata); /* the doorbell's address */
  if (g_chan && !g_parked && !g_flush_pending && g_nchunks) dma_check();
}

/* The record of a new block: its bytes if all of its instructions sit
 * contiguously in host memory, indexed by RAM page if that is guest RAM. A
 * block partly in RAM, or split over two places (an MMU mapping that is
 * not contiguous), cannot be checked: the next PARK flushes. */
static struct block* record_block(struct qemu_plugin_tb* tb, size_t n) {
  if (!g_ram_looked) find_ram();
  const uint8_t* h0 = n ? qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0)) : NULL;
  size_t len = 0, ram_insns = 0;
  int contiguous = 1;
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    const uint8_t* h = qemu_plugin_insn_haddr(insn);
    size_t sz = qemu_plugin_insn_size(insn);
    if (h && in_ram(h, sz)) ++ram_insns;
    if (!h || h != h0 + len) contiguous = 0;
    len += sz;
  }
  int keep = n > 0 && contiguous && (ram_insns == 0 || ram_insns == n);
  if (!keep) g_must_flush = 1;
  struct block* b = arena_alloc(sizeof *b + (keep ? len : 0));
  b->insns = n;
  b->cost = n;
  b->next_all = g_all;
  g_all = b;
  b->vaddr = n ? qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, 0)) : 0;
  b->next_in_page = NULL;
  b->host = NULL;
  b->len = 0;
  b->ram_off = UINT64_MAX;
  if (keep) {
    b->host = h0;
    b->len = (uint32_t)len;
    size_t at = 0;
    for (size_t i = 0; i < n; ++i) {
      struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
      size_t sz = qemu_plugin_insn_size(insn);
      memcpy(b->bytes + at, qemu_plugin_insn_data(insn), sz);
      at += sz;
    }
  }
  if (keep && ram_insns == n) {
    b->ram_off = (uint64_t)(h0 - g_ram_host);
    uint64_t page = b->ram_off >> PAGE_SHIFT;
    b->next_in_page = g_pages[page];
    g_pages[page] = b;
  }
  return b;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  if (g_parked) g_parked_trans = 1;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, record_block(tb, n));
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
    if (strncmp(argv[i], "ram=", 4) == 0) g_ram_path = argv[i] + 4;
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
  g_deadline = hello.arg < UNCHECKED ? hello.arg : UNCHECKED - 1;
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
