// The link-flap fault for its full minute (test/faults-net.test.ts runs 30 s): two native-engine
// hbd nodes with a VIP + LSB service group, the holder's cable down and up every 100 ms for
// --seconds (default 60). Records the deaths each node declared, its log lines during the flapping
// (heartbeat's per-gap loss reports apart) and who holds the group afterwards; appends the run to
// bench/results/flap.json and exits 1 unless there was no death and exactly one holder after.
//
//   node dist/bench/soak/flap.js [--seconds S] [--period-ms MS] [--out FILE]   (as root)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { labSkipReason } from '../../test/lab/env';
import { flapLink } from '../../test/lab/flap';
import { heldBy, holders, startNode, until, type ClusterOptions } from '../../test/lab/ha-cluster';
import { logOf } from '../../test/lab/ha-log';
import { withLab } from '../../test/lab/lab';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function parseArgs(argv: readonly string[]): { seconds: number; periodMs: number; out: string } {
  const o = { seconds: 60, periodMs: 100, out: path.join(repoRoot, 'bench', 'results', 'flap.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const n = Number(value);
    if (flag === '--seconds' && n >= 1 && n <= 600) o.seconds = n;
    else if (flag === '--period-ms' && n >= 10 && n <= 10_000) o.periodMs = n;
    else if (flag === '--out' && value) o.out = path.resolve(value);
    else throw new Error(`bench/soak/flap: bad argument ${flag ?? ''} ${value ?? ''}: expected --seconds S (1–600), --period-ms MS (10–10000), --out FILE`);
  }
  return o;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const skip = labSkipReason();
  if (skip) throw new Error(`bench/soak/flap: ${skip}`);
  const loadBefore = os.loadavg();
  const cluster: ClusterOptions = { autoFailback: 'off' };
  const run = await withLab({ nodes: 2 }, async (lab) => {
    for (const n of lab.nodes) await startNode(lab, n, 'native', cluster);
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, lab.node(1)));
    const marks = lab.nodes.map((n) => logOf(n).length);
    const flaps = await flapLink(lab, 1, 0, { periodMs: o.periodMs, durationMs: o.seconds * 1000 });
    await new Promise((r) => setTimeout(r, 3000));
    const h = await holders(lab.nodes);
    const nodes = lab.nodes.map((n, i) => {
      const lines = logOf(n).slice(marks[i]).split('\n').filter(Boolean);
      return {
        node: n.name,
        deaths: lines.filter((l) => /is dead/.test(l)).length,
        gapReports: lines.filter((l) => /lost packet\(s\) for|No pkts missing/.test(l)).length,
        otherLines: lines.filter((l) => !/lost packet\(s\) for|No pkts missing/.test(l)).length,
      };
    });
    return { flaps, nodes, vipHolders: h.vip.map((n) => n.name), serviceHolders: h.service.map((n) => n.name) };
  });
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadavgBefore: loadBefore.map((l) => Math.round(l * 100) / 100), loadavgAfter: os.loadavg().map((l) => Math.round(l * 100) / 100), shared: 'the machine was shared with other helpers running lab tests' },
    settings: { seconds: o.seconds, periodMs: o.periodMs, keepalive: '100ms', deadtime: '1000ms' },
    ...run,
  };
  const file = fs.existsSync(o.out) ? (JSON.parse(fs.readFileSync(o.out, 'utf8')) as { runs: unknown[] }) : { benchmark: 'hbd link flap: the holder\'s cable down/up every period for a minute', runs: [] as unknown[] };
  file.runs.push(result);
  fs.writeFileSync(o.out, JSON.stringify(file, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  const ok = run.nodes.every((n) => n.deaths === 0) && run.vipHolders.length === 1 && run.serviceHolders.join() === run.vipHolders.join();
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(2);
  },
);
