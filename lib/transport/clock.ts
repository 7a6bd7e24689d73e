// The transport's clocks and its absolute beat schedule. Liveness runs on CLOCK_MONOTONIC (libuv's
// hrtime reads it on Linux), so wall-clock steps never fake a death; wall time only labels events.
import type { EventTime } from './types';

/** CLOCK_MONOTONIC in ms, with µs resolution (integer µs keep the Number exact for any uptime). */
export function monoNowMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** Both clocks at once, as every transport event carries them. */
export function eventTime(): EventTime {
  return { mono: monoNowMs(), wall: Date.now() };
}

/**
 * The first slot of the schedule t0 + k·period (k ≥ 1) strictly after `now`. Slots missed while the
 * process was stalled are skipped, never sent in a burst, and lateness never accumulates.
 */
export function nextSlot(t0: number, periodMs: number, now: number): number {
  if (!(periodMs > 0)) throw new RangeError(`beat period must be > 0 ms, got ${periodMs}`);
  const k = Math.max(1, Math.floor((now - t0) / periodMs) + 1);
  return t0 + k * periodMs;
}

/** setTimeout's largest delay; beyond it Node fires after 1 ms instead. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Delay to hand setTimeout for an absolute mono deadline: whole ms, never early by rounding.
 * Saturates at MAX_TIMER_DELAY_MS: the timer then fires early and its owner re-arms it.
 */
export function delayUntil(deadline: number, now: number): number {
  const ms = Math.ceil(deadline - now);
  return ms > 0 ? Math.min(ms, MAX_TIMER_DELAY_MS) : 0;
}
