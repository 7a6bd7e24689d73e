// One cell of the table: a survivor kind × victim kind × timing × load, measured over N trials by
// `pairs` independent pairs (each in its own lab, concurrently), then summarised.
import { Lab } from '../../test/lab/lab';
import { analysePair } from './analyse';
import { BLOCK, timingLabel, type Load } from './config';
import { applyLoad } from './load';
import { stealMs } from './machine';
import { StartGate } from './gate';
import { Pair, type HeartbeatStarter, type PairSpec } from './pair';
import { rounded, summarize, type Summary } from './stats';

export interface CellSpec extends PairSpec {
  readonly load: Load;
  readonly trials: number;
  /** Pairs running trials at the same time, each in its own lab. */
  readonly pairs: number;
}

export interface CellResult {
  readonly survivor: string;
  readonly victim: string;
  readonly timing: string;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly load: Load;
  readonly realtime: boolean;
  readonly pairs: number;
  readonly trialsRun: number;
  readonly overshootMs: Summary;
  /** Overshoot of the verdict's arrival in the survivor's JavaScript (hbd survivors only). */
  readonly deliveredOvershootMs: Summary;
  readonly jitterMs: Summary;
  readonly falseDeaths: { readonly survivor: number; readonly victim: number };
  readonly survivorOwnStalls: number;
  readonly problems: string[];
  readonly captureDrops: number;
  readonly realtimeThreads: { readonly survivor: (number | null)[]; readonly victim: (number | null)[] };
  readonly clockUncertaintyMs: number;
  /** CPU time the hypervisor stole from this machine during the cell, ms. */
  readonly stealMs: number | null;
  readonly seconds: number;
  /** Every overshoot, ms, rounded to µs, in trial order per pair. */
  readonly overshootSamplesMs: number[];
}

/** With concurrent pairs, no victim start-up begins this close before another pair's pending deadline. */
export const START_CLEARANCE_MS = 1000;

/** Consecutive failed trials after which a pair gives up (something is broken, not slow). */
const MAX_FAILED_IN_A_ROW = 3;

export function cellLabel(c: Pick<CellSpec, 'survivor' | 'victim' | 'timing' | 'load' | 'realtime'>): string {
  const who = c.survivor === c.victim ? c.survivor : `${c.survivor}←${c.victim}`;
  const rt = !c.realtime && (c.survivor === 'native' || c.victim === 'native') ? ' (realtime off)' : '';
  return `${who}${rt} ${timingLabel(c.timing)} ${c.load}`;
}

export async function runCell(spec: CellSpec, startHeartbeat: HeartbeatStarter | null, progress: (line: string) => void): Promise<CellResult> {
  const started = Date.now();
  const stealBefore = stealMs();
  const created = await Promise.allSettled(Array.from({ length: spec.pairs }, () => Lab.create({ nodes: 2 })));
  const labs = created.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = created.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const gate = spec.pairs > 1 ? new StartGate(START_CLEARANCE_MS) : null;
    const pairs = await Promise.all(labs.map((lab) => Pair.open(lab, spec, startHeartbeat, gate)));
    const load = await applyLoad(spec.load, pairs.map((p) => p.survivor));
    let taken = 0;
    const errors: string[] = [];
    try {
      await Promise.all(
        pairs.map(async (pair, k) => {
          let generation = 1;
          let failedInARow = 0;
          while (taken < spec.trials) {
            taken++;
            try {
              const t = await pair.trial(generation++, Math.random() * killSpreadMs(spec));
              failedInARow = 0;
              if (t.problem) progress(`  pair ${k + 1} generation ${t.generation}: ${t.problem}`);
            } catch (e) {
              errors.push(`pair ${k + 1} generation ${generation - 1}: ${(e as Error).message.split('\n')[0]}`);
              progress(`  ${errors.at(-1)}`);
              if (++failedInARow >= MAX_FAILED_IN_A_ROW) throw new Error(`${cellLabel(spec)}: pair ${k + 1} failed ${MAX_FAILED_IN_A_ROW} trials in a row:\n${errors.slice(-MAX_FAILED_IN_A_ROW).join('\n')}`);
            }
          }
        }),
      );
    } finally {
      await load.stop();
    }
    const data = await Promise.all(pairs.map((p) => p.finish()));
    const analyses = data.map((d) => analysePair(d, spec.timing.keepaliveMs));
    const measures = analyses.flatMap((a) => a.measures);
    const delivered = measures.flatMap((m) => (m.deliveredOvershootMs === null ? [] : [m.deliveredOvershootMs]));
    return {
      survivor: spec.survivor,
      victim: spec.victim,
      timing: timingLabel(spec.timing),
      keepaliveMs: spec.timing.keepaliveMs,
      deadtimeMs: spec.timing.deadtimeMs,
      load: spec.load,
      realtime: spec.realtime,
      pairs: spec.pairs,
      trialsRun: data.reduce((a, d) => a + d.trials.length, 0),
      overshootMs: rounded(summarize(measures.map((m) => m.overshootMs))),
      deliveredOvershootMs: rounded(summarize(delivered)),
      jitterMs: rounded(summarize(analyses.flatMap((a) => a.jitterMs))),
      falseDeaths: { survivor: sum(analyses.map((a) => a.survivorFalseDeaths)), victim: sum(analyses.map((a) => a.victimFalseDeaths)) },
      survivorOwnStalls: sum(analyses.map((a) => a.survivorStalls)),
      problems: [...errors, ...analyses.flatMap((a, k) => a.problems.map((p) => `pair ${k + 1} ${p}`))],
      captureDrops: sum(data.map((d) => d.captureDrops ?? 0)),
      realtimeThreads: { survivor: data.map((d) => d.realtimeThreads.survivor), victim: data.map((d) => d.realtimeThreads.victim) },
      clockUncertaintyMs: Number(Math.max(...data.flatMap((d) => d.offsets.map((o) => o.uncertaintyMs))).toFixed(4)),
      stealMs: stealBefore === null ? null : (stealMs() ?? stealBefore) - stealBefore,
      seconds: Math.round((Date.now() - started) / 1000),
      overshootSamplesMs: measures.map((m) => Number(m.overshootMs.toFixed(3))),
    };
  } finally {
    await Promise.all(labs.map((lab) => lab.teardown().catch((e: Error) => progress(`  lab teardown: ${e.message}`))));
  }
}

/**
 * The kill comes a random time after the survivor reported the victim steady: uniform over one beat,
 * so the kill falls anywhere in the victim's beat cycle. Under 'block' the survivor reports only
 * between blocks, so the spread is the block period: otherwise every kill would follow a block's end
 * and no death would ever fall due inside one.
 */
export function killSpreadMs(spec: Pick<CellSpec, 'timing' | 'load'>): number {
  return Math.max(spec.timing.keepaliveMs, spec.load === 'block' ? BLOCK.everyMs : 0);
}

const sum = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0);
