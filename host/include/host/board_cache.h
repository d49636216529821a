// The manufactured-board cache: a new board is a deterministic function of
// its inputs (board file, firmware artifacts, keys, serial, and the code
// that makes it), so a board made once is copied instead of made again.
// docs/manufacturing.md, "The board cache", says what the key covers and
// how to turn the cache off.
#pragma once
#include <string>

#include "host/manufacture.h"

namespace trustsim {

// The cache directory: $TRUSTSIM_BOARD_CACHE if set ("off" or "0": no
// cache), else $XDG_CACHE_HOME/trustsim/boards, else
// $HOME/.cache/trustsim/boards; "" when the cache is off.
std::string board_cache_dir();

// Hex SHA-256 of every input of manufacture_board(cfg, fw, opt), or "" if
// one cannot be named for sure (a loaded object without a build id).
std::string board_cache_key(const BoardConfig& cfg, const Artifacts& fw, const ManufactureOptions& opt);

// manufacture_board() through the cache: copies a cached board into `dir`
// (an empty directory) if there is one for the key, else manufactures it
// and stores a copy. A cache that cannot be read or written is skipped
// silently: the board is then made as without it, with the same bytes.
void manufacture_board_cached(const BoardConfig& cfg, const StatePaths& dir, const Artifacts& fw,
                              const ManufactureOptions& opt);

constexpr int kBoardCacheEntries = 8;  // the most recently used boards kept

}  // namespace trustsim
