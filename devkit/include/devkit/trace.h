// The device-operation trace: one JSON object per line, in the order the
// operations complete (t_ns is when each started), written identically on
// every run of the same scenario and seed.
// Fields are documented in docs/traces.md.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace trustsim {

struct TraceEvent {
  uint64_t t_ns = 0;
  const char* dev = "";
  const char* op = "";
  uint64_t addr = 0;
  uint64_t len = 0;
  uint64_t latency_ns = 0;
  const char* status = "ok";
  std::string detail;  // optional free text, e.g. the cause of a power event
};

// Another consumer of the same events (the timeline and the VCD writer in
// observe.h): sees every recorded event, after the JSON line is written.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void on_event(const TraceEvent& e) = 0;
};

class DeviceTrace {
 public:
  DeviceTrace() = default;
  ~DeviceTrace();
  DeviceTrace(const DeviceTrace&) = delete;
  DeviceTrace& operator=(const DeviceTrace&) = delete;

  // Empty path: events are counted but not written.
  void open(const std::string& path);
  void record(const TraceEvent& e);
  // In a forked child: stop writing the parent's file (flushed before the fork).
  void detach();
  uint64_t count() const { return count_; }
  // Sinks are not owned; they must outlive the last record().
  void add_sink(TraceSink* s) { sinks_.push_back(s); }
  void remove_sink(TraceSink* s);

 private:
  void write_line(const TraceEvent& e);
  FILE* out_ = nullptr;
  uint64_t count_ = 0;
  std::vector<TraceSink*> sinks_;
};

std::string json_escape(const std::string& s);

// One line of the device trace for an operation of device `dev`
// (docs/traces.md): the one writer of device-operation lines.
void record_operation(DeviceTrace& trace, const char* dev, uint64_t t_ns, const char* op, uint64_t addr, uint64_t len,
                      uint64_t latency_ns, const char* status, std::string detail = {});

}  // namespace trustsim
