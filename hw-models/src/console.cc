#include "hw-models/console.h"

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
      byte_time_(serial_time(10, baud)) {}  // 8N1: start + 8 data + stop

void ConsoleUart::type(const std::string& text) {
  sc_time at = sc_time_stamp();
  if (!rx_.empty() && rx_.back().at > at) at = rx_.back().at;
  for (char c : text) {
    at += byte_time_;
    rx_.push_back({at, c});
  }
  rx_event_.notify(sc_core::SC_ZERO_TIME);
}

bool ConsoleUart::in_range(uint64_t offset, uint64_t len) const {
  return offset == TS_CONSOLE_TX || offset == TS_CONSOLE_RX || Device::in_range(offset, len);  // ports
}

void ConsoleUart::power_lost() {
  // Bytes on the wire keep arriving; the guest-visible state resets.
  rx_timeout_ns_ = 0;
}

uint64_t ConsoleUart::receive(uint8_t* buf, uint64_t max) {
  uint64_t n = 0;
  while (n < max && !rx_.empty() && rx_.front().at <= sc_time_stamp()) {
    buf[n++] = uint8_t(rx_.front().c);
    rx_.pop_front();
  }
  return n;
}

void ConsoleUart::transport(tlm::tlm_generic_payload& gp, sc_time& delay) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  uint8_t* data = gp.get_data_ptr();
  bool is_read = gp.is_read();
  gp.set_response_status(tlm::TLM_OK_RESPONSE);

  if (off == TS_CONSOLE_TX && gp.is_write()) {
    // Each byte leaves at the line rate; the log sees it at that instant.
    wait(delay);
    delay = sc_core::SC_ZERO_TIME;
    // Power that goes and comes back at one instant (a power-off step
    // directly followed by a power-on) still ends this boot's transfer:
    // compare boot counts, not only the power state.
    const uint32_t boot = power_.boot_count();
    for (uint64_t i = 0; i < len; ++i) {
      wait(byte_time_);
      if (!power_.is_on() || power_.boot_count() != boot) return;
      log_.on_byte(now_ns(), char(data[i]));
    }
    return;
  }
  if (off == TS_CONSOLE_RX && is_read) {
    wait(delay);
    delay = sc_core::SC_ZERO_TIME;
    sc_time deadline = rx_timeout_ns_ ? sc_time_stamp() + from_ns(rx_timeout_ns_) : sc_core::SC_ZERO_TIME;
    uint64_t got = 0;
    const uint32_t boot = power_.boot_count();  // as for TX: a new boot ends the read
    while (power_.is_on() && power_.boot_count() == boot) {
      got = receive(data, len);
      if (got) break;
      sc_time now = sc_time_stamp();
      if (rx_timeout_ns_ && now >= deadline) break;
      if (!reading_ && rx_.empty()) {
        reading_ = true;
        read_timed_ = rx_timeout_ns_ != 0;
        input_wanted_event_.notify(sc_core::SC_ZERO_TIME);
      }
      if (!rx_.empty()) {
        sc_time next = rx_.front().at;
        if (rx_timeout_ns_ && deadline < next) next = deadline;
        wait(next - now, power_.off_event());
      } else if (rx_timeout_ns_) {
        wait(deadline - now, rx_event_ | power_.off_event());
      } else {
        wait(rx_event_ | power_.off_event());
      }
    }
    reading_ = false;
    if (auto* ext = gp.get_extension<ActualLength>()) ext->bytes = got;
    return;
  }
  if (off == TS_CONSOLE_RX_TIMEOUT && len == 8 && gp.is_write()) {
    memcpy(&rx_timeout_ns_, data, 8);
    return;
  }
  if (off == TS_CONSOLE_RX_AVAIL && len == 8 && is_read) {
    uint64_t n = 0;
    for (const RxByte& b : rx_) n += b.at <= sc_time_stamp();
    memcpy(data, &n, 8);
    return;
  }
  gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
}

}  // namespace trustsim
