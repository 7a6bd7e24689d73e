// The packet flood of test/engine-flood.test.ts and bench/flood: compiles test/support/flood-sender.cc
// (once per source version, into the temp directory) and builds the datagrams an outsider on the
// segment can send: garbage, netstring packets signed with a wrong key or no key, an unknown node's
// and forged names, plus replayed copies of genuine packets of a cluster node (status and message).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { encode } from '../../lib/wire/codec';
import { bin, str } from '../../lib/wire/message';
import type { AuthKeys } from '../../lib/wire/types';
import type { Lab } from '../lab/lab';
import { runSync } from '../lab/tools';

// From dist/test/support/ back to the source file.
const SOURCE = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'flood-sender.cc');

/** The compiled sender, or why there is none (no compiler): a reason to skip. */
export function floodSender(): { path: string } | { skip: string } {
  if (!fs.existsSync(SOURCE)) return { skip: `flood sender source ${SOURCE} missing` };
  const src = fs.readFileSync(SOURCE);
  const bin = path.join(os.tmpdir(), `hbd-flood-sender-${crypto.createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (fs.existsSync(bin)) return { path: bin };
  const errors: string[] = [];
  for (const cxx of [process.env.CXX, 'g++', 'clang++'].filter((c): c is string => !!c)) {
    const r = runSync([cxx, '-O2', '-std=c++17', '-o', `${bin}.tmp`, SOURCE], 60_000);
    if (r.code === 0) {
      fs.renameSync(`${bin}.tmp`, bin);
      return { path: bin };
    }
    errors.push(`${cxx}: ${(r.stderr || `exit ${r.code}`).trim().split('\n')[0]}`);
  }
  return { skip: `cannot compile the flood sender (${errors.join('; ')})` };
}

export interface FloodResult {
  readonly sent: number;
  readonly seconds: number;
  readonly rate: number;
}

/**
 * Floods `to`:port from lab node `from` (bounded: seconds + 10 s) with `processes` senders at once
 * (default 1), each with `sources` source ports and a share of `rate` (0: as fast as possible).
 */
export async function flood(
  lab: Lab,
  sender: string,
  from: number,
  to: string,
  port: number,
  payloads: readonly Buffer[],
  o: { seconds: number; rate?: number; sources?: number; processes?: number },
): Promise<FloodResult> {
  const n = o.processes ?? 1;
  const argv = [sender, to, String(port), String(o.seconds), String((o.rate ?? 0) / n), String(o.sources ?? 4), ...payloads.map((p) => p.toString('hex'))];
  const runs = await Promise.all(Array.from({ length: n }, () => lab.node(from).exec(argv, { timeoutMs: o.seconds * 1000 + 10_000 })));
  const results = runs.map((r) => JSON.parse(r.stdout.trim()) as FloodResult);
  const sent = results.reduce((t, r) => t + r.sent, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  return { sent, seconds, rate: sent / seconds };
}

/** What an outsider sends: bad packets of every kind, and genuine ones of `node` replayed. */
export function floodPayloads(keys: AuthKeys, node: string, generation: number): Buffer[] {
  return [...badPayloads(node), ...replayedPayloads(keys, node, generation)];
}

const control = (src: string, seq: number, generation = 1) => [str('src', src), str('seq', seq.toString(16)), str('hg', generation.toString(16)), str('ts', Math.floor(Date.now() / 1000).toString(16))];

const WRONG: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('not the cluster key') }] };

/** Packets that fail: garbage, unsigned, signed with a wrong key (claiming `node`, an intruder, a forged name). */
export function badPayloads(node: string): Buffer[] {
  const wrong = WRONG;
  return [
    Buffer.from('hello, this is not heartbeat'),
    Buffer.from('###\n9:(0)t=ping,%%%\n'),
    encode([str('t', 'status'), str('st', 'active'), ...control(node, 99)], 'netstring+auth', wrong),
    encode([str('t', 'status'), str('st', 'up'), ...control('intruder', 1)], 'netstring+auth', wrong),
    encode([str('t', 'status'), str('st', 'up'), ...control('n9\nCRIT: forged line', 1)], 'netstring+auth', wrong),
  ];
}

/** Genuine packets of `node` (the cluster's key), to be replayed: a status and a cluster message seen long ago. */
export function replayedPayloads(keys: AuthKeys, node: string, generation: number): Buffer[] {
  return [
    encode([str('t', 'status'), str('st', 'active'), str('dt', '3e8'), ...control(node, 1, generation)], 'netstring+auth', keys),
    encode([str('t', 'hbd-replayed'), ...control(node, 2, generation)], 'netstring+auth', keys),
  ];
}

/** Genuine packets of `node` cut short: without the end of the trailer, half a packet, the magic alone. */
export function truncatedPayloads(keys: AuthKeys, node: string, generation: number): Buffer[] {
  const p = encode([str('t', 'status'), str('st', 'active'), ...control(node, 1_000_000, generation)], 'netstring+auth', keys);
  return [p.subarray(0, p.length - 10), p.subarray(0, p.length >> 1), Buffer.from('###\n')];
}

/**
 * Datagrams near the UDP limit: 65 000 bytes of garbage, a netstring field claiming 999 999 999
 * bytes, a 60 000-byte field signed with a wrong key.
 */
export function oversizedPayloads(node: string): Buffer[] {
  return [
    Buffer.alloc(65_000, 0x41),
    Buffer.concat([Buffer.from('###\n999999999:(0)t='), Buffer.alloc(60_000, 0x61)]),
    encode([str('t', 'status'), str('junk', 'x'.repeat(60_000)), ...control(node, 5)], 'netstring+auth', WRONG),
  ];
}

/** How much the compressed bomb inflates to. */
export const BOMB_INFLATED_BYTES = 60 * 1024 * 1024;

/**
 * heartbeat's compressed message (spec §3.4: `_compressed_payload` and `_compression_algorithm`),
 * signed with the cluster key: 60 MiB of zeros in about 60 KB of zlib. hbd never inflates a payload.
 */
export function compressedBomb(keys: AuthKeys): Buffer {
  const payload = zlib.deflateSync(Buffer.alloc(BOMB_INFLATED_BYTES), { level: 9 });
  return encode([bin('_compressed_payload', payload), str('_compression_algorithm', 'zlib')], 'netstring+auth', keys);
}

/** A process's resident set (bytes) and CPU time utime+stime (s), from /proc. */
export function processUsage(pid: number): { rss: number; cpu: number } {
  const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  // Fields after the command name: utime and stime are the 12th and 13th (man 5 proc), in USER_HZ (100).
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rss, cpu: (Number(f[11]) + Number(f[12])) / 100 };
}

/** Per thread of a process (by TID): CPU time run and time spent runnable waiting for a CPU, s (/proc/PID/task/TID/schedstat). */
export function threadSched(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(tid, { run: run! / 1e9, wait: wait! / 1e9 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * The process's busiest thread between two threadSched() samples (the packet core's worker or the
 * engine thread under a flood): the share of `seconds` it ran, and the share it was runnable but
 * waited for a CPU — a thread starved by the scheduler shows a large wait.
 */
export function busiestThread(before: Map<string, { run: number; wait: number }>, after: Map<string, { run: number; wait: number }>, seconds: number): { runPct: number; waitPct: number } {
  let best = { run: 0, wait: 0 };
  for (const [tid, a] of after) {
    const b = before.get(tid) ?? { run: 0, wait: 0 };
    if (a.run - b.run > best.run) best = { run: a.run - b.run, wait: a.wait - b.wait };
  }
  return { runPct: Number(((best.run / seconds) * 100).toFixed(1)), waitPct: Number(((best.wait / seconds) * 100).toFixed(1)) };
}

/** The kernel's UDP receive-buffer drops in a lab node's namespace (/proc/net/snmp Udp: RcvbufErrors). */
export async function rcvbufErrors(lab: Lab, node: number): Promise<number> {
  const text = (await lab.node(node).exec(['cat', '/proc/net/snmp'])).stdout;
  const [head, values] = text.split('\n').filter((l) => l.startsWith('Udp:'));
  return Number(values!.split(/\s+/)[head!.split(/\s+/).indexOf('RcvbufErrors')]);
}
