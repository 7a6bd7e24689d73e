#include "auth_fail_summary.h"

#include <arpa/inet.h>

#include <cstdio>
#include <limits>

namespace hbd {

std::string EscapeForLog(std::string_view s, size_t max) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; i++) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

void FormatSource(const sockaddr_in& from, char (&out)[32]) {
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
  std::snprintf(out, sizeof out, "%s:%u", ip, static_cast<unsigned>(ntohs(from.sin_port)));
}

AuthFailSummary::AuthFailSummary(double windowMs) : windowMs_(windowMs), windows_(kMaxSources + 1) {
  // Capacity for the longest texts, so that reopening a window does not allocate.
  for (Window& w : windows_) {
    w.event.link.reserve(32);
    w.event.source.reserve(32);
  }
}

AuthFailEvent* AuthFailSummary::Open(Window& w, std::string_view link, std::string_view source, double mono) {
  w.open = true;
  w.since = mono;
  w.event.link.assign(link);
  w.event.source.assign(source);
  w.event.reason.clear();
  w.event.node.reset();
  w.event.count = 1;
  return &w.event;
}

AuthFailEvent* AuthFailSummary::Note(std::string_view link, std::string_view source, double mono) {
  Window* free = nullptr;
  for (size_t i = 0; i < kMaxSources; i++) {
    Window& w = windows_[i];
    if (!w.open) {
      if (!free) free = &w;
      continue;
    }
    if (w.event.source == source && w.event.link == link) {
      w.event.count++;
      return nullptr;
    }
  }
  if (free) return Open(*free, link, source, mono);
  Window& other = windows_[kMaxSources];
  if (other.open) {
    other.event.count++;
    return nullptr;
  }
  return Open(other, "*", kOtherSources, mono);
}

void AuthFailSummary::Flush(double now, double wall, std::vector<EngineEvent>* out) {
  for (Window& w : windows_) {
    if (!w.open || w.since + windowMs_ > now) continue;
    w.open = false;
    out->push_back(EngineEvent{now, wall, w.event});
  }
}

double AuthFailSummary::NextDue() const {
  double due = std::numeric_limits<double>::infinity();
  for (const Window& w : windows_) {
    if (w.open && w.since + windowMs_ < due) due = w.since + windowMs_;
  }
  return due;
}

}  // namespace hbd
