// The board's device event lines: how a device tells the firmware "the
// condition you may be waiting for has come" without the firmware polling
// its registers. A device raises its line for an instant (now, or a known
// future instant such as the end of a TPM command); the power controller's
// WAIT_EVENT register (docs/mailbox-abi.md) sleeps until the line of one
// device is due, like firmware waiting for an interrupt with a timeout.
// Events are latched until taken by a wait or acknowledged by the device
// (a status read), so an event raised between the firmware's status read
// and its wait is never lost. Power loss drops every pending event.
#pragma once
#include <systemc>

#include <cstdint>
#include <map>
#include <vector>

namespace trustsim {

class EventLines {
 public:
  // A device that raises events registers its type (TS_DEV_*) once.
  void add_source(uint32_t type) { lines_[type]; }
  bool is_source(uint32_t type) const { return lines_.count(type) != 0; }

  // The device's condition holds from `at` (not before the current time).
  void raise(uint32_t type, const sc_core::sc_time& at);
  // The firmware has seen the device's state at `now`: events due by then
  // are no longer news.
  void acknowledge(uint32_t type, const sc_core::sc_time& now);
  // Takes the events due at `now`; true if there was one.
  bool take_due(uint32_t type, const sc_core::sc_time& now);
  // The earliest pending event of `type` (false: none).
  bool next(uint32_t type, sc_core::sc_time* at) const;
  // Notified whenever an event is raised.
  const sc_core::sc_event& raised() const { return raised_; }
  void clear();

 private:
  std::map<uint32_t, std::vector<sc_core::sc_time>> lines_;  // pending instants, unordered
  sc_core::sc_event raised_{"device_event_raised"};
};

}  // namespace trustsim
