// Idle cost: CPU per node of a two-node cluster doing nothing but beat, hbd (the native engine)
// beside heartbeat 3.0.6 in the same run.
//   For keepalive 10 ms and 2 s: two `hbd start` daemons (HBD_TRANSPORT=native, bcast eth0, no
//   resources) in the netns lab, then the same with --before's tree when given, then two heartbeat
//   3.0.6 (test/lab/heartbeat.ts) with the same ha.cf. Each pair settles until both nodes said
//   "Local status now set to: 'active'" plus 10 s (start-up work, hbd's 5 s start-up deadtime bump
//   and V8's tiering are over by then), then the run time of every thread of every process of
//   each node's process group (heartbeat forks its media readers and writers) is read from
//   /proc/…/schedstat (ns) over --seconds, as % of one core, in total and by thread name.
// sudo node dist/bench/idle/run.js [--seconds S] [--before OTHER_TREE] [--keepalive 10ms|2000ms] [--out FILE]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { labSkipReason } from '../../test/lab/env';
import { heartbeatSkipReason, startHeartbeat, stopHeartbeat } from '../../test/lab/heartbeat';
import { type Lab, type LabNode, withLab } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const AUTHKEYS = 'auth 1\n1 sha1 bench-idle-secret\n';
const KEEPALIVES = [
  { keepalive: '10ms', deadtime: '1000ms', warntime: '500ms', initdead: '3000ms' },
  { keepalive: '2000ms', deadtime: '10000ms', warntime: '5000ms', initdead: '20000ms' },
] as const;
type Timing = (typeof KEEPALIVES)[number];
const ACTIVE = /Local status now set to: 'active'/;
const SETTLE_MS = 10_000;

interface Options {
  seconds: number;
  before: string | null;
  /** Only this keepalive's cells (10ms or 2000ms); null for both. */
  keepalive: string | null;
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { seconds: 60, before: null, keepalive: null, out: path.join(repoRoot, 'bench', 'results', 'idle.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--seconds' && Number(value) >= 5) o.seconds = Number(value);
    else if (flag === '--before' && value) o.before = path.resolve(value);
    else if (flag === '--keepalive' && KEEPALIVES.some((k) => k.keepalive === value)) o.keepalive = value!;
    else if (flag === '--out' && value) o.out = path.resolve(value);
    else throw new Error(`bench/idle: bad argument ${flag ?? ''} ${value ?? ''}: expected --seconds S (at least 5), --before DIR, --keepalive ${KEEPALIVES.map((k) => k.keepalive).join('|')}, --out FILE`);
  }
  return o;
}

function haCf(lab: Lab, t: Timing): string {
  return [`keepalive ${t.keepalive}`, `deadtime ${t.deadtime}`, `warntime ${t.warntime}`, `initdead ${t.initdead}`, 'udpport 694', 'bcast eth0', 'auto_failback on', 'realtime off', ...lab.nodes.map((n) => `node ${n.name}`), ''].join('\n');
}

/**
 * CPU time of every thread of every live process in process group `pgid`: tid → [thread name, ns,
 * times it ran (about its wake-ups)].
 * From /proc/PID/task/TID/schedstat, whose first field is the scheduler's exact run time in ns
 * (sched_info); utime+stime come in 10 ms ticks, which over a minute at 2 s keepalive is about
 * the whole quantity measured (0.017 % a tick) and cannot tell which thread spent it.
 */
function groupRuntime(pgid: number): Map<number, [string, number, number]> {
  const threads = new Map<number, [string, number, number]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue; // pgrp
      for (const tid of fs.readdirSync(`/proc/${entry}/task`)) {
        const [ns, , runs] = fs.readFileSync(`/proc/${entry}/task/${tid}/schedstat`, 'latin1').split(' ').map(Number);
        threads.set(Number(tid), [fs.readFileSync(`/proc/${entry}/task/${tid}/comm`, 'latin1').trim(), ns!, runs!]);
      }
    } catch {
      continue; // exited meanwhile
    }
  }
  return threads;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface NodeCpu {
  /** % of one core over the window. */
  cpuPct: number;
  /** The same by thread name (threads of one name summed), largest first. */
  threads: Record<string, number>;
  /** How often each of those ran, per second: its wake-ups. */
  runsPerS: Record<string, number>;
}

async function measure(procs: readonly LabProcess[], seconds: number): Promise<NodeCpu[]> {
  await Promise.all(procs.map((p) => p.waitFor(ACTIVE, 60_000)));
  await sleep(SETTLE_MS);
  const before = procs.map((p) => groupRuntime(p.pid));
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const after = procs.map((p) => groupRuntime(p.pid));
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const pct = (ns: number) => Number(((ns / elapsedNs) * 100).toFixed(4));
  return after.map((threads, k) => {
    const byName = new Map<string, [number, number]>();
    // A thread started during the window counts from zero; one that ended is lost (none do here).
    for (const [tid, [name, ns, runs]] of threads) {
      const [, ns0, runs0] = before[k]!.get(tid) ?? ['', 0, 0];
      const sum = byName.get(name) ?? [0, 0];
      byName.set(name, [sum[0] + ns - ns0, sum[1] + runs - runs0]);
    }
    const sorted = [...byName].sort((a, b) => b[1][0] - a[1][0]);
    return {
      cpuPct: pct(sorted.reduce((a, [, [ns]]) => a + ns, 0)),
      threads: Object.fromEntries(sorted.map(([n, [ns]]) => [n, pct(ns)])),
      runsPerS: Object.fromEntries(sorted.map(([n, [, runs]]) => [n, Number(((runs * 1e9) / elapsedNs).toFixed(2))])),
    };
  });
}

async function hbdPair(root: string, t: Timing, seconds: number): Promise<NodeCpu[]> {
  return withLab({ nodes: 2 }, async (lab) => {
    const start = (node: LabNode) => {
      const logFile = path.join(node.dirs.logs, 'ha-log');
      node.writeConfig({ haCf: `logfile ${logFile}\ndebug 0\n${haCf(lab, t)}`, authkeys: AUTHKEYS });
      const argv = node.hbdArgv('start');
      argv[1] = path.join(root, 'bin', 'hbd');
      return node.spawn([...argv, '--no-stderr'], { env: { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' }, logFile, name: 'hbd' });
    };
    const procs = [await start(lab.node(1)), await start(lab.node(2))];
    try {
      return await measure(procs, seconds);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
    }
  });
}

async function heartbeatPair(t: Timing, seconds: number): Promise<NodeCpu[]> {
  return withLab({ nodes: 2 }, async (lab) => {
    const procs: LabProcess[] = [];
    try {
      for (const node of lab.nodes) procs.push(await startHeartbeat(node, { haCf: haCf(lab, t), authkeys: AUTHKEYS }));
      return await measure(procs, seconds);
    } finally {
      for (const p of procs) await stopHeartbeat(p).catch(() => undefined);
    }
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const skip = labSkipReason() ?? heartbeatSkipReason();
  if (skip) throw new Error(`bench/idle needs the netns lab and heartbeat 3.0.6: ${skip}`);
  const loadBefore = os.loadavg();
  const rows: { keepalive: string; subject: string; cpuPct: number[]; threads: Record<string, number>[]; runsPerS: Record<string, number>[] }[] = [];
  for (const t of KEEPALIVES.filter((k) => o.keepalive === null || k.keepalive === o.keepalive)) {
    const subjects: [string, () => Promise<NodeCpu[]>][] = [
      ['hbd (this tree)', () => hbdPair(repoRoot, t, o.seconds)],
      ...(o.before ? [[`hbd (${o.before})`, () => hbdPair(o.before!, t, o.seconds)] as [string, () => Promise<NodeCpu[]>]] : []),
      ['heartbeat 3.0.6', () => heartbeatPair(t, o.seconds)],
    ];
    for (const [subject, run] of subjects) {
      const nodes = await run();
      rows.push({ keepalive: t.keepalive, subject, cpuPct: nodes.map((n) => n.cpuPct), threads: nodes.map((n) => n.threads), runsPerS: nodes.map((n) => n.runsPerS) });
      const top = (n: NodeCpu) => Object.entries(n.threads).slice(0, 3).map(([name, p]) => `${name} ${p} %, ${n.runsPerS[name]} runs/s`).join('; ');
      process.stdout.write(`keepalive ${t.keepalive}: ${subject}: CPU per node ${nodes.map((n) => `${n.cpuPct} % (${top(n)})`).join(' | ')}\n`);
    }
  }
  const record = { date: new Date().toISOString(), seconds: o.seconds, settleSeconds: SETTLE_MS / 1000, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavgBefore: loadBefore, loadavgAfter: os.loadavg(), node: process.version, shared: 'other helpers ran lab tests meanwhile' }, rows };
  const prior = fs.existsSync(o.out) ? (JSON.parse(fs.readFileSync(o.out, 'utf8')) as { runs: unknown[] }) : { benchmark: 'idle CPU per node, hbd native vs heartbeat 3.0.6', runs: [] as unknown[] };
  prior.runs.push(record);
  fs.writeFileSync(o.out, `${JSON.stringify(prior, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
