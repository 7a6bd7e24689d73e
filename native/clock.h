// The engine's clocks: CLOCK_MONOTONIC for every deadline, CLOCK_REALTIME only for the wall
// time shown to people and for converting kernel receive timestamps (SO_TIMESTAMPNS).
#pragma once
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace hbd {

using Nanos = int64_t;

inline Nanos ToNanos(const timespec& ts) { return static_cast<Nanos>(ts.tv_sec) * 1000000000 + ts.tv_nsec; }

// For absolute CLOCK_MONOTONIC times, which are never negative.
inline timespec ToTimespec(Nanos ns) {
  if (ns < 0) ns = 0;
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

inline Nanos ClockNanos(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return ToNanos(ts);
}

inline Nanos MonoNanos() { return ClockNanos(CLOCK_MONOTONIC); }
inline Nanos WallNanos() { return ClockNanos(CLOCK_REALTIME); }

// Milliseconds as a double: the unit of every time the engine shows to JavaScript.
inline double NanosToMs(Nanos ns) { return static_cast<double>(ns) / 1e6; }

// The largest ns a double converts to without overflow (casting beyond is undefined).
constexpr double kMaxNanosDouble = 9.2e18;

// Times beyond this (292 years) saturate: a peer may advertise any deadtime, and converting an
// out-of-range double to an integer is undefined (x86 yields INT64_MIN: a deadline in the past
// that timerfd_settime refuses, and the engine would never wake again).
constexpr Nanos kMaxNanos = std::numeric_limits<Nanos>::max() / 2;

// Rounds up, so that a timer armed for a deadline never fires before it. Saturates at 0 and
// kMaxNanos (NaN counts as the far end).
inline Nanos MsToNanosCeil(double ms) {
  const double ns = ms * 1e6;
  if (!(ns < static_cast<double>(kMaxNanos))) return kMaxNanos;
  if (ns <= 0) return 0;
  const Nanos whole = static_cast<Nanos>(ns);
  return static_cast<double>(whole) < ns ? whole + 1 : whole;
}

// Rounded and saturating, as MsToNanosCeil: no timing from a peer or an option may wrap around.
inline Nanos MsToNanos(double ms) { return static_cast<Nanos>(std::clamp(std::round(ms * 1e6), -kMaxNanosDouble, kMaxNanosDouble)); }

inline double MonoNowMs() { return NanosToMs(MonoNanos()); }

// CLOCK_REALTIME minus CLOCK_MONOTONIC, read back to back; take it fresh for every conversion
// so that a stepped wall clock only spoils the packets that straddle the step.
inline Nanos RealtimeOffset() {
  const Nanos m1 = MonoNanos();
  const Nanos r = WallNanos();
  const Nanos m2 = MonoNanos();
  return r - (m1 + (m2 - m1) / 2);
}

}  // namespace hbd
