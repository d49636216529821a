// Messages between the QEMU cosim plugin and the trustsim bridge, over a
// unix stream socket. Host-only (the plugin and trustsim), specified in
// docs/cosim-protocol.md. Fixed-size, native-endian: both ends are one host.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_COSIM_PROTOCOL_VERSION 3u

enum ts_cosim_type {
  /* plugin -> trustsim */
  TS_COSIM_HELLO = 1,    /* arg = protocol version; icount = 0 */
  TS_COSIM_SYNC = 2,     /* icount reached the deadline (at a TB boundary) */
  TS_COSIM_DOORBELL = 3, /* the guest rang: a mailbox request is waiting; arg = the
                            guest address of the doorbell instruction */
  TS_COSIM_STALE = 4,    /* a block kept from an earlier epoch no longer matches
                            memory and is about to run: arg = its guest address. None
                            of its instructions has run; trustsim ends the run */
  /* trustsim -> plugin */
  TS_COSIM_CONTINUE = 0x81, /* arg = next deadline (absolute icount) */
  TS_COSIM_PARK = 0x82,     /* power is off: from now on every callback returns at
                               once, uncounted, until the channel's epoch changes;
                               the plugin flushes QEMU's translations (channel
                               word `flushed` says when) unless arg is
                               TS_COSIM_PARK_KEEP */
};

#define TS_COSIM_PARK_KEEP 1u /* PARK arg: keep the translations (checked, see docs) */

struct ts_cosim_msg {
  uint32_t type;
  uint32_t reserved;
  uint64_t icount; /* instructions executed since this epoch began (QEMU start or reuse) */
  uint64_t arg;
};

/* After the HELLO/CONTINUE handshake on the socket, every round trip goes
 * through this page of shared memory (a file in /dev/shm that trustsim
 * creates and names in the plugin argument chan=PATH). The writer fills the
 * message, then publishes it by storing the next sequence number; the
 * reader spins briefly, then sleeps on a futex on that sequence word. A
 * side wakes the other with FUTEX_WAKE only if the other announced it was
 * going to sleep (the *_sleeping words), so the common case makes no
 * system call at all. The socket stays open: its EOF still tells the
 * plugin that trustsim is gone. */
#define TS_COSIM_CHANNEL_MAGIC 0x4E484354u /* "TCHN" */
#define TS_COSIM_WRITTEN_RANGES 2
struct ts_cosim_channel {
  uint32_t magic;
  uint32_t req_seq;        /* plugin -> trustsim: last request published */
  uint32_t rsp_seq;        /* trustsim -> plugin: last response published */
  uint32_t host_sleeping;  /* trustsim is (about to be) in FUTEX_WAIT on req_seq */
  uint32_t guest_sleeping; /* the plugin is (about to be) in FUTEX_WAIT on rsp_seq */
  uint32_t epoch;          /* trustsim -> plugin: bumped (QEMU stopped) to end a PARK */
  uint32_t flushed;        /* plugin -> trustsim: 1 once the PARK's translation flush ran */
  uint32_t flushes;        /* plugin: translation flushes asked for (PARK or DMA check) */
  uint32_t dma_flushes;    /* plugin: of those, asked by the DMA check */
  uint32_t stale;          /* plugin: STALE blocks found by the exec check */
  uint32_t reserved[6];
  struct ts_cosim_msg req;
  struct ts_cosim_msg rsp;
  /* trustsim -> plugin, with each CONTINUE that answers a DOORBELL: the
   * guest RAM (offsets from RAM's start) the mailbox service wrote; len 0:
   * none. The plugin compares its blocks there (the DMA check). */
  struct {
    uint64_t ram_off;
    uint64_t len;
  } written[TS_COSIM_WRITTEN_RANGES];
};

#ifdef __cplusplus
}
#endif
