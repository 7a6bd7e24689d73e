// Keeps concurrent pairs from disturbing each other's measurement: starting a victim (a node
// process: a burst of CPU) is not begun while another pair has a death falling due soon or still
// being waited for. Deaths are what is measured; start-ups are not.
import { monoNowMs } from '../../lib/transport/clock';

/** True when a start-up at `now` would come within `clearanceMs` before one of the pending deadlines (mono ms). */
export function startBlocked(now: number, pending: Iterable<number>, clearanceMs: number): boolean {
  for (const d of pending) if (d < now + clearanceMs) return true;
  return false;
}

const POLL_MS = 10;

export class StartGate {
  private readonly pending = new Map<number, number>();
  private nextId = 0;

  constructor(readonly clearanceMs: number) {}

  /** Waits (bounded) until no pending deadline is within clearanceMs; false if it gave up. */
  async clearToStart(timeoutMs: number): Promise<boolean> {
    const giveUp = monoNowMs() + timeoutMs;
    while (startBlocked(monoNowMs(), this.pending.values(), this.clearanceMs)) {
      if (monoNowMs() >= giveUp) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return true;
  }

  /** Registers a death due at `deadlineMono`; call the returned function once it was declared (or given up on). */
  expect(deadlineMono: number): () => void {
    const id = this.nextId++;
    this.pending.set(id, deadlineMono);
    return () => void this.pending.delete(id);
  }
}
