// The bootflash: file system: a flat, power-safe file system on NAND,
// built on trustsim::flash::Ops. On-flash format, commit protocol, mount
// algorithm and limits are specified in docs/bootflash-fs.md.
//
// Freestanding: no heap, no exceptions, no libc. All state lives in a
// caller-owned Volume (fixed-size arrays, ~137 KiB; the firmware puts it in
// .bss). A Volume that is all zero bytes is valid and unmounted, so a
// global needs no constructor: call attach() before format()/mount().
//
// One writer at a time: begin_write() .. append() .. commit() streams a file
// without holding it in RAM; while a write is open, the other mutating
// calls return kWriteInProgress (reads, listing and space() still work).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "trustsim/flash_ops.h"

namespace trustsim::bfs {

// Static limits of the RAM state. The geometry-dependent limits (max files,
// max file size, inline size) are reported by limits().
constexpr uint32_t kMaxNameLen = 127;
constexpr uint32_t kMaxLabelLen = 31;
constexpr uint32_t kMaxFiles = 256;
constexpr uint32_t kMaxPageSize = 4096;
constexpr uint32_t kMinPageSize = 512;
constexpr uint32_t kMaxBlocks = 4096;
constexpr uint32_t kMinPagesPerBlock = 10;
constexpr uint32_t kMaxPagesPerBlock = 1024;

enum class Status {
  kOk,
  kNotMounted,           // format() or mount() first
  kNotFormatted,         // no file system found on the flash
  kCorrupt,              // file system found but damaged beyond repair
  kUnsupportedGeometry,  // flash geometry outside what a Volume can hold
  kGeometryMismatch,     // formatted for a different flash geometry
  kIoError,              // flash operation failed: see last_flash_result()
  kNoSpace,
  kNameTooLong,  // more than kMaxNameLen characters
  kBadName,      // empty, or contains '/', ':', space or a control character
  kBadLabel,
  kNotFound,
  kExists,
  kTooManyFiles,
  kFileTooLarge,
  kWriteInProgress,    // finish the open write (commit or abort) first
  kNoWriteInProgress,  // append/commit without begin_write
  kFsckFailed,         // fsck found errors (see the report)
};
const char* status_text(Status s);

struct FileInfo {
  char name[kMaxNameLen + 1];
  uint64_t size;
  uint32_t timestamp;  // seconds, as given to begin_write
  uint32_t index;      // stable slot number, 1..max_files (kept across overwrite and rename)
  uint32_t crc32;      // CRC-32 of the whole contents
};

// What mount() found and fixed.
struct MountReport {
  uint32_t generation;  // commit number of the state mounted
  uint32_t files;
  uint32_t bad_blocks;  // marked bad in the flash
  uint32_t free_blocks;
  uint32_t uncommitted_blocks;   // data blocks of an interrupted write, discarded
  uint32_t uncommitted_records;  // metadata records written after the last commit, discarded
  uint32_t torn_records;         // metadata records torn by a power cut or unreadable, ignored
  uint32_t garbage_blocks;       // free blocks holding stale data, erased when next used
  uint32_t repaired_records;     // records with one unreadable copy, rewritten
  uint32_t lost_files;           // both copies of a file's record unreadable
  uint32_t damaged_files;        // a data block does not belong to its file (see fsck)
  uint32_t pages_read;           // flash page reads the mount took
  bool fell_back;                // the newest metadata block held no commit; an older one did
};

struct FsckReport {
  uint32_t errors;
  uint32_t warnings;  // degraded but intact (one copy of a record unreadable)
  uint32_t files;
  uint64_t bytes_verified;  // file bytes read back and checked against their CRC
  uint32_t pages_read;
  const char* first_error;  // nullptr when errors == 0
  const char* first_warning;
};

struct Limits {
  uint32_t max_files;
  uint64_t max_file_size;
  uint32_t inline_size;       // files up to this size live inside their metadata record
  uint32_t block_data_bytes;  // allocation unit of larger files
  uint32_t reserved_blocks;   // metadata area + GC slack + spares, not available to files
};

class Volume {
 public:
  Volume() = default;
  explicit Volume(flash::Ops& ops) { attach(ops); }
  void attach(flash::Ops& ops);

  bool mounted() const { return mounted_; }
  // The flash result behind the last kIoError.
  flash::Result last_flash_result() const { return last_result_; }
  // Counters since attach(), for diagnostics and tests.
  uint32_t gc_runs() const { return gc_runs_; }
  uint32_t pages_read() const { return pages_read_; }

 private:
  friend class VolumeImpl;

  struct File {
    uint64_t size;
    uint32_t serial;
    uint32_t inode_page;  // copy A of the file's record pair
    uint32_t timestamp;
    uint32_t data_crc;
    uint16_t block_count;
    uint8_t used;
    uint8_t flags;
    uint8_t name_len;
    char name[kMaxNameLen + 1];
  };
  struct Block {
    uint32_t seq;     // sequence number in the block's header (0: none readable)
    uint32_t serial;  // data block: owner's serial from the header
    uint16_t owner;   // data block: file slot, or kPendingOwner
    uint16_t index;   // data block: position in the file
    uint16_t live;    // metadata block: live record pairs in it
    uint8_t kind;     // BlockKind (bfs.cc)
    uint8_t header;   // HeaderKind found on flash (bfs.cc)
    uint8_t retire;   // a program failed here: mark bad once free
    uint8_t pad[3];
  };

  flash::Ops* ops_;
  flash::Result last_result_;
  bool mounted_;

  // Geometry and derived layout.
  uint32_t page_size_, pages_per_block_, block_count_;
  uint32_t pairs_per_block_, data_pages_per_block_;
  uint32_t max_files_, meta_cap_, reserve_;
  uint32_t good_blocks_, data_blocks_;

  // Log position.
  uint32_t head_, head_next_;  // metadata head block and its next free pair
  uint32_t commit_page_, generation_;
  uint32_t next_block_seq_, next_serial_, alloc_cursor_;
  char label_[kMaxLabelLen + 1];

  // The open write.
  bool writing_;
  bool write_blocks_;  // past the inline size: data goes to blocks
  uint16_t write_slot_;
  uint8_t write_name_len_;
  char write_name_[kMaxNameLen + 1];
  uint32_t write_serial_, write_timestamp_, write_crc_;
  uint64_t write_size_;
  uint32_t write_page_, write_fill_, write_nblocks_;

  // Last data block lookup (sequential reads).
  uint32_t cache_slot_, cache_index_, cache_block_;

  uint32_t gc_runs_, pages_read_;

  File files_[kMaxFiles];
  Block blocks_[kMaxBlocks];
  uint16_t write_blocks_list_[kMaxPageSize / 2];
  uint8_t meta_buf_[kMaxPageSize];   // record being built or read
  uint8_t stage_buf_[kMaxPageSize];  // the open write's partial page (or inline data)
  uint8_t read_buf_[kMaxPageSize];
};

// Erases the flash and creates an empty file system. Power-safe: a cut
// leaves either the previous file system or the new empty one.
Status format(Volume& v, const char* label);
Status mount(Volume& v, MountReport* report);
// Checks the mounted volume against the flash without writing anything.
// verify_data reads every file back and checks its CRC. Returns kOk or
// kFsckFailed.
Status fsck(Volume& v, FsckReport* report, bool verify_data = true);
// Discards the RAM state (a later mount() starts from the flash). Drops an
// open write.
void unmount(Volume& v);

Limits limits(const Volume& v);
const char* label(const Volume& v);

// Listing: start with *cursor = 0; returns false after the last file.
bool next_file(const Volume& v, uint32_t* cursor, FileInfo* out);
Status stat(const Volume& v, const char* name, FileInfo* out);
// Reads up to len bytes at offset; *got is what was read (0 at or past end).
Status read(Volume& v, const char* name, uint64_t offset, void* buf, size_t len, size_t* got);

Status begin_write(Volume& v, const char* name, uint32_t timestamp);
Status append(Volume& v, const void* data, size_t len);  // any failure aborts the write
Status commit(Volume& v);                                // atomically creates or replaces the file
Status abort(Volume& v);                                 // discards the open write (kOk if there is none)

Status rename(Volume& v, const char* from, const char* to);  // kExists if `to` exists
Status remove(Volume& v, const char* name);

// Bytes in whole allocation units: used + available == total. Files up to
// limits().inline_size live in metadata and take no data space.
Status space(const Volume& v, uint64_t* used, uint64_t* available, uint64_t* total);

// Name rules: 1..kMaxNameLen printable ASCII characters, no '/', ':' or space.
Status check_name(const char* name);

// Handing a mounted volume to the next boot stage in RAM, so the OS need
// not mount bootflash: again after ROMmon did (docs/bootflash-fs.md,
// "Handing the mount over"). ROMmon fills a Handover as the last thing
// before it jumps to the OS; the OS takes it over instead of mounting.
constexpr uint32_t kHandoverMagic = 0x48534642u;  // "BFSH"
// Raise with every change to the layout of Volume or MountReport (bfs.cc
// asserts the sizes, so a change there fails to compile until it is done).
constexpr uint32_t kHandoverVersion = 1;

struct Handover {
  uint32_t magic;                             // kHandoverMagic
  uint32_t version;                           // kHandoverVersion
  uint32_t volume_size;                       // sizeof(Volume) of the stage that wrote it
  uint32_t crc32;                             // CRC-32 of report and volume
  MountReport report;                         // what the mount that built the volume found
  alignas(8) uint8_t volume[sizeof(Volume)];  // the Volume's bytes, its flash::Ops pointer cleared
};

// The CRC-32 a hand-over's crc32 field holds: of its report, then its
// volume bytes.
uint32_t handover_crc(const Handover& h);
// Fills *out from a mounted volume with no open write (kNotMounted,
// kWriteInProgress otherwise; *out is then left invalid).
Status hand_over(const Volume& v, const MountReport& report, Handover* out);
// Makes v the handed-over volume, attached to ops, and returns the report
// of the mount that built it. kNotMounted when `in` holds no hand-over,
// kCorrupt when it fails its version, size, CRC or structural check,
// kGeometryMismatch when it describes another flash than ops. On any
// error v is left attached to ops and unmounted: mount() it from flash.
// The magic of `in` is cleared either way: a hand-over is taken at most once.
Status take_over(Volume& v, flash::Ops& ops, Handover& in, MountReport* report);

// status_text(), and for kIoError the flash result behind it
// ("flash I/O error: uncorrectable ECC error"). NUL-terminated, truncated
// to size; returns the length written.
size_t describe(const Volume& v, Status s, char* buf, size_t size);

}  // namespace trustsim::bfs
