// Names the likeliest cause of the engine thread's own late wake-up from what the kernel counted for
// it meanwhile, for the operator's log line and the detection bench. The order matters: the engine's
// own work first (ours to fix), then waiting for its CPU (a task of higher priority, or steal: the
// thread cannot tell those apart; the detection bench's wake probe can), and only when the thread
// was neither working nor waiting for a CPU, outside the scheduler: the process stopped (SIGSTOP,
// a debugger), or the hypervisor took the CPU away or delivered the timer late (nothing in this
// guest can tell those apart).
import type { StallCause } from './types';

export type StallKind = 'own-work' | 'blocked' | 'page-faults' | 'cpu-wait' | 'machine';

export function classifyStall(lateMs: number, c: StallCause): StallKind {
  const half = lateMs / 2;
  if (c.majorFaults > 0) return 'page-faults';
  if (c.busyMs >= half) return c.blockedSleeps > 0 ? 'blocked' : 'own-work';
  if (c.runDelayMs >= half) return 'cpu-wait';
  return 'machine';
}

const DESCRIPTIONS: Record<StallKind, string> = {
  'own-work': "the engine's own work took that long",
  blocked: 'the engine thread was blocked (a lock or I/O)',
  'page-faults': 'the engine thread waited for a page to be read in',
  'cpu-wait': 'the thread was ready but not given its CPU: a task of higher priority ran, or the hypervisor took the virtual CPU away (`realtime on` rules out ordinary tasks)',
  machine: 'the thread was neither running nor waiting for a CPU: the process was stopped, or the virtual machine paused or its timer interrupt came late',
};

/** "the thread was ready but not given its CPU: … (waited 8.1 ms for CPU 1, 0 preemptions, 0 blocking sleeps, 0 page faults, previous work 0.04 ms)" */
export function describeStall(lateMs: number, c: StallCause): string {
  const kind = classifyStall(lateMs, c);
  const faults = c.minorFaults + c.majorFaults;
  const covered = c.sentinelBeats > 0 ? `; the beat sentinel on another CPU sent ${c.sentinelBeats} status${c.sentinelBeats === 1 ? '' : 'es'} meanwhile` : '';
  return `${DESCRIPTIONS[kind]} (waited ${c.runDelayMs.toFixed(1)} ms for CPU ${c.cpu}, ${c.involuntary} preemptions, ${c.blockedSleeps} blocking sleeps, ${faults} page faults, previous work ${c.busyMs.toFixed(2)} ms)${covered}`;
}
