// Runs bench/detection/wake-probe.cc beside a soak and lays its late wake-ups next to the engines'
// own stalls: the evidence for whose fault a false death was (see the .cc file).
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { StallCause } from '../../lib/transport/types';
import { classifyStall, type StallKind } from '../../lib/transport/stall-cause';

export interface ProbeLate {
  readonly cpu: number;
  /** CLOCK_MONOTONIC at the late wake, ms (the engines' event clock). */
  readonly mono: number;
  readonly lateMs: number;
  readonly runDelayMs: number;
}

export interface ProbeSteal {
  readonly mono: number;
  readonly ticks: readonly number[];
}

export interface ProbeRun {
  readonly lates: readonly ProbeLate[];
  readonly steals: readonly ProbeSteal[];
  readonly wakes: readonly number[];
}

const SOURCE = path.join(__dirname, '..', '..', '..', 'bench', 'detection', 'wake-probe.cc');

/** Compiles the probe (g++, as the addon needs anyway) once per machine and source. */
export function buildProbe(): string {
  const source = fs.readFileSync(SOURCE);
  const bin = path.join(os.tmpdir(), `hbd-wake-probe-${fs.statSync(SOURCE).mtimeMs.toFixed(0)}-${source.length}`);
  if (!fs.existsSync(bin)) cp.execFileSync('g++', ['-O2', '-std=gnu++17', '-pthread', SOURCE, '-o', bin], { stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

export interface RunningProbe {
  /** Resolves with the probe's record after its `seconds` ran out. */
  readonly done: Promise<ProbeRun>;
  /** Ends it early (by PID), discarding the record. */
  kill(): void;
}

export function startProbe(seconds: number, thresholdUs: number, rtprio = 1): RunningProbe {
  const child = cp.spawn(buildProbe(), [String(seconds), String(thresholdUs), String(rtprio)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<ProbeRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wake-probe exited with ${String(code)}: ${err.trim()}`));
      resolve(parseProbe(out));
    });
  });
  done.catch(() => undefined);
  return { done, kill: () => child.kill('SIGKILL') };
}

export function parseProbe(text: string): ProbeRun {
  const lates: ProbeLate[] = [];
  const steals: ProbeSteal[] = [];
  let wakes: number[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const v = JSON.parse(line) as { late?: ProbeLate; steal?: ProbeSteal; wakes?: number[] };
    if (v.late) lates.push(v.late);
    if (v.steal) steals.push(v.steal);
    if (v.wakes) wakes = v.wakes;
  }
  return { lates, steals, wakes };
}

/** One engine's late wake-up, as its own-stall event said it. */
export interface EngineStall {
  readonly node: string;
  readonly mono: number;
  readonly lateMs: number;
  readonly cause?: StallCause;
}

export interface StallEvidence extends EngineStall {
  /** What the engine's own counters point to (lib/transport/stall-cause.ts). */
  readonly kind: StallKind | null;
  /** The probe's lateness on the engine's CPU, overlapping the engine's stall; 0 when on time. */
  readonly probeSameCpuMs: number;
  /** The same on the other CPUs (the largest). */
  readonly probeOtherCpuMs: number;
  /** Steal ticks (10 ms each) counted on the engine's CPU across the stall, ±20 ms. */
  readonly stealTicks: number | null;
}

const overlaps = (aEnd: number, aLen: number, bEnd: number, bLen: number): boolean => aEnd - aLen <= bEnd && bEnd - bLen <= aEnd;

/** Lays each engine stall beside the probe's record of the same moment. */
export function correlate(stalls: readonly EngineStall[], probe: ProbeRun): StallEvidence[] {
  return stalls.map((s) => {
    const cpu = s.cause?.cpu ?? -1;
    let same = 0;
    let other = 0;
    for (const l of probe.lates) {
      if (!overlaps(s.mono, s.lateMs, l.mono, l.lateMs)) continue;
      if (l.cpu === cpu) same = Math.max(same, l.lateMs);
      else other = Math.max(other, l.lateMs);
    }
    return { ...s, kind: s.cause ? classifyStall(s.lateMs, s.cause) : null, probeSameCpuMs: same, probeOtherCpuMs: other, stealTicks: stealAcross(probe.steals, cpu, s.mono - s.lateMs - 20, s.mono + 20) };
  });
}

function stealAcross(steals: readonly ProbeSteal[], cpu: number, from: number, to: number): number | null {
  if (cpu < 0) return null;
  let before: ProbeSteal | undefined;
  for (let i = steals.length - 1; i >= 0 && !before; i--) if (steals[i]!.mono <= from) before = steals[i];
  const after = steals.find((s) => s.mono >= to);
  if (!before || !after) return null;
  return (after.ticks[cpu] ?? 0) - (before.ticks[cpu] ?? 0);
}

/** How late the probe's threads were: counts over 1, 2 and 5 ms, and the worst, per CPU. */
export function probeSummary(probe: ProbeRun): { wakes: readonly number[]; over1ms: number[]; over2ms: number[]; over5ms: number[]; maxMs: number[]; runQueueOver1ms: number } {
  const per = (f: (l: ProbeLate) => boolean) => probe.wakes.map((_, cpu) => probe.lates.filter((l) => l.cpu === cpu && f(l)).length);
  return {
    wakes: probe.wakes,
    over1ms: per((l) => l.lateMs > 1),
    over2ms: per((l) => l.lateMs > 2),
    over5ms: per((l) => l.lateMs > 5),
    maxMs: probe.wakes.map((_, cpu) => Math.max(0, ...probe.lates.filter((l) => l.cpu === cpu).map((l) => l.lateMs))),
    runQueueOver1ms: probe.lates.filter((l) => l.runDelayMs > 1).length,
  };
}
