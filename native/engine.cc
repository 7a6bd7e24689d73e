#include "engine.h"

#include <net/if.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <limits>
#include <mutex>
#include <set>
#include <system_error>

#include "control.h"
#include "engine_receive.h"
#include "realtime.h"

namespace hbd {

namespace {

constexpr uint64_t kWakeTag = 1;
constexpr uint64_t kTimerTag = 2;
constexpr uint64_t kLinkTag = 3;
constexpr uint64_t kPingTag = 4;
constexpr uint64_t kMediumTag = 100;  // + the medium's index
constexpr Nanos kNever = std::numeric_limits<Nanos>::max();
// Per wake and medium: a flooded medium must not starve the timers.
constexpr int kMaxPacketsPerWake = 256;
constexpr Nanos kReopenRetry = 1000000000;
// How long the status filter holds a peer's unchanged in-order statuses (native/status_filter.h):
// JavaScript wakes for them about this often per peer instead of once per status, and membership's
// ACKs (every 10th seq) go out at most this much later, far inside heartbeat's 375-message warning.
constexpr double kStatusHoldMs = 200;

std::vector<std::string> Peers(const LivenessConfig& c) {
  std::vector<std::string> peers;
  for (const std::string& n : c.nodes) {
    if (n != c.localNode) peers.push_back(n);
  }
  return peers;
}


// The first slot of t0 + k·period strictly after `now`: missed slots are skipped, not sent in a burst.
Nanos NextSlot(Nanos t0, Nanos period, Nanos now) { return t0 + ((now - t0) / period + 1) * period; }

template <typename Body>
EngineEvent At(Nanos mono, Nanos offset, Body&& body) {
  return EngineEvent{NanosToMs(mono), NanosToMs(mono + offset), std::forward<Body>(body)};
}

template <typename Body>
EngineEvent Now(Body&& body) {
  return At(MonoNanos(), RealtimeOffset(), std::forward<Body>(body));
}

void AppendLiveness(std::vector<LivenessEvent>&& in, Nanos mono, std::vector<EngineEvent>& out) {
  const Nanos offset = RealtimeOffset();
  for (LivenessEvent& e : in) out.push_back(At(mono, offset, std::move(e)));
}

// Every running engine, for the exit handler below.
std::mutex registryMu;
std::set<Engine*>& Running() {
  static auto* engines = new std::set<Engine*>();  // never destroyed: exit handlers still use it
  return *engines;
}

// process.exit() and a fatal exception end in exit(), which runs OpenSSL's exit handler (freeing
// its tables) and the static destructors while an engine thread may be inside HMAC: SIGSEGV or
// SIGABRT. Node runs no addon cleanup hook on that path, so this atexit handler stops the threads
// first; registered after OpenSSL's (node initialises OpenSSL before any addon loads), it runs before it.
void StopAllAtExit() {
  std::lock_guard<std::mutex> lock(registryMu);
  for (Engine* e : Running()) e->StopThread();
}

}  // namespace

Engine::Engine(EngineOptions opts, EventSink sink)
    : opts_(std::move(opts)),
      sink_(std::move(sink)),
      keys_(std::make_unique<KeySet>(opts_.authKeys)),
      statuses_(Peers(opts_.liveness), kStatusHoldMs),
      outbox_(OutboxConfig{ControlIdentity{opts_.liveness.localNode, opts_.uuid, opts_.generation, opts_.ttl}, opts_.wireFormat, opts_.authKeys, opts_.firstSeq,
                           MsToNanos(std::max(0.0, opts_.maxRexmitDelayMs - 10))}),
      sentinelLag_(SentinelLag(opts_.liveness)) {
  for (const MediumSpec& spec : opts_.media) media_.push_back(std::make_unique<Medium>(spec, opts_.udpPort));
  lastMediaError_.resize(media_.size());
  reopenAt_.assign(media_.size(), kNever);
  if (!opts_.pingNodes.empty()) ping_.emplace(opts_.pingNodes, NewPingIdent());
}

Engine::~Engine() { Stop(); }

bool Engine::WatchFd(int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  return epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

std::optional<StartError> Engine::Start() {
  if (started_) return StartError{"", SysError{"start", EALREADY, "the engine is already running"}};
  for (auto& m : media_) {
    if (auto e = m->Open()) {
      CloseAll();
      return StartError{m->spec().Describe(), *e};
    }
  }
  if (ping_) {
    if (auto e = ping_->Open()) {
      CloseAll();
      return StartError{"ping nodes", *e};
    }
    if (ping_->filterError()) startupWarnings_.push_back(*ping_->filterError());
  }
  auto fail = [this](SysError e) {
    CloseAll();
    return StartError{"", std::move(e)};
  };
  if (!opts_.watchdogSocket.empty()) {
    if (auto e = watchdog_.Open(opts_.watchdogSocket)) return fail(*e);
  }
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) return fail(LastError("epoll_create1", "engine"));
  wakeFd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeFd_.valid()) return fail(LastError("eventfd", "engine"));
  timerFd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timerFd_.valid()) return fail(LastError("timerfd_create", "engine"));
  if (!WatchFd(wakeFd_.get(), kWakeTag) || !WatchFd(timerFd_.get(), kTimerTag)) return fail(LastError("epoll_ctl", "engine"));
  for (size_t i = 0; i < media_.size(); i++) {
    if (!WatchFd(media_[i]->receiveFd(), kMediumTag + i)) return fail(LastError("epoll_ctl", media_[i]->spec().Describe()));
  }
  if (ping_ && !WatchFd(ping_->fd(), kPingTag)) return fail(LastError("epoll_ctl", "ping nodes"));
  // Without the link watch hbd still works; it only cannot follow re-created interfaces.
  if (auto e = linkWatch_.Open()) {
    startupWarnings_.push_back(*e);
  } else if (!WatchFd(linkWatch_.fd(), kLinkTag)) {
    startupWarnings_.push_back(LastError("epoll_ctl", "link watch"));
  }
  stopping_ = false;
  liveness_.emplace(opts_.liveness, MonoNowMs());
  lastCheckIn_ = MonoNanos();
  try {
    thread_ = std::thread(&Engine::Run, this);
  } catch (const std::system_error& e) {
    return fail(SysError{"pthread_create", e.code().value(), "engine thread"});
  }
  started_ = true;
  static std::once_flag atExit;
  std::call_once(atExit, [] { std::atexit(StopAllAtExit); });
  std::lock_guard<std::mutex> lock(registryMu);
  Running().insert(this);
  return std::nullopt;
}

void Engine::Stop() {
  if (!started_) return;
  {
    std::lock_guard<std::mutex> lock(registryMu);
    Running().erase(this);
  }
  StopThread();
  CloseAll();
  started_ = false;
}

void Engine::StopThread() {
  stopping_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void Engine::CloseAll() {
  for (auto& m : media_) m->Close();
  if (ping_) ping_->Close();
  linkWatch_.Close();
  threadStats_.Close();
  watchdog_ = NotifySocket();
  timerFd_.reset();
  wakeFd_.reset();
  epoll_.reset();
}

void Engine::Wake() {
  const uint64_t one = 1;
  if (wakeFd_.valid() && write(wakeFd_.get(), &one, sizeof one) < 0) {
    // EAGAIN: the counter is saturated, so the thread is being woken anyway.
  }
}

void Engine::SetStatus(const std::string& status) {
  {
    std::lock_guard<PiMutex> lock(settingsMu_);
    settings_.status = status;
    settings_.statusNow = true;
  }
  Wake();
}

void Engine::SetDeadtimeBump(double extraMs) {
  {
    std::lock_guard<PiMutex> lock(settingsMu_);
    if (settings_.bumpMs == extraMs) return;
    settings_.bumpMs = extraMs;
    settings_.statusNow = true;  // heartbeat re-advertises a changed dt at once
  }
  Wake();
}

void Engine::SetCommUp() {
  {
    std::lock_guard<PiMutex> lock(settingsMu_);
    settings_.commUp = true;
  }
  Wake();  // the deadlines change: re-arm the timer
}

void Engine::MarkDead(const std::string& node) {
  {
    std::lock_guard<PiMutex> lock(settingsMu_);
    markDead_.push_back(node);
  }
  Wake();  // the deadlines change: re-arm the timer
}

void Engine::SetFlowControl(bool on) {
  std::lock_guard<PiMutex> lock(settingsMu_);
  settings_.flowControl = on;
}

std::variant<std::optional<int64_t>, EncodeError> Engine::Send(Message m) {
  auto r = outbox_.Send(std::move(m));
  if (std::holds_alternative<std::optional<int64_t>>(r)) Wake();
  return r;
}

void Engine::CheckIn() {
  const Nanos now = MonoNanos();
  lastCheckIn_.store(now, std::memory_order_relaxed);
  outbox_.RefreshLoadAverage(now);
}

void Engine::SetAuthKeys(AuthKeys keys) {
  outbox_.SetKeys(keys);
  auto next = std::make_unique<KeySet>(std::move(keys));
  std::unique_ptr<KeySet> old;
  {
    std::lock_guard<PiMutex> lock(keysMu_);
    old = std::move(oldKeys_);
    std::swap(nextKeys_, next);  // a set never adopted is freed below, with `old`, outside the lock
    keysChanged_.store(true, std::memory_order_release);
  }
  Wake();
}

void Engine::AdoptKeys() {
  if (!keysChanged_.exchange(false, std::memory_order_acquire)) return;
  std::lock_guard<PiMutex> lock(keysMu_);
  if (!nextKeys_) return;
  oldKeys_ = std::move(keys_);  // null here: SetAuthKeys took the previous one before this swap
  keys_ = std::move(nextKeys_);
}

RetransmitResult Engine::Retransmit(int64_t seq) {
  const RetransmitResult r = outbox_.Retransmit(seq, MonoNanos());
  if (r == RetransmitResult::Sent) Wake();
  return r;
}

void Engine::Run() {
  pthread_setname_np(pthread_self(), "hbd-engine");  // for top -H, perf and the allocation test
  std::vector<EngineEvent> events;
  for (const SysError& e : startupWarnings_) events.push_back(Now(WarningEvent{e}));
  startupWarnings_.clear();
  if (opts_.realtime) {
    if (auto e = MakeThreadRealtime(opts_.rtprio)) events.push_back(Now(WarningEvent{*e}));
    if (auto e = LockEngineMemory()) events.push_back(Now(WarningEvent{*e}));
    else if (auto b = LockBuffer(buffer_.data(), buffer_.size(), "the engine's receive buffer")) events.push_back(Now(WarningEvent{*b}));
  }
  if (auto e = threadStats_.Open()) events.push_back(Now(WarningEvent{*e}));
  else threadStats_.Read(&atTimerWake_);
  t0_ = MonoNanos();
  wokeAt_ = t0_;
  busy_ = 0;
  beatSlot_ = 0;  // the st=init status below
  if (auto e = StartSentinel()) events.push_back(Now(WarningEvent{*e}));
  // heartbeat's first status says st=init (hb_add_deadtime() sends it before set_local_status(up)):
  // peers that still count us active see the restart in it. Then the beat goes on at t0 + keepalive.
  {
    Settings first;
    {
      std::lock_guard<PiMutex> lock(settingsMu_);
      first = settings_;
    }
    first.status = "init";
    SendStatus(first, events);
    FlushOutbox(events);
  }
  nextBeat_ = t0_ + MsToNanos(opts_.liveness.keepaliveMs);
  nextWatchdog_ = watchdog_.open() ? t0_ : kNever;
  watchdogFailed_ = false;
  lastDrain_ = t0_;
  lastArrival_ = t0_;
  armedAt_ = -1;
  stallStopped_ = false;
  ownStallAt_ = 0;
  while (!stopping_.load()) Loop(events);
  StopSentinel();
  // What JS sent just before stop() (the shutdone notice) still goes out: Loop returns on
  // stopping_ before it flushes.
  FlushOutbox(events);
  Emit(events);
}

bool Engine::ArmTimer(Nanos at, std::vector<EngineEvent>& events) {
  // A saturated deadline is as good as none; one already past fires at once (0 would disarm).
  if (at >= kMaxNanos) at = kNever;
  if (at != kNever) at = std::max<Nanos>(at, 1);
  if (at == armedAt_) return true;
  itimerspec spec{};
  spec.it_value = ToTimespec(at == kNever ? 0 : at);  // 0 disarms
  if (timerfd_settime(timerFd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    // Cannot happen with a valid descriptor and time; should it, epoll_wait's timeout stands in
    // (Loop), so that the beats go on, and it is said once.
    if (!timerFailed_) events.push_back(Now(WarningEvent{LastError("timerfd_settime", "engine timer; waking by epoll_wait timeouts instead")}));
    timerFailed_ = true;
    armedAt_ = -1;
    return false;
  }
  armedAt_ = at;
  return true;
}

void Engine::Loop(std::vector<EngineEvent>& events) {
  const double deadlineMs = liveness_->NextDeadline();
  const Nanos deadline = std::isinf(deadlineMs) ? kNever : MsToNanosCeil(deadlineMs);
  const double summaryMs = authFails_.NextDue();
  const Nanos summaryDue = std::isinf(summaryMs) ? kNever : MsToNanosCeil(summaryMs);
  const Nanos wakeAt = std::min({nextBeat_, deadline, summaryDue, NextReopen(), nextWatchdog_, plans_.NextDeadline()});
  int timeoutMs = -1;
  if (!ArmTimer(wakeAt, events) && wakeAt != kNever) timeoutMs = static_cast<int>(std::clamp<Nanos>((wakeAt - MonoNanos()) / 1000000 + 1, 0, 1000));
  Emit(events);

  epoll_event ready[16];
  busy_ = MonoNanos() - wokeAt_;
  waitsSinceTimerWake_++;
  const int n = epoll_wait(epoll_.get(), ready, 16, timeoutMs);
  const Nanos now = MonoNanos();
  wokeAt_ = now;
  // EINTR (a signal for another thread, or SIGSTOP/SIGCONT: epoll_wait is never restarted after a
  // stop); nothing else can fail here. The next wait's lateness is this one's too.
  if (n < 0) return;
  Nanos late = 0;
  bool timerFired = false;
  bool linkChanged = false;
  bool pingReadable = false;
  size_t readable[16];  // at most one per epoll event: no allocation per wake
  size_t readableCount = 0;
  for (int k = 0; k < n; k++) {
    const uint64_t tag = ready[k].data.u64;
    uint64_t count;
    if (tag == kWakeTag) {
      if (read(wakeFd_.get(), &count, sizeof count) < 0) continue;
    } else if (tag == kTimerTag) {
      timerFired = true;
      if (read(timerFd_.get(), &count, sizeof count) > 0 && armedAt_ > 0 && now > armedAt_) late = now - armedAt_;
    } else if (tag == kLinkTag) {
      linkChanged = true;
    } else if (tag == kPingTag) {
      pingReadable = true;
    } else if (tag >= kMediumTag && tag - kMediumTag < media_.size()) {
      readable[readableCount++] = static_cast<size_t>(tag - kMediumTag);
    }
  }
  if (stopping_.load()) return;
  AdoptKeys();

  // Packets first: whatever queued (also during a stall) counts at its kernel arrival time. After a
  // stall every medium is drained, not only those this epoll_wait happened to report.
  const bool stalled = NanosToMs(late) > StallThresholdMs(opts_.liveness.keepaliveMs);
  if (stalled) {
    for (size_t i = 0; i < media_.size(); i++) DrainMedium(i, now, events);
  } else {
    for (size_t k = 0; k < readableCount; k++) DrainMedium(readable[k], now, events);
  }
  if (stalled || pingReadable) DrainPing(now, events);
  lastDrain_ = now;
  if (stalled) {
    ownStallAt_ = now;
    std::vector<LivenessEvent> stall = liveness_->Stalled(NanosToMs(now), NanosToMs(late));
    ThreadCounters counters;
    if (threadStats_.open() && threadStats_.Read(&counters)) {
      const ThreadCounters d = Delta(atTimerWake_, counters);
      const int64_t covered = sentinelBeats_.load(std::memory_order_relaxed);
      // Every epoll_wait may have slept once; what slept beyond those was blocked.
      const int64_t blocked = std::max<int64_t>(0, d.voluntary - waitsSinceTimerWake_);
      for (LivenessEvent& e : stall) e.cause = StallCause{NanosToMs(d.runDelay), d.involuntary, blocked, d.minorFaults, d.majorFaults, d.cpu, NanosToMs(busy_), covered - sentinelBeatsAtTimerWake_};
      atTimerWake_ = counters;
      sentinelBeatsAtTimerWake_ = covered;
      waitsSinceTimerWake_ = 0;
    }
    AppendLiveness(std::move(stall), now, events);
  } else if (timerFired && threadStats_.open()) {
    // The baseline for the next stall, at timer wake-ups only (a stall is seen at one): packet
    // wake-ups, as frequent again, pay nothing.
    threadStats_.Read(&atTimerWake_);
    sentinelBeatsAtTimerWake_ = sentinelBeats_.load(std::memory_order_relaxed);
    waitsSinceTimerWake_ = 0;
  }
  if (linkChanged || NextReopen() <= now) {
    // Only then: the sentinel sends under this lock (engine_sentinel.cc), and a sentinel whose CPU
    // is taken away while it holds the lock must not stall this thread on every wake-up.
    std::lock_guard<PiMutex> lock(mediaMu_);
    if (linkChanged) OnLinkChanges(events);
    RetryReopens(now, events);
  }
  authFails_.Flush(NanosToMs(now), NanosToMs(now + RealtimeOffset()), &events);

  Settings s;
  std::vector<std::string> dead;
  {
    std::lock_guard<PiMutex> lock(settingsMu_);
    s = settings_;
    settings_.statusNow = false;
    dead.swap(markDead_);  // empty in the common case: no allocation
  }
  if (s.commUp) liveness_->SetCommUp();
  for (const std::string& node : dead) {
    liveness_->MarkDead(node);
    statuses_.Forget(node, &events);
  }
  statuses_.FlushDue(NanosToMs(now), &events);
  CheckJsStall(now, events);
  FeedWatchdog(now, events);
  const Nanos period = MsToNanos(opts_.liveness.keepaliveMs);
  bool beat = false;
  if (now >= nextBeat_) {
    nextBeat_ = NextSlot(t0_, period, now);
    beat = ClaimSlot((now - t0_) / period);  // false: the sentinel sent this one
    ArmSentinel(nextBeat_ + sentinelLag_);
  }
  if ((beat || s.statusNow) && !stallStopped_) SendStatus(s, events);
  FlushOutbox(events);

  // The timer fired for this deadline: judge at the deadline itself (no float rounding below it).
  double tickAt = NanosToMs(now);
  if (deadline != kNever && now >= deadline) tickAt = std::max(tickAt, deadlineMs);
  std::vector<LivenessEvent> ticked = liveness_->Tick(tickAt);  // empty (no allocation) in the common case
  for (const LivenessEvent& e : ticked) statuses_.Forget(e.node, &events);  // their held runs before them
  const size_t tickFrom = events.size();
  AppendLiveness(std::move(ticked), now, events);
  RunTakeoverPlans(tickFrom, tickAt, events);
  FireAnnouncements(MonoNanos(), events);
}

void Engine::DrainMedium(size_t i, Nanos now, std::vector<EngineEvent>& events) {
  Medium& m = *media_[i];
  const Nanos offset = RealtimeOffset();
  ReceiveContext ctx{keys_->keys, keys_->verifier, opts_.liveness.localNode, opts_.uuid, *liveness_, outbox_, authFails_, statuses_};
  Datagram d;
  std::optional<SysError> err;
  for (int k = 0; k < kMaxPacketsPerWake && m.Receive(buffer_, &d, &err); k++) {
    const Nanos arrival = Arrival(d, now, offset);
    const bool ours = ReceiveDatagram(ctx, d, m.spec().Link(), NanosToMs(arrival), NanosToMs(arrival + offset), &events);
    // The first of ours has marked our link up (liveness): the kernel drops the rest.
    if (ours && m.WantsOwnFilter()) {
      if (auto e = m.DropOwn(d.from)) events.push_back(Now(WarningEvent{*e}));
    }
  }
  if (err) ReportMediaError(i, *err, events);
}

Nanos Engine::Arrival(const Datagram& d, Nanos now, Nanos offset) {
  Nanos arrival = d.kernelRealtime ? d.kernelRealtime - offset : now;
  // Within what is possible (a stepped wall clock can push a timestamp outside), and never
  // earlier than a packet already judged, so that liveness time does not run backwards.
  arrival = std::clamp(arrival, lastDrain_, now);
  arrival = std::max(arrival, lastArrival_);
  lastArrival_ = arrival;
  return arrival;
}

void Engine::DrainPing(Nanos now, std::vector<EngineEvent>& events) {
  if (!ping_) return;
  const Nanos offset = RealtimeOffset();
  // An echo carries the ts of a status we sent: one older than deadping (+1 s for the
  // whole-second stamp) cannot prove the node alive now.
  const PingCheck check{keys_->keys, static_cast<int64_t>(std::time(nullptr)), static_cast<int64_t>(std::ceil(opts_.liveness.deadpingMs / 1000)) + 1};
  Datagram d;
  std::optional<SysError> err;
  for (int k = 0; k < kMaxPacketsPerWake && ping_->Receive(buffer_, &d, &err); k++) {
    const Nanos arrival = Arrival(d, now, offset);
    pingScratch_.clear();
    ping_->Accept(d, check, *liveness_, NanosToMs(arrival), NanosToMs(arrival + offset), &pingScratch_);
    for (EngineEvent& e : pingScratch_) {
      auto* fail = std::get_if<AuthFailEvent>(&e.body);
      if (!fail) {
        events.push_back(std::move(e));
      } else if (AuthFailEvent* first = authFails_.Note(fail->link, fail->source, e.mono)) {
        first->reason = EscapeForLog(fail->reason, 512);
        if (fail->node) first->node = EscapeForLog(*fail->node);
      }
    }
  }
  if (!err) return;
  // Once, not once per wake, until it changes (as ReportMediaError does for the media).
  const std::string key = err->syscall + ":" + ErrnoName(err->err);
  if (key == lastPingError_) return;
  lastPingError_ = key;
  events.push_back(Now(MediaErrorEvent{"ping", *err, Describe(*err)}));
}

Message Engine::StatusMessage(const Settings& s) const {
  Message m;
  SetField(m, "t", FieldType::String, "status");
  SetField(m, "st", FieldType::String, s.status);
  SetField(m, "dt", FieldType::String, Hex(std::llround(opts_.liveness.deadtimeMs + s.bumpMs)));
  if (s.flowControl) SetField(m, "protocol", FieldType::String, "1");
  return m;
}

void Engine::SendStatus(const Settings& s, std::vector<EngineEvent>& events) {
  int64_t ts = 0;
  auto r = outbox_.Send(StatusMessage(s), &ts);
  if (auto* err = std::get_if<EncodeError>(&r)) {
    events.push_back(Now(WarningEvent{SysError{"encode", EINVAL, "status message: " + err->detail}}));
    return;
  }
  // heartbeat's ping media write every status of ours as the NS_st echo of each ping node.
  if (!ping_) return;
  for (auto& [link, e] : ping_->Send(ts, opts_.wireFormat, keys_->keys)) events.push_back(Now(MediaErrorEvent{link, e, Describe(e)}));
}

void Engine::FlushOutbox(std::vector<EngineEvent>& events) {
  outbox_.TakeQueued(&sending_);
  for (const std::string& bytes : sending_) {
    for (size_t i = 0; i < media_.size(); i++) {
      if (!media_[i]->open()) continue;  // interface gone: reported when it went
      if (auto e = media_[i]->Send(bytes)) ReportMediaError(i, *e, events);
      else lastMediaError_[i].clear();
    }
  }
}

void Engine::ReportMediaError(size_t i, const SysError& e, std::vector<EngineEvent>& events, const std::string& message) {
  const std::string key = e.syscall + ":" + ErrnoName(e.err);
  if (lastMediaError_[i] == key) return;
  lastMediaError_[i] = key;
  events.push_back(Now(MediaErrorEvent{media_[i]->spec().Link(), e, message.empty() ? Describe(e) : message}));
}

void Engine::ReopenMedium(size_t i, std::vector<EngineEvent>& events) {
  Medium& m = *media_[i];
  // A failure that no netlink event will announce the end of (the port taken meanwhile, an
  // address not yet usable) is retried every kReopenRetry; reported once, as ReportMediaError does.
  reopenAt_[i] = MonoNanos() + kReopenRetry;
  if (auto e = m.Open()) {
    ReportMediaError(i, *e, events);
    return;
  }
  if (!WatchFd(m.receiveFd(), kMediumTag + i)) {
    ReportMediaError(i, LastError("epoll_ctl", m.spec().Describe()), events);
    m.Close();
    return;
  }
  reopenAt_[i] = kNever;
  lastMediaError_[i].clear();
  events.push_back(Now(MediaReopenedEvent{m.spec().Link(), m.ifindex()}));
}

Nanos Engine::NextReopen() const {
  Nanos next = kNever;
  for (Nanos at : reopenAt_) next = std::min(next, at);
  return next;
}

void Engine::RetryReopens(Nanos now, std::vector<EngineEvent>& events) {
  for (size_t i = 0; i < media_.size(); i++) {
    if (reopenAt_[i] <= now && !media_[i]->open()) ReopenMedium(i, events);
  }
}

void Engine::OnLinkChanges(std::vector<EngineEvent>& events) {
  for (const LinkChange& c : linkWatch_.Drain()) {
    for (size_t i = 0; i < media_.size(); i++) {
      Medium& m = *media_[i];
      const std::string& iface = m.spec().iface;
      const bool named = c.ifname == iface;
      const bool same = m.open() && c.ifindex == m.ifindex();
      switch (c.kind) {
        case LinkChange::Kind::LinkGone:
          if (same) {
            const int old = m.ifindex();
            m.Close();
            reopenAt_[i] = kNever;  // LinkNew reopens it
            const std::string what = m.spec().Describe() + ": interface " + iface + " (index " + std::to_string(old) + ") was removed; the medium reopens when it returns";
            ReportMediaError(i, SysError{"RTM_DELLINK", ENODEV, what}, events, what);
          }
          break;
        case LinkChange::Kind::LinkNew:
          if (named && !same) ReopenMedium(i, events);  // new or re-created (new ifindex)
          break;
        case LinkChange::Kind::AddrNew:
          if (same) m.RefreshDestination();
          else if (named && !m.open()) ReopenMedium(i, events);  // bcast waits for an address
          break;
        case LinkChange::Kind::Resync: {
          const int now = static_cast<int>(if_nametoindex(iface.c_str()));
          if (now != 0 && (!m.open() || now != m.ifindex())) ReopenMedium(i, events);
          break;
        }
      }
    }
  }
}

void Engine::CheckJsStall(Nanos now, std::vector<EngineEvent>& events) {
  if (stallStopped_ || opts_.stallLimitMs <= 0) return;
  // After our own stall JavaScript was frozen too: give it the full limit again.
  const Nanos since = std::max(lastCheckIn_.load(std::memory_order_relaxed), ownStallAt_);
  const double silentMs = NanosToMs(now - since);
  if (silentMs <= opts_.stallLimitMs) return;
  stallStopped_ = true;
  // The JS logger is what is wedged, so this goes straight to stderr.
  std::fprintf(stderr, "hbd: engine: JavaScript has not checked in for %.0f ms (limit %.0f ms): the event loop is wedged; heartbeats stopped so that this node cannot hold resources as a zombie\n", silentMs, opts_.stallLimitMs);
  events.push_back(At(now, RealtimeOffset(), StallStopEvent{silentMs}));
}

void Engine::FeedWatchdog(Nanos now, std::vector<EngineEvent>& events) {
  if (now < nextWatchdog_) return;
  const Nanos period = MsToNanos(opts_.watchdogIntervalMs / 2);
  nextWatchdog_ = NextSlot(t0_, std::max<Nanos>(period, 1000000), now);
  // Fresh: JavaScript checked in within the stall limit and within a watchdog interval. Otherwise
  // systemd's own timeout runs out and it restarts the daemon, which is the point.
  const double silentMs = NanosToMs(now - std::max(lastCheckIn_.load(std::memory_order_relaxed), ownStallAt_));
  if (stallStopped_ || silentMs > opts_.watchdogIntervalMs || (opts_.stallLimitMs > 0 && silentMs > opts_.stallLimitMs)) return;
  if (auto e = watchdog_.Send("WATCHDOG=1")) {
    if (!watchdogFailed_) events.push_back(Now(WarningEvent{*e}));
    watchdogFailed_ = true;
    return;
  }
  watchdogFailed_ = false;
}

void Engine::Emit(std::vector<EngineEvent>& events) {
  if (events.empty()) return;
  sink_(std::move(events));
  events.clear();
}

}  // namespace hbd
