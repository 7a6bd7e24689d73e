// Keeps the daemon's resident memory near its live heap. V8 starts a full collection only when the
// old generation has grown by at least 8 MB past what the last one left (its minimum allocation-limit
// step), and the memory reducer waits for an idle isolate: a daemon with ~8 MB of live objects that
// moves groups every few seconds therefore carried up to 8 MB of garbage, and the soak saw RSS climb
// about 0.3 MB a minute for 35 minutes (bench/results/soak.json). Heap snapshots and forced
// collections showed the live heap nearly flat (compiled code only).
//
// So the daemon checks V8's own counters every `intervalMs` (no allocation, microseconds) and runs
// one full collection when the old generation's used size has grown by `thresholdBytes` since the
// last one. An idle daemon allocates too little to ever reach it, so idle CPU is unchanged; under
// constant failovers it costs one full collection every few minutes, on the JavaScript thread
// only: the packet core beats on its own thread (native) or worker (TS).
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export interface HeapTrimOptions {
  readonly intervalMs: number;
  readonly thresholdBytes: number;
  /** Old-generation bytes in use now (tests pass their own). */
  readonly oldUsed?: () => number;
  /** A full collection (tests pass their own). */
  readonly collect?: () => void;
}

export const HEAP_TRIM_DEFAULTS = { intervalMs: 60_000, thresholdBytes: 2 * 1024 * 1024 } as const;

/** Bytes in use in the old generation: old objects, code and large objects. */
export function oldGenerationUsed(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name !== 'new_space' && s.space_name !== 'new_large_object_space') used += s.space_used_size;
  return used;
}

/**
 * V8's gc(), which node hides unless started with --expose-gc: the flag can be set at run time, and
 * a new context created afterwards gets the function (node's own documentation of
 * v8.setFlagsFromString shows the same for other flags).
 */
function exposedGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export class HeapTrimmer {
  private readonly oldUsed: () => number;
  /** Obtained at the first collection: an idle daemon never pays for the extra V8 context. */
  private collect: (() => void) | undefined;
  private baseline: number;
  private timer: NodeJS.Timeout | null = null;
  /** How many collections it ran (the tests read it). */
  collections = 0;

  constructor(private readonly opts: HeapTrimOptions) {
    this.oldUsed = opts.oldUsed ?? oldGenerationUsed;
    this.collect = opts.collect;
    this.baseline = this.oldUsed();
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.opts.intervalMs);
    this.timer.unref(); // never what keeps the process alive
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check: collects when the old generation grew by the threshold since the last collection. */
  check(): boolean {
    const used = this.oldUsed();
    // V8 collected on its own meanwhile: measure the growth from there.
    if (used < this.baseline) this.baseline = used;
    if (used - this.baseline < this.opts.thresholdBytes) return false;
    this.collect ??= exposedGc();
    this.collect();
    this.collections++;
    this.baseline = this.oldUsed();
    return true;
  }
}
