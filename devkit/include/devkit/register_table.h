// A device's register block as one table with behaviour: each row names a
// register (its offset comes from common/include/trustsim/*_regs.h, the ABI
// the firmware shares), the width and direction a guest may use, its reset
// value, which bits a write changes, which bits a written 1 clears, and
// callbacks for reads and writes (after QEMU's register API and Renode's
// register framework). The table does the checks every device used to
// write by hand: a known offset, the register's width (or a port's 1..max
// bytes), the direction; each kind of misuse of a register is reported once
// through the device's guest-error line and answered with
// TLM_ADDRESS_ERROR_RESPONSE. docs/devices.md has the rules.
#pragma once
#include <tlm>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace trustsim {

enum class RegAccess { kReadOnly, kWriteOnly, kReadWrite };

struct RegisterSpec {
  const char* name;
  uint64_t offset;
  // Bytes of every access: 1..8 for a value register; more for a block the
  // callbacks move themselves (a request structure); 0 for a port, which
  // takes 1..max_len bytes (a FIFO, a data window).
  uint32_t width;
  RegAccess access;
  uint64_t reset = 0;
  uint64_t writable = ~0ull;  // bits a write stores; the others keep their value
  uint64_t w1c = 0;           // bits a written 1 clears (write-1-to-clear)
  uint64_t max_len = 0;       // a port's longest access (0: any length)
  uint32_t cost = 0;          // what an access costs, in the device's own unit (SPI clocks)
};

// One guest access, as the callbacks see it.
struct RegisterAccess {
  tlm::tlm_generic_payload& gp;
  sc_core::sc_time& delay;
  const RegisterSpec& reg;
  // Value registers (width 1..8): the value a read returns (the stored value when
  // on_read is called; on_read may change it), or the value the guest wrote
  // (the stored value is already updated by then). Ports and blocks:
  // unused; the callback moves gp's bytes itself.
  uint64_t value = 0;
  uint8_t* data() const { return gp.get_data_ptr(); }
  uint64_t length() const { return gp.get_data_length(); }
  // The device refuses this operation (a value it does not accept, a
  // command at the wrong time): TLM_COMMAND_ERROR_RESPONSE.
  void refuse() const { gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE); }
};

class RegisterTable {
 public:
  using Hook = std::function<void(RegisterAccess&)>;
  using Peek = std::function<uint64_t()>;
  using Report = std::function<void(const std::string&)>;

  // `what` names the block in messages ("register", "control register").
  RegisterTable(std::string what, Report report) : what_(std::move(what)), report_(std::move(report)) {}

  // `peek`: the register's current value when the device computes it (a
  // status from internal state); without one, the stored value. Used by
  // guest reads (before on_read) and by the backdoor, so it must have no
  // side effects.
  void add(const RegisterSpec& spec, Hook on_read = {}, Hook on_write = {}, Peek peek = {});

  const RegisterSpec* find(uint64_t offset) const;
  // Whether `offset` is a port (any length there is the table's to check).
  bool is_port(uint64_t offset) const;
  uint64_t value(uint64_t offset) const;  // as a guest read would see it
  uint64_t stored(uint64_t offset) const;
  void set_stored(uint64_t offset, uint64_t v);
  void reset();  // every stored value back to its reset value
  size_t size() const { return rows_.size(); }
  const RegisterSpec& spec(size_t i) const { return rows_[i].spec; }

  // A guest access at `offset` (relative to the block): checks it, then
  // runs the register's behaviour. Sets the response status (OK unless a
  // check or a callback says otherwise); returns the register, or nullptr
  // after a misuse.
  const RegisterSpec* access(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay, uint64_t offset);
  // Backdoor: a read of a readable value register, no callbacks, no
  // reports. Returns the bytes served (0: refused).
  unsigned debug_read(tlm::tlm_generic_payload& gp, uint64_t offset) const;

 private:
  struct Row {
    RegisterSpec spec;
    Hook on_read, on_write;
    Peek peek;
    uint64_t stored;
  };
  Row* row(uint64_t offset);
  const Row* row(uint64_t offset) const;
  void misuse(uint64_t offset, int kind, const std::string& what, tlm::tlm_generic_payload& gp);
  std::string what_;
  Report report_;
  std::vector<Row> rows_;
  std::set<std::pair<uint64_t, int>> reported_;  // (offset, kind) already reported
};

std::string hex_text(uint64_t v);  // "0x1f": offsets and values in guest-error lines

}  // namespace trustsim
