// A mutex with priority inheritance (PTHREAD_PRIO_INHERIT): the engine thread runs SCHED_FIFO and
// shares a few short critical sections with the JavaScript thread (the outbox, the settings, the
// event queue). With a plain mutex a JavaScript thread preempted while holding one (by any
// normal-priority work) would keep the realtime thread waiting; with inheritance the holder runs at
// the waiter's priority until it unlocks. A BasicLockable for std::lock_guard.
#pragma once
#include <pthread.h>

namespace hbd {

class PiMutex {
 public:
  PiMutex() {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    // Fails only where the platform lacks PI futexes; the mutex then works without inheritance.
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&mu_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~PiMutex() { pthread_mutex_destroy(&mu_); }
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;

  void lock() { pthread_mutex_lock(&mu_); }
  void unlock() { pthread_mutex_unlock(&mu_); }

 private:
  pthread_mutex_t mu_;
};

}  // namespace hbd
