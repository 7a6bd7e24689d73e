// From a pair's trials and the victims' beats on the wire to the numbers: pure.
//
// overshoot = the survivor's verdict time − the victim's last status on the wire − the deadtime
// that status advertised (`dt`): 0 would be a verdict exactly at the deadline measured from the
// switch, so it includes the switch→survivor delivery, the survivor's timer lateness and the cost
// of judging. Every time is taken to CLOCK_REALTIME ms (clock.ts).
import { monoToWall, type ClockOffset } from './clock';
import type { PairData } from './pair';
import { sendJitter, type Beat } from './wire';

export interface TrialMeasure {
  readonly generation: number;
  readonly overshootMs: number;
  /** Verdict as it reached the survivor's JavaScript, same reference (null for heartbeat). */
  readonly deliveredOvershootMs: number | null;
  readonly dtMs: number;
}

export interface PairAnalysis {
  readonly measures: TrialMeasure[];
  readonly jitterMs: number[];
  /** Trials without a measurement, and anything inconsistent, one line each. */
  readonly problems: string[];
  readonly survivorFalseDeaths: number;
  readonly victimFalseDeaths: number;
  readonly survivorStalls: number;
}

/** The mean of the offsets measured over the pair's life (they differ by µs at most). */
export function meanOffset(offsets: readonly ClockOffset[]): ClockOffset {
  if (offsets.length === 0) throw new RangeError('no clock offset measured');
  const offsetMs = offsets.reduce((a, o) => a + o.offsetMs, 0) / offsets.length;
  const spread = Math.max(...offsets.map((o) => Math.abs(o.offsetMs - offsetMs) + o.uncertaintyMs));
  return { offsetMs, uncertaintyMs: spread };
}

export function analysePair(data: PairData, keepaliveMs: number): PairAnalysis {
  const offset = meanOffset(data.offsets);
  const byGeneration = new Map<number, Beat[]>();
  for (const b of data.beats) {
    const list = byGeneration.get(b.generation) ?? [];
    list.push(b);
    byGeneration.set(b.generation, list);
  }
  const measures: TrialMeasure[] = [];
  const jitterMs: number[] = [];
  const problems: string[] = [];
  for (const t of data.trials) {
    const beats = byGeneration.get(t.generation) ?? [];
    jitterMs.push(...sendJitter(beats, keepaliveMs));
    if (t.problem !== null || t.death === null) {
      problems.push(`generation ${t.generation}: ${t.problem ?? 'no death'}`);
      continue;
    }
    const last = beats.at(-1);
    if (!last) {
      problems.push(`generation ${t.generation}: no status of the victim in the capture`);
      continue;
    }
    const killWall = monoToWall(t.killMono, offset);
    if (last.wallMs > killWall + 1) problems.push(`generation ${t.generation}: last status on the wire ${(last.wallMs - killWall).toFixed(3)} ms after the kill`);
    if (t.death.timeoutMs !== null && t.death.timeoutMs !== last.dtMs) {
      problems.push(`generation ${t.generation}: the survivor applied ${t.death.timeoutMs} ms, the last status advertised dt ${last.dtMs} ms`);
    }
    const deadline = last.wallMs + last.dtMs;
    measures.push({
      generation: t.generation,
      overshootMs: monoToWall(t.death.detectedMono, offset) - deadline,
      deliveredOvershootMs: t.death.deliveredMono === null ? null : monoToWall(t.death.deliveredMono, offset) - deadline,
      dtMs: last.dtMs,
    });
  }
  return {
    measures,
    jitterMs,
    problems,
    survivorFalseDeaths: data.trials.reduce((a, t) => a + t.survivorFalseDeaths, 0),
    victimFalseDeaths: data.trials.reduce((a, t) => a + t.victimFalseDeaths, 0),
    survivorStalls: data.trials.reduce((a, t) => a + t.survivorStalls, 0),
  };
}
