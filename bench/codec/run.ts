// Codec benchmark: encode+sign and decode+verify of a realistic status message in hbd's default
// format (netstring+auth), for each auth method and each implementation (the C++ addon through
// lib/wire/native-codec.ts, and lib/wire/codec.ts). It times what a caller sees: the JS call,
// argument conversion and the returned objects included.
//
//   node dist/bench/codec/run.js [--reps N] [--batch-ms MS] [--warmup-ms MS] [--out FILE]
//
// Prints a table and writes JSON (default bench/results/codec.json).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tsCodec from '../../lib/wire/codec';
import { nativeCodec, type Codec } from '../../lib/wire/native-codec';
import { loadNative } from '../../lib/native';
import type { AuthKeys, AuthMethod, Field, Message } from '../../lib/wire/types';

interface Options {
  reps: number;
  batchMs: number;
  warmupMs: number;
  out: string;
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { reps: 11, batchMs: 200, warmupMs: 300, out: path.join(repoRoot, 'bench', 'results', 'codec.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const n = Number(value);
    if (flag === '--out' && value) o.out = path.resolve(value);
    else if (flag === '--reps' && Number.isInteger(n) && n >= 3) o.reps = n;
    else if (flag === '--batch-ms' && Number.isInteger(n) && n >= 10) o.batchMs = n;
    else if (flag === '--warmup-ms' && Number.isInteger(n) && n >= 0) o.warmupMs = n;
    else throw new Error(`bench/codec: bad argument ${flag ?? ''} ${value ?? ''}: expected --reps N (>= 3), --batch-ms MS (>= 10), --warmup-ms MS, --out FILE`);
  }
  return o;
}

const str = (name: string, value: string): Field => ({ name, type: 0, value: Buffer.from(value, 'latin1') });

/** A status heartbeat as heartbeat 3.0 sends it (spec §4, §5.1; Appendix A's fields). */
const STATUS: Message = [
  str('t', 'status'),
  str('st', 'active'),
  str('dt', '2710'),
  str('protocol', '1'),
  str('src', 'node-alpha.example.com'),
  { name: 'srcuuid', type: 1, value: Buffer.from('6a9e2f573f0b4c5e9b3a2d1f0e4c8a71', 'hex') },
  str('seq', '1a2b'),
  str('hg', '5'),
  str('ts', '6740a1b2'),
  str('ld', '0.08 0.03 0.01 1/162 2342'),
  str('ttl', '3'),
];

const METHODS: AuthMethod[] = ['crc', 'md5', 'sha1', 'sha256'];

function keysFor(method: AuthMethod): AuthKeys {
  return { sendIndex: 1, keys: [{ index: 1, method, key: method === 'crc' ? Buffer.alloc(0) : Buffer.from('bench-key-2025') }] };
}

let sink = 0;

/** Runs `op` `n` times and returns messages per second. */
function timeBatch(op: () => number, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += op();
  const ns = Number(process.hrtime.bigint() - t0);
  return (n * 1e9) / ns;
}

/** Warms `op` up for about `ms` and returns the iteration count of a `batchMs` batch. */
function calibrate(op: () => number, ms: number, batchMs: number): number {
  let n = 64;
  let spent = 0;
  let rate = 0;
  const deadline = Math.max(ms, 20);
  while (spent < deadline) {
    rate = timeBatch(op, n);
    spent += (n / rate) * 1000;
    n = Math.min(n * 2, 1 << 22);
  }
  return Math.max(1, Math.round((rate * batchMs) / 1000));
}

/** Linear-interpolated percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  const x = (sorted.length - 1) * p;
  const lo = Math.floor(x);
  const hi = Math.ceil(x);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (x - lo);
}

interface Row {
  method: AuthMethod;
  operation: 'encode+sign' | 'decode+verify';
  implementation: 'native' | 'ts';
  median: number;
  p10: number;
  p90: number;
  samples: number[];
}

function measure(codecs: Record<'native' | 'ts', Codec | null>, o: Options): Row[] {
  const rows: Row[] = [];
  for (const method of METHODS) {
    const keys = keysFor(method);
    const packet = tsCodec.encode(STATUS, 'netstring+auth', keys);
    for (const operation of ['encode+sign', 'decode+verify'] as const) {
      const impls = (['native', 'ts'] as const).filter((k) => codecs[k] !== null);
      const ops = impls.map((impl) => {
        const c = codecs[impl]!;
        // Both implementations must do the real work before they are timed.
        if (!c.encode(STATUS, 'netstring+auth', keys).equals(packet)) throw new Error(`${impl} encode differs from the reference packet (${method})`);
        if (c.decode(packet, keys).auth.verdict !== 'ok') throw new Error(`${impl} decode does not verify the reference packet (${method})`);
        const op = operation === 'encode+sign' ? () => c.encode(STATUS, 'netstring+auth', keys).length : () => c.decode(packet, keys).message.length;
        return { impl, op, n: calibrate(op, o.warmupMs, o.batchMs), samples: [] as number[] };
      });
      // Repetitions alternate between the implementations so that drift hits both alike.
      for (let r = 0; r < o.reps; r++) for (const x of ops) x.samples.push(timeBatch(x.op, x.n));
      for (const x of ops) {
        const sorted = [...x.samples].sort((a, b) => a - b);
        rows.push({ method, operation, implementation: x.impl, median: percentile(sorted, 0.5), p10: percentile(sorted, 0.1), p90: percentile(sorted, 0.9), samples: x.samples.map(Math.round) });
      }
    }
  }
  return rows;
}

function table(rows: readonly Row[]): string {
  const k = (n: number): string => `${(n / 1000).toFixed(1)}k`;
  const lines = [['method', 'operation', 'impl', 'msgs/s median', 'p10', 'p90', 'native/ts'].join('\t')];
  for (const r of rows) {
    const twin = rows.find((x) => x.method === r.method && x.operation === r.operation && x.implementation === 'ts');
    const ratio = r.implementation === 'native' && twin ? `${(r.median / twin.median).toFixed(2)}x` : '';
    lines.push([r.method, r.operation, r.implementation, k(r.median), k(r.p10), k(r.p90), ratio].join('\t'));
  }
  const widths = lines.map((l) => l.split('\t')).reduce((w, cells) => cells.map((c, i) => Math.max(w[i] ?? 0, c.length)), [] as number[]);
  return lines.map((l) => l.split('\t').map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const native = nativeCodec({ ...process.env, HBD_TRANSPORT: 'auto' });
  const nativeReason = native === null ? (loadNative({ ...process.env, HBD_TRANSPORT: 'auto' }).reason ?? 'addon without codec') : null;
  const rows = measure({ native, ts: tsCodec }, o);
  const cpus = os.cpus();
  const result = {
    benchmark: 'hbd wire codec: encode+sign and decode+verify of one status message, netstring+auth',
    date: new Date().toISOString(),
    method: {
      message: `status heartbeat, ${STATUS.length} fields incl. 16-byte srcuuid; ${tsCodec.encode(STATUS, 'netstring+auth', keysFor('sha1')).length} bytes signed with sha1`,
      measured: 'messages per second as a JS caller sees them (call, argument conversion and result objects included), one thread',
      repetitions: o.reps,
      batchMs: o.batchMs,
      warmupMs: o.warmupMs,
      statistics: 'median, p10 and p90 (linear interpolation) over the repetitions; repetitions alternate native/ts',
    },
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      logicalCpus: cpus.length,
      arch: os.arch(),
      os: `${os.type()} ${os.release()}`,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    runtime: { node: process.version, v8: process.versions.v8, openssl: process.versions.openssl },
    native: native === null ? { available: false, reason: nativeReason } : { available: true },
    results: rows,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`${table(rows)}\n\n${result.machine.cpu} (${result.machine.logicalCpus} CPUs), Node ${process.version}, ${o.reps} repetitions of ${o.batchMs} ms after ${o.warmupMs} ms warm-up${native === null ? `; native skipped: ${nativeReason}` : ''}\nwritten to ${path.relative(process.cwd(), o.out) || o.out}\n`);
  if (sink === 0) process.stdout.write('\n');
}

main();
