// CPU and memory per node of a two-node cluster at rest, for each system the report compares
// (netns lab, root needed):
//
//   node dist/bench/footprint/run.js [--quick] [--seconds S] [--keepalive-ms MS] [--out FILE]
//
// hbd with the native engine, hbd with the TypeScript transport (`hbd start` daemons), heartbeat
// 3.0.6 and keepalived (VRRP, advert = keepalive) when installed. Method: METHOD below.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../../lib/native';
import { labSkipReason } from '../../test/lab/env';
import { haLogPath } from '../../test/lab/ha-log';
import { heartbeatSkipReason, startHeartbeat } from '../../test/lab/heartbeat';
import { type Lab, withLab } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import { keepalivedSkipReason, startKeepalived } from '../keepalived/keepalived';
import { sampleGroup, USER_HZ } from './proc';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const UP_MS = 30_000;
const SETTLE_MS = 2_000;
const SECRET = 'footprint-bench';

const METHOD = [
  'Each system runs as a two-node cluster (n1, n2) in the netns lab on bcast eth0 (unicast VRRP for keepalived), sha1 auth, no resources; hbd and heartbeat at their defaults otherwise (realtime on), keepalived at its defaults (advert_int = keepalive).',
  `Once both nodes see each other (their logs say so; keepalived: 3 s after start) and ${SETTLE_MS / 1000} s more, the bench reads utime+stime of every live process of each node's process group (the node and what it forked) from /proc/PID/stat, waits --seconds, reads again: CPU % of one core = Δticks / ${USER_HZ} / seconds × 100 (ticks are 10 ms: over 10 s that is ±0.1 %; a process that exits in between is not counted).`,
  'Memory at the end: RSS = the sum of VmRSS over the node\'s processes (shared pages counted once per process: heartbeat\'s forked children share most of theirs), PSS = the sum of Pss from /proc/PID/smaps_rollup (shared pages split between the processes that map them, so it also falls when other processes on the machine map the same files: every Node.js process shares node\'s own pages).',
  'hbd: `hbd start` daemons (HBD_TRANSPORT=native, or the TypeScript transport with the addon hidden); heartbeat: Debian\'s 3.0.6 (test/lab/heartbeat.ts); keepalived: Debian\'s, VRRP only (bench/keepalived).',
  'Systems are measured one after another, each in a fresh lab; the machine may have carried other work.',
];

interface Options {
  seconds: number;
  keepaliveMs: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { seconds: 20, keepaliveMs: 100, out: path.join(REPO_ROOT, 'bench', 'results', 'footprint.json') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === '--quick') {
      o.seconds = 10;
      continue;
    }
    const n = Number(v);
    if (flag === '--seconds' && Number.isFinite(n) && n >= 1 && n <= 3600) o.seconds = n;
    else if (flag === '--keepalive-ms' && Number.isInteger(n / 10) && n >= 10 && n <= 10_000) o.keepaliveMs = n;
    else if (flag === '--out' && v) o.out = path.resolve(v);
    else throw new Error(`usage: footprint [--quick] [--seconds S (1-3600)] [--keepalive-ms MS (a multiple of 10)] [--out FILE] (bad argument ${JSON.stringify(flag)}${v === undefined ? '' : ` ${JSON.stringify(v)}`})`);
    i++;
  }
  return o;
}

interface System {
  readonly name: string;
  /** Why it cannot run here, or null. */
  readonly unavailable: () => string | null;
  /** Starts both nodes and resolves once they see each other. */
  readonly start: (lab: Lab, o: Options) => Promise<LabProcess[]>;
}

function haCf(lab: Lab, o: Options): string[] {
  return [`keepalive ${o.keepaliveMs}ms`, `deadtime ${10 * o.keepaliveMs}ms`, `warntime ${5 * o.keepaliveMs}ms`, 'initdead 3000ms', 'udpport 694', 'bcast eth0', 'auto_failback off', `node ${lab.node(1).name}`, `node ${lab.node(2).name}`, ''];
}

/** The log line a node writes once it hears its peer (hbd and heartbeat alike). */
const peerUp = (peer: string): RegExp => new RegExp(`Status update for node ${peer}: status (up|active)|Link ${peer}:eth0 up`);

function hbd(kind: 'native' | 'ts'): System {
  return {
    name: kind === 'native' ? 'hbd native' : 'hbd TS',
    unavailable: () => (kind === 'native' && loadNative({ HBD_TRANSPORT: 'native' }).binding === null ? 'the native addon is not built (node native/build.js)' : null),
    async start(lab, o) {
      const env = kind === 'native' ? { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' } : { HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: '/nonexistent-hbd-addon', HBD_REQUIRE_NATIVE: '0' };
      const procs: LabProcess[] = [];
      for (const node of [lab.node(1), lab.node(2)]) {
        const logFile = haLogPath(node);
        node.writeConfig({ haCf: [`logfile ${logFile}`, ...haCf(lab, o)].join('\n'), authkeys: `auth 1\n1 sha1 ${SECRET}\n` });
        procs.push(await node.spawn([...node.hbdArgv('start'), '--no-stderr'], { env, logFile, name: `hbd-${kind}` }));
      }
      await Promise.all(procs.map((p, i) => p.waitFor(peerUp(lab.node(2 - i).name), UP_MS)));
      return procs;
    },
  };
}

const HEARTBEAT: System = {
  name: 'heartbeat 3.0.6',
  unavailable: heartbeatSkipReason,
  async start(lab, o) {
    const procs = [];
    for (const node of [lab.node(1), lab.node(2)]) procs.push(await startHeartbeat(node, { haCf: haCf(lab, o).join('\n'), authkeys: `auth 1\n1 sha1 ${SECRET}\n` }));
    await Promise.all(procs.map((p, i) => p.waitFor(peerUp(lab.node(2 - i).name), UP_MS)));
    return procs;
  },
};

const KEEPALIVED: System = {
  name: 'keepalived',
  unavailable: keepalivedSkipReason,
  async start(lab, o) {
    const procs = [await startKeepalived(lab, lab.node(1), { priority: 150, advertMs: o.keepaliveMs }), await startKeepalived(lab, lab.node(2), { priority: 100, advertMs: o.keepaliveMs })];
    await new Promise((r) => setTimeout(r, 3_000));
    return procs;
  },
};

export const SYSTEMS: readonly System[] = [hbd('native'), hbd('ts'), HEARTBEAT, KEEPALIVED];

async function measure(system: System, o: Options) {
  return withLab({ nodes: 2 }, async (lab) => {
    const procs = await system.start(lab, o);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const before = procs.map((p) => sampleGroup(p.pid));
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const after = procs.map((p) => sampleGroup(p.pid));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const p of procs) if (!p.running) throw new Error(`${system.name}: ${p.name} exited during the measurement`);
    return after.map((a, i) => ({
      node: `n${i + 1}`,
      cpuPct: Number((((a.ticks - before[i]!.ticks) / USER_HZ / seconds) * 100).toFixed(2)),
      rssKiB: a.rssKiB,
      pssKiB: a.pssKiB,
      processes: a.processes,
    }));
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/footprint needs root: it builds network namespaces. Run it as root.');
  const lab = labSkipReason();
  if (lab) throw new Error(`bench/footprint cannot build its lab: ${lab}`);
  const systems = [];
  for (const s of SYSTEMS) {
    const why = s.unavailable();
    if (why) {
      process.stderr.write(`${s.name}: not measured: ${why}\n`);
      systems.push({ system: s.name, notMeasured: why, nodes: [] });
      continue;
    }
    process.stderr.write(`${s.name}: ${o.seconds} s at keepalive ${o.keepaliveMs} ms\n`);
    try {
      const nodes = await measure(s, o);
      systems.push({ system: s.name, notMeasured: null, nodes });
      process.stdout.write(`${s.name.padEnd(18)}${nodes.map((n) => `${n.node}: CPU ${n.cpuPct} %, RSS ${(n.rssKiB / 1024).toFixed(1)} MiB, PSS ${n.pssKiB === null ? '?' : (n.pssKiB / 1024).toFixed(1)} MiB, ${n.processes} process(es)`).join('; ')}\n`);
    } catch (e) {
      const why = `the measurement failed: ${(e as Error).message.split('\n')[0]}`;
      process.stderr.write(`${s.name}: ${why}\n`);
      systems.push({ system: s.name, notMeasured: why, nodes: [] });
    }
  }
  const result = { benchmark: 'footprint', date: new Date().toISOString(), keepaliveMs: o.keepaliveMs, deadtimeMs: 10 * o.keepaliveMs, seconds: o.seconds, method: METHOD, systems };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  process.stderr.write(`wrote ${o.out}\n`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`bench/footprint: ${e.message}\n`);
    process.exitCode = 1;
  });
}
