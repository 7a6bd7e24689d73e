import { test } from 'node:test';
import assert from 'node:assert/strict';

import { classifyStall, describeStall } from '../lib/transport/stall-cause';
import type { StallCause } from '../lib/transport/types';

const quiet: StallCause = { runDelayMs: 0.02, involuntary: 0, blockedSleeps: 0, minorFaults: 0, majorFaults: 0, cpu: 1, busyMs: 0.05, sentinelBeats: 0 };

test('a late wake with flat counters is the machine (stopped process, paused VM, late timer)', () => {
  assert.equal(classifyStall(9.4, quiet), 'machine');
  assert.match(describeStall(9.4, quiet), /neither running nor waiting for a CPU.*waited 0\.0 ms for CPU 1, 0 preemptions, 0 blocking sleeps, 0 page faults, previous work 0\.05 ms/);
});

test('waiting on the run queue for most of the lateness is a wait for the CPU', () => {
  assert.equal(classifyStall(9.4, { ...quiet, runDelayMs: 8.9, involuntary: 2 }), 'cpu-wait');
  assert.equal(classifyStall(9.4, { ...quiet, runDelayMs: 3 }), 'machine', 'a third of it is not the cause');
});

test("the engine's own work: busy, blocked (more sleeps than epoll's), page-ins first of all", () => {
  assert.equal(classifyStall(8, { ...quiet, busyMs: 7.5 }), 'own-work');
  assert.equal(classifyStall(8, { ...quiet, busyMs: 7.5, blockedSleeps: 2 }), 'blocked');
  assert.equal(classifyStall(8, { ...quiet, runDelayMs: 7, majorFaults: 1 }), 'page-faults');
  assert.match(describeStall(8, { ...quiet, busyMs: 7.5, blockedSleeps: 2 }), /blocked \(a lock or I\/O\).*2 blocking sleeps/);
  assert.match(describeStall(8, { ...quiet, sentinelBeats: 3 }), /the beat sentinel on another CPU sent 3 statuses meanwhile$/);
});
