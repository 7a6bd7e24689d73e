// Order statistics for the detection benchmark: pure, so the numbers in the report are tested.

export interface Summary {
  readonly count: number;
  /** null when there are no samples. */
  readonly min: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/**
 * Nearest-rank percentile (the smallest sample with at least p% of the samples at or below it) of
 * an ascending array: always a measured value, never an interpolation between two. With fewer than
 * 100 samples p99 is therefore the maximum.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[rank - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError(`summarize: a sample is not a finite number (${values.find((v) => !Number.isFinite(v))})`);
  if (values.length === 0) return { count: 0, min: null, p50: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, min: sorted[0]!, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1]! };
}

/** Rounds every number of a summary to `digits` decimals, for the JSON and the table. */
export function rounded(s: Summary, digits = 3): Summary {
  const r = (v: number | null) => (v === null ? null : Number(v.toFixed(digits)));
  return { count: s.count, min: r(s.min), p50: r(s.p50), p99: r(s.p99), max: r(s.max) };
}
