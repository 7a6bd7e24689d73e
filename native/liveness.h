// Per-peer liveness: the exact C++ twin of lib/transport/liveness.ts (read that file for the
// semantics and the reasons). Pure: driven with an explicit monotonic clock in ms, no I/O.
// test/liveness.test.ts runs one suite against both through the addon's LivenessTracker.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hbd {

struct LivenessConfig {
  std::string localNode;
  std::vector<std::string> nodes;  // ha.cf order, the local node included
  double keepaliveMs = 0;
  double deadtimeMs = 0;
  double warntimeMs = 0;
  double initdeadMs = 0;
  std::vector<std::string> pingNodes;  // a name that is also a normal node stays normal
  double deadpingMs = 0;               // 0: deadtimeMs
};

// The native engine's account of one of its own late wake-ups (thread_stats.h), over the time from
// the previous wake-up to this one.
struct StallCause {
  double runDelayMs = 0;     // runnable, but another task had the CPU
  int64_t involuntary = 0;   // preempted
  int64_t blockedSleeps = 0; // sleeps beyond the engine's epoll_waits: blocked on a lock or I/O
  int64_t minorFaults = 0;
  int64_t majorFaults = 0;
  int cpu = -1;
  double busyMs = 0;         // the previous wake-up's work, from its wake to its next epoll_wait
  int64_t sentinelBeats = 0; // statuses the beat sentinel sent meanwhile (engine_sentinel.cc)
};

struct LivenessEvent {
  enum class Type { PeerUp, PeerLate, PeerDead, PeerRestart, Replay, LinkUp, LinkDead, OwnStall };
  Type type;
  std::string node;
  std::string link;
  std::string status;         // PeerUp
  int64_t generation = 0;     // PeerUp, PeerRestart, Replay
  int64_t oldGeneration = 0;  // PeerRestart
  int64_t currentGeneration = 0;  // Replay
  bool restarted = false;     // PeerUp
  bool returned = false;      // PeerUp
  double gapMs = 0;           // PeerLate
  double silentMs = 0;        // PeerDead
  double timeoutMs = 0;       // PeerDead
  double lateMs = 0;          // OwnStall
  std::optional<StallCause> cause;  // OwnStall, from the native engine
};

// The event's `type` string as lib/transport/types.ts spells it.
const char* LivenessEventName(LivenessEvent::Type t);

// Views into the received packet: judging a status copies nothing unless an event is due.
struct StatusInput {
  std::string_view node;
  std::string_view link;
  int64_t generation = 0;
  int64_t seq = 0;
  std::string_view status;
  double dtMs = 0;  // the peer's advertised deadtime
};

struct StatusOutcome {
  // Pass the packet on: news, and for statuses older seqs (sequence tracking decides). False for
  // duplicates, replays of an older generation and unknown nodes.
  bool accepted = false;
  std::vector<LivenessEvent> events;  // empty (no allocation) in the common case
};

// The longest `dt` a peer may advertise (lib/transport/liveness.ts MAX_ADVERTISED_DEADTIME_MS).
constexpr double kMaxAdvertisedDeadtimeMs = 3600000;
// A peer's advertised `dt` as the timeout to use: clamped; <= 0 when it is no usable number.
double AdvertisedDeadtime(double dtMs);

// How late a wake-up must be to count as the transport's own stall.
double StallThresholdMs(double keepaliveMs);

// The seqs of a peer's current generation seen lately — statuses and other sequenced messages — so
// that a replayed copy of any of them is dropped in liveness instead of reaching JavaScript.
// kSize below the highest (heartbeat keeps 500 messages to resend); older ones are dropped too:
// nothing that far back can still be missing. Fixed size: no allocation per packet.
class SeqWindow {
 public:
  static constexpr int64_t kSize = 512;
  void Reset();
  // True (and recorded) when `seq` was not seen; false for a copy or a seq older than the window.
  bool Admit(int64_t seq);

 private:
  bool Test(int64_t seq) const { return (bits_[Slot(seq) / 64] >> (Slot(seq) % 64)) & 1; }
  void Set(int64_t seq) { bits_[Slot(seq) / 64] |= uint64_t{1} << (Slot(seq) % 64); }
  void Clear(int64_t seq) { bits_[Slot(seq) / 64] &= ~(uint64_t{1} << (Slot(seq) % 64)); }
  static int64_t Slot(int64_t seq) { return seq % kSize; }
  int64_t high_ = -1;
  uint64_t bits_[kSize / 64] = {};
};

class Liveness {
 public:
  Liveness(LivenessConfig cfg, double startMono);
  Liveness(const Liveness&) = delete;  // index_ holds views into peers_
  Liveness& operator=(const Liveness&) = delete;

  // A normal peer: its UDP packets count. Ping nodes are not peers (they speak only ICMP).
  bool IsPeer(const std::string& node) const;
  bool IsPingNode(const std::string& node) const;
  // "init", "up" or "dead"; nullptr for a node that is neither a peer nor a ping node.
  const char* PeerState(const std::string& node) const;
  void SetCommUp() { commUp_ = true; }
  StatusOutcome Status(double now, const StatusInput& s);
  // The peer announced its shutdown (shutdone): dead without a PeerDead event; no status of the
  // same generation brings it back, a restart does.
  void MarkDead(std::string_view node);
  // An authenticated echo reply (NS_st) of ping node `node` from its address `link`.
  StatusOutcome Ping(double now, const std::string& node, const std::string& link);
  // `seq`: the packet's seq, -1 for unsequenced (NS_) messages.
  StatusOutcome Packet(double now, const std::string& node, const std::string& link, int64_t generation, int64_t seq = -1);
  std::vector<LivenessEvent> Stalled(double now, double lateMs);
  std::vector<LivenessEvent> Tick(double now);
  // When Tick next has something to do; +infinity when nothing is pending.
  double NextDeadline() const;

 private:
  enum class State { Init, Up, Dead };
  struct Link {
    bool up = false;
    double lastSeen = 0;
    int64_t lastSeq = -1;  // the highest status seq of the generation seen on this link
  };
  // What a PeerUp event would say; built into an event only when one is due.
  struct UpInfo {
    std::string_view status;
    int64_t generation = 0;
    bool restarted = false;
    bool returned = false;
  };
  struct Peer {
    std::string node;
    State state = State::Init;
    int64_t generation = -1;  // none seen yet
    int64_t lastSeq = -1;     // last accepted status seq in `generation`
    double lastStatus = 0;    // mono ms of the last accepted status (start time before any)
    bool heardAny = false;
    double dtMs = 0;
    bool departed = false;  // shutdone: no deadline, no return until a new generation
    bool ping = false;
    SeqWindow seen;  // seqs of `generation` passed on, statuses and messages alike
    std::vector<std::pair<std::string, Link>> links;  // in the order first heard, as a JS Map
  };

  double Timeout(const Peer& p) const;
  Peer* Find(std::string_view node);
  const Peer* Find(std::string_view node) const;
  void Add(const std::string& node, bool ping, double startMono);
  // A newer status or an echo reply: late check, peer-up (from `up`), liveness and its link.
  void Heard(double now, Peer& p, std::string_view link, int64_t seq, const UpInfo& up, std::vector<LivenessEvent>& events);
  bool CheckGeneration(Peer& p, int64_t generation, bool isStatus, std::vector<LivenessEvent>& events);
  // `seq`: the status seq the packet carried, -1 for other packets and echoes.
  void TouchLink(double now, Peer& p, std::string_view link, int64_t seq, std::vector<LivenessEvent>& events);
  void OwnLink(std::string_view link, std::vector<LivenessEvent>& events);

  LivenessConfig cfg_;
  std::vector<Peer> peers_;  // ha.cf order: deaths are reported in that order
  std::unordered_map<std::string_view, size_t> index_;  // views into peers_[i].node
  std::vector<std::string> ownLinks_;
  bool commUp_ = false;
  double graceUntil_;
};

}  // namespace hbd
