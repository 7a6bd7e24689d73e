#include "realtime.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace hbd {

namespace {

std::optional<SysError> LockOnFault(uintptr_t start, uintptr_t end, const std::string& what) {
  if (mlock2(reinterpret_cast<void*>(start), end - start, MLOCK_ONFAULT) == 0) return std::nullopt;
  return LastError("mlock2(MLOCK_ONFAULT)", "locking " + what);
}

}  // namespace

std::optional<SysError> MakeThreadRealtime(int priority) {
  sched_param param{};
  param.sched_priority = priority > 0 ? priority : sched_get_priority_min(SCHED_FIFO);
  const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  if (rc == 0) return std::nullopt;
  return SysError{"pthread_setschedparam(SCHED_FIFO)", rc, "realtime priority " + std::to_string(param.sched_priority) + " for the engine thread"};
}

std::optional<SysError> LockBuffer(const void* data, size_t size, const std::string& what) {
  if (mlock(data, size) == 0) return std::nullopt;
  return LastError("mlock", "locking " + what);
}

std::optional<SysError> LockEngineMemory() {
  pthread_attr_t attr;
  if (const int rc = pthread_getattr_np(pthread_self(), &attr)) return SysError{"pthread_getattr_np", rc, "locking the engine thread's stack"};
  void* stack = nullptr;
  size_t size = 0;
  pthread_attr_getstack(&attr, &stack, &size);
  pthread_attr_destroy(&attr);
  const uintptr_t base = reinterpret_cast<uintptr_t>(stack);
  if (auto e = LockOnFault(base, base + size, "the engine thread's stack")) return e;

  std::ifstream maps("/proc/self/maps");
  if (!maps) return LastError("open(/proc/self/maps)", "locking the engine's code");
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode [path]". Only real files: not [stack]/[heap], not
    // anon_inode or memfd mappings (V8 may hold its heap in those), not deleted files.
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode >> path;
    if (path.empty() || path[0] != '/' || path.compare(0, 7, "/memfd:") == 0 || line.find("(deleted)") != std::string::npos) continue;
    if (perms.empty() || perms[0] != 'r') continue;
    uintptr_t start = 0, end = 0;
    if (std::sscanf(range.c_str(), "%" SCNxPTR "-%" SCNxPTR, &start, &end) != 2 || end <= start) continue;
    if (auto e = LockOnFault(start, end, path)) return e;
  }
  return std::nullopt;
}

}  // namespace hbd
