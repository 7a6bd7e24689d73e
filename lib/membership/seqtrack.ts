// One peer's sequence tracking (spec §7.6): which seqs of its current generation we accepted,
// which are missing, and what a newly arrived seq means. Pure bookkeeping: timers, logs and
// packets are lib/membership/membership.ts's business.
//
// One deliberate difference from heartbeat (spec §13 W4): heartbeat forgets the stream position
// when a peer dies and then accepts any captured packet of that generation once more. Here the
// highest seq ever accepted in a generation (`floor`) survives every reset, so a (generation, seq)
// is accepted at most once for the life of this process.

/** heartbeat's MAXMISSING: the most missing seqs remembered per peer. */
export const MAX_MISSING = 500;
/** heartbeat's FLOWCONTROL_LIMIT: a gap wider than this resets tracking instead of recording it. */
export const MAX_GAP = 250;

export type SeqVerdict =
  /** The next seq (or the first after a reset): accept. */
  | { readonly kind: 'next' }
  /** Newer than expected: accept and wait for `missing` (seqs dropped from a full list: `evicted`). */
  | { readonly kind: 'gap'; readonly last: number; readonly missing: readonly number[]; readonly evicted: readonly number[] }
  /** So far ahead that tracking starts over from here (heartbeat: "lost a lot of packets!"): accept. */
  | { readonly kind: 'lost-a-lot'; readonly last: number; readonly abandoned: readonly number[] }
  /** A missing seq arrived late: accept. */
  | { readonly kind: 'recovered'; readonly removal: Removal }
  /** The last seq again (another medium) or an older one we do not wait for: drop. */
  | { readonly kind: 'duplicate' }
  /** A generation older than the one tracked (the transport normally drops these first): drop. */
  | { readonly kind: 'old-generation' };

/** What taking a seq off the missing list changed (ACKs are re-evaluated from it, §7.7). */
export interface Removal {
  /** The lowest missing seq before the removal. */
  readonly firstBefore: number;
  /** The lowest missing seq after it, null when nothing is missing any more. */
  readonly firstAfter: number | null;
}

export class SeqTrack {
  private gen = -1;
  private last: number | null = null;
  private floor = 0;
  private readonly missingSet = new Set<number>();

  get generation(): number {
    return this.gen;
  }

  /** The last seq accepted in order; null before any, and after a reset until the next one. */
  get lastSeq(): number | null {
    return this.last;
  }

  get missingCount(): number {
    return this.missingSet.size;
  }

  missing(): number[] {
    return [...this.missingSet].sort((a, b) => a - b);
  }

  /**
   * Forgets the stream position and the missing seqs (peer death, heartbeat's reset_seqtrack) but
   * not which seqs were accepted. Returns the seqs no longer waited for.
   */
  reset(): number[] {
    const dropped = this.missing();
    this.missingSet.clear();
    this.last = null;
    return dropped;
  }

  /** A new generation of the peer (it restarted): everything starts over. */
  restart(generation: number): number[] {
    const dropped = this.reset();
    this.gen = generation;
    this.floor = 0;
    return dropped;
  }

  /** Classifies `seq` of `generation` and records it. */
  receive(generation: number, seq: number): SeqVerdict {
    if (generation < this.gen) return { kind: 'old-generation' };
    if (generation > this.gen) this.restart(generation);
    const last = this.last;
    if (last === null) {
      if (seq <= this.floor) return { kind: 'duplicate' };
      return this.advance(seq, { kind: 'next' });
    }
    if (seq === last + 1) return this.advance(seq, { kind: 'next' });
    if (seq > last + 1) {
      const lost = seq - last - 1;
      if (lost > MAX_GAP) {
        const abandoned = this.reset();
        return this.advance(seq, { kind: 'lost-a-lot', last, abandoned });
      }
      const missing: number[] = [];
      const evicted: number[] = [];
      for (let s = last + 1; s < seq; s++) {
        if (this.missingSet.size >= MAX_MISSING) {
          const lowest = Math.min(...this.missingSet);
          this.missingSet.delete(lowest);
          evicted.push(lowest);
        }
        this.missingSet.add(s);
        missing.push(s);
      }
      return this.advance(seq, { kind: 'gap', last, missing, evicted });
    }
    const removal = this.remove(seq);
    return removal ? { kind: 'recovered', removal } : { kind: 'duplicate' };
  }

  /** Stops waiting for `seq` (the sender cannot retransmit it); null when it was not missing. */
  remove(seq: number): Removal | null {
    if (!this.missingSet.has(seq)) return null;
    const firstBefore = Math.min(...this.missingSet);
    this.missingSet.delete(seq);
    return { firstBefore, firstAfter: this.missingSet.size > 0 ? Math.min(...this.missingSet) : null };
  }

  private advance(seq: number, verdict: SeqVerdict): SeqVerdict {
    this.last = seq;
    this.floor = Math.max(this.floor, seq);
    return verdict;
  }
}
