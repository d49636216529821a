// Messages between the QEMU cosim plugin and the trustsim bridge, over a
// unix stream socket. Host-only (the plugin and trustsim), specified in
// docs/cosim-protocol.md. Fixed-size, native-endian: both ends are one host.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_COSIM_PROTOCOL_VERSION 1u

enum ts_cosim_type {
  /* plugin -> trustsim */
  TS_COSIM_HELLO = 1,    /* arg = protocol version; icount = 0 */
  TS_COSIM_SYNC = 2,     /* icount reached the deadline (at a TB boundary) */
  TS_COSIM_DOORBELL = 3, /* the guest rang: a mailbox request is waiting */
  /* trustsim -> plugin */
  TS_COSIM_CONTINUE = 0x81, /* arg = next deadline (absolute icount) */
};

struct ts_cosim_msg {
  uint32_t type;
  uint32_t reserved;
  uint64_t icount; /* instructions executed since this QEMU started */
  uint64_t arg;
};

#ifdef __cplusplus
}
#endif
