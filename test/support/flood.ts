// The packet flood of test/engine-flood.test.ts and bench/flood: compiles test/support/flood-sender.cc
// (once per source version, into the temp directory) and builds the datagrams an outsider on the
// segment can send: garbage, netstring packets signed with a wrong key or no key, an unknown node's
// and forged names, plus replayed copies of genuine packets of a cluster node (status and message).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { encode } from '../../lib/wire/codec';
import { str } from '../../lib/wire/message';
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

/** Packets that fail: garbage, unsigned, signed with a wrong key (claiming `node`, an intruder, a forged name). */
export function badPayloads(node: string): Buffer[] {
  const wrong: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('not the cluster key') }] };
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
