// Soak: two nodes of one transport watching each other for minutes under every load at once (all
// cores saturated and both event loops blocked 200 ms of every second), counting deaths declared
// of nodes that never stopped. Also the search for the smallest keepalive/deadtime pair that
// survives a shorter soak without one.
import * as fs from 'node:fs';

import { readCapture } from '../../lib/pcap/reader';
import { withLab } from '../../test/lab/lab';
import { Drivers } from '../../test/support/driver-client';
import type { TransportKind } from '../../test/support/transport-driver';
import { driverConfig, KEYS, NODES, timingLabel, type Timing } from './config';
import { startCpuLoad } from './load';
import { stealMs } from './machine';
import { tcpdumpDrops } from './pair';
import { realtimeThreads } from './sched';
import { rounded, summarize, type Summary } from './stats';
import { DriverSurvivor } from './survivor';
import { correlate, probeSummary, startProbe, type EngineStall, type StallEvidence } from './wake-probe';
import { longestGap, sendJitter, statusBeats } from './wire';

export interface SoakResult {
  readonly kind: TransportKind;
  readonly timing: string;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly minutes: number;
  /** peer-dead events, by the node that declared them (nobody was stopped). */
  readonly falseDeaths: Record<string, number>;
  readonly ownStalls: number;
  readonly stallStops: number;
  readonly lateBeats: number;
  readonly linkDeaths: number;
  readonly jitterMs: Summary;
  /** Longest silence between two statuses of one node on the wire, ms. */
  readonly longestGapMs: number;
  readonly beatsOnWire: number;
  readonly captureDrops: number | null;
  readonly realtimeThreads: (number | null)[];
  /** CPU time the hypervisor stole from this machine during the soak, ms. */
  readonly stealMs: number | null;
  /** Each own-stall with the engine's counters and the wake probe's record of the same moment. */
  readonly stalls: StallEvidence[];
  /** Each false death with the stalls of the node declared dead that began before it (reported up to their lateness after). */
  readonly deaths: { by: string; of: string; mono: number; senderStalls: StallEvidence[] }[];
  /** The control: SCHED_FIFO threads at the engine's priority, one per CPU (wake-probe.cc). */
  readonly probe: ReturnType<typeof probeSummary> | null;
}

const WAIT_MS = 30_000;

export async function runSoak(kind: TransportKind, timing: Timing, minutes: number): Promise<SoakResult> {
  return withLab({ nodes: 2 }, async (lab) => {
    const drivers = new Drivers(lab);
    try {
      const capture = await lab.startCapture(0, { name: 'soak' });
      // Statuses are not printed: at 100 a second and more, the lines would only weigh on both sides.
      const hs = await Promise.all(NODES.map((node, i) => drivers.start(i + 1, driverConfig(kind, node, timing, 1, { omitEvents: ['status'], realtime: kind === 'native' }), WAIT_MS)));
      await Promise.all(hs.map((h, i) => h.waitForEvent('peer-up', { node: NODES[1 - i] }, WAIT_MS)));
      const rt = hs.map((h) => realtimeThreads(h.process.pid));
      const from = hs.map((h) => h.lines.length);
      const stealBefore = stealMs();
      // Over 1 ms late: the probe sleeps to 1 ms slots, so this is a missed slot or worse.
      const probe = kind === 'native' ? startProbe(minutes * 60 + 5, 1000) : null;
      const cpu = await startCpuLoad();
      const nodes = hs.map((h) => new DriverSurvivor(kind, h));
      try {
        await Promise.all(nodes.map((n) => n.setBlocking(true)));
        await new Promise((r) => setTimeout(r, minutes * 60_000));
      } finally {
        await Promise.all(nodes.map((n) => n.setBlocking(false).catch(() => undefined)));
        await cpu.stop();
      }
      const probeRun = probe ? await probe.done : null;
      const steal = stealBefore === null ? null : (stealMs() ?? stealBefore) - stealBefore;
      const during = hs.map((h, i) => ({ all: (type: string) => h.lines.slice(from[i]).filter((l) => l.type === type) }));
      const falseDeaths = Object.fromEntries(NODES.map((node, i) => [node, during[i]!.all('peer-dead').length]));
      const tally = (type: string) => during.reduce((a, d) => a + d.all(type).length, 0);
      const engineStalls: EngineStall[] = during.flatMap((d, i) =>
        d.all('own-stall').map((l) => ({ node: NODES[i]!, mono: l.mono as number, lateMs: l.lateMs as number, cause: l.cause as EngineStall['cause'] })),
      );
      const stalls = correlate(engineStalls, probeRun ?? { lates: [], steals: [], wakes: [] });
      const deaths = during.flatMap((d, i) =>
        d.all('peer-dead').map((l) => {
          const mono = l.mono as number;
          const of = l.node as string;
          return { by: NODES[i]!, of, mono, senderStalls: stalls.filter((s) => s.node === of && s.mono - s.lateMs <= mono && s.mono >= mono - 3 * timing.deadtimeMs) };
        }),
      );
      drivers.closeAll();
      const file = await capture.stop();
      const parsed = readCapture(fs.readFileSync(file));
      const perNode = NODES.map((_, i) => statusBeats(parsed, lab.node(i + 1).address(0), KEYS).beats);
      return {
        kind,
        timing: timingLabel(timing),
        keepaliveMs: timing.keepaliveMs,
        deadtimeMs: timing.deadtimeMs,
        minutes,
        falseDeaths,
        ownStalls: tally('own-stall'),
        stallStops: tally('stall-stop'),
        lateBeats: tally('peer-late'),
        linkDeaths: tally('link-dead'),
        jitterMs: rounded(summarize(perNode.flatMap((b) => sendJitter(b, timing.keepaliveMs)))),
        longestGapMs: Number(Math.max(...perNode.map(longestGap)).toFixed(3)),
        beatsOnWire: perNode.reduce((a, b) => a + b.length, 0),
        captureDrops: tcpdumpDrops(capture.process.stderrPath),
        realtimeThreads: rt,
        stealMs: steal,
        stalls,
        deaths,
        probe: probeRun ? probeSummary(probeRun) : null,
      };
    } finally {
      drivers.closeAll();
    }
  });
}

/** Smallest first: the pairs the search tries, deadtime = 5 × keepalive as at 10ms/50ms. */
export const SEARCH_TIMINGS: readonly Timing[] = [1, 2, 3, 5].map((k) => ({ keepaliveMs: k, deadtimeMs: 5 * k }));

export interface SearchResult {
  readonly minutesEach: number;
  readonly runs: SoakResult[];
  /** The first (smallest) timing with no false death, or null when none passed. */
  readonly smallest: string | null;
}

export const soakPassed = (r: SoakResult): boolean => Object.values(r.falseDeaths).every((n) => n === 0);

/** Tries SEARCH_TIMINGS smallest first and stops at the first with no false death. */
export async function searchSmallest(kind: TransportKind, minutesEach: number, progress: (line: string) => void): Promise<SearchResult> {
  const runs: SoakResult[] = [];
  for (const t of SEARCH_TIMINGS) {
    const r = await runSoak(kind, t, minutesEach);
    runs.push(r);
    progress(`  search ${kind} ${r.timing}: false deaths ${JSON.stringify(r.falseDeaths)}, own stalls ${r.ownStalls}, longest gap ${r.longestGapMs} ms`);
    if (soakPassed(r)) return { minutesEach, runs, smallest: r.timing };
  }
  return { minutesEach, runs, smallest: null };
}
