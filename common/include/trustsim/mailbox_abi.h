// Mailbox ABI between the guest firmware and the SystemC board.
// Specified in docs/mailbox-abi.md; this header is the only implementation,
// compiled into the host bridge and into every firmware stage.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_MBOX_MAGIC 0x424D5354u /* "TSMB" little-endian */
#define TS_MBOX_ABI_VERSION 1u

/* The doorbell: a NOP-space HINT the cosim plugin instruments. */
#define TS_DOORBELL_INSN 0xD503255Fu /* hint #0x2a */

enum ts_mbox_op {
  TS_MBOX_OP_READ = 1,  /* device -> guest buffer at dma_addr */
  TS_MBOX_OP_WRITE = 2, /* guest buffer at dma_addr -> device */
};

enum ts_mbox_status {
  TS_MBOX_OK = 0,
  TS_MBOX_ADDRESS_ERROR = 1, /* no device at bus_addr, or out of its range */
  TS_MBOX_COMMAND_ERROR = 2, /* the device refuses this operation */
  TS_MBOX_BURST_ERROR = 3,   /* length not supported at this address */
  TS_MBOX_DMA_ERROR = 4,     /* dma_addr/len outside guest RAM or inside the mailbox */
  TS_MBOX_BAD_REQUEST = 5,   /* bad magic, unknown op, len 0 or too large */
  TS_MBOX_DEVICE_ERROR = 6,  /* the device failed the operation */
};

/* Written by the guest at the mailbox base, then the guest rings. */
struct ts_mbox_request {
  uint32_t magic;    /* TS_MBOX_MAGIC */
  uint32_t seq;      /* incremented by the guest for every request */
  uint32_t op;       /* enum ts_mbox_op */
  uint32_t flags;    /* must be 0 */
  uint64_t bus_addr; /* address on the SystemC bus */
  uint64_t len;      /* bytes, 1 .. TS_MBOX_MAX_LEN */
  uint64_t dma_addr; /* guest-physical address of the data buffer */
  uint64_t reserved[3];
};

/* Written by the board at mailbox base + TS_MBOX_RESPONSE_OFFSET before the
 * guest's next instruction runs. */
struct ts_mbox_response {
  uint32_t seq;        /* echoes the request's seq */
  uint32_t status;     /* enum ts_mbox_status */
  uint64_t actual_len; /* bytes moved (a console read may return fewer) */
  uint64_t t_start_ns; /* board time when the request was seen */
  uint64_t t_done_ns;  /* board time when it completed */
  uint64_t reserved[4];
};

/* Fixed guest-physical location: the last 64 KiB of the 128 MiB RAM at
 * 0x40000000. Firmware must never place code or data buffers there. */
#define TS_MBOX_BASE 0x47FF0000ull
#define TS_MBOX_WINDOW_SIZE 0x10000ull
#define TS_MBOX_RESPONSE_OFFSET 0x40u
#define TS_MBOX_MAX_LEN (64u * 1024u * 1024u)

/* ---- Board discovery: a read-only table at bus address 0 ---- */
#define TS_BOARDINFO_MAGIC 0x49425354u /* "TSBI" */
#define TS_BOARDINFO_MAX_ENTRIES 16u

enum ts_dev_type {
  TS_DEV_BOARDINFO = 1,
  TS_DEV_CONSOLE = 2,
  TS_DEV_POWER = 3,
  TS_DEV_NVRAM = 4,
  TS_DEV_BOOT_FLASH = 5,
  TS_DEV_BOOTFLASH_NAND = 6,
  TS_DEV_TPM = 7,
  TS_DEV_CRYPTO = 8,
  TS_DEV_NETXFER = 9,
};

struct ts_boardinfo_entry {
  uint32_t type;     /* enum ts_dev_type */
  uint32_t instance; /* 0 for the first of a type */
  uint64_t base;     /* bus address */
  uint64_t size;     /* bytes of bus address space */
  char name[16];     /* NUL-terminated, e.g. "nvram" */
};

struct ts_boardinfo {
  uint32_t magic;
  uint32_t version; /* 1 */
  uint32_t count;
  uint32_t platform_id;
  char board_name[32];
  char platform[32]; /* e.g. "TS-ISR1100" */
  uint64_t ram_base;
  uint64_t ram_size;
  struct ts_boardinfo_entry entries[TS_BOARDINFO_MAX_ENTRIES];
  uint32_t flags;    /* TS_BOARDINFO_FLAG_* (0x2E0) */
  uint32_t reserved; /* 0 */
};
/* Test-only: ROMmon boots an OS image whose signature check failed (board
 * file test_options.skip_os_verification; docs/tpm.md). */
#define TS_BOARDINFO_FLAG_SKIP_OS_VERIFY 0x1u

/* ---- Console UART registers (offsets from its base) ---- */
#define TS_CONSOLE_TX 0x000u         /* write N bytes: transmitted at the line rate */
#define TS_CONSOLE_RX 0x100u         /* read up to N bytes; waits for >=1 byte or the timeout */
#define TS_CONSOLE_RX_TIMEOUT 0x200u /* u64 ns; 0 = wait without limit */
#define TS_CONSOLE_RX_AVAIL 0x208u   /* u64, read: bytes already received */
#define TS_CONSOLE_SIZE 0x1000u

/* ---- Power/reset controller registers ---- */
/* Every power register is 8 bytes wide (u64). */
#define TS_POWER_RESET_CAUSE 0x00u   /* u64 read */
#define TS_POWER_CONTROL 0x08u       /* u64 write: TS_POWER_CMD_* */
#define TS_POWER_UPTIME_NS 0x10u     /* u64 read: board time since this power-on/reset */
#define TS_POWER_BOARD_TIME_NS 0x18u /* u64 read: board time since the run began */
#define TS_POWER_SLEEP_NS 0x20u      /* u64 write: completes after that much board time */
#define TS_POWER_BOOT_COUNT 0x28u    /* u64 read: power-ons + resets since the run began */
#define TS_POWER_RTC_SECONDS 0x30u   /* u64 read: real-time clock, seconds since 1970 (UTC) */
/* u64 write: sleep until a device's event line is due or a timeout
 * (ts_power_wait_value); docs/mailbox-abi.md, "Event waits". */
#define TS_POWER_WAIT_EVENT 0x38u
#define TS_POWER_WAIT_TYPE_SHIFT 56u
#define TS_POWER_WAIT_NS_MASK 0x00FFFFFFFFFFFFFFull
#define TS_POWER_SIZE 0x100u

enum ts_reset_cause {
  TS_RESET_POWER_ON = 1,
  TS_RESET_SOFTWARE = 2,
  TS_RESET_WATCHDOG = 3,
};

enum ts_power_cmd {
  TS_POWER_CMD_OFF = 1,
  TS_POWER_CMD_RESET = 2,
};

/* The WAIT_EVENT value: the device type (TS_DEV_*) in bits 63..56, the
 * timeout in ns in bits 55..0 (a longer timeout is cut to the mask). */
static inline uint64_t ts_power_wait_value(uint32_t dev_type, uint64_t timeout_ns) {
  if (timeout_ns > TS_POWER_WAIT_NS_MASK) timeout_ns = TS_POWER_WAIT_NS_MASK;
  return (uint64_t)dev_type << TS_POWER_WAIT_TYPE_SHIFT | timeout_ns;
}

#ifdef __cplusplus
}
#endif
