// Idle cost: CPU per node of a two-node cluster doing nothing but beat, hbd (the native engine)
// beside heartbeat 3.0.6 in the same run.
//   For keepalive 10 ms and 2 s: two `hbd start` daemons (HBD_TRANSPORT=native, bcast eth0, no
//   resources) in the netns lab, then the same with --before's tree when given, then two heartbeat
//   3.0.6 (test/lab/heartbeat.ts) with the same ha.cf. Each pair settles until both nodes said
//   "Local status now set to: 'active'" plus 10 s (start-up work, hbd's 5 s start-up deadtime bump
//   and V8's tiering are over by then), then utime+stime of every process of each node's
//   process group (heartbeat forks its media readers and writers) is read from /proc over --seconds,
//   as % of one core.
// sudo node dist/bench/idle/run.js [--seconds S] [--before OTHER_TREE] [--out FILE]
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
const TICKS = 100; // USER_HZ
const SETTLE_MS = 10_000;

interface Options {
  seconds: number;
  before: string | null;
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { seconds: 60, before: null, out: path.join(repoRoot, 'bench', 'results', 'idle.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--seconds' && Number(value) >= 5) o.seconds = Number(value);
    else if (flag === '--before' && value) o.before = path.resolve(value);
    else if (flag === '--out' && value) o.out = path.resolve(value);
    else throw new Error(`bench/idle: bad argument ${flag ?? ''} ${value ?? ''}: expected --seconds S (at least 5), --before DIR, --out FILE`);
  }
  return o;
}

function haCf(lab: Lab, t: Timing): string {
  return [`keepalive ${t.keepalive}`, `deadtime ${t.deadtime}`, `warntime ${t.warntime}`, `initdead ${t.initdead}`, 'udpport 694', 'bcast eth0', 'auto_failback on', 'realtime off', ...lab.nodes.map((n) => `node ${n.name}`), ''].join('\n');
}

/** utime + stime of every live process in process group `pgid`, in ticks. */
function groupTicks(pgid: number): number {
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]); // pgrp, utime, stime
  }
  return ticks;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(procs: readonly LabProcess[], seconds: number): Promise<number[]> {
  await Promise.all(procs.map((p) => p.waitFor(ACTIVE, 60_000)));
  await sleep(SETTLE_MS);
  const before = procs.map((p) => groupTicks(p.pid));
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const elapsed = (Date.now() - t0) / 1000;
  return procs.map((p, k) => Number((((groupTicks(p.pid) - before[k]!) / TICKS / elapsed) * 100).toFixed(3)));
}

async function hbdPair(root: string, t: Timing, seconds: number): Promise<number[]> {
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

async function heartbeatPair(t: Timing, seconds: number): Promise<number[]> {
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
  const rows: { keepalive: string; subject: string; cpuPct: number[] }[] = [];
  for (const t of KEEPALIVES) {
    const subjects: [string, () => Promise<number[]>][] = [
      ['hbd (this tree)', () => hbdPair(repoRoot, t, o.seconds)],
      ...(o.before ? [[`hbd (${o.before})`, () => hbdPair(o.before!, t, o.seconds)] as [string, () => Promise<number[]>]] : []),
      ['heartbeat 3.0.6', () => heartbeatPair(t, o.seconds)],
    ];
    for (const [subject, run] of subjects) {
      const cpuPct = await run();
      rows.push({ keepalive: t.keepalive, subject, cpuPct });
      process.stdout.write(`keepalive ${t.keepalive}: ${subject}: CPU per node ${cpuPct.map((c) => `${c} %`).join(', ')}\n`);
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
