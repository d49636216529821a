#include "devkit/trace.h"

#include <cerrno>
#include <cstring>

#include "devkit/input_error.h"

namespace trustsim {

DeviceTrace::~DeviceTrace() {
  if (out_) fclose(out_);
}

void DeviceTrace::open(const std::string& path) {
  if (path.empty()) return;
  out_ = fopen(path.c_str(), "w");
  if (!out_) throw InputError(path + ": cannot write trace: " + strerror(errno));
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += char(c);
    } else if (c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += char(c);
    }
  }
  return o;
}

void DeviceTrace::detach() {
  if (out_) fclose(out_);
  out_ = nullptr;
}

void DeviceTrace::record(const TraceEvent& e) {
  ++count_;
  write_line(e);
  for (TraceSink* s : sinks_) s->on_event(e);
}

void DeviceTrace::write_line(const TraceEvent& e) {
  if (!out_) return;
  fprintf(
      out_,
      "{\"t_ns\":%llu,\"dev\":\"%s\",\"op\":\"%s\",\"addr\":%llu,\"len\":%llu,\"latency_ns\":%llu,\"status\":\"%s\"",
      (unsigned long long)e.t_ns, e.dev, e.op, (unsigned long long)e.addr, (unsigned long long)e.len,
      (unsigned long long)e.latency_ns, e.status);
  if (!e.detail.empty()) fprintf(out_, ",\"detail\":\"%s\"", json_escape(e.detail).c_str());
  fputs("}\n", out_);
}

void record_operation(DeviceTrace& trace, const char* dev, uint64_t t_ns, const char* op, uint64_t addr, uint64_t len,
                      uint64_t latency_ns, const char* status, std::string detail) {
  trace.record(TraceEvent{t_ns, dev, op, addr, len, latency_ns, status, std::move(detail)});
}

void DeviceTrace::remove_sink(TraceSink* s) {
  for (auto it = sinks_.begin(); it != sinks_.end();) it = *it == s ? sinks_.erase(it) : it + 1;
}

}  // namespace trustsim
