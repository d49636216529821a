// The board console: a UART model on the SystemC side (register map in
// docs/mailbox-abi.md, a register table: misuse is an address error), and
// the log that stamps every line with the virtual time of its first byte.
// Scenarios read and type through these, so every byte has an exact
// virtual time. Not modelled: framing/parity errors, flow control, break.
#pragma once
#include <cstdio>
#include <deque>
#include <functional>
#include <string>

#include "devkit/device.h"
#include "devkit/register_table.h"

namespace trustsim {

class ConsoleLog {
 public:
  // A guest that never sends a newline would grow one line without limit:
  // at this many bytes the line is written out, marked as cut, and the rest
  // continues on the next line (docs/traces.md).
  static constexpr size_t kMaxLineBytes = 4096;
  static constexpr size_t kTailLineChars = 200;  // per line in failure reports

  ConsoleLog() = default;
  ~ConsoleLog();
  ConsoleLog(const ConsoleLog&) = delete;
  ConsoleLog& operator=(const ConsoleLog&) = delete;

  void set_echo(FILE* live) { live_ = live; }  // e.g. stdout; nullptr = quiet
  void open_transcript(const std::string& path);

  // A byte the board transmitted at virtual time `t_ns`.
  void on_byte(uint64_t t_ns, char c);
  void finish();  // flush a last, unterminated line
  // In a forked child: stop echoing and writing the parent's transcript.
  void detach();
  // Bytes transmitted so far, and the output since such a position (the
  // last 4 MiB are kept): campaign windows and console-triggered faults.
  uint64_t total() const { return history_base_ + history_.size(); }
  std::string since(uint64_t pos) const {
    return pos <= history_base_ ? history_ : history_.substr(size_t(pos - history_base_));
  }

  // Scenario matching: everything transmitted since the last consume().
  const std::string& unmatched() const { return unmatched_; }
  void consume(size_t n) { unmatched_.erase(0, n); }
  const sc_core::sc_event& output_event() const { return output_event_; }
  // Observers: every transmitted byte as it arrives (the interactive
  // console), and every finished line with the virtual time of its first
  // byte (the timeline). Either may be empty.
  std::function<void(char)> on_raw_byte;
  std::function<void(uint64_t t_ns, const std::string& line)> on_line;
  // The last lines, for failure reports.
  std::string tail(size_t lines) const;

 private:
  void emit_line(bool cut = false);
  FILE* live_ = nullptr;
  FILE* transcript_ = nullptr;
  std::string line_;
  uint64_t line_t_ns_ = 0;
  std::string unmatched_;
  std::string history_;
  uint64_t history_base_ = 0;
  std::deque<std::string> recent_;
  sc_core::sc_event output_event_{"console_output"};
};

class ConsoleUart : public Device {
 public:
  ConsoleUart(sc_core::sc_module_name name, PowerDomain& power, ConsoleLog& log, uint64_t baud);

  // Characters typed at the console: they arrive one by one at the line rate.
  void type(const std::string& text);
  void power_lost() override;
  sc_core::sc_time byte_time() const { return byte_time_; }
  // Whether the firmware sits in a console read with nothing left to
  // receive: blocked (no timeout, e.g. at a prompt) or in a timed wait
  // (e.g. ROMmon's autoboot window). input_wanted_event() fires when it
  // starts such a read. The interactive console paces piped input with it.
  bool waiting_for_input() const { return reading_ && rx_.empty(); }
  bool waiting_with_timeout() const { return read_timed_; }
  const sc_core::sc_event& input_wanted_event() const { return input_wanted_event_; }
  const RegisterTable& registers() const { return regs_; }

 private:
  struct RxByte {
    sc_core::sc_time at;
    char c;
  };
  uint64_t receive(uint8_t* buf, uint64_t max);
  void transmit(RegisterAccess& a);
  void read_rx(RegisterAccess& a);
  ConsoleLog& log_;
  sc_core::sc_time byte_time_;
  std::deque<RxByte> rx_;
  sc_core::sc_event rx_event_{"rx_event"};
  bool reading_ = false;
  bool read_timed_ = false;
  sc_core::sc_event input_wanted_event_{"input_wanted"};
  RegisterTable regs_;  // RX_TIMEOUT is its stored value
};

}  // namespace trustsim
