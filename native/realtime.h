// ha.cf `realtime`: SCHED_FIFO for the engine thread only (JavaScript keeps normal priority),
// and the engine's memory locked so that a heartbeat never waits for a page-in. Refusals are
// reported, never fatal: hbd still works, only with less protection against CPU and memory pressure.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

#include "sys_error.h"

namespace hbd {

// Gives the calling thread SCHED_FIFO at `priority` (0: the minimum the system allows).
std::optional<SysError> MakeThreadRealtime(int priority);

// Locks, as they are touched (MLOCK_ONFAULT), every file-backed mapping (the code and constant
// data of node, the addon and the libraries) and the calling thread's stack.
//
// Not mlockall(): V8 releases heap pages with madvise(MADV_DONTNEED), which fails with EINVAL on
// locked memory, and V8 aborts on that failure (measured: "Check failed: 0 == ret" in
// OS::SetPermissions at the latest when the isolate is torn down). Anonymous mappings other than
// this thread's stack, V8's heap among them, are therefore left alone.
std::optional<SysError> LockEngineMemory();

// Locks and faults in a buffer the engine thread owns (its receive buffer): a packet never waits
// for a page-in. Only memory the engine allocated itself, never V8's (see above).
std::optional<SysError> LockBuffer(const void* data, size_t size, const std::string& what);

}  // namespace hbd
