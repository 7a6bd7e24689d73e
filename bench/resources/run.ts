// iproute2 address backend latency: what the TypeScript fallback costs per takeover step, in a
// one-node netns lab (root). For N rounds: add a /24 VIP (`ip -j addr show` + `ip addr add`),
// announce it (time from the call to the start of the first arping, i.e. when its first frame is
// about to leave; one round), remove it. Each figure is CLOCK_MONOTONIC around the backend call,
// so process start-up is included — that is the point of the measurement.
//
//   sudo node dist/bench/resources/run.js [--rounds N] [--out FILE]
//
// Prints min/p50/p99/max and writes JSON (default bench/results/resources.json).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Iproute2Backend } from '../../lib/resources/address-iproute2';
import { prefixedRunner } from '../../lib/resources/exec';
import { monoNowMs } from '../../lib/transport/clock';
import { labSkipReason } from '../../test/lab/env';
import { withLab } from '../../test/lab/lab';
import { tool } from '../../test/lab/tools';
import { rounded, summarize } from '../detection/stats';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function parseArgs(argv: readonly string[]): { rounds: number; out: string } {
  const o = { rounds: 50, out: path.join(repoRoot, 'bench', 'results', 'resources.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const n = Number(value);
    if (flag === '--rounds' && Number.isInteger(n) && n >= 3 && n <= 10_000) o.rounds = n;
    else if (flag === '--out' && value) o.out = path.resolve(value);
    else throw new Error(`bench/resources: bad argument ${flag ?? ''} ${value ?? ''}: expected --rounds N (3-10000), --out FILE`);
  }
  return o;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const skip = labSkipReason();
  if (skip) throw new Error(`bench/resources: ${skip}`);
  const samples = { addMs: [] as number[], announceFirstFrameMs: [] as number[], removeMs: [] as number[] };
  await withLab({ nodes: 1 }, async (lab) => {
    const node = lab.node(1);
    const backend = new Iproute2Backend({ runner: prefixedRunner([tool('ip'), 'netns', 'exec', node.ns]) });
    const vip = { family: 4 as const, iface: 'eth0', address: '198.18.0.200', prefix: 24, broadcast: '198.18.0.255', label: null };
    for (let i = 0; i < opts.rounds; i++) {
      let t = monoNowMs();
      await backend.add(vip);
      samples.addMs.push(monoNowMs() - t);
      t = monoNowMs();
      const a = await backend.announce(vip, { count: 1, intervalMs: 0 });
      samples.announceFirstFrameMs.push(a.firstAtMono - t);
      t = monoNowMs();
      await backend.remove(vip);
      samples.removeMs.push(monoNowMs() - t);
    }
  });
  const result = {
    bench: 'resources-iproute2',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', load1: os.loadavg()[0], node: process.version },
    rounds: opts.rounds,
    addMs: rounded(summarize(samples.addMs)),
    announceFirstFrameMs: rounded(summarize(samples.announceFirstFrameMs)),
    removeMs: rounded(summarize(samples.removeMs)),
  };
  for (const k of ['addMs', 'announceFirstFrameMs', 'removeMs'] as const) {
    const s = result[k];
    console.log(`${k.padEnd(22)} min ${s.min}  p50 ${s.p50}  p99 ${s.p99}  max ${s.max}  (n=${s.count})`);
  }
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written to ${opts.out}`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
