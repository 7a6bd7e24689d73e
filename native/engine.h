// The heartbeat engine: one plain std::thread that sends status every keepalive, receives and
// judges every packet and declares peers dead at their deadline, independent of the JavaScript
// event loop. epoll over the media sockets, an eventfd (commands, stop), a timerfd armed with
// absolute CLOCK_MONOTONIC deadlines and the rtnetlink link watch. No Node-API in here: events
// leave through the EventSink, which must never block (native/engine_js.cc batches them into one
// ThreadSafeFunction).
#pragma once
#include <sched.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "auth_fail_summary.h"
#include "clock.h"
#include "codec.h"
#include "engine_events.h"
#include "engine_outbox.h"
#include "fd.h"
#include "liveness.h"
#include "media.h"
#include "netlink.h"
#include "pi_mutex.h"
#include "thread_stats.h"
#include "ping.h"
#include "plan.h"
#include "preauth.h"
#include "sd_notify.h"
#include "status_filter.h"
#include "sys_error.h"

namespace hbd {

struct EngineOptions {
  LivenessConfig liveness;  // localNode, nodes, the ping nodes' names and the timings
  std::vector<MediumSpec> media;
  std::vector<PingNodeSpec> pingNodes;  // spec §7.8: echoed by the raw ICMP socket of native/ping.h
  uint16_t udpPort = 694;
  double stallLimitMs = 0;
  AuthKeys authKeys;
  WireFormat wireFormat = WireFormat::NetstringAuth;
  std::string uuid;  // 16 bytes
  int64_t generation = 0;
  int64_t firstSeq = 1;
  int ttl = 0;
  bool realtime = false;
  int rtprio = 0;  // 0: the minimum SCHED_FIFO priority
  double maxRexmitDelayMs = 250;  // ha.cf max_rexmit_delay: one history slot re-sent per (this − 10) ms
  // systemd's watchdog ($NOTIFY_SOCKET, $WATCHDOG_USEC): the engine thread sends WATCHDOG=1 every
  // half interval while JavaScript checks in, so that systemd restarts a wedged daemon. Empty: off.
  std::string watchdogSocket;
  double watchdogIntervalMs = 0;
};

struct StartError {
  std::string medium;  // MediumSpec::Describe(), empty for the engine's own descriptors
  SysError error;
};

using EventSink = std::function<void(std::vector<EngineEvent>&&)>;

// How long after a beat slot the beat sentinel sends for a late engine thread (engine_sentinel.cc).
Nanos SentinelLag(const LivenessConfig& c);

class Engine {
 public:
  Engine(EngineOptions opts, EventSink sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens every medium and starts the thread, which beats with st=up at once.
  std::optional<StartError> Start();
  // Idempotent; returns once the thread has exited and every socket is closed.
  void Stop();
  // Only ends the thread (the exit handler: sockets and memory go with the process).
  void StopThread();

  // Commands from JavaScript: short mutex holds, never a wait for the engine thread. The
  // settings may be given before Start(); Send() queues only for a running engine's thread.
  void SetStatus(const std::string& status);
  void SetDeadtimeBump(double extraMs);
  void SetCommUp();
  void SetFlowControl(bool on);
  std::variant<std::optional<int64_t>, EncodeError> Send(Message m);
  RetransmitResult Retransmit(int64_t seq);
  // The peer announced its shutdown: no death deadline until it restarts (Liveness::MarkDead).
  void MarkDead(const std::string& node);
  // The last seq given to a sequenced message (firstSeq - 1 before any).
  int64_t HighestSeq() { return outbox_.HighestSeq(); }
  // The takeover fast path (native/plan.h, native/engine_plan.cc): nullopt clears node's plan.
  std::optional<SysError> SetTakeoverPlan(const std::string& node, std::optional<PlanSpec> plan);
  // JavaScript is alive; also refreshes the load average the statuses carry (read here, on the
  // JavaScript thread, so that the engine thread never reads /proc).
  void CheckIn();
  // A reloaded authkeys (key rotation): signing switches at once, verification at the thread's next
  // wake. The caller checked that keys.send_index has a key.
  void SetAuthKeys(AuthKeys keys);

 private:
  // Settings JavaScript changes; the thread copies them under settingsMu_.
  struct Settings {
    std::string status = "up";
    double bumpMs = 0;
    bool flowControl = true;  // heartbeat starts with flow control on (spec §7.7), as lib/transport/udp.ts
    bool commUp = false;
    bool statusNow = false;  // send a status at once (a setting changed)
  };

  void Wake();
  void CloseAll();
  void Run();
  void Loop(std::vector<EngineEvent>& events);
  // False (said once in `events`) when timerfd_settime failed: Loop then wakes by epoll timeout.
  bool ArmTimer(Nanos at, std::vector<EngineEvent>& events);
  Nanos NextReopen() const;
  void RetryReopens(Nanos now, std::vector<EngineEvent>& events);
  void DrainMedium(size_t i, Nanos now, std::vector<EngineEvent>& events);
  void DrainPing(Nanos now, std::vector<EngineEvent>& events);
  // A datagram's arrival time for liveness: its kernel timestamp, clamped and kept monotonic.
  Nanos Arrival(const Datagram& d, Nanos now, Nanos offset);
  void OnLinkChanges(std::vector<EngineEvent>& events);
  void ReopenMedium(size_t i, std::vector<EngineEvent>& events);
  void SendStatus(const Settings& s, std::vector<EngineEvent>& events);
  void FlushOutbox(std::vector<EngineEvent>& events);
  void CheckJsStall(Nanos now, std::vector<EngineEvent>& events);
  void FeedWatchdog(Nanos now, std::vector<EngineEvent>& events);
  void Emit(std::vector<EngineEvent>& events);
  // Reports a failure once (not once per packet) until the medium works again.
  void ReportMediaError(size_t i, const SysError& e, std::vector<EngineEvent>& events, const std::string& message = {});
  bool WatchFd(int fd, uint64_t tag);
  // native/engine_plan.cc: runs the plans of the peers declared dead in events[from…] and reports
  // each right after its peer-dead; sends the announce rounds that are due.
  void RunTakeoverPlans(size_t from, double deadAtMs, std::vector<EngineEvent>& events);
  void FireAnnouncements(Nanos now, std::vector<EngineEvent>& events);

  // native/engine_sentinel.cc: the beat sentinel on another CPU, for short deadtimes.
  bool WantsSentinel() const;
  std::optional<SysError> StartSentinel();  // from the engine thread, which it pins
  void RunSentinel();
  void ArmSentinel(Nanos at);  // when the sentinel wakes next, unless re-armed before
  void StopSentinel();
  // True for the first caller for a beat slot (t0 + slot·keepalive): that one sends it.
  bool ClaimSlot(int64_t slot);
  Message StatusMessage(const Settings& s) const;

  const EngineOptions opts_;
  const EventSink sink_;
  std::optional<Liveness> liveness_;  // created by Start(): initdead counts from there
  // The keys packets are verified with, beside their precomputed HMAC state. A reload replaces the
  // set whole: built and freed on the JavaScript thread, swapped in by the engine thread between
  // wakes under keysMu_ — so the receive path neither allocates nor locks per packet.
  struct KeySet {
    explicit KeySet(AuthKeys k) : keys(std::move(k)), verifier(keys) {}
    const AuthKeys keys;
    const PacketVerifier verifier;
  };
  std::unique_ptr<KeySet> keys_;      // engine thread (created by the constructor)
  PiMutex keysMu_;
  std::unique_ptr<KeySet> nextKeys_;  // under keysMu_: from SetAuthKeys, for the thread to adopt
  std::unique_ptr<KeySet> oldKeys_;   // under keysMu_: the set adopted away, freed by the next SetAuthKeys
  std::atomic<bool> keysChanged_{false};
  void AdoptKeys();
  StatusFilter statuses_;  // which accepted statuses JavaScript hears now (native/status_filter.h)
  AuthFailSummary authFails_;
  std::vector<EngineEvent> pingScratch_;  // one echo reply's events, before its auth-fails are counted
  std::deque<std::string> sending_;  // the outbox's queue, taken by FlushOutbox (reused)
  Outbox outbox_;
  std::vector<std::unique_ptr<Medium>> media_;
  std::vector<std::string> lastMediaError_;  // per medium: the last errno reported, to report changes only
  std::vector<Nanos> reopenAt_;              // per medium: when a failed reopen is tried again
  std::optional<PingMedium> ping_;  // when there are ping nodes
  std::string lastPingError_;       // the ping socket's last receive error reported
  LinkWatch linkWatch_;
  NotifySocket watchdog_;
  Fd epoll_, wakeFd_, timerFd_;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(kReceiveBuffer);

  PiMutex settingsMu_;
  Settings settings_;
  std::vector<std::string> markDead_;  // nodes for Liveness::MarkDead, under settingsMu_
  std::atomic<bool> stopping_{false};
  std::atomic<Nanos> lastCheckIn_{0};
  std::thread thread_;
  bool started_ = false;
  // The beat sentinel (engine_sentinel.cc). mediaMu_ orders its sends against the engine thread's
  // opening, closing and re-addressing of media; the engine thread's own sends need no lock.
  std::thread sentinel_;
  cpu_set_t sentinelCpus_{};
  Fd sentinelTimer_;  // its wake-up: a beat slot + lag, pushed on by the engine thread's beats
  PiMutex mediaMu_;
  const Nanos sentinelLag_;  // after a slot, when the sentinel sends for a late engine thread
  std::atomic<int64_t> beatSlot_{0};         // the last beat slot claimed
  std::atomic<int64_t> sentinelBeats_{0};    // statuses the sentinel sent for the engine thread
  int64_t sentinelBeatsAtTimerWake_ = 0;     // engine thread: for the stall's count
  int64_t waitsSinceTimerWake_ = 0;          // engine thread: epoll_waits since atTimerWake_

  // Engine-thread state.
  Nanos t0_ = 0;          // origin of the beat schedule t0 + k·keepalive
  Nanos nextBeat_ = 0;
  Nanos nextWatchdog_ = 0;  // kNever when off
  bool watchdogFailed_ = false;
  Nanos armedAt_ = -1;    // the timerfd's current absolute expiry
  Nanos lastDrain_ = 0;   // every socket was empty at this time
  Nanos lastArrival_ = 0; // the latest arrival time handed to liveness
  Nanos ownStallAt_ = 0;  // when the engine last detected its own stall
  std::atomic<bool> stallStopped_{false};  // also read by the sentinel
  bool timerFailed_ = false;
  // The cause of a late wake-up (thread_stats.h): counters read at each timer wake, compared on a stall.
  ThreadStats threadStats_;
  ThreadCounters atTimerWake_;
  Nanos wokeAt_ = 0;  // the last wake-up
  Nanos busy_ = 0;    // the last wake-up's work, up to its next epoll_wait
  std::vector<SysError> startupWarnings_;  // from Start(), reported by the thread
  TakeoverPlans plans_;  // set from JS, run and announced by the thread
};

}  // namespace hbd
