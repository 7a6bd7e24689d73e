// The retransmit history (spec §7.6): the encoded bytes of the last 500 sequenced packets we sent,
// so that a retransmission repeats them byte for byte (same seq, ts and signature), as heartbeat's
// msghist + process_rexmit() do.
import type { RetransmitResult } from './types';

/** heartbeat's MAXMSGHIST. */
export const HISTORY_SIZE = 500;

/** heartbeat's default max_rexmit_delay (ms); a slot is re-sent at most once per (delay − 10) ms. */
export const DEFAULT_MAX_REXMIT_DELAY_MS = 250;

export type HistoryLookup = { readonly result: 'sent'; readonly bytes: Buffer } | { readonly result: Exclude<RetransmitResult, 'sent'> };

interface Entry {
  readonly bytes: Buffer;
  lastRexmit: number | null;
}

export class SendHistory {
  private readonly bySeq = new Map<number, Entry>();
  private readonly ring: (number | undefined)[];
  private next = 0;
  /** heartbeat's lowseq: the seq of the last evicted slot; everything at or below is gone. */
  private lowSeq: number;
  /** heartbeat's hiseq: the last seq sent. */
  private highSeq: number;
  private readonly minGapMs: number;

  constructor(firstSeq: number, maxRexmitDelayMs = DEFAULT_MAX_REXMIT_DELAY_MS, size = HISTORY_SIZE) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`history size must be a positive integer, got ${size}`);
    this.ring = new Array<number | undefined>(size);
    this.lowSeq = firstSeq - 1;
    this.highSeq = firstSeq - 1;
    this.minGapMs = maxRexmitDelayMs - 10;
  }

  /** Remembers the bytes sent with `seq`, evicting the oldest when full. */
  add(seq: number, bytes: Buffer): void {
    const old = this.ring[this.next];
    if (old !== undefined) {
      this.bySeq.delete(old);
      this.lowSeq = old;
    }
    this.ring[this.next] = seq;
    this.next = (this.next + 1) % this.ring.length;
    this.bySeq.set(seq, { bytes, lastRexmit: null });
    this.highSeq = seq;
  }

  /** The bytes to re-send for `seq` at mono `now` (and records the re-send), or why not. */
  take(seq: number, now: number): HistoryLookup {
    if (seq <= this.lowSeq) return { result: 'too-low' };
    if (seq > this.highSeq) return { result: 'too-high' };
    const e = this.bySeq.get(seq);
    if (!e) return { result: 'not-found' };
    if (e.lastRexmit !== null && now - e.lastRexmit < this.minGapMs) return { result: 'throttled' };
    e.lastRexmit = now;
    return { result: 'sent', bytes: e.bytes };
  }
}
