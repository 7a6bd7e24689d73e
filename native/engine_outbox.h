// Everything the engine sends passes through here, from either thread: the one seq counter,
// the control fields, signing in the configured WireFormat, the 500-packet retransmit history
// and the queue of bytes the engine thread puts on every medium. One mutex, held for one
// message's encoding (microseconds), so that queue order is seq order.
#pragma once
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "clock.h"
#include "codec.h"
#include "control.h"
#include "pi_mutex.h"

namespace hbd {

enum class RetransmitResult { Sent, Throttled, TooLow, TooHigh, NotFound };
const char* RetransmitResultName(RetransmitResult r);

// heartbeat's MAXMSGHIST, as lib/transport/history.ts.
constexpr size_t kHistorySize = 500;

// The largest UDP payload over IPv4 (65535 − 20 − 8): a longer packet cannot go out on any medium.
constexpr size_t kMaxDatagram = 65507;

// The sent-packet ring with heartbeat's lowseq/hiseq semantics. Not locked: the Outbox owns it.
class SendHistory {
 public:
  // `minGap`: heartbeat re-sends one slot at most once per (max_rexmit_delay − 10) ms.
  SendHistory(int64_t firstSeq, Nanos minGap) : lowSeq_(firstSeq - 1), highSeq_(firstSeq - 1), minGap_(minGap), ring_(kHistorySize) {}
  void Add(int64_t seq, const std::string& bytes);
  // On Sent, `bytes` receives the stored packet and the slot's re-send time is recorded.
  RetransmitResult Take(int64_t seq, Nanos now, std::string* bytes);

 private:
  struct Slot {
    int64_t seq = -1;
    std::string bytes;
    std::optional<Nanos> lastRexmit;
  };
  int64_t lowSeq_;   // everything at or below has been evicted
  int64_t highSeq_;  // the last seq sent
  Nanos minGap_;
  std::vector<Slot> ring_;
  size_t next_ = 0;
};

struct OutboxConfig {
  ControlIdentity identity;
  WireFormat format = WireFormat::NetstringAuth;
  AuthKeys keys;
  int64_t firstSeq = 1;
  Nanos retransmitGap = 0;
};

class Outbox {
 public:
  explicit Outbox(OutboxConfig cfg);

  // Adds the control fields, signs and queues `m` for every medium. The seq given (nullopt for
  // NS_ types), or why it could not be encoded or sent (longer than kMaxDatagram): then nothing
  // is queued and no seq is used.
  // `ts`, when given, receives the unix seconds stamped into the message's ts field.
  std::variant<std::optional<int64_t>, EncodeError> Send(Message m, int64_t* ts = nullptr);
  RetransmitResult Retransmit(int64_t seq, Nanos monoNow);
  // The last seq given (firstSeq - 1 before any): heartbeat's hiseq, the bound for a peer's ackseq.
  int64_t HighestSeq();
  // Re-reads /proc/loadavg when the value is a second old. JavaScript thread only (Engine::CheckIn):
  // the engine thread never reads /proc, and the `ld` it stamps is at most a check-in stale.
  void RefreshLoadAverage(Nanos monoNow);
  // A node's UUID from an accepted packet's srcuuid, for dest -> destuuid on later sends.
  void LearnUuid(const std::string& node, const std::string& uuid);
  // A reloaded authkeys: the next message is signed with its send index (JavaScript thread).
  void SetKeys(AuthKeys keys);
  // Everything queued so far, in seq order, into `out` (engine thread). Swapped, not copied: with
  // `out` reused, taking the queue allocates nothing (an empty std::deque does).
  void TakeQueued(std::deque<std::string>* out);

 private:
  PiMutex mu_;
  const OutboxConfig cfg_;
  AuthKeys keys_;  // under mu_: cfg_.keys until a reload
  int64_t nextSeq_;
  SendHistory history_;
  UuidTable uuids_;
  LoadAverage loadReader_;  // JavaScript thread only
  std::string loadavg_;     // the last value read, under mu_
  std::deque<std::string> queue_;
};

}  // namespace hbd
