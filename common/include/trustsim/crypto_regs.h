/* Crypto engine register map (devices/crypto), docs/crypto-engine.md.
 * Data moves by DMA through the mailbox: a DATA write of N bytes hashes N
 * bytes of guest RAM in place. */
#pragma once
#include <stdint.h>

#define TS_CRYPTO_CTRL 0x000u   /* u64 write: TS_CRYPTO_CMD_* starts a hash */
#define TS_CRYPTO_STATUS 0x008u /* u64 read: result of the last operation, TS_CRYPTO_* */
#define TS_CRYPTO_DATA 0x100u   /* write N bytes: absorbed into the running hash */
#define TS_CRYPTO_DIGEST 0x200u /* read 32 (SHA-256) or 64 (SHA-512) bytes: finishes the hash */
#define TS_CRYPTO_VERIFY 0x300u /* write struct ts_crypto_verify; result in STATUS */
#define TS_CRYPTO_SIZE 0x1000u

#define TS_CRYPTO_CMD_SHA256 1u
#define TS_CRYPTO_CMD_SHA512 2u

#define TS_CRYPTO_OK 0u
#define TS_CRYPTO_BAD_SIGNATURE 1u
#define TS_CRYPTO_BAD_REQUEST 2u /* malformed key record, no hash running, wrong digest length */

struct ts_crypto_verify {
  uint8_t key_record[296]; /* common/keys.h encode_record() */
  uint8_t digest[64];      /* SHA-512 of the signed message */
  uint8_t signature[256];  /* RSA-2048 PKCS#1 v1.5 */
};
