// A flapping cable: the switch-side end of node's cable on medium k goes down and up every
// periodMs for durationMs (the node sees its carrier come and go), from a shell loop in the
// switch namespace so that the timing does not depend on this process's event loop.
import { spawn } from 'node:child_process';

import type { Lab } from './lab';
import { tool } from './tools';

export interface FlapOptions {
  /** Down for periodMs, then up for periodMs (10 ms – 10 s). */
  periodMs: number;
  /** How long to flap (≤ 10 min); the cable is left up. */
  durationMs: number;
}

/** Flaps the cable; resolves with the number of down/up cycles once it is up again. */
export function flapLink(lab: Lab, node: number, k: number, o: FlapOptions): Promise<number> {
  if (!(o.periodMs >= 10 && o.periodMs <= 10_000)) throw new RangeError(`flapLink: periodMs must be from 10 to 10000 (got ${o.periodMs})`);
  if (!(o.durationMs > 0 && o.durationMs <= 600_000)) throw new RangeError(`flapLink: durationMs must be from 1 to 600000 (got ${o.durationMs})`);
  const port = lab.topology.port(lab.node(node).index, k);
  const s = (o.periodMs / 1000).toFixed(3);
  // `date +%s%N`: the loop ends on time even when the ip commands are slow on a loaded machine.
  const script = `end=$(( $(date +%s%N) + ${o.durationMs} * 1000000 )); n=0
while [ "$(date +%s%N)" -lt "$end" ]; do ip link set "$0" down; sleep ${s}; ip link set "$0" up; sleep ${s}; n=$((n+1)); done
ip link set "$0" up; echo "$n"`;
  return new Promise((resolve, reject) => {
    const c = spawn(tool('ip'), ['netns', 'exec', lab.switchNs, 'sh', '-c', script, port], { stdio: ['ignore', 'pipe', 'pipe'], timeout: o.durationMs + 30_000 });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`flapLink(${port}): exit ${code}: ${err.trim()}`))));
  });
}
