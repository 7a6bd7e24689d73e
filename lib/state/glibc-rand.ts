// glibc's default random()/rand() (the TYPE_3 additive feedback generator seeded by srand()),
// needed only to reproduce heartbeat's `uuidfrom nodename` UUIDs (spec §7.10).
export class GlibcRand {
  private readonly r: number[] = [];
  private i = 0;

  constructor(seed: number) {
    const r = this.r;
    r[0] = (seed >>> 0) === 0 ? 1 : seed | 0;
    for (let k = 1; k < 31; k++) {
      // 16807 * r[k-1] % 2147483647 computed without overflow, as glibc does (Schrage's method).
      const hi = Math.trunc(r[k - 1] / 127773);
      const lo = r[k - 1] % 127773;
      let word = 16807 * lo - 2836 * hi;
      if (word < 0) word += 2147483647;
      r[k] = word;
    }
    for (let k = 31; k < 34; k++) r[k] = r[k - 31];
    this.i = 34;
    for (let k = 0; k < 310; k++) this.step();
  }

  /** The next rand() value, 0 … 2^31−1. */
  next(): number {
    return this.step();
  }

  private step(): number {
    const r = this.r;
    const v = (r[this.i - 31] + r[this.i - 3]) | 0;
    r[this.i] = v;
    this.i++;
    // Keep the window bounded: only the last 34 values are ever read.
    if (this.i > 4096) {
      r.splice(0, this.i - 34);
      this.i = 34;
    }
    return v >>> 1;
  }
}
