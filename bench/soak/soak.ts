// The soak: three native-engine hbd nodes in the netns lab with one group (VIP + LSB service),
// auto_failback off. Every `intervalMs` the group is moved: `hbd standby` on the holder or `hbd
// takeover` on the node after it; each such failover is checked — within `failoverBoundMs` exactly one other
// node holds both the VIP and the service, and nobody else holds either. Every `sampleMs` each
// daemon's RSS (VmRSS), anonymous memory, threads and open descriptors are read from /proc, and
// V8's heap spaces from its `hbd status --json`, so that a growing RSS shows where it grows. Used by
// bench/soak/run.ts (20 minutes and more) and test/soak.test.ts (1 minute).
import * as fs from 'node:fs';
import * as os from 'node:os';

import type { StatusReport } from '../../lib/control/types';
import { heldBy, hbdIn, holders, procUsage, soleHolder, startNode, until, type ClusterOptions } from '../../test/lab/ha-cluster';
import { withLab } from '../../test/lab/lab';
import type { LabNode } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';

export interface SoakOptions {
  durationMs: number;
  intervalMs: number;
  sampleMs: number;
  failoverBoundMs: number;
  /** node command-line flags for the daemons (e.g. V8 heap flags). */
  nodeFlags?: string[];
  /** Called after every sample (progress output). */
  onSample?: (s: Sample) => void;
}

export interface NodeSample {
  node: string;
  rssKb: number;
  threads: number;
  fds: number;
  /** Anonymous (private, not file-backed) memory, from /proc/PID/smaps_rollup. */
  anonKb: number;
  /** V8's heap spaces as `hbd status --json` reports them, kB committed and used; absent when it did not answer. */
  heap?: Record<string, { sizeKb: number; usedKb: number }>;
}

export interface Sample {
  atS: number;
  nodes: NodeSample[];
}

export interface Failover {
  from: string;
  to: string | null;
  how: string;
  ms: number;
  ok: boolean;
  problem?: string;
}

export interface NodeTrend {
  node: string;
  /** After warm-up (the first sample at or after a quarter of the run, at least 10 s). */
  warm: { rssKb: number; threads: number; fds: number };
  last: { rssKb: number; threads: number; fds: number };
  maxRssKb: number;
  maxThreads: number;
  maxFds: number;
}

export interface SoakResult {
  durationS: number;
  failovers: number;
  failed: Failover[];
  /** How many failovers ended on each node. */
  holderCounts: Record<string, number>;
  failoverMs: { median: number; p95: number; max: number };
  trends: NodeTrend[];
  samples: Sample[];
  loadavg: number[];
}

const CLUSTER: ClusterOptions = { autoFailback: 'off', keepalive: '100ms', deadtime: '2000ms', warntime: '1000ms', initdead: '4000ms' };

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  return withLab({ nodes: 3 }, async (lab) => {
    const nodes = lab.nodes;
    const procs: LabProcess[] = [];
    for (const n of nodes) procs.push(await startNode(lab, n, 'native', CLUSTER, { nodeFlags: o.nodeFlags ?? [] }));
    await until(lab, 'n1 holds the group', 40_000, () => heldBy(nodes, nodes[0]));
    const started = Date.now();
    const samples: Sample[] = [];
    const failovers: Failover[] = [];
    const sample = async (): Promise<void> => {
      const s: Sample = { atS: Math.round((Date.now() - started) / 1000), nodes: await Promise.all(nodes.map((n, i) => nodeSample(n, procs[i].pid))) };
      samples.push(s);
      o.onSample?.(s);
    };
    await sample();
    let nextSample = Date.now() + o.sampleMs;
    while (Date.now() - started < o.durationMs) {
      const from = (await soleHolder(nodes)) ?? nodes[0];
      const t0 = Date.now();
      // One in three: the holder gives the group away (standby: to the preferred node n1, else
      // the first one up); the others: the node after the holder in n1→n2→n3 takes it
      // (takeover), so that all three hold it in turn.
      const next = nodes[(nodes.indexOf(from) + 1) % nodes.length];
      const [by, how] = failovers.length % 3 === 0 ? [from, 'standby'] : [next, 'takeover'];
      const r = await hbdIn(by, [how]);
      const f: Failover = { from: from.name, to: null, how: `hbd ${how} on ${by.name}`, ms: 0, ok: false };
      if (r.status !== 0) f.problem = `${f.how}: exit ${r.status}: ${r.out.trim()}`;
      else {
        const to = await moved(nodes, from, o.failoverBoundMs);
        f.ms = Date.now() - t0;
        if (to) Object.assign(f, { to: to.name, ok: true });
        else {
          const h = await holders(nodes);
          f.problem = `not exactly one new holder within ${o.failoverBoundMs} ms: VIP on [${h.vip.map((n) => n.name)}], service on [${h.service.map((n) => n.name)}]`;
        }
      }
      failovers.push(f);
      if (!f.ok) await until(lab, 'the cluster settles on one holder after a failed failover', 60_000, async () => (await soleHolder(nodes)) !== null);
      for (const p of procs) if (!p.running) throw new Error(`${p.name} exited during the soak`);
      while (Date.now() < t0 + o.intervalMs) await sleep(100);
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += o.sampleMs;
      }
    }
    await sample();
    return summarise(samples, failovers, started);
  });
}

/** Where a node's memory is: /proc for the kernel's view, the daemon's own status for V8's. */
async function nodeSample(n: LabNode, pid: number): Promise<NodeSample> {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
  const s: NodeSample = { node: n.name, ...procUsage(pid), anonKb: Number(/^Anonymous:\s+(\d+)/m.exec(rollup)?.[1] ?? NaN) };
  const r = await hbdIn(n, ['status', '--json']);
  if (r.status === 0) {
    const report = JSON.parse(r.out) as StatusReport;
    s.heap = Object.fromEntries(report.process.heapSpaces.map((h) => [h.name, { sizeKb: Math.round(h.sizeBytes / 1024), usedKb: Math.round(h.usedBytes / 1024) }]));
  }
  return s;
}

/** The node that alone holds VIP and service, other than `from`, once it does (null after bound). */
async function moved(nodes: readonly LabNode[], from: LabNode, boundMs: number): Promise<LabNode | null> {
  const end = Date.now() + boundMs;
  while (Date.now() < end) {
    const h = await soleHolder(nodes);
    if (h && h !== from) return h;
    await sleep(50);
  }
  return null;
}

function summarise(samples: Sample[], failovers: Failover[], started: number): SoakResult {
  const durationS = (Date.now() - started) / 1000;
  const warmAt = Math.max(10, durationS / 4);
  const warm = samples.find((s) => s.atS >= warmAt) ?? samples[samples.length - 1];
  const last = samples[samples.length - 1];
  const trends = last.nodes.map((n, i) => ({
    node: n.node,
    warm: pick(warm.nodes[i]),
    last: pick(n),
    maxRssKb: Math.max(...samples.map((s) => s.nodes[i].rssKb)),
    maxThreads: Math.max(...samples.map((s) => s.nodes[i].threads)),
    maxFds: Math.max(...samples.map((s) => s.nodes[i].fds)),
  }));
  const ms = failovers.filter((f) => f.ok).map((f) => f.ms).sort((a, b) => a - b);
  const q = (p: number): number => (ms.length ? ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] : NaN);
  return {
    durationS: Math.round(durationS),
    failovers: failovers.length,
    failed: failovers.filter((f) => !f.ok),
    holderCounts: failovers.reduce<Record<string, number>>((c, f) => (f.to ? { ...c, [f.to]: (c[f.to] ?? 0) + 1 } : c), {}),
    failoverMs: { median: q(0.5), p95: q(0.95), max: ms[ms.length - 1] ?? NaN },
    trends,
    samples,
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function pick(n: { rssKb: number; threads: number; fds: number }): { rssKb: number; threads: number; fds: number } {
  return { rssKb: n.rssKb, threads: n.threads, fds: n.fds };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
