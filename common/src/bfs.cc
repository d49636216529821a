// bootflash: file system. Format and algorithms: docs/bootflash-fs.md.
//
// In short: every block in use starts with a header pair (pages 0 and 1,
// identical copies). Metadata blocks then hold record pairs (a file's
// record, or a commit); data blocks hold raw file data and belong to one
// file. The newest valid commit (in the metadata block with the highest
// sequence number) is the whole truth: it lists every file's record, each
// record lists the file's data blocks, and nothing else is live. Changes
// are written to unused blocks and pairs first and become visible with
// one page program, the commit's copy A.
#include "trustsim/bfs.h"

#include "trustsim/bytes.h"
#include "trustsim/crc32.h"
#include "trustsim/mem_words.h"

namespace trustsim::bfs {
namespace {

using flash::Result;

constexpr uint32_t kMagic = 0x31534642u;  // "BFS1"
constexpr uint8_t kFormatVersion = 1;

// Record kinds (byte 8 of every page the file system writes, except data).
constexpr uint8_t kRecMetaHeader = 1;
constexpr uint8_t kRecDataHeader = 2;
constexpr uint8_t kRecInode = 3;
constexpr uint8_t kRecCommit = 4;

// Common record header.
constexpr uint32_t kOffMagic = 0;
constexpr uint32_t kOffCrc = 4;
constexpr uint32_t kOffKind = 8;
constexpr uint32_t kOffVersion = 9;
constexpr uint32_t kOffBlockSeq = 12;
constexpr uint32_t kCrcStart = 8;

// Block header (meta and data).
constexpr uint32_t kHdrPageSize = 16;
constexpr uint32_t kHdrPagesPerBlock = 20;
constexpr uint32_t kHdrBlockCount = 24;
constexpr uint32_t kHdrSerial = 28;
constexpr uint32_t kHdrIndex = 32;

// File record.
constexpr uint32_t kInoSerial = 16;
constexpr uint32_t kInoSlot = 20;
constexpr uint32_t kInoFlags = 22;
constexpr uint32_t kInoNameLen = 23;
constexpr uint32_t kInoSize = 24;
constexpr uint32_t kInoTimestamp = 32;
constexpr uint32_t kInoDataCrc = 36;
constexpr uint32_t kInoBlockCount = 40;
constexpr uint32_t kInoName = 48;
constexpr uint32_t kInoPayload = kInoName + kMaxNameLen + 1;  // 176
constexpr uint8_t kInoFlagInline = 1;

// Commit.
constexpr uint32_t kComGeneration = 16;
constexpr uint32_t kComNextSerial = 20;
constexpr uint32_t kComSeqHigh = 24;
constexpr uint32_t kComMaxFiles = 28;
constexpr uint32_t kComPageSize = 32;
constexpr uint32_t kComPagesPerBlock = 36;
constexpr uint32_t kComBlockCount = 40;
constexpr uint32_t kComLabel = 48;
constexpr uint32_t kComTable = 80;

constexpr uint32_t kNone = 0xFFFFFFFFu;
constexpr uint16_t kNoOwner = 0xFFFF;
constexpr uint16_t kPendingOwner = 0xFFFE;

enum BlockKind : uint8_t { kFree = 0, kBad, kMeta, kData, kPending };
// What the header pair on flash says (kept in RAM so fsck and the commit
// search see the same thing as mount).
enum HeaderKind : uint8_t { kHdrClean = 0, kHdrMeta, kHdrData, kHdrGarbage };

enum class PageState { kClean, kValid, kBad };

bool read_ok(Result r) { return r == Result::kOk || r == Result::kCorrected; }

bool all_ff(const uint8_t* p, uint32_t n) { return trustsim::mem::all_equal(p, 0xFF, n); }

bool printable_label(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (uint8_t(s[i]) < 0x20 || uint8_t(s[i]) > 0x7E) return false;
  return true;
}

uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }
uint32_t div_round_up(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

struct HeaderInfo {
  uint8_t kind;       // HeaderKind
  uint32_t seq;       // of the header used (meta/data)
  uint32_t serial;    // data header
  uint16_t index;     // data header
  uint32_t seen_seq;  // highest sequence number in either header page
  uint32_t seen_serial;
};

// Result of the newest-commit search.
struct CommitSearch {
  uint32_t commit_page;  // copy A of the newest valid commit, kNone if none
  uint32_t head;         // newest metadata block
  uint32_t written_end;  // pairs of the head up to the last one not blank
  uint32_t resume;       // first pair of the head that is certainly unprogrammed
  bool copy_a_bad;
  bool copy_b_bad;
  bool fell_back;
  uint32_t uncommitted;
  uint32_t torn;
};

// A set of file-record changes made visible by one commit.
struct Txn {
  uint32_t n;
  uint16_t slot[kMaxFiles];
  uint32_t page[kMaxFiles];  // new record pair, kNone: file removed
};

}  // namespace

class VolumeImpl {
 public:
  // ---- geometry --------------------------------------------------------

  static uint32_t block_bytes(const Volume& v) { return v.data_pages_per_block_ * v.page_size_; }
  static uint32_t inline_cap(const Volume& v) { return v.page_size_ - kInoPayload; }
  static uint32_t list_cap(const Volume& v) { return min_u32((v.page_size_ - kInoPayload) / 2, 0xFFFF); }
  static uint64_t max_file_size(const Volume& v) { return uint64_t(list_cap(v)) * block_bytes(v); }
  static uint32_t pair_page(const Volume& v, uint32_t block, uint32_t pair) {
    return block * v.pages_per_block_ + 2 + 2 * pair;
  }

  static Status load_geometry(Volume& v) {
    flash::Geometry g = v.ops_->geometry();
    if (g.page_size < kMinPageSize || g.page_size > kMaxPageSize || g.pages_per_block < kMinPagesPerBlock ||
        g.pages_per_block > kMaxPagesPerBlock || (g.pages_per_block & 1) != 0 || g.block_count > kMaxBlocks)
      return Status::kUnsupportedGeometry;
    v.page_size_ = g.page_size;
    v.pages_per_block_ = g.pages_per_block;
    v.block_count_ = g.block_count;
    v.pairs_per_block_ = (g.pages_per_block - 2) / 2;
    v.data_pages_per_block_ = g.pages_per_block - 2;
    v.max_files_ = min_u32(min_u32(kMaxFiles, (g.page_size - kComTable) / 4), g.block_count / 4);
    if (v.max_files_ < 1) return Status::kUnsupportedGeometry;
    // Enough metadata blocks that, when all are in use, one holds at most
    // pairs_per_block - 3 live pairs: collecting it always frees room
    // (docs/bootflash-fs.md, "Garbage collection").
    uint32_t meta_cap = div_round_up(v.max_files_ + 1, v.pairs_per_block_ - 3);
    v.meta_cap_ = meta_cap < 2 ? 2 : meta_cap;
    uint32_t spare = g.block_count / 128 < 2 ? 2 : g.block_count / 128;
    v.reserve_ = v.meta_cap_ + 1 + spare;
    if (g.block_count < v.reserve_ + 2) return Status::kUnsupportedGeometry;
    return Status::kOk;
  }

  static void reset(Volume& v) {
    v.mounted_ = false;
    v.writing_ = false;
    v.last_result_ = Result::kOk;
    v.head_ = kNone;
    v.head_next_ = 0;
    v.commit_page_ = kNone;
    v.generation_ = 0;
    v.next_block_seq_ = 1;
    v.next_serial_ = 1;
    v.alloc_cursor_ = 0;
    v.good_blocks_ = 0;
    v.data_blocks_ = 0;
    v.cache_slot_ = kNone;
    __builtin_memset(v.label_, 0, sizeof v.label_);
    __builtin_memset(v.files_, 0, sizeof v.files_);
    for (uint32_t b = 0; b < kMaxBlocks; ++b) {
      Volume::Block& k = v.blocks_[b];
      __builtin_memset(&k, 0, sizeof k);
      k.owner = kNoOwner;
    }
  }

  // ---- flash access ----------------------------------------------------

  static Result read_page(Volume& v, uint32_t page, uint8_t* buf) {
    ++v.pages_read_;
    Result r = v.ops_->read_page(page, buf);
    if (!read_ok(r)) v.last_result_ = r;
    return r;
  }

  static Result read_pages(Volume& v, uint32_t first, uint32_t count, uint8_t* buf, uint32_t* good) {
    Result r = v.ops_->read_pages(first, count, buf, good);
    v.pages_read_ += read_ok(r) ? count : *good + 1;
    if (!read_ok(r)) v.last_result_ = r;
    return r;
  }

  static Status program(Volume& v, uint32_t page, const uint8_t* buf) {
    Result r = v.ops_->program_page(page, buf);
    if (r == Result::kOk) return Status::kOk;
    v.last_result_ = r;
    if (r == Result::kProgramFailed) v.blocks_[page / v.pages_per_block_].retire = 1;
    return Status::kIoError;
  }

  static bool valid_record(const Volume& v, const uint8_t* p) {
    return load_le32(p + kOffMagic) == kMagic && p[kOffVersion] == kFormatVersion && p[kOffKind] >= kRecMetaHeader &&
           p[kOffKind] <= kRecCommit && crc32(p + kCrcStart, v.page_size_ - kCrcStart) == load_le32(p + kOffCrc);
  }

  static PageState check_page(Volume& v, uint32_t page, uint8_t* buf) {
    if (!read_ok(read_page(v, page, buf))) return PageState::kBad;
    if (all_ff(buf, v.page_size_)) return PageState::kClean;
    return valid_record(v, buf) ? PageState::kValid : PageState::kBad;
  }

  static void new_record(const Volume& v, uint8_t* buf, uint8_t kind) {
    __builtin_memset(buf, 0xFF, v.page_size_);
    __builtin_memset(buf, 0, 16);
    store_le32(buf + kOffMagic, kMagic);
    buf[kOffKind] = kind;
    buf[kOffVersion] = kFormatVersion;
  }

  static void seal(const Volume& v, uint8_t* buf, uint32_t block_seq) {
    store_le32(buf + kOffBlockSeq, block_seq);
    store_le32(buf + kOffCrc, crc32(buf + kCrcStart, v.page_size_ - kCrcStart));
  }

  // ---- block headers ----------------------------------------------------

  static void take_header(const uint8_t* p, HeaderInfo* h) {
    h->kind = p[kOffKind] == kRecMetaHeader ? kHdrMeta : kHdrData;
    h->seq = load_le32(p + kOffBlockSeq);
    h->serial = h->kind == kHdrData ? load_le32(p + kHdrSerial) : 0;
    h->index = h->kind == kHdrData ? load_le16(p + kHdrIndex) : 0;
  }

  static bool is_header(const uint8_t* p) { return p[kOffKind] == kRecMetaHeader || p[kOffKind] == kRecDataHeader; }

  static void note_seen(const uint8_t* p, HeaderInfo* h) {
    uint32_t seq = load_le32(p + kOffBlockSeq);
    if (seq > h->seen_seq) h->seen_seq = seq;
    if (p[kOffKind] == kRecDataHeader && load_le32(p + kHdrSerial) > h->seen_serial)
      h->seen_serial = load_le32(p + kHdrSerial);
  }

  // Reads a block's header pair: page 0, and page 1 when page 0 is not a
  // valid header. Page 1's sequence number counts even when page 0 is
  // erased (a torn erase can leave an old page 1 that a later torn erase
  // would expose), so no sequence number on flash is ever handed out again.
  static HeaderInfo read_header(Volume& v, uint32_t block, uint8_t* buf) {
    HeaderInfo h = {};
    uint32_t first = block * v.pages_per_block_;
    PageState s0 = check_page(v, first, buf);
    if (s0 == PageState::kValid && is_header(buf)) {
      take_header(buf, &h);
      note_seen(buf, &h);
      return h;
    }
    PageState s1 = check_page(v, first + 1, buf);
    if (s1 == PageState::kValid && is_header(buf)) {
      note_seen(buf, &h);
      if (s0 == PageState::kClean) {
        h.kind = kHdrGarbage;  // leftover of a torn erase: copy B never outlives an erased copy A otherwise
      } else {
        take_header(buf, &h);
      }
      return h;
    }
    h.kind = (s0 == PageState::kClean && s1 == PageState::kClean) ? kHdrClean : kHdrGarbage;
    return h;
  }

  static void build_block_header(const Volume& v, uint8_t* buf, uint8_t kind, uint32_t serial, uint16_t index) {
    new_record(v, buf, kind);
    store_le32(buf + kHdrPageSize, v.page_size_);
    store_le32(buf + kHdrPagesPerBlock, v.pages_per_block_);
    store_le32(buf + kHdrBlockCount, v.block_count_);
    store_le32(buf + kHdrSerial, serial);
    store_le16(buf + kHdrIndex, index);
    store_le16(buf + kHdrIndex + 2, 0);
  }

  // ---- block allocation ---------------------------------------------------

  static void retire(Volume& v, uint32_t b) {
    v.ops_->mark_bad_block(b);  // best effort: the RAM state stops using it either way
    Volume::Block& k = v.blocks_[b];
    k.kind = kBad;
    k.owner = kNoOwner;
    k.live = 0;
    if (v.good_blocks_ > 0) --v.good_blocks_;
  }

  static void free_block(Volume& v, uint32_t b) {
    Volume::Block& k = v.blocks_[b];
    if (k.retire) {
      retire(v, b);
      return;
    }
    k.kind = kFree;
    k.owner = kNoOwner;
    k.index = 0;
    k.live = 0;
  }

  // Picks a free block (round robin, which spreads erases) and erases it.
  // Blocks that fail to erase are marked bad and skipped.
  static Status alloc_block(Volume& v, uint32_t* out) {
    for (uint32_t i = 0; i < v.block_count_; ++i) {
      uint32_t b = (v.alloc_cursor_ + i) % v.block_count_;
      if (v.blocks_[b].kind != kFree) continue;
      Result r = v.ops_->erase_block(b);
      if (r == Result::kOk) {
        v.alloc_cursor_ = (b + 1) % v.block_count_;
        v.blocks_[b].header = kHdrClean;
        v.blocks_[b].retire = 0;
        *out = b;
        return Status::kOk;
      }
      v.last_result_ = r;
      if (r != Result::kEraseFailed && r != Result::kBadBlock) return Status::kIoError;
      retire(v, b);
    }
    return Status::kNoSpace;
  }

  // Erases a free block and writes its header pair. Program failures retire
  // the block and try another; anything else (power loss, transport) stops.
  static Status open_block(Volume& v, uint8_t kind, uint32_t serial, uint16_t index, uint32_t* out) {
    for (int attempt = 0; attempt < 4; ++attempt) {
      uint32_t b;
      Status st = alloc_block(v, &b);
      if (st != Status::kOk) return st;
      uint32_t seq = v.next_block_seq_++;
      uint8_t* buf = v.read_buf_;
      build_block_header(v, buf, kind, serial, index);
      seal(v, buf, seq);
      uint32_t first = b * v.pages_per_block_;
      st = program(v, first, buf);
      if (st == Status::kOk) st = program(v, first + 1, buf);
      Volume::Block& k = v.blocks_[b];
      if (st != Status::kOk) {
        k.header = kHdrGarbage;
        if (v.last_result_ != Result::kProgramFailed) return st;
        retire(v, b);
        continue;
      }
      k.header = kind == kRecMetaHeader ? kHdrMeta : kHdrData;
      k.seq = seq;
      k.serial = serial;
      k.index = index;
      k.live = 0;
      *out = b;
      return Status::kOk;
    }
    return Status::kIoError;
  }

  // ---- metadata log -----------------------------------------------------

  // Blocks that hold live record pairs. A head without any is not counted:
  // it is released as soon as another head opens.
  static uint32_t meta_in_use(const Volume& v) {
    uint32_t n = 0;
    for (uint32_t b = 0; b < v.block_count_; ++b)
      if (v.blocks_[b].kind == kMeta && v.blocks_[b].live > 0) ++n;
    return n;
  }

  static bool has_free_block(const Volume& v) {
    for (uint32_t b = 0; b < v.block_count_; ++b)
      if (v.blocks_[b].kind == kFree) return true;
    return false;
  }

  static uint32_t head_free(const Volume& v) {
    return v.head_ == kNone ? 0 : v.pairs_per_block_ - min_u32(v.head_next_, v.pairs_per_block_);
  }

  static void close_head(Volume& v) {
    if (v.head_ == kNone) return;
    uint32_t b = v.head_;
    v.head_ = kNone;
    if (v.blocks_[b].live == 0) free_block(v, b);
  }

  static Status open_head(Volume& v, uint32_t cap) {
    if (meta_in_use(v) + 1 > cap) return Status::kNoSpace;
    close_head(v);
    uint32_t b;
    Status st = open_block(v, kRecMetaHeader, 0, 0, &b);
    if (st != Status::kOk) return st;
    v.blocks_[b].kind = kMeta;
    v.head_ = b;
    v.head_next_ = 0;
    return Status::kOk;
  }

  // Writes the record in buf (built with new_record) as a pair in the head.
  // Copy A carries the decision: once it is programmed the record exists,
  // so a failure of copy B leaves a valid, if degraded, pair.
  static Status write_pair(Volume& v, uint8_t* buf, uint32_t* out_page) {
    if (v.head_ == kNone || v.head_next_ >= v.pairs_per_block_) {
      Status st = open_head(v, v.meta_cap_ + 1);
      if (st != Status::kOk) return st;
    }
    uint32_t a = pair_page(v, v.head_, v.head_next_);
    ++v.head_next_;  // consumed even if the program fails: the pages are no longer erased
    if (buf[kOffKind] == kRecCommit) store_le32(buf + kComSeqHigh, v.next_block_seq_ - 1);
    seal(v, buf, v.blocks_[v.head_].seq);
    Status st = program(v, a, buf);
    if (st != Status::kOk) {
      bool written = false;
      if (v.last_result_ == Result::kProgramFailed) {
        // The device may report failure yet hold the data; if it does, the
        // record is live on flash and RAM must agree. Either way the block
        // takes no more writes (it is retired once nothing in it is live).
        written = read_ok(read_page(v, a, v.read_buf_)) && __builtin_memcmp(v.read_buf_, buf, v.page_size_) == 0;
        v.head_next_ = v.pairs_per_block_;
      }
      if (!written) return st;
    } else if (program(v, a + 1, buf) != Status::kOk && v.last_result_ == Result::kProgramFailed) {
      v.head_next_ = v.pairs_per_block_;
    }
    *out_page = a;
    return Status::kOk;
  }

  static void release_pair(Volume& v, uint32_t page) {
    if (page == kNone) return;
    uint32_t b = page / v.pages_per_block_;
    Volume::Block& k = v.blocks_[b];
    if (k.live > 0) --k.live;
    if (k.live == 0 && b != v.head_ && k.kind == kMeta) free_block(v, b);
  }

  static void add_pair(Volume& v, uint32_t page) {
    Volume::Block& k = v.blocks_[page / v.pages_per_block_];
    k.kind = kMeta;
    ++k.live;
  }

  static void build_commit(Volume& v, uint8_t* buf, const Txn& t) {
    new_record(v, buf, kRecCommit);
    store_le32(buf + kComGeneration, v.generation_ + 1);
    store_le32(buf + kComNextSerial, v.next_serial_);
    store_le16(buf + kComMaxFiles, uint16_t(v.max_files_));
    store_le16(buf + kComMaxFiles + 2, 0);
    store_le32(buf + kComPageSize, v.page_size_);
    store_le32(buf + kComPagesPerBlock, v.pages_per_block_);
    store_le32(buf + kComBlockCount, v.block_count_);
    store_le32(buf + kComBlockCount + 4, 0);
    __builtin_memset(buf + kComLabel, 0, kMaxLabelLen + 1);
    __builtin_memcpy(buf + kComLabel, v.label_, kMaxLabelLen);
    for (uint32_t s = 0; s < v.max_files_; ++s) {
      const Volume::File& f = v.files_[s];
      store_le32(buf + kComTable + 4 * s, f.used ? f.inode_page : kNone);
    }
    for (uint32_t i = 0; i < t.n; ++i) store_le32(buf + kComTable + 4 * t.slot[i], t.page[i]);
  }

  // Makes the transaction visible, then updates the live-pair accounting.
  // The caller applies everything else (data blocks, names) on kOk.
  static Status write_commit(Volume& v, const Txn& t) {
    build_commit(v, v.meta_buf_, t);
    uint32_t page;
    Status st = write_pair(v, v.meta_buf_, &page);
    if (st != Status::kOk) return st;
    ++v.generation_;
    add_pair(v, page);
    uint32_t old = v.commit_page_;
    v.commit_page_ = page;
    release_pair(v, old);
    for (uint32_t i = 0; i < t.n; ++i) {
      Volume::File& f = v.files_[t.slot[i]];
      if (t.page[i] != kNone) add_pair(v, t.page[i]);
      if (f.used) release_pair(v, f.inode_page);
      f.inode_page = t.page[i];
    }
    v.cache_slot_ = kNone;
    return Status::kOk;
  }

  // Moves the live pairs of the metadata block with the fewest of them to a
  // fresh head and commits. With meta_cap_ chosen as in load_geometry this
  // always leaves the new head with at least two free pairs.
  static Status collect_garbage(Volume& v) {
    ++v.gc_runs_;
    close_head(v);
    uint32_t victim = kNone;
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      const Volume::Block& k = v.blocks_[b];
      if (k.kind != kMeta || k.live == 0) continue;
      if (victim == kNone || k.live < v.blocks_[victim].live ||
          (k.live == v.blocks_[victim].live && k.seq < v.blocks_[victim].seq))
        victim = b;
    }
    if (victim == kNone || v.blocks_[victim].live + 1u > v.pairs_per_block_) return Status::kNoSpace;
    static_assert(sizeof(Txn) < 1600, "Txn lives on the stack");
    Txn t;
    t.n = 0;
    for (uint32_t s = 0; s < v.max_files_; ++s) {
      const Volume::File& f = v.files_[s];
      if (!f.used || f.inode_page / v.pages_per_block_ != victim) continue;
      Status st = load_inode(v, s, v.meta_buf_);
      if (st != Status::kOk) return st;
      uint32_t page;
      st = write_pair(v, v.meta_buf_, &page);
      if (st != Status::kOk) return st;
      t.slot[t.n] = uint16_t(s);
      t.page[t.n] = page;
      ++t.n;
    }
    return write_commit(v, t);
  }

  // Makes sure `pairs` record pairs can be written without exceeding the
  // metadata budget, collecting garbage if needed.
  static Status ensure_meta_room(Volume& v, uint32_t pairs) {
    for (int round = 0; round < 3; ++round) {
      bool grow = meta_in_use(v) + 1 <= v.meta_cap_ && has_free_block(v);
      uint32_t room;
      if (v.head_ != kNone && v.blocks_[v.head_].live > 0) {
        room = head_free(v) + (grow ? v.pairs_per_block_ : 0);
      } else {
        // A head without live pairs (left by an interrupted operation)
        // starts to count once written to, like a new block: use it only
        // if the whole operation fits, else let it go and start a new one.
        if (head_free(v) < pairs) close_head(v);
        room = grow ? (v.head_ != kNone ? head_free(v) : v.pairs_per_block_) : 0;
      }
      if (room >= pairs) return Status::kOk;
      Status st = collect_garbage(v);
      if (st != Status::kOk) return st;
    }
    return Status::kNoSpace;
  }

  // ---- file records -------------------------------------------------------

  static bool inode_matches(const Volume& v, const uint8_t* p, uint32_t slot) {
    return p[kOffKind] == kRecInode && load_le16(p + kInoSlot) == slot &&
           (!v.files_[slot].used || load_le32(p + kInoSerial) == v.files_[slot].serial);
  }

  // Reads a record pair: copy A, else copy B. Returns 2 if A was good, 1 if
  // only B was, 0 if neither.
  static int read_record(Volume& v, uint32_t page, uint8_t* buf, uint8_t kind, uint32_t slot) {
    for (int copy = 0; copy < 2; ++copy) {
      if (check_page(v, page + copy, buf) != PageState::kValid) continue;
      if (buf[kOffKind] != kind) continue;
      uint32_t block = (page + copy) / v.pages_per_block_;
      if (v.blocks_[block].header == kHdrMeta && load_le32(buf + kOffBlockSeq) != v.blocks_[block].seq) continue;
      if (kind == kRecInode && !inode_matches(v, buf, slot)) continue;
      return 2 - copy;
    }
    return 0;
  }

  static void build_inode_header(const Volume& v, uint8_t* buf, uint32_t slot, uint32_t serial, const char* name,
                                 uint32_t name_len, uint64_t size, uint32_t timestamp, uint32_t crc, bool inline_data,
                                 uint32_t nblocks) {
    new_record(v, buf, kRecInode);
    store_le32(buf + kInoSerial, serial);
    store_le16(buf + kInoSlot, uint16_t(slot));
    buf[kInoFlags] = inline_data ? kInoFlagInline : 0;
    buf[kInoNameLen] = uint8_t(name_len);
    store_le64(buf + kInoSize, size);
    store_le32(buf + kInoTimestamp, timestamp);
    store_le32(buf + kInoDataCrc, crc);
    store_le16(buf + kInoBlockCount, uint16_t(nblocks));
    __builtin_memset(buf + kInoBlockCount + 2, 0, kInoName - kInoBlockCount - 2);
    __builtin_memset(buf + kInoName, 0, kMaxNameLen + 1);
    __builtin_memcpy(buf + kInoName, name, name_len);
  }

  // The current record of a file, from flash (either copy). A block-mode
  // record that is unreadable is rebuilt from the RAM state, which holds
  // everything in it; inline data exists only on flash.
  static Status load_inode(Volume& v, uint32_t slot, uint8_t* buf) {
    const Volume::File& f = v.files_[slot];
    if (read_record(v, f.inode_page, buf, kRecInode, slot) > 0) return Status::kOk;
    if (f.flags & kInoFlagInline) return Status::kIoError;
    build_inode_header(v, buf, slot, f.serial, f.name, f.name_len, f.size, f.timestamp, f.data_crc, false,
                       f.block_count);
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      const Volume::Block& k = v.blocks_[b];
      if (k.kind == kData && k.owner == slot && k.index < f.block_count)
        store_le16(buf + kInoPayload + 2 * k.index, uint16_t(b));
    }
    return Status::kOk;
  }

  static uint32_t find_file(const Volume& v, const char* name) {
    size_t n = bounded_strlen(name, kMaxNameLen + 1);
    for (uint32_t s = 0; s < v.max_files_; ++s) {
      const Volume::File& f = v.files_[s];
      if (f.used && f.name_len == n && __builtin_memcmp(f.name, name, n) == 0) return s;
    }
    return kNone;
  }

  static uint32_t find_block(Volume& v, uint32_t slot, uint32_t index) {
    if (v.cache_slot_ == slot) {
      if (v.cache_index_ == index) return v.cache_block_;
      // Files are written into consecutive free blocks more often than not.
      uint32_t guess = (v.cache_block_ + 1) % v.block_count_;
      const Volume::Block& k = v.blocks_[guess];
      if (k.kind == kData && k.owner == slot && k.index == index) {
        v.cache_index_ = index;
        v.cache_block_ = guess;
        return guess;
      }
    }
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      const Volume::Block& k = v.blocks_[b];
      if (k.kind == kData && k.owner == slot && k.index == index) {
        v.cache_slot_ = slot;
        v.cache_index_ = index;
        v.cache_block_ = b;
        return b;
      }
    }
    return kNone;
  }

  static void free_file_blocks(Volume& v, uint32_t slot) {
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      if (v.blocks_[b].kind == kData && v.blocks_[b].owner == slot) {
        free_block(v, b);
        --v.data_blocks_;
      }
    }
  }

  // ---- mount --------------------------------------------------------------

  // Finds the newest valid commit: the last one in the metadata block with
  // the highest sequence number that holds any (blocks are filled in
  // order, and a block is opened only after the previous one is closed).
  // Reads page by page from the end of each candidate block. Read-only.
  static void find_commit(Volume& v, CommitSearch* cs) {
    *cs = CommitSearch{kNone, kNone, 0, 0, false, false, false, 0, 0};
    uint64_t below = uint64_t(1) << 32;
    uint8_t* buf = v.meta_buf_;
    for (;;) {
      uint32_t best = kNone;
      for (uint32_t b = 0; b < v.block_count_; ++b) {
        const Volume::Block& k = v.blocks_[b];
        if (k.kind == kBad || k.header != kHdrMeta || k.seq >= below) continue;
        if (best == kNone || k.seq > v.blocks_[best].seq) best = b;
      }
      if (best == kNone) return;
      bool newest = cs->head == kNone;
      if (newest) {
        cs->head = best;
        cs->resume = 1;  // only the header pair is written: pair 0 may hold a torn, blank-looking copy
      }
      bool seen_written = false;
      for (uint32_t j = v.pairs_per_block_; j-- > 0;) {
        uint32_t a = pair_page(v, best, j);
        PageState sa = check_page(v, a, buf);
        if (sa == PageState::kClean) continue;
        if (newest && !seen_written) {
          cs->written_end = j + 1;
          cs->resume = j + 2;  // pair j+1 may hold a torn, blank-looking copy
        }
        seen_written = true;
        bool a_bad = sa != PageState::kValid || buf[kOffKind] < kRecInode ||
                     load_le32(buf + kOffBlockSeq) != v.blocks_[best].seq;
        if (a_bad) {
          PageState sb = check_page(v, a + 1, buf);
          if (sb != PageState::kValid || buf[kOffKind] < kRecInode ||
              load_le32(buf + kOffBlockSeq) != v.blocks_[best].seq) {
            ++cs->torn;
            continue;
          }
        }
        if (buf[kOffKind] != kRecCommit) {
          ++cs->uncommitted;
          continue;
        }
        cs->commit_page = a;
        cs->copy_a_bad = a_bad;
        if (!a_bad) {
          // Copy B must be the same record; a cut right after copy A leaves it blank.
          cs->copy_b_bad =
              !read_ok(read_page(v, a + 1, v.read_buf_)) || __builtin_memcmp(v.read_buf_, buf, v.page_size_) != 0;
        }
        cs->fell_back = !newest;
        return;
      }
      below = v.blocks_[best].seq;
    }
  }

  static bool valid_name(const char* name, size_t n) {
    if (n == 0 || n > kMaxNameLen) return false;
    for (size_t i = 0; i < n; ++i) {
      uint8_t c = uint8_t(name[i]);
      if (c <= 0x20 || c >= 0x7F || c == '/' || c == ':') return false;
    }
    return true;
  }

  // Checks a file record read at mount and loads it into files_[slot].
  static bool load_file(Volume& v, uint32_t slot, uint32_t page, const uint8_t* p, uint32_t* damaged) {
    uint32_t name_len = p[kInoNameLen];
    uint64_t size = load_le64(p + kInoSize);
    uint32_t nblocks = load_le16(p + kInoBlockCount);
    bool is_inline = (p[kInoFlags] & kInoFlagInline) != 0;
    if (!valid_name(reinterpret_cast<const char*>(p + kInoName), name_len)) return false;
    if (is_inline ? (size > inline_cap(v) || nblocks != 0)
                  : (size > max_file_size(v) || nblocks != div_round_up(size, block_bytes(v))))
      return false;
    for (uint32_t i = 0; i < nblocks; ++i) {
      uint32_t b = load_le16(p + kInoPayload + 2 * i);
      if (b >= v.block_count_ || v.blocks_[b].kind != kFree) return false;  // bad, metadata or claimed twice
    }
    Volume::File& f = v.files_[slot];
    f.used = 1;
    f.serial = load_le32(p + kInoSerial);
    f.inode_page = page;
    f.size = size;
    f.timestamp = load_le32(p + kInoTimestamp);
    f.data_crc = load_le32(p + kInoDataCrc);
    f.block_count = uint16_t(nblocks);
    f.flags = p[kInoFlags];
    f.name_len = uint8_t(name_len);
    __builtin_memset(f.name, 0, sizeof f.name);
    __builtin_memcpy(f.name, p + kInoName, name_len);
    bool mismatch = false;
    for (uint32_t i = 0; i < nblocks; ++i) {
      uint32_t b = load_le16(p + kInoPayload + 2 * i);
      Volume::Block& k = v.blocks_[b];
      k.kind = kData;
      k.owner = uint16_t(slot);
      k.index = uint16_t(i);
      ++v.data_blocks_;
      // A readable header must name this file; an unreadable one costs
      // nothing (the record is authoritative) and fsck reports it.
      if (k.header == kHdrData && (k.serial != f.serial || k.index != i)) mismatch = true;
      if (k.header == kHdrMeta || k.header == kHdrClean) mismatch = true;
    }
    if (mismatch) ++*damaged;
    return true;
  }

  static Status mount_impl(Volume& v, MountReport* report, bool repair, uint32_t* max_seq_out) {
    MountReport rep = {};
    uint32_t reads_before = v.pages_read_;
    reset(v);
    Status st = load_geometry(v);
    if (st != Status::kOk) return st;

    // 1. One header pair per block: which blocks are bad, metadata, data.
    uint32_t max_seq = 0, max_serial = 0;
    v.ops_->scan_headers(0, v.block_count_);
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      Volume::Block& k = v.blocks_[b];
      if (v.ops_->is_bad_block(b)) {
        k.kind = kBad;
        ++rep.bad_blocks;
        continue;
      }
      ++v.good_blocks_;
      HeaderInfo h = read_header(v, b, v.read_buf_);
      k.kind = kFree;
      k.header = h.kind;
      k.seq = h.seq;
      k.serial = h.serial;
      k.index = h.index;
      if (h.seen_seq > max_seq) max_seq = h.seen_seq;
      if (h.seen_serial > max_serial) max_serial = h.seen_serial;
    }
    if (max_seq_out) *max_seq_out = max_seq;

    // 2. The newest commit.
    CommitSearch cs;
    find_commit(v, &cs);
    if (cs.commit_page == kNone) {
      rep.pages_read = v.pages_read_ - reads_before;
      if (report) *report = rep;
      return Status::kNotFormatted;
    }
    const uint8_t* c = v.meta_buf_;
    if (load_le32(c + kComPageSize) != v.page_size_ || load_le32(c + kComPagesPerBlock) != v.pages_per_block_ ||
        load_le32(c + kComBlockCount) != v.block_count_)
      return Status::kGeometryMismatch;
    if (load_le16(c + kComMaxFiles) != v.max_files_ || c[kComLabel + kMaxLabelLen] != 0) return Status::kCorrupt;
    v.generation_ = load_le32(c + kComGeneration);
    v.next_serial_ = load_le32(c + kComNextSerial);
    uint32_t seq_high = load_le32(c + kComSeqHigh);
    __builtin_memcpy(v.label_, c + kComLabel, kMaxLabelLen + 1);
    v.commit_page_ = cs.commit_page;
    rep.fell_back = cs.fell_back;
    rep.torn_records = cs.torn;
    rep.uncommitted_records = cs.uncommitted;

    // 3. The files. The table stays in meta_buf_; records are read into read_buf_.
    uint32_t total_pages = v.block_count_ * v.pages_per_block_;
    bool repair_slot[kMaxFiles];
    for (uint32_t s = 0; s < v.max_files_; ++s) {
      repair_slot[s] = false;
      uint32_t page = load_le32(c + kComTable + 4 * s);
      if (page == kNone) continue;
      uint32_t in_block = page % v.pages_per_block_;
      int copies = 0;
      if (page < total_pages && in_block >= 2 && (in_block & 1) == 0 &&
          v.blocks_[page / v.pages_per_block_].kind != kBad)
        copies = read_record(v, page, v.read_buf_, kRecInode, s);
      if (copies == 0 || !load_file(v, s, page, v.read_buf_, &rep.damaged_files)) {
        __builtin_memset(&v.files_[s], 0, sizeof v.files_[s]);
        ++rep.lost_files;
        continue;
      }
      add_pair(v, page);
      repair_slot[s] = copies == 1;
      ++rep.files;
    }
    add_pair(v, v.commit_page_);

    // 4. The head: writing resumes after the last programmed pair, leaving
    // one pair in case a torn program left a page that only looks blank.
    v.head_ = cs.head;
    v.blocks_[cs.head].kind = kMeta;
    v.head_next_ = min_u32(cs.resume, v.pairs_per_block_);

    // 5. Everything else is free; say what it held.
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      const Volume::Block& k = v.blocks_[b];
      if (k.kind != kFree) continue;
      ++rep.free_blocks;
      if (k.header == kHdrData && k.seq > seq_high) ++rep.uncommitted_blocks;
      if (k.header != kHdrClean) ++rep.garbage_blocks;
    }
    v.next_block_seq_ = (max_seq > seq_high ? max_seq : seq_high) + 1;
    if (max_serial >= v.next_serial_) v.next_serial_ = max_serial + 1;
    v.mounted_ = true;

    // 6. Restore redundancy: a record with one unreadable copy is rewritten.
    bool commit_degraded = cs.copy_a_bad || cs.copy_b_bad;
    if (repair) {
      for (uint32_t s = 0; s < v.max_files_; ++s) {
        if (!repair_slot[s]) continue;
        if (refresh(v, s) == Status::kOk) {
          ++rep.repaired_records;
          commit_degraded = false;  // refreshed with a new commit
        }
      }
      if (commit_degraded && refresh(v, kNone) == Status::kOk) ++rep.repaired_records;
    }
    rep.generation = v.generation_;
    rep.pages_read = v.pages_read_ - reads_before;
    if (report) *report = rep;
    return Status::kOk;
  }

  // Rewrites a file's record (or, with kNone, just the commit).
  static Status refresh(Volume& v, uint32_t slot) {
    Status st = ensure_meta_room(v, 2);
    if (st != Status::kOk) return st;
    Txn t;
    t.n = 0;
    if (slot != kNone) {
      st = load_inode(v, slot, v.meta_buf_);
      if (st != Status::kOk) return st;
      uint32_t page;
      st = write_pair(v, v.meta_buf_, &page);
      if (st != Status::kOk) return st;
      t.slot[0] = uint16_t(slot);
      t.page[0] = page;
      t.n = 1;
    }
    return write_commit(v, t);
  }

  // ---- format -------------------------------------------------------------

  static Status format(Volume& v, const char* label) {
    size_t label_len = label ? bounded_strlen(label, kMaxLabelLen + 1) : 0;
    if (label_len > kMaxLabelLen || !printable_label(label, label_len)) return Status::kBadLabel;
    // Mount first (without repairs) to learn which blocks an existing file
    // system still needs, and the highest sequence number on the flash: the
    // new file system must win over the old one by sequence number, and
    // must not erase anything the old one needs before it is committed.
    uint32_t max_seq = 0;
    Status st = mount_impl(v, nullptr, false, &max_seq);
    if (st == Status::kUnsupportedGeometry) return st;
    bool old_fs = st == Status::kOk;
    v.mounted_ = false;
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      Volume::Block& k = v.blocks_[b];
      if (!old_fs && k.kind != kBad) k.kind = kFree;
      k.live = 0;
      k.retire = 0;
    }
    __builtin_memset(v.files_, 0, sizeof v.files_);
    v.data_blocks_ = 0;
    v.head_ = kNone;
    v.commit_page_ = kNone;
    v.generation_ = 0;
    v.next_serial_ = 1;
    v.next_block_seq_ = max_seq + 1;
    __builtin_memset(v.label_, 0, sizeof v.label_);
    if (label_len) __builtin_memcpy(v.label_, label, label_len);

    uint32_t b;
    st = open_block(v, kRecMetaHeader, 0, 0, &b);
    if (st == Status::kNoSpace && old_fs) {
      // The old file system left no free block (it always keeps spares, so
      // it is damaged): give up protecting it.
      for (uint32_t x = 0; x < v.block_count_; ++x)
        if (v.blocks_[x].kind != kBad) v.blocks_[x].kind = kFree;
      st = open_block(v, kRecMetaHeader, 0, 0, &b);
    }
    if (st != Status::kOk) return st;
    v.blocks_[b].kind = kMeta;
    v.head_ = b;
    v.head_next_ = 0;
    Txn t;
    t.n = 0;
    st = write_commit(v, t);
    if (st != Status::kOk) return st;

    // The new file system is live; everything else is garbage. Erase it now
    // so no old data lingers (and bad blocks show up at format time).
    for (uint32_t x = 0; x < v.block_count_; ++x) {
      Volume::Block& k = v.blocks_[x];
      if (x == v.head_ || k.kind == kBad) continue;
      Result r = v.ops_->erase_block(x);
      if (r == Result::kEraseFailed || r == Result::kBadBlock) {
        retire(v, x);
        continue;
      }
      if (r != Result::kOk) {
        v.last_result_ = r;
        return Status::kIoError;
      }
      k.kind = kFree;
      k.header = kHdrClean;
      k.owner = kNoOwner;
      k.live = 0;
      k.seq = 0;
    }
    v.mounted_ = true;
    return Status::kOk;
  }

  // ---- writing ------------------------------------------------------------

  static void abort_write(Volume& v) {
    if (!v.writing_) return;
    for (uint32_t i = 0; i < v.write_nblocks_; ++i) {
      free_block(v, v.write_blocks_list_[i]);
      --v.data_blocks_;
    }
    v.write_nblocks_ = 0;
    v.writing_ = false;
  }

  static Status new_data_block(Volume& v) {
    if (v.data_blocks_ + 1 + v.reserve_ > v.good_blocks_) return Status::kNoSpace;
    if (v.write_nblocks_ >= list_cap(v)) return Status::kFileTooLarge;
    uint32_t b;
    Status st = open_block(v, kRecDataHeader, v.write_serial_, uint16_t(v.write_nblocks_), &b);
    if (st != Status::kOk) return st;
    Volume::Block& k = v.blocks_[b];
    k.kind = kPending;
    k.owner = kPendingOwner;
    v.write_blocks_list_[v.write_nblocks_++] = uint16_t(b);
    ++v.data_blocks_;
    v.write_page_ = 2;
    return Status::kOk;
  }

  static Status flush_stage(Volume& v) {
    if (v.write_nblocks_ == 0 || v.write_page_ >= v.pages_per_block_) {
      Status st = new_data_block(v);
      if (st != Status::kOk) return st;
    }
    uint32_t b = v.write_blocks_list_[v.write_nblocks_ - 1];
    uint32_t page = b * v.pages_per_block_ + v.write_page_;
    ++v.write_page_;
    Status st = program(v, page, v.stage_buf_);
    if (st != Status::kOk) return st;
    v.write_fill_ = 0;
    return Status::kOk;
  }

  static Status begin_write(Volume& v, const char* name, uint32_t timestamp) {
    if (!v.mounted_) return Status::kNotMounted;
    if (v.writing_) return Status::kWriteInProgress;
    Status st = check_name(name);
    if (st != Status::kOk) return st;
    uint32_t slot = find_file(v, name);
    if (slot == kNone) {
      for (uint32_t s = 0; s < v.max_files_ && slot == kNone; ++s)
        if (!v.files_[s].used) slot = s;
      if (slot == kNone) return Status::kTooManyFiles;
    }
    size_t n = bounded_strlen(name, kMaxNameLen);
    v.writing_ = true;
    v.write_blocks_ = false;
    v.write_slot_ = uint16_t(slot);
    v.write_name_len_ = uint8_t(n);
    __builtin_memset(v.write_name_, 0, sizeof v.write_name_);
    __builtin_memcpy(v.write_name_, name, n);
    v.write_serial_ = v.next_serial_++;
    v.write_timestamp_ = timestamp;
    v.write_crc_ = 0;
    v.write_size_ = 0;
    v.write_fill_ = 0;
    v.write_nblocks_ = 0;
    v.write_page_ = v.pages_per_block_;
    return Status::kOk;
  }

  static Status append(Volume& v, const void* data, size_t len) {
    if (!v.mounted_) return Status::kNotMounted;
    if (!v.writing_) return Status::kNoWriteInProgress;
    if (len == 0) return Status::kOk;
    if (len > max_file_size(v) - v.write_size_) {
      abort_write(v);
      return Status::kFileTooLarge;
    }
    const uint8_t* p = static_cast<const uint8_t*>(data);
    v.write_crc_ = crc32(p, len, v.write_crc_);
    if (!v.write_blocks_) {
      if (v.write_size_ + len <= inline_cap(v)) {
        __builtin_memcpy(v.stage_buf_ + v.write_size_, p, len);
        v.write_size_ += len;
        v.write_fill_ = uint32_t(v.write_size_);
        return Status::kOk;
      }
      v.write_blocks_ = true;  // the inline bytes already staged start the first page
    }
    while (len > 0) {
      uint32_t n = min_u32(uint32_t(len < v.page_size_ ? len : v.page_size_), v.page_size_ - v.write_fill_);
      __builtin_memcpy(v.stage_buf_ + v.write_fill_, p, n);
      v.write_fill_ += n;
      v.write_size_ += n;
      p += n;
      len -= n;
      if (v.write_fill_ == v.page_size_) {
        Status st = flush_stage(v);
        if (st != Status::kOk) {
          abort_write(v);
          return st;
        }
      }
    }
    return Status::kOk;
  }

  static Status commit(Volume& v) {
    if (!v.mounted_) return Status::kNotMounted;
    if (!v.writing_) return Status::kNoWriteInProgress;
    Status st = ensure_meta_room(v, 2);
    if (st == Status::kOk && v.write_blocks_ && v.write_fill_ > 0) {
      __builtin_memset(v.stage_buf_ + v.write_fill_, 0xFF, v.page_size_ - v.write_fill_);
      st = flush_stage(v);
    }
    if (st != Status::kOk) {
      abort_write(v);
      return st;
    }
    uint32_t slot = v.write_slot_;
    uint8_t* buf = v.meta_buf_;
    build_inode_header(v, buf, slot, v.write_serial_, v.write_name_, v.write_name_len_, v.write_size_,
                       v.write_timestamp_, v.write_crc_, !v.write_blocks_, v.write_nblocks_);
    if (v.write_blocks_) {
      for (uint32_t i = 0; i < v.write_nblocks_; ++i) store_le16(buf + kInoPayload + 2 * i, v.write_blocks_list_[i]);
    } else {
      __builtin_memcpy(buf + kInoPayload, v.stage_buf_, size_t(v.write_size_));
    }
    uint32_t page;
    st = write_pair(v, buf, &page);
    Txn t;
    t.n = 1;
    t.slot[0] = uint16_t(slot);
    t.page[0] = page;
    if (st == Status::kOk) st = write_commit(v, t);
    if (st != Status::kOk) {
      abort_write(v);
      return st;
    }
    Volume::File& f = v.files_[slot];
    if (f.used) free_file_blocks(v, slot);
    for (uint32_t i = 0; i < v.write_nblocks_; ++i) {
      Volume::Block& k = v.blocks_[v.write_blocks_list_[i]];
      k.kind = kData;
      k.owner = uint16_t(slot);
    }
    f.used = 1;
    f.serial = v.write_serial_;
    f.size = v.write_size_;
    f.timestamp = v.write_timestamp_;
    f.data_crc = v.write_crc_;
    f.block_count = uint16_t(v.write_nblocks_);
    f.flags = v.write_blocks_ ? 0 : kInoFlagInline;
    f.name_len = v.write_name_len_;
    __builtin_memcpy(f.name, v.write_name_, sizeof f.name);
    v.writing_ = false;
    v.write_nblocks_ = 0;
    return Status::kOk;
  }

  static Status rename(Volume& v, const char* from, const char* to) {
    if (!v.mounted_) return Status::kNotMounted;
    if (v.writing_) return Status::kWriteInProgress;
    Status st = check_name(to);
    if (st != Status::kOk) return st;
    uint32_t slot = find_file(v, from);
    if (slot == kNone) return check_name(from) == Status::kOk ? Status::kNotFound : check_name(from);
    if (find_file(v, to) != kNone) return Status::kExists;
    st = ensure_meta_room(v, 2);
    if (st != Status::kOk) return st;
    uint8_t* buf = v.meta_buf_;
    st = load_inode(v, slot, buf);
    if (st != Status::kOk) return st;
    size_t n = bounded_strlen(to, kMaxNameLen);
    buf[kInoNameLen] = uint8_t(n);
    __builtin_memset(buf + kInoName, 0, kMaxNameLen + 1);
    __builtin_memcpy(buf + kInoName, to, n);
    uint32_t page;
    st = write_pair(v, buf, &page);
    if (st != Status::kOk) return st;
    Txn t;
    t.n = 1;
    t.slot[0] = uint16_t(slot);
    t.page[0] = page;
    st = write_commit(v, t);
    if (st != Status::kOk) return st;
    Volume::File& f = v.files_[slot];
    f.name_len = uint8_t(n);
    __builtin_memset(f.name, 0, sizeof f.name);
    __builtin_memcpy(f.name, to, n);
    return Status::kOk;
  }

  static Status remove(Volume& v, const char* name) {
    if (!v.mounted_) return Status::kNotMounted;
    if (v.writing_) return Status::kWriteInProgress;
    uint32_t slot = find_file(v, name);
    if (slot == kNone) return check_name(name) == Status::kOk ? Status::kNotFound : check_name(name);
    Status st = ensure_meta_room(v, 1);
    if (st != Status::kOk) return st;
    Txn t;
    t.n = 1;
    t.slot[0] = uint16_t(slot);
    t.page[0] = kNone;
    st = write_commit(v, t);
    if (st != Status::kOk) return st;
    free_file_blocks(v, slot);
    __builtin_memset(&v.files_[slot], 0, sizeof v.files_[slot]);
    v.files_[slot].inode_page = kNone;
    return Status::kOk;
  }

  // ---- reading ------------------------------------------------------------

  static Status read(Volume& v, const char* name, uint64_t offset, void* out, size_t len, size_t* got) {
    size_t done = 0;
    if (got) *got = 0;
    if (!v.mounted_) return Status::kNotMounted;
    uint32_t slot = find_file(v, name);
    if (slot == kNone) return check_name(name) == Status::kOk ? Status::kNotFound : check_name(name);
    const Volume::File& f = v.files_[slot];
    if (offset >= f.size) return Status::kOk;
    if (len > f.size - offset) len = size_t(f.size - offset);
    uint8_t* dst = static_cast<uint8_t*>(out);
    if (f.flags & kInoFlagInline) {
      if (read_record(v, f.inode_page, v.read_buf_, kRecInode, slot) == 0) return Status::kIoError;
      __builtin_memcpy(dst, v.read_buf_ + kInoPayload + offset, len);
      if (got) *got = len;
      return Status::kOk;
    }
    uint32_t bb = block_bytes(v);
    while (done < len) {
      uint64_t pos = offset + done;
      uint32_t index = uint32_t(pos / bb);
      uint32_t within = uint32_t(pos % bb);
      uint32_t in_page = within % v.page_size_;
      uint32_t b = find_block(v, slot, index);
      if (b == kNone) return Status::kCorrupt;
      uint32_t page = b * v.pages_per_block_ + 2 + within / v.page_size_;
      size_t n = v.page_size_ - in_page;
      if (n > len - done) n = len - done;
      if (in_page == 0 && n == v.page_size_) {
        // Whole pages: the rest of this block's run in one request.
        uint32_t left_in_block = v.pages_per_block_ - (page % v.pages_per_block_);
        uint64_t whole = (len - done) / v.page_size_;
        uint32_t count = whole < left_in_block ? uint32_t(whole) : left_in_block;
        uint32_t good = 0;
        if (!read_ok(read_pages(v, page, count, dst + done, &good))) {
          if (got) *got = done + size_t(good) * v.page_size_;
          return Status::kIoError;
        }
        n = size_t(count) * v.page_size_;
      } else {
        if (!read_ok(read_page(v, page, v.read_buf_))) return Status::kIoError;
        __builtin_memcpy(dst + done, v.read_buf_ + in_page, n);
      }
      done += n;
      if (got) *got = done;
    }
    return Status::kOk;
  }

  static void fill_info(const Volume& v, uint32_t slot, FileInfo* out) {
    const Volume::File& f = v.files_[slot];
    __builtin_memset(out->name, 0, sizeof out->name);
    __builtin_memcpy(out->name, f.name, f.name_len);
    out->size = f.size;
    out->timestamp = f.timestamp;
    out->index = slot + 1;
    out->crc32 = f.data_crc;
  }

  // ---- fsck ---------------------------------------------------------------

  static void fsck_error(FsckReport* r, const char* what) {
    if (r->errors++ == 0) r->first_error = what;
  }
  static void fsck_warning(FsckReport* r, const char* what) {
    if (r->warnings++ == 0) r->first_warning = what;
  }

  static void fsck_blocks(Volume& v, FsckReport* r) {
    uint32_t newest_meta = kNone, newest_seq = 0, good = 0, data = 0;
    for (uint32_t b = 0; b < v.block_count_; ++b) {
      const Volume::Block& k = v.blocks_[b];
      bool bad = v.ops_->is_bad_block(b);
      if (bad != (k.kind == kBad)) fsck_error(r, "bad-block state differs between RAM and flash");
      if (bad) continue;
      ++good;
      HeaderInfo h = read_header(v, b, v.read_buf_);
      if (h.seen_seq >= v.next_block_seq_) fsck_error(r, "a block sequence number on flash would be reused");
      if (h.kind == kHdrData && h.seen_serial >= v.next_serial_)
        fsck_error(r, "a file serial on flash would be reused");
      if (h.kind != k.header || ((h.kind == kHdrMeta || h.kind == kHdrData) && h.seq != k.seq))
        fsck_error(r, "block header on flash differs from the RAM copy");
      if (h.kind == kHdrMeta && (newest_meta == kNone || h.seq > newest_seq)) {
        newest_meta = b;
        newest_seq = h.seq;
      }
      if (k.kind == kPending) fsck_error(r, "block of an unfinished write");
      if (k.kind == kData) {
        ++data;
        if (k.owner >= v.max_files_ || !v.files_[k.owner].used || k.index >= v.files_[k.owner].block_count)
          fsck_error(r, "data block owned by no file");
        else if (h.kind == kHdrGarbage)
          fsck_warning(r, "data block header unreadable");
        else if (h.kind != kHdrData || h.serial != v.files_[k.owner].serial || h.index != k.index)
          fsck_error(r, "data block header names another file");
      }
      if (k.kind == kMeta) {
        if (h.kind != kHdrMeta) fsck_error(r, "metadata block without a metadata header");
        uint32_t live = 0;
        for (uint32_t s = 0; s < v.max_files_; ++s)
          if (v.files_[s].used && v.files_[s].inode_page / v.pages_per_block_ == b) ++live;
        if (v.commit_page_ / v.pages_per_block_ == b) ++live;
        if (live != k.live) fsck_error(r, "live record count of a metadata block is wrong");
        if (live == 0 && b != v.head_) fsck_error(r, "metadata block without live records is not free");
      }
    }
    if (meta_in_use(v) > v.meta_cap_) fsck_error(r, "metadata takes more blocks than its budget");
    if (good != v.good_blocks_) fsck_error(r, "good block count is wrong");
    if (data != v.data_blocks_) fsck_error(r, "data block count is wrong");
    if (v.head_ != kNone && newest_meta != v.head_) fsck_error(r, "the metadata head is not the newest metadata block");
    if (v.data_blocks_ + v.reserve_ > v.good_blocks_) fsck_warning(r, "files use reserved blocks (blocks went bad)");
  }

  static void fsck_commit(Volume& v, FsckReport* r) {
    CommitSearch cs;
    find_commit(v, &cs);
    if (cs.commit_page != v.commit_page_) {
      fsck_error(r, "mount would not find the current commit");
      return;
    }
    if (cs.copy_a_bad || cs.copy_b_bad) fsck_warning(r, "one copy of the commit is unreadable");
    if (v.head_ == cs.head && cs.written_end > v.head_next_)
      fsck_error(r, "the head's write position is behind the flash");
    const uint8_t* c = v.meta_buf_;
    if (load_le32(c + kComGeneration) != v.generation_) fsck_error(r, "commit generation differs");
    if (load_le32(c + kComNextSerial) > v.next_serial_) fsck_error(r, "next file serial went backwards");
    if (__builtin_memcmp(c + kComLabel, v.label_, kMaxLabelLen + 1) != 0) fsck_error(r, "label differs");
    for (uint32_t s = 0; s < v.max_files_; ++s) {
      const Volume::File& f = v.files_[s];
      if (load_le32(c + kComTable + 4 * s) != (f.used ? f.inode_page : kNone))
        fsck_error(r, "commit table differs from the RAM file table");
    }
    // Unwritten pairs of the head must still be erased: they are written next.
    if (v.head_ != kNone) {
      for (uint32_t p = pair_page(v, v.head_, v.head_next_); p < (v.head_ + 1) * v.pages_per_block_; ++p) {
        if (check_page(v, p, v.read_buf_) != PageState::kClean) {
          fsck_error(r, "unwritten part of the metadata head is not erased");
          break;
        }
      }
    }
  }

  static void fsck_files(Volume& v, FsckReport* r, bool verify_data) {
    uint8_t* buf = v.read_buf_;
    for (uint32_t s = 0; s < v.max_files_; ++s) {
      const Volume::File& f = v.files_[s];
      if (!f.used) continue;
      ++r->files;
      int good_copies = 0;
      for (int copy = 0; copy < 2; ++copy) {
        if (check_page(v, f.inode_page + copy, buf) != PageState::kValid || !inode_matches(v, buf, s)) continue;
        ++good_copies;
        bool same = buf[kInoNameLen] == f.name_len && __builtin_memcmp(buf + kInoName, f.name, f.name_len) == 0 &&
                    load_le64(buf + kInoSize) == f.size && load_le32(buf + kInoTimestamp) == f.timestamp &&
                    load_le32(buf + kInoDataCrc) == f.data_crc && load_le16(buf + kInoBlockCount) == f.block_count &&
                    buf[kInoFlags] == f.flags;
        for (uint32_t i = 0; same && i < f.block_count; ++i) {
          uint32_t b = load_le16(buf + kInoPayload + 2 * i);
          same = b < v.block_count_ && v.blocks_[b].kind == kData && v.blocks_[b].owner == s && v.blocks_[b].index == i;
        }
        if (!same) fsck_error(r, "file record differs from the RAM file table");
      }
      if (good_copies == 0)
        fsck_error(r, "both copies of a file record are unreadable");
      else if (good_copies == 1)
        fsck_warning(r, "one copy of a file record is unreadable");
      if (!verify_data) continue;
      uint32_t crc = 0;
      uint64_t pos = 0;
      bool ok = true;
      while (pos < f.size) {
        size_t got = 0;
        size_t want = f.size - pos < v.page_size_ ? size_t(f.size - pos) : v.page_size_;
        if (read(v, f.name, pos, v.stage_buf_, want, &got) != Status::kOk || got != want) {
          ok = false;
          break;
        }
        crc = crc32(v.stage_buf_, got, crc);
        pos += got;
      }
      if (!ok)
        fsck_error(r, "file data unreadable");
      else if (crc != f.data_crc)
        fsck_error(r, "file data does not match its CRC");
      else
        r->bytes_verified += f.size;
    }
  }

  static void unmount(Volume& v) {
    v.mounted_ = false;
    v.writing_ = false;
  }

  static Limits limits(const Volume& v) {
    Limits l = {};
    if (!v.mounted_) return l;
    l.max_files = v.max_files_;
    l.max_file_size = max_file_size(v);
    l.inline_size = inline_cap(v);
    l.block_data_bytes = block_bytes(v);
    l.reserved_blocks = v.reserve_;
    return l;
  }

  static const char* label(const Volume& v) { return v.mounted_ ? v.label_ : ""; }

  static bool next_file(const Volume& v, uint32_t* cursor, FileInfo* out) {
    if (!v.mounted_) return false;
    for (uint32_t s = *cursor; s < v.max_files_; ++s) {
      if (!v.files_[s].used) continue;
      fill_info(v, s, out);
      *cursor = s + 1;
      return true;
    }
    *cursor = v.max_files_;
    return false;
  }

  static Status stat(const Volume& v, const char* name, FileInfo* out) {
    if (!v.mounted_) return Status::kNotMounted;
    Status st = check_name(name);
    if (st != Status::kOk) return st;
    uint32_t slot = find_file(v, name);
    if (slot == kNone) return Status::kNotFound;
    fill_info(v, slot, out);
    return Status::kOk;
  }

  static Status abort(Volume& v) {
    if (!v.mounted_) return Status::kNotMounted;
    abort_write(v);
    return Status::kOk;
  }

  static Status space(const Volume& v, uint64_t* used, uint64_t* available, uint64_t* total) {
    if (!v.mounted_) return Status::kNotMounted;
    uint64_t unit = block_bytes(v);
    uint64_t t = v.good_blocks_ > v.reserve_ ? uint64_t(v.good_blocks_ - v.reserve_) * unit : 0;
    uint64_t u = uint64_t(v.data_blocks_) * unit;
    if (used) *used = u;
    if (available) *available = t > u ? t - u : 0;
    if (total) *total = t;
    return Status::kOk;
  }

  // ---- hand-over between boot stages ----------------------------------------

  static Status hand_over(const Volume& v, const MountReport& report, Handover* out) {
    out->magic = 0;
    if (!v.mounted_) return Status::kNotMounted;
    if (v.writing_) return Status::kWriteInProgress;
    out->version = kHandoverVersion;
    out->volume_size = uint32_t(sizeof(Volume));
    __builtin_memcpy(&out->report, &report, sizeof report);
    mem::copy_forward(out->volume, reinterpret_cast<const uint8_t*>(&v), sizeof(Volume));
    reinterpret_cast<Volume*>(out->volume)->ops_ = nullptr;
    out->crc32 = handover_crc(*out);
    out->magic = kHandoverMagic;
    return Status::kOk;
  }

  // Every index the code takes from the RAM state stays inside its array,
  // and the geometry is the one ops has: a structural check, not fsck.
  static bool handover_consistent(const Volume& h, const Volume& fresh) {
    if (!h.mounted_ || h.writing_ || h.page_size_ != fresh.page_size_ || h.pages_per_block_ != fresh.pages_per_block_ ||
        h.block_count_ != fresh.block_count_ || h.pairs_per_block_ != fresh.pairs_per_block_ ||
        h.data_pages_per_block_ != fresh.data_pages_per_block_ || h.max_files_ != fresh.max_files_ ||
        h.meta_cap_ != fresh.meta_cap_ || h.reserve_ != fresh.reserve_)
      return false;
    uint32_t pages = h.block_count_ * h.pages_per_block_;
    if ((h.head_ != kNone && h.head_ >= h.block_count_) || h.head_next_ > h.pairs_per_block_ ||
        h.commit_page_ >= pages || h.alloc_cursor_ >= h.block_count_ || h.good_blocks_ > h.block_count_ ||
        h.data_blocks_ > h.good_blocks_ || h.label_[kMaxLabelLen] != 0)
      return false;
    for (uint32_t s = 0; s < kMaxFiles; ++s) {
      const Volume::File& f = h.files_[s];
      if (!f.used) continue;
      if (s >= h.max_files_ || f.used != 1 || !valid_name(f.name, f.name_len) || f.name[f.name_len] != 0 ||
          f.inode_page >= pages || f.block_count > list_cap(h) || f.size > max_file_size(h))
        return false;
    }
    for (uint32_t b = 0; b < h.block_count_; ++b) {
      const Volume::Block& k = h.blocks_[b];
      if (k.kind > kData || k.header > kHdrGarbage || (k.kind == kData && k.owner >= h.max_files_) ||
          k.live > h.pairs_per_block_)
        return false;
    }
    return true;
  }

  static Status take_over(Volume& v, flash::Ops& ops, Handover& in, MountReport* report) {
    bool present = in.magic == kHandoverMagic;
    in.magic = 0;
    v.attach(ops);
    if (!present) return Status::kNotMounted;
    if (in.version != kHandoverVersion || in.volume_size != sizeof(Volume) || in.crc32 != handover_crc(in))
      return Status::kCorrupt;
    // The geometry this flash gives, derived the way mount derives it.
    Status st = load_geometry(v);
    if (st != Status::kOk) return st;
    const Volume& h = *reinterpret_cast<const Volume*>(in.volume);
    if (h.page_size_ != v.page_size_ || h.pages_per_block_ != v.pages_per_block_ || h.block_count_ != v.block_count_)
      return Status::kGeometryMismatch;
    if (!handover_consistent(h, v)) return Status::kCorrupt;
    mem::copy_forward(reinterpret_cast<uint8_t*>(&v), in.volume, sizeof(Volume));
    v.ops_ = &ops;
    v.last_result_ = Result::kOk;
    v.cache_slot_ = kNone;
    v.gc_runs_ = 0;
    v.pages_read_ = 0;
    if (report) __builtin_memcpy(report, &in.report, sizeof in.report);
    return Status::kOk;
  }

  static Status fsck(Volume& v, FsckReport* report, bool verify_data) {
    FsckReport r = {};
    if (!v.mounted_) return Status::kNotMounted;
    if (v.writing_) return Status::kWriteInProgress;
    uint32_t reads_before = v.pages_read_;
    fsck_blocks(v, &r);
    fsck_commit(v, &r);
    fsck_files(v, &r, verify_data);
    r.pages_read = v.pages_read_ - reads_before;
    if (report) *report = r;
    return r.errors == 0 ? Status::kOk : Status::kFsckFailed;
  }
};

// ---- public API -----------------------------------------------------------

void Volume::attach(flash::Ops& ops) {
  ops_ = &ops;
  mounted_ = false;
  writing_ = false;
  last_result_ = flash::Result::kOk;
  gc_runs_ = 0;
  pages_read_ = 0;
}

const char* status_text(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kNotMounted:
      return "file system not mounted";
    case Status::kNotFormatted:
      return "no file system on the device (format it first)";
    case Status::kCorrupt:
      return "file system is corrupt beyond repair";
    case Status::kUnsupportedGeometry:
      return "flash geometry not supported by the file system";
    case Status::kGeometryMismatch:
      return "file system was formatted for a different flash geometry";
    case Status::kIoError:
      return "flash I/O error";
    case Status::kNoSpace:
      return "no space left on device";
    case Status::kNameTooLong:
      return "file name longer than 127 characters";
    case Status::kBadName:
      return "invalid file name (use printable characters, no '/', ':' or spaces)";
    case Status::kBadLabel:
      return "invalid volume label (at most 31 printable characters)";
    case Status::kNotFound:
      return "no such file";
    case Status::kExists:
      return "file already exists";
    case Status::kTooManyFiles:
      return "too many files";
    case Status::kFileTooLarge:
      return "file too large";
    case Status::kWriteInProgress:
      return "a file write is in progress";
    case Status::kNoWriteInProgress:
      return "no file write in progress";
    case Status::kFsckFailed:
      return "file system check found errors";
  }
  return "?";
}

size_t describe(const Volume& v, Status s, char* buf, size_t size) {
  if (size == 0) return 0;
  size_t n = 0;
  auto put = [&](const char* t) {
    while (*t && n + 1 < size) buf[n++] = *t++;
  };
  put(status_text(s));
  if (s == Status::kIoError) {
    put(": ");
    put(flash::result_text(v.last_flash_result()));
  }
  buf[n] = '\0';
  return n;
}

Status check_name(const char* name) {
  if (name == nullptr) return Status::kBadName;
  size_t n = bounded_strlen(name, kMaxNameLen + 1);
  if (n > kMaxNameLen) return Status::kNameTooLong;
  return VolumeImpl::valid_name(name, n) ? Status::kOk : Status::kBadName;
}

Status format(Volume& v, const char* label) { return VolumeImpl::format(v, label); }
Status mount(Volume& v, MountReport* report) { return VolumeImpl::mount_impl(v, report, true, nullptr); }
Status fsck(Volume& v, FsckReport* report, bool verify_data) { return VolumeImpl::fsck(v, report, verify_data); }

void unmount(Volume& v) { VolumeImpl::unmount(v); }
uint32_t handover_crc(const Handover& h) { return crc32(h.volume, sizeof h.volume, crc32(&h.report, sizeof h.report)); }
Status hand_over(const Volume& v, const MountReport& report, Handover* out) {
  return VolumeImpl::hand_over(v, report, out);
}
Status take_over(Volume& v, flash::Ops& ops, Handover& in, MountReport* report) {
  return VolumeImpl::take_over(v, ops, in, report);
}

// A Volume or MountReport of another layout must not be taken over as this
// one: change kHandoverVersion (bfs.h) with the layout, then these sizes.
static_assert(sizeof(Volume) == 139568, "Volume layout changed: raise kHandoverVersion, then update this size");
static_assert(sizeof(MountReport) == 52, "MountReport layout changed: raise kHandoverVersion, then this size");
Limits limits(const Volume& v) { return VolumeImpl::limits(v); }
const char* label(const Volume& v) { return VolumeImpl::label(v); }
bool next_file(const Volume& v, uint32_t* cursor, FileInfo* out) { return VolumeImpl::next_file(v, cursor, out); }
Status stat(const Volume& v, const char* name, FileInfo* out) { return VolumeImpl::stat(v, name, out); }
Status read(Volume& v, const char* name, uint64_t offset, void* buf, size_t len, size_t* got) {
  return VolumeImpl::read(v, name, offset, buf, len, got);
}
Status begin_write(Volume& v, const char* name, uint32_t timestamp) {
  return VolumeImpl::begin_write(v, name, timestamp);
}
Status append(Volume& v, const void* data, size_t len) { return VolumeImpl::append(v, data, len); }
Status commit(Volume& v) { return VolumeImpl::commit(v); }
Status abort(Volume& v) { return VolumeImpl::abort(v); }
Status rename(Volume& v, const char* from, const char* to) { return VolumeImpl::rename(v, from, to); }
Status remove(Volume& v, const char* name) { return VolumeImpl::remove(v, name); }
Status space(const Volume& v, uint64_t* used, uint64_t* available, uint64_t* total) {
  return VolumeImpl::space(v, used, available, total);
}

}  // namespace trustsim::bfs
