// Soak benchmark (run as root: netns lab): three native-engine hbd nodes, a failover (`hbd
// standby` on the holder or `hbd takeover` on the next node) every few seconds for --minutes (default 20), sampling each daemon's
// RSS, threads and descriptors; see soak.ts for what is checked. Appends the run to
// bench/results/soak.json (--out FILE) and exits 1 when a failover went wrong.
//
//   npm run bench:soak -- [--minutes N] [--interval-seconds S] [--node-flags "FLAGS"] [--out FILE]
//
// --node-flags are node's command-line flags for the daemons (e.g. V8 heap flags), to compare memory settings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { labSkipReason } from '../../test/lab/env';
import { runSoak } from './soak';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

interface Options {
  minutes: number;
  intervalS: number;
  nodeFlags: string[];
  out: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { minutes: 20, intervalS: 4, nodeFlags: [], out: path.join(repoRoot, 'bench', 'results', 'soak.json') };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const n = Number(value);
    if (flag === '--minutes' && n > 0 && n <= 24 * 60) o.minutes = n;
    else if (flag === '--interval-seconds' && n >= 1 && n <= 600) o.intervalS = n;
    else if (flag === '--node-flags' && value !== undefined) o.nodeFlags = value.split(/\s+/).filter(Boolean);
    else if (flag === '--out' && value) o.out = path.resolve(value);
    else throw new Error(`bench/soak: bad argument ${flag ?? ''} ${value ?? ''}: expected --minutes N (0–1440), --interval-seconds S (1–600), --node-flags "FLAGS", --out FILE`);
  }
  return o;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const skip = labSkipReason();
  if (skip) throw new Error(`bench/soak: ${skip}`);
  const loadBefore = os.loadavg();
  const result = await runSoak({
    durationMs: o.minutes * 60_000,
    intervalMs: o.intervalS * 1000,
    sampleMs: 10_000,
    failoverBoundMs: 20_000,
    nodeFlags: o.nodeFlags,
    onSample: (s) => console.error(`${s.atS}s ${s.nodes.map((n) => `${n.node} rss ${(n.rssKb / 1024).toFixed(1)} MB anon ${(n.anonKb / 1024).toFixed(1)} heap ${n.heap ? (Object.values(n.heap).reduce((a, h) => a + h.sizeKb, 0) / 1024).toFixed(1) : '?'} thr ${n.threads} fd ${n.fds}`).join(' | ')}`),
  });
  const run = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', node: process.version, loadavgBefore: loadBefore.map((l) => Math.round(l * 100) / 100), loadavgAfter: result.loadavg, shared: 'the machine was shared with other helpers running lab tests' },
    settings: { minutes: o.minutes, intervalSeconds: o.intervalS, keepalive: '100ms', deadtime: '2000ms', nodes: 3, transport: 'native', nodeFlags: o.nodeFlags },
    ...result,
  };
  const file = fs.existsSync(o.out) ? (JSON.parse(fs.readFileSync(o.out, 'utf8')) as { runs: unknown[] }) : { benchmark: 'hbd soak: 3 nodes, failover every few seconds; RSS, threads, fds per daemon', runs: [] as unknown[] };
  file.runs.push(run);
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(file, null, 2) + '\n');
  const { samples: _samples, ...summary } = result;
  console.log(JSON.stringify(summary, null, 2));
  return result.failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(2);
  },
);
