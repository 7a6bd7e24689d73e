// One time base for the whole measurement: CLOCK_REALTIME in ms. The switch capture stamps packets
// with CLOCK_REALTIME (ns); the transports stamp events with CLOCK_MONOTONIC (µs, the same clock in
// every network namespace). Date.now() is only whole ms, so the offset between the two clocks is
// found at a millisecond boundary of Date.now(), bracketed by monotonic reads a few µs apart.
import { monoNowMs } from '../../lib/transport/clock';

export interface ClockOffset {
  /** CLOCK_REALTIME − CLOCK_MONOTONIC, ms. */
  readonly offsetMs: number;
  /** Half the width of the bracket the boundary was found in, ms. */
  readonly uncertaintyMs: number;
}

/** A read of both clocks: `mono` before and after the Date.now() call that returned `wall`. */
export interface ClockRead {
  readonly before: number;
  readonly wall: number;
  readonly after: number;
}

/**
 * The offset from consecutive reads that straddle a Date.now() tick: the tick (realtime = the new
 * whole ms) happened after the previous read began and before the current one ended. Pure; null
 * when no tick is in the reads.
 */
export function offsetFromReads(reads: readonly ClockRead[]): ClockOffset | null {
  let best: ClockOffset | null = null;
  for (let i = 1; i < reads.length; i++) {
    const prev = reads[i - 1]!;
    const cur = reads[i]!;
    if (cur.wall === prev.wall) continue;
    const lo = prev.before;
    const hi = cur.after;
    // monoNowMs() has µs resolution: no bracket is narrower than that.
    const found = { offsetMs: cur.wall - (lo + hi) / 2, uncertaintyMs: Math.max((hi - lo) / 2, 0.001) };
    if (!best || found.uncertaintyMs < best.uncertaintyMs) best = found;
  }
  return best;
}

/** Measures the offset at `ticks` Date.now() ticks (each costs up to 1 ms of spinning) and keeps the tightest. */
export function measureClockOffset(ticks = 5): ClockOffset {
  const reads: ClockRead[] = [];
  let seen = 0;
  const giveUp = monoNowMs() + 50 * ticks;
  while (seen < ticks) {
    const before = monoNowMs();
    const wall = Date.now();
    const after = monoNowMs();
    if (reads.length > 0 && wall !== reads[reads.length - 1]!.wall) seen++;
    reads.push({ before, wall, after });
    // Keep only the reads around ticks: a spin over 1 ms makes thousands.
    if (reads.length > 2 && reads[reads.length - 2]!.wall === wall && reads[reads.length - 3]!.wall === wall) reads.splice(reads.length - 2, 1);
    if (after > giveUp) throw new Error(`clock offset: saw only ${seen} of ${ticks} Date.now() ticks in ${50 * ticks} ms (is the process starved?)`);
  }
  const r = offsetFromReads(reads);
  if (!r) throw new Error('clock offset: no Date.now() tick among the reads');
  return r;
}

/** Converts a CLOCK_MONOTONIC ms (from a transport event) to CLOCK_REALTIME ms. */
export function monoToWall(mono: number, o: ClockOffset): number {
  return mono + o.offsetMs;
}
