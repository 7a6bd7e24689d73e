// Why the engine thread woke late, from the kernel's own accounting of it: time spent runnable but
// not running (waiting for its CPU), involuntary switches (preempted), voluntary switches
// beyond the one sleep per wake (blocked on a lock or I/O), page faults. None of these move when
// the hypervisor stops the whole virtual CPU: a late wake with all of them flat points outside
// this machine's scheduler (steal). Read at each timer wake-up: two system calls (~4 µs), no allocation.
#pragma once
#include <cstdint>
#include <optional>

#include "clock.h"
#include "fd.h"
#include "sys_error.h"

namespace hbd {

struct ThreadCounters {
  Nanos runDelay = 0;  // /proc/thread-self/schedstat, 2nd field: waited on a run queue
  int64_t voluntary = 0;
  int64_t involuntary = 0;
  int64_t minorFaults = 0;
  int64_t majorFaults = 0;
  int cpu = -1;  // where the thread runs now
};

// What changed between two readings, and the CPU of the later one.
ThreadCounters Delta(const ThreadCounters& before, const ThreadCounters& after);

class ThreadStats {
 public:
  // From the thread to watch: /proc/thread-self names the opening thread.
  std::optional<SysError> Open();
  bool open() const { return schedstat_.valid(); }
  void Close() { schedstat_.reset(); }
  // False when the reading failed (the thread's counters then stay as they were).
  bool Read(ThreadCounters* out) const;

 private:
  Fd schedstat_;
};

}  // namespace hbd
