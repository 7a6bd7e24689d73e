// Takeover of a virtual IP after its holder crashes, for every system the report compares, the
// same way for each (netns lab, root needed):
//
//   node dist/bench/vip-takeover/run.js [--quick] [--trials N] [--only NAME] [--out FILE]
//
// Method: METHOD below (it goes into the JSON). Prints a line per system; writes JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { loadNative } from '../../lib/native';
import { monoNowMs } from '../../lib/transport/clock';
import { labSkipReason } from '../../test/lab/env';
import { arps, frames } from '../../test/lab/frames';
import { readCapture } from '../../lib/pcap/reader';
import type { AuthKeys } from '../../lib/wire/types';
import { statusBeats } from '../detection/wire';
import { haLogPath, logOf } from '../../test/lab/ha-log';
import { heartbeatDirs, heartbeatSkipReason, startHeartbeat } from '../../test/lab/heartbeat';
import { type Lab, type LabNode, withLab } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import { ipIn } from '../../test/lab/tools';
import { measureClockOffset, monoToWall } from '../detection/clock';
import { rounded, summarize } from '../detection/stats';
import { keepalivedSkipReason, keepalivedVersion, masterDownMs, startKeepalived, VIP } from '../keepalived/keepalived';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const WAIT_MS = 30_000;
const SECRET = 'vip-takeover-bench';
/** hbd and heartbeat: keepalive and deadtime of the cluster. */
const HB = { keepaliveMs: 100, deadtimeMs: 500 } as const;
const KEEPALIVED_ADVERT_MS = 10;
/** How much later than the kernel's change `ip monitor` may stamp it on a loaded machine. */
const MONITOR_SLACK_MS = 50;

const METHOD = [
  'Each system runs as a two-node cluster in the netns lab holding one VIP (198.18.0.100/24 on eth0) with fail-back off, so the returning node stays standby: hbd (`hbd start` daemons, haresources `n1 IPaddr::198.18.0.100/24/eth0`, the native engine or the TypeScript transport) and heartbeat 3.0.6 (the same haresources, its IPaddr resource agent) at keepalive 100 ms, deadtime 500 ms; keepalived (VRRPv3, unicast peers, nopreempt) at its smallest advert_int, 10 ms. Everything else at each system\'s defaults (hbd and heartbeat realtime on; keepalived without realtime priority).',
  'Each trial waits until exactly one node holds the VIP and the other has heard it (its log says so), 1 s more plus a random phase of one keepalive, then SIGKILLs every process of the holder (a crash), removes the VIP from the dead node (its addresses go with it) and starts it again for the next trial.',
  "present = the VIP's RTM_NEWADDR on the survivor (`ip -ts monitor address` in its namespace, µs wall clock) − the kill (CLOCK_MONOTONIC put on the wall clock, ±1 µs).",
  "wire = the survivor's first gratuitous ARP for the VIP on the switch capture (tcpdump, kernel stamps) − the kill; only ARPs from 50 ms before the address appeared on, since heartbeat's IPaddr leaves send_arp repeating in the background after a takeover (even across a restart of its node).",
  "past deadline = that ARP − the dead node's deadline on the capture: for hbd and heartbeat its last authenticated status + the deadtime that status advertised (dt), as bench/detection reads it; for keepalived its last VRRP advert + RFC 5798's Master_Down_Interval for the backup's priority, 3 × advert + (256 − 100) × advert / 256. How long the system took beyond its own configured limit to detect, take over and announce.",
];

const progress = (line: string): void => void process.stderr.write(line + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Options {
  trials: number;
  only: string | null;
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { trials: 20, only: null, out: path.join(REPO_ROOT, 'bench', 'results', 'vip-takeover.json') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === '--quick') {
      o.trials = 5;
      continue;
    }
    const n = Number(v);
    if (flag === '--trials' && Number.isInteger(n) && n >= 1 && n <= 1000) o.trials = n;
    else if (flag === '--only' && v && SYSTEMS.some((s) => s.name === v)) o.only = v;
    else if (flag === '--out' && v) o.out = path.resolve(v);
    else throw new Error(`usage: vip-takeover [--quick] [--trials N (1-1000)] [--only ${SYSTEMS.map((s) => JSON.stringify(s.name)).join('|')}] [--out FILE] (bad argument ${JSON.stringify(flag)}${v === undefined ? '' : ` ${JSON.stringify(v)}`})`);
    i++;
  }
  return o;
}

/** One system under test, as the trial loop drives it. */
interface VipSystem {
  readonly name: string;
  readonly unavailable: () => string | null;
  readonly version: () => string;
  /** What the dead node was allowed after its last liveness packet, ms, and how that was set. */
  readonly allowedMs: number;
  readonly timing: string;
  /** The wall-clock deadline of node `address` by the last sign of life it put on the wire before `before`. */
  readonly deadline: (pcap: string, address: string, before: number) => number | null;
  /** Starts node i (1 or 2) and resolves once it runs; `first`: the cluster's first start. */
  readonly start: (lab: Lab, i: number) => Promise<Started>;
}

interface Started {
  readonly proc: LabProcess;
  /** Resolves once this node has heard the other one since it started. */
  readonly heardPeer: () => Promise<void>;
}


const peerOf = (lab: Lab, i: number): LabNode => lab.node(3 - i);
/** The log line hbd and heartbeat write once they hear a peer. */
const heard = (peer: string): RegExp => new RegExp(`Status update for node ${peer}: status (up|active)|Link ${peer}:eth0 up`);

function haCf(lab: Lab): string[] {
  return [`keepalive ${HB.keepaliveMs}ms`, `deadtime ${HB.deadtimeMs}ms`, `warntime ${HB.deadtimeMs / 2}ms`, 'initdead 3000ms', 'udpport 694', 'bcast eth0', 'auto_failback off', `node ${lab.node(1).name}`, `node ${lab.node(2).name}`, ''];
}

const haresources = (lab: Lab): string => `${lab.node(1).name} IPaddr::${VIP}/24/eth0\n`;
const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from(SECRET, 'latin1') }] };

/** hbd and heartbeat: the last authenticated status + the deadtime it advertised (dt), as bench/detection reads it. */
function statusDeadline(pcap: string, address: string, before: number): number | null {
  const last = statusBeats(readCapture(fs.readFileSync(pcap)), address, KEYS).beats.filter((b) => b.wallMs < before).at(-1);
  return last ? last.wallMs + last.dtMs : null;
}

function hbd(kind: 'native' | 'ts'): VipSystem {
  return {
    name: kind === 'native' ? 'hbd native' : 'hbd TS',
    unavailable: () => (kind === 'native' && loadNative({ HBD_TRANSPORT: 'native' }).binding === null ? 'the native addon is not built (node native/build.js)' : null),
    version: () => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version as string,
    allowedMs: HB.deadtimeMs,
    timing: `keepalive ${HB.keepaliveMs} ms, deadtime ${HB.deadtimeMs} ms`,
    deadline: statusDeadline,
    async start(lab, i) {
      const node = lab.node(i);
      const logFile = haLogPath(node);
      node.writeConfig({ haCf: [`logfile ${logFile}`, ...haCf(lab)].join('\n'), authkeys: `auth 1\n1 sha1 ${SECRET}\n`, haresources: haresources(lab) });
      const env = kind === 'native' ? { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' } : { HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: '/nonexistent-hbd-addon', HBD_REQUIRE_NATIVE: '0' };
      // The ha-log is appended across restarts: only what this start wrote counts.
      const from = logOf(node).length;
      const proc = await node.spawn([...node.hbdArgv('start'), '--no-stderr'], { env, logFile, name: `hbd-${kind}` });
      return { proc, heardPeer: async () => void (await proc.waitFor((t) => heard(peerOf(lab, i).name).test(t.slice(from)), WAIT_MS)) };
    },
  };
}

const HEARTBEAT: VipSystem = {
  name: 'heartbeat 3.0.6',
  unavailable: heartbeatSkipReason,
  version: () => '3.0.6',
  allowedMs: HB.deadtimeMs,
  timing: `keepalive ${HB.keepaliveMs} ms, deadtime ${HB.deadtimeMs} ms`,
  deadline: statusDeadline,
  async start(lab, i) {
    // The IPaddr agent keeps its state in /run/resource-agents, and the node's /run is its own empty one.
    fs.mkdirSync(path.join(heartbeatDirs(lab.node(i)).run, 'resource-agents'), { recursive: true });
    // Each start writes a log of its own (startHeartbeat).
    const proc = await startHeartbeat(lab.node(i), { haCf: haCf(lab).join('\n'), authkeys: `auth 1\n1 sha1 ${SECRET}\n`, haresources: haresources(lab) });
    return { proc, heardPeer: async () => void (await proc.waitFor(heard(peerOf(lab, i).name), WAIT_MS)) };
  },
};

const KEEPALIVED: VipSystem = {
  name: 'keepalived',
  unavailable: keepalivedSkipReason,
  version: () => {
    // keepalived -v prints its version on stderr.
    const v = spawnSync('keepalived', ['-v'], { encoding: 'utf8', timeout: 5_000 });
    return keepalivedVersion(`${v.stdout}${v.stderr}`);
  },
  allowedMs: masterDownMs(KEEPALIVED_ADVERT_MS, 100),
  timing: `advert_int ${KEEPALIVED_ADVERT_MS} ms, Master_Down_Interval ${masterDownMs(KEEPALIVED_ADVERT_MS, 100).toFixed(2)} ms`,
  deadline: (pcap, address, before) => {
    // VRRP (IP protocol 112) adverts of the dead master; the backup's Master_Down_Interval runs from the last.
    const last = frames(pcap).filter((f) => f.at < before && f.bytes.length >= 34 && f.bytes.readUInt16BE(12) === 0x0800 && f.bytes[23] === 112 && [...f.bytes.subarray(26, 30)].join('.') === address).at(-1);
    return last ? last.at + masterDownMs(KEEPALIVED_ADVERT_MS, 100) : null;
  },
  async start(lab, i) {
    // Equal priorities would fall back to address order; distinct ones with nopreempt keep it plain.
    const proc = await startKeepalived(lab, lab.node(i), { priority: 100, advertMs: KEEPALIVED_ADVERT_MS, nopreempt: true });
    // A node in BACKUP has heard a master (or will take over itself, which the holder check sees).
    return { proc, heardPeer: async () => void (await proc.waitFor(/Entering (BACKUP|MASTER) STATE/, WAIT_MS, { file: proc.stderrPath! })) };
  },
};

export const SYSTEMS: readonly VipSystem[] = [hbd('native'), hbd('ts'), HEARTBEAT, KEEPALIVED];

/** Wall-clock ms of each RTM_NEWADDR of the VIP that `ip -ts monitor address` printed (TZ=UTC). */
export function vipAdds(monitorText: string): number[] {
  const out: number[] = [];
  for (const line of monitorText.split('\n')) {
    const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (?!Deleted)\d+: \S+\s+inet (\S+)\//.exec(line);
    if (m && m[3] === VIP) out.push(Date.parse(`${m[1]}Z`) + Number(m[2]) / 1000);
  }
  return out;
}

async function holdsVip(lab: Lab, i: number): Promise<boolean> {
  const r = await ipIn(lab.node(i).ns, ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${VIP}/24 `);
}

/** The node that alone holds the VIP, polled until there is one (bounded). */
async function soleHolder(lab: Lab, what: string): Promise<number> {
  const end = Date.now() + WAIT_MS;
  while (Date.now() < end) {
    const [a, b] = [await holdsVip(lab, 1), await holdsVip(lab, 2)];
    if (a !== b) return a ? 1 : 2;
    await sleep(20);
  }
  throw new Error(`${what}: no single holder of ${VIP} within ${WAIT_MS} ms`);
}

interface Trial {
  readonly killWall: number;
  readonly dead: number;
}

interface SystemSamples {
  readonly presentAfterKillMs: number | null;
  readonly wireAfterKillMs: number | null;
  readonly wirePastDeadlineMs: number | null;
}

async function measure(sys: VipSystem, trials: number): Promise<SystemSamples[]> {
  return withLab({ nodes: 2 }, async (lab) => {
    const capture = await lab.startCapture(0, { filter: 'arp or ip proto 112 or udp port 694', name: 'vip-takeover' });
    // ip prints its stamps in local time: UTC, so that they parse without guessing.
    const monitors = await Promise.all([1, 2].map((i) => lab.node(i).spawn(['ip', '-ts', 'monitor', 'address'], { name: 'ip-monitor', env: { TZ: 'UTC' } })));
    const procs: (Started | null)[] = [null, await sys.start(lab, 1), await sys.start(lab, 2)];
    await Promise.all([procs[1]!.heardPeer(), procs[2]!.heardPeer()]);
    const done: Trial[] = [];
    for (let t = 0; t < trials; t++) {
      const holder = await soleHolder(lab, `${sys.name} trial ${t + 1}`);
      await sleep(1000 + Math.random() * HB.keepaliveMs);
      const offset = measureClockOffset();
      const killMono = monoNowMs();
      procs[holder]!.proc.signalGroup('SIGKILL');
      done.push({ killWall: monoToWall(killMono, offset), dead: holder });
      const survivor = 3 - holder;
      const end = Date.now() + WAIT_MS;
      while (!(await holdsVip(lab, survivor))) {
        if (Date.now() > end) throw new Error(`${sys.name} trial ${t + 1}: n${survivor} did not take ${VIP} over within ${WAIT_MS} ms`);
        await sleep(10);
      }
      await procs[holder]!.proc.exitWithin(5_000);
      await ipIn(lab.node(holder).ns, ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);
      progress(`  ${sys.name} trial ${t + 1}/${trials}: n${survivor} took over`);
      procs[holder] = await sys.start(lab, holder);
      await procs[holder]!.heardPeer();
    }
    await sleep(200);
    for (const m of monitors) m.kill('SIGTERM');
    await Promise.all(monitors.map((m) => m.exitWithin(2_000)));
    const file = await capture.stop();
    // Read before the lab (and its files) go.
    const adds = monitors.map((m) => vipAdds(fs.readFileSync(m.stdoutPath!, 'utf8')));
    const garps = arps(file).filter((a) => a.spa === VIP);
    return done.map((t, k): SystemSamples => {
      const survivor = 3 - t.dead;
      const next = done[k + 1]?.killWall ?? Infinity;
      const present = adds[survivor - 1]!.find((at) => at >= t.killWall && at < next);
      // Not before the address exists (less the monitor's own lateness): heartbeat's IPaddr leaves
      // send_arp repeating in the background, and one from an earlier takeover is no announcement of this one.
      const from = Math.max(t.killWall, present === undefined ? -Infinity : present - MONITOR_SLACK_MS);
      const garp = garps.find((a) => a.at >= from && a.at < next && a.sha === lab.topology.mac(survivor, 0))?.at;
      const deadline = garp === undefined ? null : sys.deadline(file, lab.node(t.dead).address(0), garp);
      const r = (v: number | undefined) => (v === undefined ? null : Number(v.toFixed(3)));
      return {
        presentAfterKillMs: r(present === undefined ? undefined : present - t.killWall),
        wireAfterKillMs: r(garp === undefined ? undefined : garp - t.killWall),
        wirePastDeadlineMs: r(garp === undefined || deadline === null ? undefined : garp - deadline),
      };
    });
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/vip-takeover needs root: it builds network namespaces. Run it as root.');
  const skip = labSkipReason();
  if (skip) throw new Error(`bench/vip-takeover: ${skip}`);
  const systems = [];
  for (const sys of SYSTEMS.filter((s) => o.only === null || s.name === o.only)) {
    const base = { system: sys.name, timing: sys.timing, allowedMs: Number(sys.allowedMs.toFixed(3)), trials: o.trials };
    const why = sys.unavailable();
    if (why) {
      progress(`${sys.name}: not measured: ${why}`);
      systems.push({ ...base, version: null, notMeasured: why, samples: [] });
      continue;
    }
    progress(`${sys.name}: ${o.trials} trials, ${sys.timing}`);
    try {
      const samples = await measure(sys, o.trials);
      const pick = (k: keyof SystemSamples) => rounded(summarize(samples.flatMap((s) => (s[k] === null ? [] : [s[k]!]))));
      const r = { ...base, version: sys.version(), notMeasured: null, presentAfterKillMs: pick('presentAfterKillMs'), wireAfterKillMs: pick('wireAfterKillMs'), wirePastDeadlineMs: pick('wirePastDeadlineMs'), samples };
      process.stdout.write(`${sys.name.padEnd(18)}present after the kill p50 ${r.presentAfterKillMs.p50} max ${r.presentAfterKillMs.max} ms; ARP past the deadline p50 ${r.wirePastDeadlineMs.p50} max ${r.wirePastDeadlineMs.max} ms\n`);
      systems.push(r);
    } catch (e) {
      const why = `the measurement failed: ${(e as Error).message.split('\n')[0]}`;
      progress(`${sys.name}: ${why}`);
      systems.push({ ...base, version: null, notMeasured: why, samples: [] });
    }
  }
  const result = { benchmark: 'vip-takeover', date: new Date().toISOString(), method: METHOD, systems };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  progress(`wrote ${o.out}`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`bench/vip-takeover: ${e.message}\n`);
    process.exitCode = 1;
  });
}
