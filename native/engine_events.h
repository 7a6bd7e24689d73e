// What the engine thread reports to JavaScript: plain C++ values, converted to the
// TransportEvent shapes of lib/transport/types.ts on the JS thread (native/engine_js.cc).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec.h"
#include "liveness.h"
#include "plan.h"
#include "sys_error.h"

namespace hbd {

struct StatusEvent {
  std::string node;
  std::string link;
  Message message;
  int64_t seq = 0;
  int64_t generation = 0;
  // The newest of its node's stream (not a retransmitted or overtaken one): the status filter
  // (native/status_filter.h) holds back the next ones as long as their content equals this one's,
  // so it must reach JavaScript even when the event queue is full.
  bool newest = false;
};

// Statuses the filter held back: seqs fromSeq, fromSeq + 1, … of `generation`, each the next one
// of its node with the content JavaScript last heard, and each one's arrival time (mono ms).
struct StatusAdvanceEvent {
  std::string node;
  int64_t generation = 0;
  int64_t fromSeq = 0;
  std::vector<double> monos;
};

struct MessageEvent {
  std::string node;
  std::string link;
  Message message;
  std::optional<int64_t> seq;
  int64_t generation = 0;
  bool forUs = false;
};

// Failures of one source on one link within a second (native/auth_fail_summary.h): the reason and
// claimed node (both escaped for logs) of the first, and how many there were.
struct AuthFailEvent {
  std::string link;
  std::string source;
  std::string reason;
  std::optional<std::string> node;
  uint64_t count = 1;
};

struct StallStopEvent {
  double silentMs = 0;
};

// A medium failed: a system call on its sockets, or its interface went away.
struct MediaErrorEvent {
  std::string link;
  SysError error;
  std::string message;  // for people: what failed and what happens next
};

// Something the engine works without could not be set up (realtime, the link watch).
struct WarningEvent {
  SysError error;
};

struct MediaReopenedEvent {
  std::string link;
  int ifindex = 0;
};

// A takeover plan ran at a peer's death (native/plan.h), reported right after that peer-dead.
using PlanExecutedEvent = PlanReport;

struct EngineEvent {
  double mono = 0;  // CLOCK_MONOTONIC ms: for packets, their kernel arrival time
  double wall = 0;  // CLOCK_REALTIME ms
  std::variant<LivenessEvent, StatusEvent, StatusAdvanceEvent, MessageEvent, AuthFailEvent, StallStopEvent, MediaErrorEvent, MediaReopenedEvent, WarningEvent, PlanExecutedEvent> body;
};

}  // namespace hbd
