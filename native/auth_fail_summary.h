// Packets that fail decoding or authentication come from outside the cluster, at whatever rate an
// outsider chooses. They are counted here per (link, source) and reported once per window (a
// second) as one auth-fail event with the count — the reason and claimed node of the window's
// first packet — so that JavaScript and the log see a few events per second whatever the flood.
// Bounded: kMaxSources sources per window, the rest counted together as one overflow source. The
// twin of lib/transport/auth-fail-summary.ts.
#pragma once
#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine_events.h"

namespace hbd {

// Text from an unauthenticated packet made safe for one log line: printable ASCII stays, every
// other byte becomes \xNN, and more than kMaxLogText bytes are cut
// with "...". No forged log lines through "\n".
constexpr size_t kMaxLogText = 64;
std::string EscapeForLog(std::string_view s, size_t max = kMaxLogText);

// "ip:port" into `out` (no allocation).
void FormatSource(const sockaddr_in& from, char (&out)[32]);

class AuthFailSummary {
 public:
  static constexpr size_t kMaxSources = 64;
  static constexpr const char* kOtherSources = "(other sources)";

  explicit AuthFailSummary(double windowMs = 1000);

  // Counts one failure. Returns the event to fill in (reason, node: already escaped by the
  // caller) when this opened a window for the source, else null: the failure was only counted.
  AuthFailEvent* Note(std::string_view link, std::string_view source, double mono);
  // Every window that ended by `now`, as events stamped `now`.
  void Flush(double now, double wall, std::vector<EngineEvent>* out);
  // When the earliest open window ends (+infinity when none is open).
  double NextDue() const;

 private:
  struct Window {
    bool open = false;
    double since = 0;
    AuthFailEvent event;
  };
  AuthFailEvent* Open(Window& w, std::string_view link, std::string_view source, double mono);

  double windowMs_;
  std::vector<Window> windows_;  // kMaxSources + the overflow window, allocated once
};

}  // namespace hbd
