/* Management-port transfer engine ("netxfer") register map, shared by the
 * model (devices/netxfer) and the firmware; specified in docs/netxfer.md.
 * The firmware writes a URL, starts a transfer with CTRL = OPEN, then reads
 * the file's bytes in order from the DATA port by DMA into its own buffer
 * until STATUS says END (every byte delivered) or an error. An upload is the
 * other way round: CTRL = UPLOAD, the file's bytes written to DATA, then
 * CTRL = COMMIT sends them and STATUS says END or the error. For https://
 * the server's certificate is checked against exactly the CA certificates
 * the firmware wrote to CA (PEM), nothing else. Uploads go to tftp://,
 * ftp:// (STOR), http:// and https:// (PUT). */
#pragma once
#include <stdint.h>

#define TS_NETXFER_CTRL 0x000u       /* u64 write: TS_NETXFER_CMD_* */
#define TS_NETXFER_STATUS 0x008u     /* u64 read: TS_NETXFER_* of the transfer */
#define TS_NETXFER_TIMEOUT 0x010u    /* u64 write/read: ns a DATA read waits for bytes that do not come */
#define TS_NETXFER_DONE 0x018u       /* u64 read: bytes delivered through DATA so far */
#define TS_NETXFER_NAMESERVER 0x020u /* u64 read/write: IPv4 of the name server (a<<24|b<<16|c<<8|d); 0: none */
#define TS_NETXFER_ADDRESS 0x028u    /* u64 read: IPv4 the last PING resolved its host to */
#define TS_NETXFER_HTTP_CODE 0x040u  /* u64 read: HTTP status of the last http(s) transfer; 0: none */
#define TS_NETXFER_URL 0x100u        /* write 1..TS_NETXFER_MAX_URL bytes: the URL, ASCII, no NUL needed */
#define TS_NETXFER_CA 0x600u         /* write port: PEM text appended to the trusted CA certificates (https) */
#define TS_NETXFER_DATA 0x800u /* port, any length: read the next bytes of a download, write the next of an upload */
#define TS_NETXFER_SIZE 0x1000u

#define TS_NETXFER_MAX_URL 1024u
#define TS_NETXFER_MAX_CA 65536u                     /* bytes of trusted CA certificates, all writes together */
#define TS_NETXFER_DEFAULT_TIMEOUT_NS 10000000000ull /* 10 s, after power-on */

#define TS_NETXFER_CMD_OPEN 1u   /* start a transfer of the URL last written */
#define TS_NETXFER_CMD_CLOSE 2u  /* end (or abandon) the transfer; an upload not committed sends nothing */
#define TS_NETXFER_CMD_UPLOAD 3u /* start an upload to the URL last written; its bytes follow through DATA writes */
#define TS_NETXFER_CMD_COMMIT                                                                                          \
  4u                               /* send the bytes written so far as the whole file: STATUS becomes END or the error \
                                    */
#define TS_NETXFER_CMD_CA_CLEAR 5u /* forget the trusted CA certificates written to CA */
#define TS_NETXFER_CMD_PING 6u     /* one echo to the host (name or IPv4) written to URL: END if it answered */

/* STATUS values. OK: the transfer is open and more bytes may follow; END:
 * every byte has been delivered. The rest are failures. */
#define TS_NETXFER_OK 0u
#define TS_NETXFER_END 1u
#define TS_NETXFER_BAD_URL 2u             /* unsupported scheme or malformed URL */
#define TS_NETXFER_REFUSED 3u             /* connection refused */
#define TS_NETXFER_UNKNOWN_HOST 4u        /* the host name does not resolve */
#define TS_NETXFER_NOT_FOUND 5u           /* the server has no such file */
#define TS_NETXFER_DENIED 6u              /* login or permission refused */
#define TS_NETXFER_TIMEOUT_ERR 7u         /* no data within TIMEOUT */
#define TS_NETXFER_TRUNCATED 8u           /* the connection ended before the whole file */
#define TS_NETXFER_TOO_LARGE 9u           /* the file is larger than the engine's buffer */
#define TS_NETXFER_NO_TRANSFER 10u        /* DATA access or COMMIT with no transfer of that direction open */
#define TS_NETXFER_FAILED 11u             /* any other transfer error */
#define TS_NETXFER_UNTRUSTED 12u          /* https: the server's certificate does not chain to a trusted CA */
#define TS_NETXFER_CERT_EXPIRED 13u       /* https: the server's certificate has expired (by the board's RTC) */
#define TS_NETXFER_CA_INVALID 14u         /* https: the trusted CA certificates given do not parse */
#define TS_NETXFER_CERT_NOT_YET_VALID 15u /* https: the server's certificate is not valid yet (by the board's RTC) */
#define TS_NETXFER_STATUS_COUNT 16u

/* The status mail (SMTP), a block of its own (docs/netxfer.md, "Mail"):
 * the firmware writes the envelope and the message, then MAIL_CTRL = SEND;
 * MAIL_STATUS then says whether the server accepted it. It does not touch
 * the file transfer registers above, nor they it. */
#define TS_NETXFER_MAIL_CTRL 0xC00u     /* u64 write: TS_NETXFER_MAIL_CMD_SEND */
#define TS_NETXFER_MAIL_STATUS 0xC08u   /* u64 read: TS_NETXFER_OK (accepted) or a failure of the last send */
#define TS_NETXFER_MAIL_ENVELOPE 0xC10u /* write: "smtp://HOST[:PORT]\nFROM\nTO", ASCII */
#define TS_NETXFER_MAIL_BODY 0xD00u     /* write: the message (header lines, blank line, body; CRLF) */
#define TS_NETXFER_MAX_ENVELOPE 0xF0u   /* 240 bytes */
#define TS_NETXFER_MAX_MAIL 0x300u      /* 768 bytes */
#define TS_NETXFER_MAIL_CMD_SEND 1u

#ifdef __cplusplus
inline const char* ts_netxfer_status_name(uint64_t s) {
  switch (s) {
    case TS_NETXFER_OK:
      return "ok";
    case TS_NETXFER_END:
      return "end";
    case TS_NETXFER_BAD_URL:
      return "bad-url";
    case TS_NETXFER_REFUSED:
      return "refused";
    case TS_NETXFER_UNKNOWN_HOST:
      return "unknown-host";
    case TS_NETXFER_NOT_FOUND:
      return "not-found";
    case TS_NETXFER_DENIED:
      return "denied";
    case TS_NETXFER_TIMEOUT_ERR:
      return "timeout";
    case TS_NETXFER_TRUNCATED:
      return "truncated";
    case TS_NETXFER_TOO_LARGE:
      return "too-large";
    case TS_NETXFER_NO_TRANSFER:
      return "no-transfer";
    case TS_NETXFER_UNTRUSTED:
      return "untrusted";
    case TS_NETXFER_CERT_EXPIRED:
      return "cert-expired";
    case TS_NETXFER_CA_INVALID:
      return "ca-invalid";
    case TS_NETXFER_CERT_NOT_YET_VALID:
      return "cert-not-yet-valid";
    default:
      return "failed";
  }
}
#endif
