/* TPM register interface (tpm-sim/), a TIS/PTP FIFO-style window driven
 * through the mailbox: docs/tpm.md. Locality L's registers sit at
 * L * TS_TPM_LOCALITY_STRIDE; only the registers below exist. */
#pragma once
#include <stdint.h>

#define TS_TPM_LOCALITY_STRIDE 0x1000u
#define TS_TPM_LOCALITIES 5u
#define TS_TPM_SIZE (TS_TPM_LOCALITY_STRIDE * TS_TPM_LOCALITIES)

#define TS_TPM_ACCESS 0x000u    /* 1 byte, read / write */
#define TS_TPM_STS 0x018u       /* 4 bytes, read / write */
#define TS_TPM_DATA_FIFO 0x024u /* port: 1 .. burstCount bytes per access */
#define TS_TPM_DID_VID 0xF00u   /* 4 bytes, read */

/* ACCESS bits */
#define TS_TPM_ACCESS_VALID 0x80u           /* tpmRegValidSts: the TPM has finished its power-on init */
#define TS_TPM_ACCESS_ACTIVE_LOCALITY 0x20u /* read: this locality owns the TPM; write 1: relinquish */
#define TS_TPM_ACCESS_REQUEST_USE 0x02u     /* write 1: request the TPM for this locality */

/* STS bits (low byte); burstCount is bits 8..23 */
#define TS_TPM_STS_VALID 0x80u
#define TS_TPM_STS_COMMAND_READY 0x40u
#define TS_TPM_STS_GO 0x20u
#define TS_TPM_STS_DATA_AVAIL 0x10u
#define TS_TPM_STS_EXPECT 0x08u
#define TS_TPM_STS_RESPONSE_RETRY 0x02u
#define TS_TPM_STS_BURST_SHIFT 8u
#define TS_TPM_STS_BURST_MASK 0xFFFFu

#define TS_TPM_DID_VID_VALUE 0x00011014u /* vendor 0x1014 (IBM, like swtpm), device 0x0001 */
#define TS_TPM_MAX_COMMAND 4096u
