// What the report is made of: one record per benchmark of the run (ran, failed or not run, and
// its JSON), and the shapes of the parts of each benchmark's JSON the report reads. The JSON comes
// from the runners of this tree, but a runner may fail half-way: every reader tolerates that and
// the report says what is absent.
import type { Summary } from '../detection/stats';

export type BenchStatus = 'ok' | 'failed' | 'not run';

export interface BenchRun {
  /** The bench's name, as in bench/<name>/. */
  readonly name: string;
  /** The command line that ran it (or would have). */
  readonly command: string;
  readonly status: BenchStatus;
  /** Why it did not run, or the end of its stderr when it failed; null when it ran. */
  readonly reason: string | null;
  readonly seconds: number | null;
  /** Load averages (1, 5, 15 min) just before and after it ran. */
  readonly loadBefore: readonly number[] | null;
  readonly loadAfter: readonly number[] | null;
  /** The bench's JSON result, parsed; null when there is none. */
  readonly json: unknown;
  /** Where that JSON is, relative to bench/ (REPORT.md's directory). */
  readonly jsonFile: string | null;
}

export interface ReportInput {
  readonly date: string;
  readonly quick: boolean;
  readonly seconds: number;
  readonly machine: { readonly nproc: number; readonly cpuModel: string; readonly kernel: string; readonly preemption: string | null; readonly node: string; readonly memoryGiB: number };
  readonly uptimeBefore: string;
  readonly uptimeAfter: string;
  readonly stealMs: number | null;
  readonly runs: readonly BenchRun[];
}

// ---- the parts of each bench's JSON the report reads ----

export interface DetectionCell {
  readonly label: string;
  readonly survivor: string;
  /** The killed node's transport: the jitter is its sending. */
  readonly victim: string;
  readonly timing: string;
  readonly load: string;
  readonly realtime: boolean;
  readonly trialsRun: number;
  readonly overshootMs: Summary;
  readonly jitterMs: Summary;
  readonly falseDeaths: { readonly survivor: number; readonly victim: number };
  readonly overshootSamplesMs: readonly number[];
}

export interface DetectionSoak {
  readonly kind: string;
  readonly timing: string;
  readonly minutes: number;
  readonly falseDeaths: Record<string, number>;
  readonly longestGapMs: number;
  readonly beatsOnWire: number;
  readonly jitterMs: Summary;
}

export interface DetectionJson {
  readonly method: readonly string[];
  readonly loads: Record<string, string>;
  readonly notMeasured: Record<string, string | null>;
  readonly cells: readonly DetectionCell[];
  readonly soak: DetectionSoak | null;
  /** The 2ms/10ms soak with the wake probe (absent from runs before it existed). */
  readonly fastSoak?: DetectionSoak | null;
  readonly search: { readonly minutesEach: number; readonly runs: readonly DetectionSoak[]; readonly smallest: string | null } | null;
  /** The targets as the bench judged them (met null: not measured). */
  readonly targets?: readonly { readonly target: string; readonly met: boolean | null; readonly detail: readonly string[] }[];
}

export interface TakeoverJson {
  readonly trials: number;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly method: string;
  readonly results: Record<string, { readonly present: Summary; readonly wire: Summary; readonly wireMissing: number }>;
}

export interface VipTakeoverSystem {
  readonly system: string;
  readonly version: string | null;
  readonly timing: string;
  readonly trials: number;
  readonly notMeasured: string | null;
  readonly presentAfterKillMs?: Summary;
  readonly wireAfterKillMs?: Summary;
  readonly wirePastDeadlineMs?: Summary;
  readonly samples: readonly { readonly presentAfterKillMs: number | null; readonly wireAfterKillMs: number | null; readonly wirePastDeadlineMs: number | null }[];
}

export interface VipTakeoverJson {
  readonly method: readonly string[];
  readonly systems: readonly VipTakeoverSystem[];
}

export interface FootprintNode {
  readonly node: string;
  readonly cpuPct: number;
  readonly rssKiB: number;
  readonly pssKiB: number | null;
  readonly processes: number;
}

export interface FootprintJson {
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly seconds: number;
  readonly method: readonly string[];
  readonly systems: readonly { readonly system: string; readonly nodes: readonly FootprintNode[]; readonly notMeasured: string | null }[];
}

export interface FloodJson {
  readonly runs: readonly {
    readonly label: string;
    readonly cpuAtKeepalive10ms: readonly { readonly node: string; readonly cpuPct: number }[];
    readonly floodSteps: readonly { readonly requestedRate: number | string; readonly sentRate: number; readonly maxGapMs: number; readonly missedBeat: boolean; readonly n1Events: Record<string, number> }[];
    readonly firstMissedBeatAtRate: number | null;
    readonly highestRateWithoutMiss: number;
  }[];
}

export interface CodecJson {
  readonly method: Record<string, unknown>;
  readonly results: readonly { readonly method: string; readonly operation: string; readonly implementation: string; readonly median: number; readonly p10: number; readonly p90: number }[];
}

export interface ResourcesJson {
  readonly rounds: number;
  readonly addMs: Summary;
  readonly announceFirstFrameMs: Summary;
  readonly removeMs: Summary;
}

/** A labelled summary found anywhere in a JSON value (for benches whose shape the report does not know). */
export interface FoundSummary {
  readonly path: string;
  readonly summary: Summary;
}

const isSummary = (v: unknown): v is Summary =>
  typeof v === 'object' && v !== null && ['count', 'p50', 'p99', 'max'].every((k) => k in v) && typeof (v as Summary).count === 'number';

/** Every {count, p50, p99, max} object in `v`, with its path (e.g. "results.idle.present"). */
export function findSummaries(v: unknown, at = ''): FoundSummary[] {
  if (isSummary(v)) return [{ path: at || '(top)', summary: { count: v.count, min: v.min ?? null, p50: v.p50, p99: v.p99, max: v.max } }];
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => findSummaries(x, at ? `${at}.${k}` : k));
}
