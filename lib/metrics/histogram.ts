// A Prometheus histogram: cumulative bucket counts, sum and count, observed in seconds.

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  /** @param bounds upper bounds in seconds, ascending; +Inf is implied. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.sum += seconds;
    this.count++;
    const i = this.bounds.findIndex((b) => seconds <= b);
    if (i >= 0) this.counts[i]++;
  }

  /** Cumulative counts per bound (Prometheus `le`), then the total for `+Inf`. */
  snapshot(): { buckets: Array<{ le: number; count: number }>; sum: number; count: number } {
    let running = 0;
    const buckets = this.bounds.map((le, i) => ({ le, count: (running += this.counts[i]) }));
    return { buckets, sum: this.sum, count: this.count };
  }
}
