/* Register map of the bootflash: NAND (flash-sim/nand_flash), a controller
 * in front of a Winbond W25N01GV-style SPI-NAND. Specified in
 * docs/nand-flash.md; this header is the only implementation, compiled into
 * the host model and into the firmware.
 *
 * Every register is a u32 accessed with exactly 4 bytes (any other length,
 * like an unknown offset or the wrong direction, answers ADDRESS_ERROR). The page buffer window is byte-addressed: any
 * offset and length inside it. The array read window reads whole pages:
 * one mailbox request reads a run of consecutive pages (READ_PAGE, tR and
 * the buffer transfer of each, all inside that one transaction).
 */
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Registers (offsets from the device's bus base) ---- */
#define TS_NAND_ID 0x000u              /* RO: JEDEC ID latched by READ_ID, 0 until then */
#define TS_NAND_COMMAND 0x004u         /* WO: TS_NAND_CMD_*, acts on TS_NAND_ROW */
#define TS_NAND_ROW 0x008u             /* RW: page address = block * pages_per_block + page */
#define TS_NAND_STATUS 0x00Cu          /* RO: TS_NAND_STATUS_* */
#define TS_NAND_CONFIG 0x010u          /* RW: TS_NAND_CONFIG_* (reset value TS_NAND_CONFIG_ECC_EN) */
#define TS_NAND_ECC_BITS 0x014u        /* RO: bits corrected by the last READ_PAGE */
#define TS_NAND_READY_STATUS 0x018u    /* RO: STATUS, read once the running operation has ended */
#define TS_NAND_WINDOW_PAGES 0x01Cu    /* RW: pages of each block the array window holds (0: all) */
#define TS_NAND_PAGE_SIZE 0x020u       /* RO: main-area bytes per page */
#define TS_NAND_SPARE_SIZE 0x024u      /* RO: spare-area bytes per page */
#define TS_NAND_PAGES_PER_BLOCK 0x028u /* RO */
#define TS_NAND_BLOCK_COUNT 0x02Cu     /* RO */
#define TS_NAND_ECC_SECTOR_SIZE 0x030u /* RO: main bytes covered by one ECC code (512) */

/* Page buffer window: main area at +0, spare at +page_size. */
#define TS_NAND_BUFFER 0x1000u

/* Array read window (read only): byte TS_NAND_ARRAY + p * page_size + i is
 * byte i of page p's main area. A read must start at a page boundary and
 * cover whole pages; it reads them in order and stops before the first page
 * whose ECC outcome is not clean or that is page 0 of a block with its
 * bad-block marker set, leaving that page in the buffer and its outcome in
 * STATUS (actual_len then counts the pages before it only). The device's bus
 * range ends with the window. With WINDOW_PAGES = n (0 < n < pages_per_block)
 * the window holds only the first n pages of each block, packed: window page
 * q is page q % n of block q / n (a mount reads every block's header pages in
 * one request this way). */
#define TS_NAND_ARRAY 0x10000u
#define TS_NAND_BUS_SIZE(page_size, page_count) \
  ((uint64_t)TS_NAND_ARRAY + (uint64_t)(page_size) * (uint64_t)(page_count))

/* ---- COMMAND values (the W25N01GV opcodes they stand for) ---- */
#define TS_NAND_CMD_READ_PAGE 0x13u    /* array page ROW -> buffer, BUSY for tR */
#define TS_NAND_CMD_PROGRAM_PAGE 0x10u /* buffer -> array page ROW, BUSY for tPROG */
#define TS_NAND_CMD_ERASE_BLOCK 0xD8u  /* block containing page ROW -> all 0xFF, BUSY for tBERS */
#define TS_NAND_CMD_READ_ID 0x9Fu      /* latch the JEDEC ID into TS_NAND_ID */
#define TS_NAND_CMD_RESET 0xFFu        /* abort any operation, registers to reset values */

/* ---- STATUS bits (same positions as the W25N01GV status register 3) ---- */
#define TS_NAND_STATUS_BUSY (1u << 0)         /* an operation is running */
#define TS_NAND_STATUS_ERASE_FAIL (1u << 2)   /* last ERASE_BLOCK failed */
#define TS_NAND_STATUS_PROGRAM_FAIL (1u << 3) /* last PROGRAM_PAGE failed */
#define TS_NAND_STATUS_ECC_SHIFT 4u
#define TS_NAND_STATUS_ECC_MASK (3u << TS_NAND_STATUS_ECC_SHIFT) /* outcome of the last READ_PAGE */
#define TS_NAND_ECC_NONE 0u                                      /* no bit errors (or ECC disabled) */
#define TS_NAND_ECC_CORRECTED 1u                                 /* single-bit errors, corrected in the buffer */
#define TS_NAND_ECC_UNCORRECTABLE 2u                             /* a sector had more errors than the code corrects */

/* ---- CONFIG bits ---- */
#define TS_NAND_CONFIG_ECC_EN (1u << 4) /* on-die ECC (W25N01GV ECC-E, config bit 4) */

/* JEDEC ID: manufacturer 0xEF (Winbond), device 0xAA21 (W25N01GV). */
#define TS_NAND_JEDEC_ID 0x00EFAA21u

/* ---- Spare-area layout ----
 * The page is split into ECC sectors of TS_NAND_ECC_SECTOR bytes; the spare
 * area into as many equal sections (spare_size / sectors bytes each, 16 for
 * a 2048+64 page). Within section s:
 *   [0, 2)                unprotected; section 0 byte 0 of a block's first
 *                         page is the bad-block marker (0xFF = good)
 *   [2, section - 2)      user bytes, protected by sector s's ECC
 *   [section - 2, section) the ECC code, written by the device on PROGRAM_PAGE
 *                         when ECC is enabled
 */
#define TS_NAND_ECC_SECTOR 512u
#define TS_NAND_SPARE_FREE_BYTES 2u
#define TS_NAND_SPARE_ECC_BYTES 2u
#define TS_NAND_BAD_BLOCK_MARKER_OFFSET 0u /* in the spare area of page 0 of a block */

#ifdef __cplusplus
}
#endif
