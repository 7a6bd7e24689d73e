// Boundary benchmark (run as root: netns lab). For one hbd tree (default: this one; --root another
// checkout, built, for a before/after comparison) and two native-engine nodes on bcast eth0:
//   1. CPU per node at keepalive 10 ms: utime+stime of each node's process (/proc/PID/stat) over
//      --cpu-seconds, as % of one core; the driver prints no status events (JSON printing is not hbd).
//   2. The flood rate at which a node first misses a beat: keepalive 100 ms; a third namespace floods
//      n1 (unicast, 4 source ports) with bad and replayed packets (test/support/flood.ts) at rising
//      rates for --step-seconds each, then as fast as one and then two senders go; a step "misses a beat" when n2
//      sees a gap over 1.5 × keepalive between n1's statuses, n1 stops beating (stall-stop) or either
//      node declares the other dead. Also recorded: the events n1's JavaScript received per step.
//
//   3. Per step also: n1's CPU (% of one core) during the flood, its busiest thread's run time and
//      run-queue wait (/proc/PID/task/TID/schedstat: a thread that waits for a CPU is starved by the
//      scheduler, not slowed by its own work), the kernel's receive-buffer drops in n1's namespace
//      (/proc/net/snmp RcvbufErrors) as % of what was sent, and the share of the sent packets n1
//      judged (the counts of its auth-fail summaries).
//   --kind ts runs the TypeScript transport instead; it listens on a bcast medium only at the
//   broadcast address, so the flood goes there (--broadcast does the same for the native engine).
//
//   node dist/bench/flood/run.js [--root DIR] [--label NAME] [--kind native|ts] [--broadcast]
//        [--cpu-seconds S] [--step-seconds S] [--out FILE]
//
// Appends its result to the JSON file (default bench/results/flood.json).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNative } from '../../lib/native';
import { labSkipReason } from '../../test/lab/env';
import { type Lab, withLab } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import { busiestThread, flood, floodPayloads, floodSender, processUsage, rcvbufErrors, threadSched } from '../../test/support/flood';
import type { DriverConfig } from '../../test/support/transport-driver';
import type { AuthKeys } from '../../lib/wire/types';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const SECRET = 'bench-flood';
const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from(SECRET) }] };
// Requested packets/s (0: as fast as the senders go); the last with two sender processes.
const RATES = [10_000, 25_000, 50_000, 100_000, 0, -1];
// Event types the drivers do not print where only CPU counts (JSON printing is not hbd's cost).
const QUIET = ['status', 'status-advance'];

interface Options {
  kind: 'native' | 'ts';
  broadcast: boolean;
  root: string;
  label: string;
  cpuSeconds: number;
  stepSeconds: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { kind: 'native', broadcast: false, root: repoRoot, label: 'this tree', cpuSeconds: 10, stepSeconds: 3, out: path.join(repoRoot, 'bench', 'results', 'flood.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const n = Number(value);
    if (flag === '--broadcast') {
      o.broadcast = true;
      i--;
    } else if (flag === '--kind' && (value === 'native' || value === 'ts')) o.kind = value;
    else if (flag === '--root' && value) o.root = path.resolve(value);
    else if (flag === '--label' && value) o.label = value;
    else if (flag === '--out' && value) o.out = path.resolve(value);
    else if (flag === '--cpu-seconds' && n >= 1) o.cpuSeconds = n;
    else if (flag === '--step-seconds' && n >= 1) o.stepSeconds = n;
    else throw new Error(`bench/flood: bad argument ${flag ?? ''} ${value ?? ''}: expected --kind native|ts, --broadcast, --root DIR, --label NAME, --cpu-seconds S, --step-seconds S, --out FILE`);
  }
  return o;
}

interface Line {
  readonly type: string;
  readonly [k: string]: unknown;
}

interface Node {
  readonly proc: LabProcess;
  lines(): Line[];
}

function driverConfig(kind: Options['kind'], i: number, keepaliveMs: number, omit: string[]): Omit<DriverConfig, 'control'> {
  return {
    kind,
    localNode: `n${i}`,
    nodes: ['n1', 'n2'],
    media: [{ kind: 'bcast', iface: 'eth0' }],
    udpPort: 694,
    keepaliveMs,
    deadtimeMs: 1000,
    warntimeMs: 500,
    initdeadMs: 2000,
    stallLimitMs: 4000, // the daemon's default: max(4 × deadtime, 2 s)
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: SECRET }] },
    uuid: `0000000000004000800000000000${i.toString(16).padStart(4, '0')}`,
    generation: 1,
    omitEvents: omit,
  };
}

/** The tree's own transport-driver (its dist/ and build/), printing to a file. */
async function startNode(lab: Lab, root: string, i: number, cfg: Omit<DriverConfig, 'control'>): Promise<Node> {
  const node = lab.node(i);
  const file = path.join(node.dirs.config, `bench-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  const proc = await node.spawn([process.execPath, path.join(root, 'dist', 'test', 'support', 'transport-driver.js'), file], { name: 'driver' });
  const lines = (): Line[] =>
    fs
      .readFileSync(proc.stdoutPath!, 'utf8')
      .split('\n')
      .slice(0, -1)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Line];
        } catch {
          return [];
        }
      });
  return { proc, lines };
}

async function bothUp(nodes: readonly Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.proc.waitFor(() => n.lines().some((l) => l.type === 'peer-up'), 15_000, { file: n.proc.stdoutPath! })));
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measureCpu(o: Options): Promise<{ node: string; cpuPct: number }[]> {
  return withLab({ nodes: 2 }, async (lab) => {
    const nodes = [await startNode(lab, o.root, 1, driverConfig(o.kind, 1, 10, QUIET)), await startNode(lab, o.root, 2, driverConfig(o.kind, 2, 10, QUIET))];
    await bothUp(nodes);
    await sleep(1000);
    const before = nodes.map((n) => processUsage(n.proc.pid).cpu);
    const t0 = Date.now();
    await sleep(o.cpuSeconds * 1000);
    const seconds = (Date.now() - t0) / 1000;
    return nodes.map((n, k) => ({ node: `n${k + 1}`, cpuPct: Number((((processUsage(n.proc.pid).cpu - before[k]!) / seconds) * 100).toFixed(2)) }));
  });
}

interface Step {
  requestedRate: number | string;
  sentRate: number;
  sent: number;
  maxGapMs: number;
  missedBeat: boolean;
  stallStop: boolean;
  peerDead: boolean;
  n1Events: Record<string, number>;
  n1CpuPct: number;
  /** n1's busiest thread (the TS packet core's worker, the native engine thread): % of the step it ran, and % it waited for a CPU. */
  n1Thread: { runPct: number; waitPct: number };
  kernelDropPct: number;
  judgedPct: number;
}

async function floodRamp(o: Options, sender: string): Promise<Step[]> {
  return withLab({ nodes: 3 }, async (lab) => {
    const a = await startNode(lab, o.root, 1, driverConfig(o.kind, 1, 100, QUIET));
    const b = await startNode(lab, o.root, 2, driverConfig(o.kind, 2, 100, []));
    await bothUp([a, b]);
    await sleep(1000);
    const steps: Step[] = [];
    for (const rate of RATES) {
      const fromA = a.lines().length;
      const fromB = b.lines().length;
      const cpu0 = processUsage(a.proc.pid).cpu;
      const sched0 = threadSched(a.proc.pid);
      const drops0 = await rcvbufErrors(lab, 1);
      const target = o.broadcast || o.kind === 'ts' ? lab.node(1).broadcast(0) : lab.node(1).address(0);
      const r = await flood(lab, sender, 3, target, 694, floodPayloads(KEYS, 'n2', 1), { seconds: o.stepSeconds, rate: Math.max(rate, 0), sources: 4, processes: rate < 0 ? 2 : 1 });
      const n1CpuPct = Number((((processUsage(a.proc.pid).cpu - cpu0) / r.seconds) * 100).toFixed(1));
      const n1Thread = busiestThread(sched0, threadSched(a.proc.pid), r.seconds);
      const kernelDropPct = Number((((await rcvbufErrors(lab, 1)) - drops0) / r.sent * 100).toFixed(1));
      await sleep(1500);
      const la = a.lines().slice(fromA);
      const lb = b.lines().slice(fromB);
      // The native engine reports unchanged in-order statuses in runs (status-advance).
      const monos = lb.flatMap((l) => (l.node !== 'n1' ? [] : l.type === 'status' ? [l.mono as number] : l.type === 'status-advance' ? (l.monos as number[]) : []));
      const gaps = monos.slice(1).map((m, k) => m - monos[k]!);
      const n1Events: Record<string, number> = {};
      for (const l of la) n1Events[l.type] = (n1Events[l.type] ?? 0) + 1;
      const stallStop = la.some((l) => l.type === 'stall-stop');
      const peerDead = la.some((l) => l.type === 'peer-dead') || lb.some((l) => l.type === 'peer-dead');
      const maxGapMs = gaps.length ? Math.max(...gaps) : Infinity;
      const judged = la.filter((l) => l.type === 'auth-fail').reduce((n, l) => n + (l.count as number), 0) + (n1Events.message ?? 0);
      const judgedPct = Number(Math.min(100, (judged / r.sent) * 100).toFixed(1));
      const step: Step = { requestedRate: rate > 0 ? rate : rate === 0 ? 'max' : 'max, 2 senders', sentRate: Math.round(r.rate), sent: r.sent, maxGapMs: Number(maxGapMs.toFixed(1)), missedBeat: maxGapMs > 150 || stallStop || peerDead, stallStop, peerDead, n1Events, n1CpuPct, n1Thread, kernelDropPct, judgedPct };
      steps.push(step);
      process.stdout.write(`${o.label}: flood ${step.requestedRate} → ${step.sentRate}/s: max gap ${step.maxGapMs} ms, missed ${step.missedBeat}, n1 CPU ${n1CpuPct} % (busiest thread ran ${n1Thread.runPct} %, waited for a CPU ${n1Thread.waitPct} %), kernel drops ${kernelDropPct} %, judged ${judgedPct} %, n1 events ${JSON.stringify(n1Events)}\n`);
      if (step.missedBeat) break;
    }
    return steps;
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const skip = labSkipReason();
  if (skip) throw new Error(`bench/flood: ${skip}`);
  if (o.kind === 'native' && !loadNative({ HBD_TRANSPORT: 'native' }).binding) throw new Error('bench/flood: the native addon is needed (or --kind ts)');
  const sender = floodSender();
  if ('skip' in sender) throw new Error(`bench/flood: ${sender.skip}`);
  const cpu = await measureCpu(o);
  process.stdout.write(`${o.label}: CPU at keepalive 10 ms: ${JSON.stringify(cpu)}\n`);
  const steps = await floodRamp(o, sender.path);
  const firstMiss = steps.find((s) => s.missedBeat);
  const result = {
    label: o.label,
    kind: o.kind,
    target: o.broadcast || o.kind === 'ts' ? 'broadcast' : 'unicast',
    root: o.root,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version },
    cpuAtKeepalive10ms: cpu,
    floodSteps: steps,
    firstMissedBeatAtRate: firstMiss ? firstMiss.sentRate : null,
    highestRateWithoutMiss: Math.max(0, ...steps.filter((s) => !s.missedBeat).map((s) => s.sentRate)),
  };
  const all: { benchmark: string; runs: unknown[] } = fs.existsSync(o.out)
    ? (JSON.parse(fs.readFileSync(o.out, 'utf8')) as { benchmark: string; runs: unknown[] })
    : { benchmark: 'hbd engine boundary: CPU at keepalive 10 ms, flood rate at the first missed beat', runs: [] };
  all.runs.push(result);
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(all, null, 2) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exitCode = 1;
});
