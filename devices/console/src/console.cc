#include "devices/console.h"

#include <cerrno>
#include <cstring>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

using sc_core::sc_time;
using sc_core::sc_time_stamp;

ConsoleLog::~ConsoleLog() {
  finish();
  if (transcript_) fclose(transcript_);
}

void ConsoleLog::open_transcript(const std::string& path) {
  if (path.empty()) return;
  transcript_ = fopen(path.c_str(), "w");
  if (!transcript_) throw InputError(path + ": cannot write console transcript: " + strerror(errno));
}

void ConsoleLog::on_byte(uint64_t t_ns, char c) {
  if (on_raw_byte) on_raw_byte(c);
  unmatched_.push_back(c);
  history_.push_back(c);
  if (history_.size() > (4u << 20)) {
    history_base_ += 1u << 20;
    history_.erase(0, 1u << 20);
  }
  if (unmatched_.size() > (1u << 20)) unmatched_.erase(0, unmatched_.size() - (1u << 19));
  output_event_.notify(sc_core::SC_ZERO_TIME);
  if (c == '\r') return;
  if (line_.empty()) line_t_ns_ = t_ns;
  if (c == '\n') {
    emit_line();
    return;
  }
  line_.push_back(c);
  if (line_.size() >= kMaxLineBytes) emit_line(true);
}

void ConsoleLog::emit_line(bool cut) {
  if (cut) line_ += " [line cut at " + std::to_string(kMaxLineBytes) + " bytes; continued on the next line]";
  char stamp[40];
  snprintf(stamp, sizeof stamp, "[%5llu.%09llu] ", (unsigned long long)(line_t_ns_ / 1000000000ull),
           (unsigned long long)(line_t_ns_ % 1000000000ull));
  if (live_) {
    fprintf(live_, "%s%s\n", stamp, line_.c_str());
    fflush(live_);
  }
  if (transcript_) fprintf(transcript_, "%s%s\n", stamp, line_.c_str());
  if (on_line) on_line(line_t_ns_, line_);
  recent_.push_back(line_);
  if (recent_.size() > 50) recent_.pop_front();
  line_.clear();
}

void ConsoleLog::detach() {
  live_ = nullptr;
  if (transcript_) fclose(transcript_);
  transcript_ = nullptr;
}

void ConsoleLog::finish() {
  if (!line_.empty()) emit_line();
  if (transcript_) fflush(transcript_);
}

std::string ConsoleLog::tail(size_t lines) const {
  std::string out;
  size_t start = recent_.size() > lines ? recent_.size() - lines : 0;
  auto shown = [](const std::string& l) {
    if (l.size() <= kTailLineChars) return l;
    return l.substr(0, kTailLineChars) + "... (" + std::to_string(l.size() - kTailLineChars) + " more bytes)";
  };
  for (size_t i = start; i < recent_.size(); ++i) out += "    | " + shown(recent_[i]) + "\n";
  if (!line_.empty()) out += "    | " + shown(line_) + "\n";
  return out;
}

ConsoleUart::ConsoleUart(sc_core::sc_module_name name, PowerDomain& power, ConsoleLog& log, uint64_t baud)
    : Device(name, TS_DEV_CONSOLE, TS_CONSOLE_SIZE, power),
      log_(log),
      byte_time_(serial_time(10, baud)),  // 8N1: start + 8 data + stop
      regs_("register", [this](const std::string& w) { guest_error(w); }) {
  regs_.add({"TX", TS_CONSOLE_TX, 0, RegAccess::kWriteOnly}, {}, [this](RegisterAccess& a) { transmit(a); });
  regs_.add({"RX", TS_CONSOLE_RX, 0, RegAccess::kReadOnly}, [this](RegisterAccess& a) { read_rx(a); });
  regs_.add({"RX_TIMEOUT", TS_CONSOLE_RX_TIMEOUT, 8, RegAccess::kWriteOnly});  // ns; 0 = no limit
  regs_.add({"RX_AVAIL", TS_CONSOLE_RX_AVAIL, 8, RegAccess::kReadOnly}, {}, {}, [this] {
    uint64_t n = 0;
    for (const RxByte& b : rx_) n += b.at <= sc_time_stamp();
    return n;
  });
  use_registers(regs_);
}

void ConsoleUart::type(const std::string& text) {
  sc_time at = sc_time_stamp();
  if (!rx_.empty() && rx_.back().at > at) at = rx_.back().at;
  for (char c : text) {
    at += byte_time_;
    rx_.push_back({at, c});
  }
  rx_event_.notify(sc_core::SC_ZERO_TIME);
}

void ConsoleUart::power_lost() {
  // Bytes on the wire keep arriving; the guest-visible state resets.
  regs_.reset();
}

uint64_t ConsoleUart::receive(uint8_t* buf, uint64_t max) {
  uint64_t n = 0;
  while (n < max && !rx_.empty() && rx_.front().at <= sc_time_stamp()) {
    buf[n++] = uint8_t(rx_.front().c);
    rx_.pop_front();
  }
  return n;
}

void ConsoleUart::transmit(RegisterAccess& a) {
  // Each byte leaves at the line rate; the log sees it at that instant.
  wait(a.delay);
  a.delay = sc_core::SC_ZERO_TIME;
  // Power that goes and comes back at one instant (a power-off step
  // directly followed by a power-on) still ends this boot's transfer:
  // compare boot counts, not only the power state.
  const uint32_t boot = power_.boot_count();
  for (uint64_t i = 0; i < a.length(); ++i) {
    wait(byte_time_);
    if (!power_.is_on() || power_.boot_count() != boot) return;
    log_.on_byte(now_ns(), char(a.data()[i]));
  }
}

void ConsoleUart::read_rx(RegisterAccess& a) {
  wait(a.delay);
  a.delay = sc_core::SC_ZERO_TIME;
  uint64_t timeout_ns = regs_.stored(TS_CONSOLE_RX_TIMEOUT);
  sc_time deadline = timeout_ns ? sc_time_stamp() + from_ns(timeout_ns) : sc_core::SC_ZERO_TIME;
  uint64_t got = 0;
  const uint32_t boot = power_.boot_count();  // as for TX: a new boot ends the read
  while (power_.is_on() && power_.boot_count() == boot) {
    got = receive(a.data(), a.length());
    if (got) break;
    sc_time now = sc_time_stamp();
    if (timeout_ns && now >= deadline) break;
    if (!reading_ && rx_.empty()) {
      reading_ = true;
      read_timed_ = timeout_ns != 0;
      input_wanted_event_.notify(sc_core::SC_ZERO_TIME);
    }
    if (!rx_.empty()) {
      sc_time next = rx_.front().at;
      if (timeout_ns && deadline < next) next = deadline;
      wait(next - now, power_.off_event());
    } else if (timeout_ns) {
      wait(deadline - now, rx_event_ | power_.off_event());
    } else {
      wait(rx_event_ | power_.off_event());
    }
  }
  reading_ = false;
  if (auto* ext = a.gp.get_extension<ActualLength>()) ext->bytes = got;
}

}  // namespace trustsim
