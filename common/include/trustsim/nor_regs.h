/* Register map of the boot SPI NOR flash (flash-sim/boot_flash), a
 * controller in front of a Winbond W25Q128JV. Specified in
 * docs/nor-flash.md; this header is the only implementation, compiled into
 * the host model and into the firmware.
 *
 * Bus range of the device: [0, array_size) is the array, read-only and
 * byte-addressed as before (any offset and length inside it); then a control
 * block of TS_NOR_CONTROL_SIZE bytes at offset array_size. The boardinfo
 * entry's size is the ARRAY size (Boot0 derives the golden ROMmon offset from
 * it), so the control block sits at entry.base + entry.size.
 *
 * Registers are u32 accessed with exactly 4 bytes (any other length, like
 * an unknown offset or the wrong direction, answers ADDRESS_ERROR). The page buffer window is byte-addressed: any
 * offset and length inside it.
 */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_NOR_CONTROL_SIZE 0x1000u /* bytes of control block after the array */

/* ---- Registers (offsets from the control block = device base + array size) ---- */
#define TS_NOR_COMMAND 0x000u     /* WO: TS_NOR_CMD_* */
#define TS_NOR_ADDRESS 0x004u     /* RW: array byte address for PAGE_PROGRAM / erases */
#define TS_NOR_LENGTH 0x008u      /* RW: bytes PAGE_PROGRAM takes from the buffer, 1..256 (reset 256) */
#define TS_NOR_STATUS 0x00Cu      /* RO: TS_NOR_STATUS_* (the READ_STATUS 05h byte, plus model bits) */
#define TS_NOR_ID 0x010u          /* RO: JEDEC ID (9Fh), TS_NOR_JEDEC_ID */
#define TS_NOR_PAGE_SIZE 0x020u   /* RO: 256 */
#define TS_NOR_SECTOR_SIZE 0x024u /* RO: 4096 */
#define TS_NOR_BLOCK_SIZE 0x028u  /* RO: 65536 */
#define TS_NOR_ARRAY_SIZE 0x02Cu  /* RO: bytes in the array */

/* Page buffer window: TS_NOR_PAGE_BYTES bytes, filled by the firmware (DMA)
 * before PAGE_PROGRAM. Byte i goes to page_base + ((ADDRESS + i) mod 256). */
#define TS_NOR_PAGE_BUFFER 0x100u

#define TS_NOR_PAGE_BYTES 256u
#define TS_NOR_SECTOR_BYTES 4096u
#define TS_NOR_BLOCK_BYTES 65536u

/* ---- COMMAND values (the W25Q128JV opcodes) ---- */
#define TS_NOR_CMD_WRITE_ENABLE 0x06u  /* sets WEL; program and erase need it */
#define TS_NOR_CMD_WRITE_DISABLE 0x04u /* clears WEL */
#define TS_NOR_CMD_PAGE_PROGRAM 0x02u  /* buffer -> array (AND), BUSY for tPP */
#define TS_NOR_CMD_SECTOR_ERASE 0x20u  /* 4 KiB sector holding ADDRESS -> 0xFF, BUSY for tSE */
#define TS_NOR_CMD_BLOCK_ERASE 0xD8u   /* 64 KiB block holding ADDRESS -> 0xFF, BUSY for tBE */

/* ---- STATUS bits ---- */
#define TS_NOR_STATUS_BUSY (1u << 0)         /* WIP: a program or erase is running */
#define TS_NOR_STATUS_WEL (1u << 1)          /* write-enable latch */
#define TS_NOR_STATUS_PROGRAM_FAIL (1u << 8) /* model only: last PAGE_PROGRAM refused (ADDRESS outside the array) */
#define TS_NOR_STATUS_ERASE_FAIL (1u << 9)   /* model only: last erase refused (ADDRESS outside the array) */

/* JEDEC ID: manufacturer 0xEF (Winbond), memory type 0x40, capacity 0x18 (128 Mbit). */
#define TS_NOR_JEDEC_ID 0x00EF4018u

#ifdef __cplusplus
}
#endif
