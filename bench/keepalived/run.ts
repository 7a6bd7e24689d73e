// keepalived takeover latency, the VRRP comparison for hbd's takeover (netns lab, root needed):
//
//   node dist/bench/keepalived/run.js [--trials N] [--advert-ms MS] [--out FILE]
//
// Method: METHOD below (it goes into the JSON). Prints a table; writes JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { labSkipReason } from '../../test/lab/env';
import { arps, frames } from '../../test/lab/frames';
import { type Lab, withLab } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import { ipIn } from '../../test/lab/tools';
import { monoNowMs } from '../../lib/transport/clock';
import { measureClockOffset, monoToWall } from '../detection/clock';
import { rounded, summarize } from '../detection/stats';
import { keepalivedSkipReason, keepalivedVersion, masterDownMs, startKeepalived, VIP, type VrrpNode } from './keepalived';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const WAIT_MS = 20_000;
const MASTER_PRIORITY = 150;
const BACKUP_PRIORITY = 100;

const METHOD = [
  'Two keepalived nodes in the netns lab, VRRPv3 over unicast on the lab bridge, one VIP (198.18.0.100/24); n1 (priority 150) is master, n2 (priority 100) backup, advert_int at its smallest (10 ms: VRRPv3 counts centiseconds); keepalived at its defaults otherwise (no realtime priority).',
  "Each trial SIGKILLs n1's keepalived processes (parent and VRRP child: a crash) at a random phase of its advert cycle, at least 500 ms after n1 was seen holding the VIP alone.",
  "present = the VIP's RTM_NEWADDR on n2 (`ip -ts monitor address` in n2's namespace, µs wall clock) − the kill (CLOCK_MONOTONIC, put on the wall clock ±1 µs).",
  "wire = n2's first gratuitous ARP for the VIP on the switch capture (tcpdump, kernel stamps) − the kill.",
  "past deadline = that ARP − (n1's last VRRP advert on the capture + RFC 5798's Master_Down_Interval for n2's priority, 3 × advert + (256 − 100) × advert / 256): the measure comparable with hbd's first ARP on the wire after the death deadline (bench/takeover).",
  "After each trial the VIP is removed from n1 (a crashed machine's addresses go with it) and n1's keepalived started again; it preempts back before the next trial.",
];

const progress = (line: string): void => void process.stderr.write(line + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Options {
  trials: number;
  advertMs: number;
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { trials: 20, advertMs: 10, out: path.join(REPO_ROOT, 'bench', 'results', 'keepalived.json') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === '--quick') {
      o.trials = 5;
      continue;
    }
    const n = Number(v);
    if (flag === '--trials' && Number.isInteger(n) && n >= 1 && n <= 1000) o.trials = n;
    else if (flag === '--advert-ms' && Number.isInteger(n / 10) && n >= 10 && n <= 10_000) o.advertMs = n;
    else if (flag === '--out' && v) o.out = path.resolve(v);
    else throw new Error(`usage: keepalived [--quick] [--trials N (1-1000)] [--advert-ms MS (a multiple of 10)] [--out FILE] (bad argument ${JSON.stringify(flag)}${v === undefined ? '' : ` ${JSON.stringify(v)}`})`);
    i++;
  }
  return o;
}

async function holdsVip(lab: Lab, i: number): Promise<boolean> {
  const r = await ipIn(lab.node(i).ns, ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${VIP}/24 `);
}

async function until(what: string, pred: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(20);
  }
  throw new Error(`bench/keepalived: ${what}: not within ${WAIT_MS} ms`);
}

/** Wall-clock ms of each RTM_NEWADDR of the VIP that `ip -ts monitor address` printed (TZ=UTC). */
export function vipAdds(monitorText: string): number[] {
  const out: number[] = [];
  for (const line of monitorText.split('\n')) {
    const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\] (?!Deleted)\d+: \S+\s+inet (\S+)\//.exec(line);
    if (m && m[3] === VIP) out.push(Date.parse(`${m[1]}Z`) + Number(m[2]) / 1000);
  }
  return out;
}

interface Trial {
  readonly killWall: number;
}

/** The trials and, read before the lab goes, what the capture and the monitor saw (wall-clock ms). */
async function measure(o: Options): Promise<{ trials: Trial[]; vipAddsAt: number[]; adverts: number[]; garps: number[] }> {
  return withLab({ nodes: 2, keepOnFailure: true }, async (lab) => {
    const master: VrrpNode = { priority: MASTER_PRIORITY, advertMs: o.advertMs };
    const backup: VrrpNode = { priority: BACKUP_PRIORITY, advertMs: o.advertMs };
    const capture = await lab.startCapture(0, { filter: 'arp or ip proto 112', name: 'keepalived' });
    // ip prints its stamps in local time: UTC, so that they parse without guessing.
    const monitor = await lab.node(2).spawn(['ip', '-ts', 'monitor', 'address'], { name: 'ip-monitor', env: { TZ: 'UTC' } });
    let n1: LabProcess = await startKeepalived(lab, lab.node(1), master);
    await startKeepalived(lab, lab.node(2), backup);
    const trials: Trial[] = [];
    for (let t = 0; t < o.trials; t++) {
      await until('n1 is master and holds the VIP alone', async () => (await holdsVip(lab, 1)) && !(await holdsVip(lab, 2)));
      // Steady adverts before the kill, then a random phase within one advert interval.
      await sleep(500 + Math.random() * o.advertMs);
      const offset = measureClockOffset();
      const killMono = monoNowMs();
      n1.signalGroup('SIGKILL');
      trials.push({ killWall: monoToWall(killMono, offset) });
      await until('n2 took the VIP over', () => holdsVip(lab, 2));
      await n1.exitWithin(5_000);
      await ipIn(lab.node(1).ns, ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);
      progress(`  trial ${t + 1}/${o.trials}: n2 holds the VIP`);
      n1 = await startKeepalived(lab, lab.node(1), master);
    }
    await until('n1 took the VIP back', async () => (await holdsVip(lab, 1)) && !(await holdsVip(lab, 2)));
    await sleep(200);
    monitor.kill('SIGTERM');
    await monitor.exitWithin(2_000);
    const file = await capture.stop();
    const n1Address = lab.node(1).address(0);
    // VRRP adverts of n1: IPv4 (0x0800), protocol 112, from n1's address.
    const adverts = frames(file).filter((f) => f.bytes.length >= 34 && f.bytes.readUInt16BE(12) === 0x0800 && f.bytes[23] === 112 && [...f.bytes.subarray(26, 30)].join('.') === n1Address);
    const garps = arps(file).filter((a) => a.spa === VIP && a.sha === lab.topology.mac(2, 0));
    return { trials, vipAddsAt: vipAdds(fs.readFileSync(monitor.stdoutPath!, 'utf8')), adverts: adverts.map((f) => f.at), garps: garps.map((a) => a.at) };
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/keepalived needs root: it builds network namespaces. Run it as root.');
  const skip = labSkipReason() ?? keepalivedSkipReason();
  if (skip) throw new Error(`bench/keepalived: ${skip}`);
  // keepalived -v prints its version on stderr.
  const v = spawnSync('keepalived', ['-v'], { encoding: 'utf8', timeout: 5_000 });
  const version = keepalivedVersion(`${v.stdout}${v.stderr}`);
  const downMs = masterDownMs(o.advertMs, BACKUP_PRIORITY);
  progress(`keepalived ${version}: ${o.trials} trials at advert_int ${o.advertMs} ms (Master_Down_Interval ${downMs.toFixed(2)} ms)`);
  const m = await measure(o);
  const { adverts, garps } = m;
  const samples = m.trials.map((t, k) => {
    const next = m.trials[k + 1]?.killWall ?? Infinity;
    const present = m.vipAddsAt.find((at) => at >= t.killWall && at < next) ?? null;
    const garp = garps.find((at) => at >= t.killWall && at < next) ?? null;
    const last = garp === null ? undefined : adverts.filter((at) => at < garp).at(-1);
    const r = (v: number | null) => (v === null ? null : Number(v.toFixed(3)));
    return { presentAfterKillMs: r(present === null ? null : present - t.killWall), wireAfterKillMs: r(garp === null ? null : garp - t.killWall), wirePastDeadlineMs: r(garp === null || last === undefined ? null : garp - (last + downMs)) };
  });
  const pick = (k: keyof (typeof samples)[number]) => rounded(summarize(samples.flatMap((s) => (s[k] === null ? [] : [s[k]!]))));
  const result = {
    benchmark: 'keepalived-takeover',
    date: new Date().toISOString(),
    version,
    advertIntMs: o.advertMs,
    masterDownMs: Number(downMs.toFixed(3)),
    trials: o.trials,
    method: METHOD,
    presentAfterKillMs: pick('presentAfterKillMs'),
    wireAfterKillMs: pick('wireAfterKillMs'),
    wirePastDeadlineMs: pick('wirePastDeadlineMs'),
    samples,
  };
  const f = (s: (typeof result)['wireAfterKillMs']) => `n=${s.count} min ${s.min} p50 ${s.p50} p99 ${s.p99} max ${s.max}`;
  process.stdout.write(`VIP present on n2 after the kill, ms: ${f(result.presentAfterKillMs)}\nfirst ARP on the wire after the kill, ms: ${f(result.wireAfterKillMs)}\nthat ARP past the deadline, ms: ${f(result.wirePastDeadlineMs)}\n`);
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  progress(`wrote ${o.out}`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`bench/keepalived: ${e.message}\n`);
    process.exitCode = 1;
  });
}
