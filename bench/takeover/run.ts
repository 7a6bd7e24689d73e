// Takeover fast-path benchmark (native engine, netns lab, root needed):
//
//   node dist/bench/takeover/run.js [--trials N] [--out FILE]
//
// Method: two native engines (test/support/engine-peer.js), n1 holding a takeover plan for n2 (one
// IPv4 address, one announce round). Each trial starts n2, waits until n1 has it up, optionally
// blocks n1's event loop (busy-wait, 3 × deadtime), SIGKILLs n2 and reads n1's plan-executed event:
//   present = addedAtMono − deadAtMono  (the kernel acknowledged RTM_NEWADDR)
//   wire    = first ARP request of the address seen by tcpdump on the switch bridge − deadAtMono;
//             the capture's CLOCK_REALTIME stamp is mapped to CLOCK_MONOTONIC with the wall − mono
//             offset of that plan-executed event (the same kernel clocks, read µs apart).
// Then the address is removed and the plan set again (SIGUSR2) for the next trial. The engines run
// realtime (SCHED_FIFO, locked memory), as hbd does by default. Targets: p99 present ≤ 0.5 ms,
// wire ≤ 1 ms, also with JavaScript blocked. Prints a table; writes JSON with the method.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { labSkipReason } from '../../test/lab/env';
import { arps } from '../../test/lab/frames';
import { type Lab, withLab } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import type { EnginePeerConfig } from '../../test/support/engine-peer';
import type { DriverConfig } from '../../test/support/transport-driver';
import { twoNodeConfig } from '../../test/support/two-node-config';
import type { PlanExecutedEvent, TakeoverPlan } from '../../lib/transport/types';
import type { VipSpec } from '../../lib/resources/address';
import { rounded, summarize, type Summary } from '../detection/stats';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const PEER = path.join(REPO_ROOT, 'dist', 'test', 'support', 'engine-peer.js');
const ACTOR = path.join(REPO_ROOT, 'dist', 'test', 'support', 'address-actor.js');
const KEEPALIVE = 50;
const DEADTIME = 300;
const WAIT = 10_000;
const VIP: VipSpec = { family: 4, iface: 'eth0', address: '198.18.0.100', prefix: 24, broadcast: '198.18.0.255', label: null };
const PLAN: TakeoverPlan = { vips: [VIP], announce: { count: 1, intervalMs: 200 } };
const MODES = ['idle', 'js-blocked'] as const;
type Mode = (typeof MODES)[number];

interface Line {
  readonly type: string;
  readonly mono: number;
  readonly [k: string]: unknown;
}

interface Trial {
  readonly present: number;
  readonly wire: number | null;
}

const progress = (line: string): void => void process.stderr.write(line + '\n');

function parseArgs(argv: readonly string[]): { trials: number; out: string } {
  let trials = 30;
  let out = path.join(REPO_ROOT, 'bench', 'results', 'takeover.json');
  for (let i = 0; i < argv.length; i++) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (flag === '--trials' && v && /^[1-9]\d*$/.test(v) && Number(v) <= 1000) trials = Number(v);
    else if (flag === '--out' && v) out = path.resolve(v);
    else throw new Error(`usage: takeover [--trials N (1-1000)] [--out FILE] (bad argument ${JSON.stringify(flag)}${v === undefined ? '' : ` ${JSON.stringify(v)}`})`);
    i++;
  }
  return { trials, out };
}

function config(i: number, over: Partial<DriverConfig & EnginePeerConfig> = {}): DriverConfig & EnginePeerConfig {
  return { ...twoNodeConfig(i, { keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME, secret: 'takeover-bench' }), stallLimitMs: 20 * DEADTIME, realtime: true, ...over };
}

class Peer {
  private constructor(readonly proc: LabProcess) {}

  static async start(lab: Lab, i: number, cfg: DriverConfig & EnginePeerConfig): Promise<Peer> {
    const node = lab.node(i);
    const file = path.join(node.dirs.config, `engine-peer-${cfg.generation}.json`);
    fs.writeFileSync(file, JSON.stringify(cfg));
    const peer = new Peer(await node.spawn([process.execPath, PEER, file], { name: 'engine-peer' }));
    await peer.waitFor('started', (l) => l.type === 'started', 0);
    return peer;
  }

  lines(): Line[] {
    return fs
      .readFileSync(this.proc.stdoutPath!, 'utf8')
      .split('\n')
      .slice(0, -1)
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Line);
  }

  /** The first line from index `from` on that satisfies pred. */
  async waitFor(what: string, pred: (l: Line) => boolean, from: number): Promise<Line> {
    let hit: Line | undefined;
    await this.proc.waitFor(() => (hit = this.lines().slice(from).find(pred)) !== undefined, WAIT).catch((e: Error) => {
      throw new Error(`${this.proc.name}: no ${what}: ${e.message}`);
    });
    return hit!;
  }
}

async function runMode(mode: Mode, trials: number): Promise<Trial[]> {
  return withLab({ nodes: 2 }, async (lab) => {
    const capture = await lab.startCapture(0, { filter: 'arp', name: `takeover-${mode}` });
    const survivor = await Peer.start(lab, 1, config(1, { plans: [{ node: 'n2', plan: PLAN }], blockMs: 3 * DEADTIME }));
    const events: (PlanExecutedEvent & { mono: number; wall: number })[] = [];
    for (let t = 0; t < trials; t++) {
      let mark = survivor.lines().length;
      const victim = await Peer.start(lab, 2, config(2, { generation: t + 1 }));
      await survivor.waitFor('peer-up n2', (l) => l.type === 'peer-up' && l.node === 'n2', mark);
      mark = survivor.lines().length;
      if (mode === 'js-blocked') {
        survivor.proc.kill('SIGUSR1');
        await survivor.waitFor('block-start', (l) => l.type === 'block-start', mark);
      }
      victim.proc.kill('SIGKILL');
      const executed = (await survivor.waitFor('plan-executed', (l) => l.type === 'plan-executed', mark)) as unknown as PlanExecutedEvent & { mono: number; wall: number };
      if (mode === 'js-blocked') await survivor.waitFor('block-end', (l) => l.type === 'block-end', mark);
      const r = executed.results[0]!;
      if (!r.ok) throw new Error(`trial ${t + 1}: the plan failed: ${r.message}`);
      events.push(executed);
      await victim.proc.exited;
      await lab.node(1).exec([process.execPath, ACTOR, JSON.stringify([{ op: 'remove', vip: VIP }])]);
      mark = survivor.lines().length;
      survivor.proc.kill('SIGUSR2');
      await survivor.waitFor('plans-set', (l) => l.type === 'plans-set', mark);
      progress(`  ${mode} ${t + 1}/${trials}: present ${(r.addedAtMono - executed.deadAtMono).toFixed(3)} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
    await capture.stop();
    const requests = arps(capture.path).filter((f) => f.op === 1 && f.spa === VIP.address && f.sha === lab.topology.mac(1, 0));
    return events.map((e) => {
      const offset = e.wall - e.mono;
      const deadWall = e.deadAtMono + offset;
      const first = requests.find((f) => f.at >= deadWall - 1);
      return { present: e.results[0]!.addedAtMono - e.deadAtMono, wire: first ? first.at - deadWall : null };
    });
  });
}

function row(label: string, s: Summary): string {
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(3)).padStart(8);
  return `${label.padEnd(30)}${String(s.count).padStart(6)}${f(s.min)}${f(s.p50)}${f(s.p99)}${f(s.max)}`;
}

async function main(): Promise<void> {
  const { trials, out } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('bench/takeover needs root: it builds network namespaces. Run it as root.');
  const lab = labSkipReason();
  if (lab) throw new Error(`bench/takeover cannot build its lab: ${lab}`);
  const results: Record<string, { present: Summary; wire: Summary; wireMissing: number }> = {};
  const lines = [`${'ms after the death deadline'.padEnd(30)}${'n'.padStart(6)}${'min'.padStart(8)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}`];
  for (const mode of MODES) {
    progress(`mode ${mode}: ${trials} trials`);
    const ts = await runMode(mode, trials);
    const wires = ts.flatMap((t) => (t.wire === null ? [] : [t.wire]));
    results[mode] = { present: rounded(summarize(ts.map((t) => t.present))), wire: rounded(summarize(wires)), wireMissing: ts.length - wires.length };
    lines.push(row(`${mode}: address present`, results[mode]!.present), row(`${mode}: first ARP on wire`, results[mode]!.wire));
  }
  process.stdout.write(lines.join('\n') + '\n');
  const method = fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), trials, keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME, method, results }, null, 2) + '\n');
  progress(`wrote ${out}`);
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`bench/takeover: ${e.message}\n`);
    process.exitCode = 1;
  });
}
