// The benchmark's outputs: the table on stdout, the targets of the issue judged, and the method
// text that goes with the JSON (and the README).
import type { CellResult } from './cell';
import { BLOCK, timingLabel, FAST, FASTEST, SLOW } from './config';
import type { Options } from './options';
import type { SoakResult } from './soak';
import type { Summary } from './stats';

const f = (v: number | null, digits = 3): string => (v === null ? '-' : v.toFixed(digits));
const triple = (s: Summary, digits = 3): string => `${f(s.p50, digits)}/${f(s.p99, digits)}/${f(s.max, digits)}`;

export function table(cells: readonly (CellResult & { label: string })[]): string {
  const head = ['cell', 'trials', 'overshoot ms min/p50/p99/max', 'JS-delivered p99', 'jitter ms p50/p99/max', 'false deaths s/v', 'stalls'];
  const rows = cells.map((c) => [
    c.label,
    `${c.overshootMs.count}/${c.trialsRun}`,
    `${f(c.overshootMs.min)}/${triple(c.overshootMs)}`,
    f(c.deliveredOvershootMs.p99),
    triple(c.jitterMs),
    `${c.falseDeaths.survivor}/${c.falseDeaths.victim}`,
    String(c.survivorOwnStalls),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function soakLine(r: SoakResult): string {
  return `${r.kind} ${r.timing} for ${r.minutes} min: false deaths ${JSON.stringify(r.falseDeaths)}, own stalls ${r.ownStalls}, stall-stops ${r.stallStops}, late beats ${r.lateBeats}, longest gap ${r.longestGapMs} ms, jitter p50/p99/max ${triple(r.jitterMs)} ms over ${r.beatsOnWire} beats, capture drops ${r.captureDrops ?? '?'}, steal ${r.stealMs ?? '?'} ms`;
}

export interface TargetVerdict {
  readonly target: string;
  /** null when nothing was measured for it. */
  readonly met: boolean | null;
  readonly detail: string[];
}

/** Each false death of a soak with its sender's stalls, and the wake probe's lateness per CPU. */
export function deathAndProbeLines(r: SoakResult): string[] {
  const lines = r.deaths.map((d) => `false death of ${d.of} by ${d.by}: ${d.senderStalls.length ? d.senderStalls.map((s) => `${d.of} stalled ${f(s.lateMs)} ms (${s.kind ?? '?'})`).join('; ') : `no stall of ${d.of}'s engine around it`}`);
  if (r.probe) lines.push(`probe (SCHED_FIFO, every 1 ms, per CPU): wakes ${r.probe.wakes.join('/')}, late > 1 ms ${r.probe.over1ms.join('/')}, > 2 ms ${r.probe.over2ms.join('/')}, > 5 ms ${r.probe.over5ms.join('/')}, worst ${r.probe.maxMs.map((m) => f(m)).join('/')} ms; with > 1 ms on a run queue: ${r.probe.runQueueOver1ms}`);
  return lines;
}

/** The stalls of a soak in one line: counted by cause, how many the probe confirms, beats covered. */
export function stallSummary(r: SoakResult): string {
  const kinds = new Map<string, number>();
  for (const s of r.stalls) kinds.set(s.kind ?? 'no counters', (kinds.get(s.kind ?? 'no counters') ?? 0) + 1);
  const confirmed = r.stalls.filter((s) => Math.max(s.probeSameCpuMs, s.probeOtherCpuMs) >= s.lateMs / 2).length;
  const covered = r.stalls.reduce((a, s) => a + (s.cause?.sentinelBeats ?? 0), 0);
  const byKind = [...kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return `own stalls by cause: ${byKind}; the wake probe was as late at the same moment in ${confirmed} of ${r.stalls.length}; the beat sentinel sent ${covered} statuses during them`;
}

/** The issue's targets, judged on what was measured (realtime on for native, as hbd runs it). */
export function judgeTargets(cells: readonly (CellResult & { label: string })[], soak: SoakResult | null, fastSoak: SoakResult | null = null): TargetVerdict[] {
  const p99Target = (kind: string, limitMs: number): TargetVerdict => {
    const mine = cells.filter((c) => c.survivor === kind && c.victim === kind && (kind !== 'native' || c.realtime) && c.overshootMs.p99 !== null);
    return {
      target: `${kind} p99 overshoot ≤ ${limitMs} ms`,
      met: mine.length === 0 ? null : mine.every((c) => c.overshootMs.p99! <= limitMs),
      detail: mine.map((c) => `${c.label}: p99 ${f(c.overshootMs.p99)} ms ${c.overshootMs.p99! <= limitMs ? 'met' : 'NOT met'}`),
    };
  };
  const soakTarget: TargetVerdict = {
    target: `zero false deaths in 10 minutes at ${timingLabel(FAST)} under load (native)`,
    met: soak === null ? null : soak.minutes >= 10 && Object.values(soak.falseDeaths).every((n) => n === 0),
    detail: soak === null ? ['no soak was run'] : [`${soakLine(soak)}${soak.minutes < 10 ? ' (shorter than the 10 minutes of the target)' : ''}`],
  };
  const fastSoakTarget: TargetVerdict = {
    target: `zero false deaths in 10 minutes at ${timingLabel(FASTEST)} under saturated cores (native)`,
    met: fastSoak === null ? null : fastSoak.minutes >= 10 && Object.values(fastSoak.falseDeaths).every((n) => n === 0),
    detail:
      fastSoak === null
        ? ['no fast soak was run']
        : [`${soakLine(fastSoak)}${fastSoak.minutes < 10 ? ' (shorter than the 10 minutes of the target)' : ''}`, stallSummary(fastSoak), ...deathAndProbeLines(fastSoak)],
  };
  return [p99Target('native', 0.5), p99Target('ts', 5), soakTarget, fastSoakTarget];
}

export function methodText(o: Options, concurrentSlowPairs: number, heartbeat: string | null): string[] {
  return [
    'Lab: network namespaces on this machine; each pair is a survivor (n1) and a victim (n2) on bcast eth0 through a bridge in a switch namespace, both running the same transport in a transport-driver process (test/support/transport-driver.ts), sha1 auth, netstring+auth wire format.',
    `Trial: a fresh victim process (generation one higher each trial) is started; once the survivor has accepted ${'max(3, ceil(100 ms / keepalive))'} of its statuses, the bench waits a uniformly random time (one keepalive; under the block load one block period, ${BLOCK.everyMs} ms, so that deaths also fall due inside blocks) and SIGKILLs the victim. The survivor stays up across trials.`,
    "Overshoot = time of the survivor's peer-dead event − capture time of the victim's last status on the switch (tcpdump on the bridge, nanosecond stamps, decoded and authenticated) − the dt that last status advertised. Transport events carry CLOCK_MONOTONIC (µs); they are put on the capture's CLOCK_REALTIME with an offset measured at a Date.now() millisecond tick bracketed by monotonic reads (±1 µs; it agreed with python3's clock_gettime to 1 µs when checked). The capture stamps come from the kernel as the bridge hands the frame to the packet socket, so tcpdump's own scheduling does not move them. The overshoot includes switch→survivor delivery, the survivor's timer lateness and its judging.",
    "JS-delivered: the same for the moment the verdict reached the survivor's JavaScript (the driver stamps each line it prints); equal to the overshoot for the TS transport, later for the native engine when the event loop is busy.",
    'Jitter: |interval − keepalive| between consecutive statuses of each victim on the wire, from its second active status on (the first is the extra status sent on the change to active); intervals across a missing seq are skipped.',
    "False deaths: peer-dead of a node that was not killed: the survivor declaring the running victim dead (s) and the victim declaring the survivor dead (v).",
    `Loads: idle = nothing on purpose; cpu = one spinning process per core at 100% (normal priority) for the whole cell; block = the survivor's event loop busy-waits ${BLOCK.forMs} ms of every ${BLOCK.everyMs} ms.`,
    `Native engine with realtime on (SCHED_FIFO engine thread, checked in /proc), except the cell marked realtime off; the TS transport with realtime on too, as hbd runs it (its worker thread and the process's autogroup at nice −20: no SCHED_FIFO from JavaScript). hbd_stall_limit as hbd's default, max(4 × deadtime, 2 s).`,
    `Trials: ${o.fastTrials} per ${timingLabel(FAST)} cell (one pair alone), ${o.trials} per ${timingLabel(SLOW)} cell (${concurrentSlowPairs} pairs at once, each in its own lab, so up to ${2 * concurrentSlowPairs} transport processes and ${concurrentSlowPairs} tcpdumps ran concurrently). Percentiles are nearest-rank (with fewer than 100 samples p99 is the maximum). Cells ran one after another; the machine may have carried other work (see uptime before/after and steal).`,
    heartbeat ??
      'Baseline: heartbeat was not available, no baseline was measured.',
    `Soak: two native nodes at ${timingLabel(FAST)} watching each other for --soak-min minutes (${o.soakMin}) under every load at once (all cores spinning and both event loops blocked ${BLOCK.forMs} ms/s); any peer-dead is a false death. Fast soak: the same at ${timingLabel(FASTEST)} for --fast-soak-min minutes (${o.fastSoakMin}), with a control beside it: bench/detection/wake-probe.cc, one SCHED_FIFO thread per CPU at the engines' priority sleeping to 1 ms slots, noting every wake-up over 1 ms late with its run-queue wait, and each CPU's steal ticks every 20 ms; each own-stall of an engine carries its thread's counters since its previous timer wake-up (run-queue wait, preemptions, sleeps, page faults, CPU, the previous wake-up's work: native/thread_stats.h) and is laid beside the probe's lateness at the same moment. Search: the same soak for --search-min minutes (${o.searchMin}) at 1ms/5ms, 2ms/10ms, 3ms/15ms, 5ms/25ms, smallest first, stopping at the first without a false death.`,
  ];
}

export const HEARTBEAT_METHOD =
  "Baseline: Debian's heartbeat 3.0.6 as the survivor (its own defaults otherwise, realtime included), a native hbd victim. heartbeat's log has whole seconds only: a separate log-stamper process (SCHED_FIFO through chrt) watches the log file (inotify, with a 20 ms poll as fallback) and stamps each new line with CLOCK_MONOTONIC as it appears (measured stamping latency ≈ 0.15 ms idle); the verdict is the line 'node n2: is dead'. heartbeat checks for deaths every 250 ms, so 10ms/50ms is measured once, idle.";
