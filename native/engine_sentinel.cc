// The beat sentinel: a second engine thread, pinned to another CPU, that sends a due status the
// engine thread has not sent `lag` after its slot. Why: on a virtual machine the hypervisor takes
// one virtual CPU away for 6–9 ms at a time (measured by the detection bench's wake probe, a
// SCHED_FIFO thread beside the engine that is late by the same amount at the same moment), and
// nothing inside the guest can run on that CPU meanwhile; at 2 ms / 10 ms such a pause of the
// sender is a death. The other CPU usually runs on. Exactly one status goes out per slot: whoever
// claims the slot (beatSlot_) first sends it.
#include <pthread.h>
#include <sched.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>

#include "engine.h"
#include "realtime.h"

namespace hbd {

namespace {

// A pause shorter than this leaves deadtime enough on its own; above it the sentinel runs.
constexpr double kSentinelSlackMs = 100;

// The CPUs this process may run on; the sentinel takes the last, the engine thread the others.
bool SplitCpus(cpu_set_t* engine, cpu_set_t* sentinel) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return false;
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &allowed)) last = c;
  }
  *engine = allowed;
  CPU_CLR(last, engine);
  CPU_ZERO(sentinel);
  CPU_SET(last, sentinel);
  return true;
}

}  // namespace

bool Engine::WantsSentinel() const { return opts_.liveness.deadtimeMs - opts_.liveness.keepaliveMs < kSentinelSlackMs; }

// A quarter of the slack deadtime leaves (0.5–5 ms): late enough that the sentinel acts only in a
// real stall, not whenever the engine thread is a fraction of a millisecond late under load, since
// each status it sends holds the outbox's lock, and a sentinel whose CPU is taken while it holds
// that lock stalls the engine thread too; early enough that a stalled sender's gap stays far
// inside deadtime (at 2ms/10ms: keepalive + 2 ms).
Nanos SentinelLag(const LivenessConfig& c) { return MsToNanos(std::clamp((c.deadtimeMs - c.keepaliveMs) / 4, 0.5, 5.0)); }

bool Engine::ClaimSlot(int64_t slot) {
  int64_t last = beatSlot_.load(std::memory_order_relaxed);
  while (last < slot) {
    if (beatSlot_.compare_exchange_weak(last, slot, std::memory_order_acq_rel)) return true;
  }
  return false;
}

std::optional<SysError> Engine::StartSentinel() {
  if (!WantsSentinel()) return std::nullopt;
  cpu_set_t engineCpus, sentinelCpus;
  if (!SplitCpus(&engineCpus, &sentinelCpus)) return std::nullopt;  // one CPU: nothing to fall back on
  sentinelTimer_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  if (!sentinelTimer_.valid()) return LastError("timerfd_create", "the beat sentinel (it stays off)");
  if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof engineCpus, &engineCpus)) {
    sentinelTimer_.reset();
    return SysError{"pthread_setaffinity_np", rc, "the engine thread (the beat sentinel stays off)"};
  }
  sentinelCpus_ = sentinelCpus;
  ArmSentinel(t0_ + MsToNanos(opts_.liveness.keepaliveMs) + sentinelLag_);
  sentinel_ = std::thread(&Engine::RunSentinel, this);
  return std::nullopt;
}

void Engine::ArmSentinel(Nanos at) {
  if (!sentinelTimer_.valid()) return;
  itimerspec spec{};
  spec.it_value = ToTimespec(std::max<Nanos>(at, 1));
  timerfd_settime(sentinelTimer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Engine::StopSentinel() {
  if (!sentinel_.joinable()) return;
  ArmSentinel(1);  // at once: it sees stopping_
  sentinel_.join();
  sentinelTimer_.reset();
}

void Engine::RunSentinel() {
  pthread_setname_np(pthread_self(), "hbd-sentinel");
  pthread_setaffinity_np(pthread_self(), sizeof sentinelCpus_, &sentinelCpus_);
  // Same priority as the engine thread: on its own CPU it competes with nothing of ours. Refusals
  // were reported by the engine thread, which asked for the same.
  if (opts_.realtime) MakeThreadRealtime(opts_.rtprio);
  const Nanos period = MsToNanos(opts_.liveness.keepaliveMs);
  std::deque<std::string> sending;
  // The engine thread pushes this timer one slot on with every beat it passes (Loop), so while it
  // is on time the sentinel never wakes: it costs one timerfd_settime per beat, no wake-up.
  while (true) {
    uint64_t expirations;
    if (read(sentinelTimer_.get(), &expirations, sizeof expirations) < 0 && errno == EINTR) continue;
    if (stopping_.load()) break;
    const int64_t due = (MonoNanos() - sentinelLag_ - t0_) / period;  // the latest slot past its lag
    if (!stallStopped_.load() && ClaimSlot(due)) {
      Settings s;
      {
        std::lock_guard<PiMutex> lock(settingsMu_);
        s = settings_;
      }
      // The engine thread reports encoding and media errors; this thread only tries.
      if (!std::holds_alternative<EncodeError>(outbox_.Send(StatusMessage(s)))) {
        outbox_.TakeQueued(&sending);
        std::lock_guard<PiMutex> lock(mediaMu_);
        for (const std::string& bytes : sending) {
          for (auto& m : media_) {
            if (m->open()) m->Send(bytes);
          }
        }
        sending.clear();
        sentinelBeats_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    ArmSentinel(t0_ + (due + 1) * period + sentinelLag_);
  }
}

}  // namespace hbd
