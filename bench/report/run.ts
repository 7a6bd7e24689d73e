// One report from one run: runs every benchmark of bench/ on this machine, one after another, each
// as its own process with its own options, collects their JSON and renders bench/REPORT.md with
// bench/plots/*.svg (as root: most benches build network namespaces).
//
//   node dist/bench/report/run.js [--quick] [--only NAME[,NAME…]] [--render-only]
//
// --quick: a few minutes in all (few trials: the tails are indicative only). --only: run just
// these benches (the others are reported "not run"). --render-only: render again from the last
// run's records (bench/results/report/) without running anything. A bench that is missing or
// fails is reported as such; the rest of the report stands.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { machine, stealMs, uptime } from '../detection/machine';
import type { BenchRun, ReportInput } from './model';
import { render } from './render';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BENCH_DIR = path.join(REPO_ROOT, 'bench');
const RESULTS = path.join(BENCH_DIR, 'results', 'report');
const RECORD = path.join(RESULTS, 'run.json');

interface BenchSpec {
  readonly name: string;
  /** Arguments for the runner, quick or full, writing its JSON to `out`. */
  readonly args: (quick: boolean, out: string) => string[];
  readonly needsRoot: boolean;
  /** Why it cannot run on this machine (besides its script being absent or root missing), or null. */
  readonly unavailable?: () => string | null;
}

/** In the order they run: the cheap and root-free first, the long detection bench in the middle. */
export const BENCHES: readonly BenchSpec[] = [
  { name: 'codec', needsRoot: false, args: (q, out) => [...(q ? ['--reps', '5', '--batch-ms', '100', '--warmup-ms', '100'] : []), '--out', out] },
  { name: 'detection', needsRoot: true, args: (q, out) => [...(q ? ['--quick'] : []), '--out', out] },
  { name: 'takeover', needsRoot: true, args: (q, out) => [...(q ? ['--trials', '10'] : []), '--out', out] },
  { name: 'vip-takeover', needsRoot: true, args: (q, out) => [...(q ? ['--quick'] : []), '--out', out] },
  { name: 'failover', needsRoot: true, args: (q, out) => [...(q ? ['--quick'] : []), '--out', out] },
  { name: 'footprint', needsRoot: true, args: (q, out) => [...(q ? ['--quick'] : []), '--out', out] },
  { name: 'flood', needsRoot: true, args: (q, out) => [...(q ? ['--cpu-seconds', '5', '--step-seconds', '2'] : []), '--out', out] },
  { name: 'resources', needsRoot: true, args: (q, out) => [...(q ? ['--rounds', '10'] : []), '--out', out] },
];

const USAGE = 'usage: node dist/bench/report/run.js [--quick] [--only NAME[,NAME…]] [--render-only]';

export interface Options {
  readonly quick: boolean;
  readonly only: readonly string[] | null;
  readonly renderOnly: boolean;
}

export function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let only: string[] | null = null;
  let renderOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--render-only') renderOnly = true;
    else if (a === '--only') {
      only = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
      if (only.length === 0 || unknown.length) throw new Error(`--only needs bench names from ${BENCHES.map((b) => b.name).join(', ')}${unknown.length ? `, got ${unknown.join(', ')}` : ''}\n${USAGE}`);
    } else throw new Error(`unknown option ${JSON.stringify(a)}\n${USAGE}`);
  }
  return { quick, only, renderOnly };
}

const progress = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const loadavg = (): number[] => os.loadavg().map((l) => Number(l.toFixed(2)));

/** Runs one bench's script to completion (bounded), its output passed through; the end of it kept. */
function runScript(name: string, argv: string[], timeoutMs: number): Promise<{ code: number | null; signal: string | null; tail: string[]; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout ends it and whatever it started, and nothing else.
    const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const tail: string[] = [];
    const keep = (chunk: Buffer, to: NodeJS.WriteStream) => {
      to.write(chunk.toString().replace(/^(?=.)/gm, `[${name}] `));
      tail.push(...chunk.toString().split('\n').filter((l) => l.trim() !== ''));
      tail.splice(0, Math.max(0, tail.length - 30));
    };
    child.stdout.on('data', (c: Buffer) => keep(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => keep(c, process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // SIGINT first: the benches tear their labs down in `finally`.
      process.kill(-child.pid!, 'SIGINT');
      setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(-child.pid!, 'SIGKILL'), 15_000).unref();
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, tail, timedOut });
    });
  });
}

async function runBench(spec: BenchSpec, o: Options): Promise<BenchRun> {
  const script = path.join(REPO_ROOT, 'dist', 'bench', spec.name, 'run.js');
  const out = path.join(RESULTS, `${spec.name}.json`);
  const argv = [script, ...spec.args(o.quick, out)];
  const command = `node ${path.relative(REPO_ROOT, script)} ${spec.args(o.quick, path.relative(REPO_ROOT, out)).join(' ')}`;
  const base = { name: spec.name, command, seconds: null, loadBefore: null, loadAfter: null, json: null, jsonFile: null };
  if (o.only && !o.only.includes(spec.name)) return { ...base, status: 'not run', reason: `left out of this run (--only ${o.only.join(',')})` };
  if (!fs.existsSync(script)) return { ...base, status: 'not run', reason: `${path.relative(REPO_ROOT, script)} is not in this tree (build with npx tsc -p tsconfig.json)` };
  if (spec.needsRoot && process.getuid?.() !== 0) return { ...base, status: 'not run', reason: 'it needs root (network namespaces): run npm run bench as root' };
  const unavailable = spec.unavailable?.() ?? null;
  if (unavailable) return { ...base, status: 'not run', reason: unavailable };
  // A stale result must not pass for this run's (flood appends to its file).
  fs.rmSync(out, { force: true });
  const loadBefore = loadavg();
  const started = process.hrtime.bigint();
  progress(`${spec.name}: ${command}`);
  const r = await runScript(spec.name, argv, (o.quick ? 20 : 120) * 60_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const measured = { ...base, seconds, loadBefore, loadAfter: loadavg() };
  const how = r.timedOut ? `timed out after ${o.quick ? 20 : 120} min` : r.code === 0 ? null : `exit ${r.code === null ? `by ${r.signal}` : `code ${r.code}`}`;
  let json: unknown = null;
  try {
    json = JSON.parse(fs.readFileSync(out, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return { ...measured, status: 'failed', reason: `${how ?? (missing ? `it exited 0 but wrote no JSON to ${path.relative(REPO_ROOT, out)}` : `its JSON does not parse: ${(e as Error).message}`)}\n${r.tail.join('\n')}` };
  }
  if (how) return { ...measured, status: 'failed', reason: `${how}\n${r.tail.join('\n')}`, json: null };
  return { ...measured, status: 'ok', reason: null, json, jsonFile: path.relative(BENCH_DIR, out) };
}

/** Writes REPORT.md and the plots; plots of an earlier run that this one did not draw are removed. */
function write(input: ReportInput): void {
  const { markdown, plots } = render(input);
  const dir = path.join(BENCH_DIR, 'plots');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.svg') && !plots.has(f)) fs.rmSync(path.join(dir, f));
  for (const [f, svg] of plots) fs.writeFileSync(path.join(dir, f), svg);
  fs.writeFileSync(path.join(BENCH_DIR, 'REPORT.md'), markdown);
  progress(`wrote bench/REPORT.md and ${plots.size} plots in bench/plots/`);
}

/** The last run's records with each bench's JSON read again from its file. */
function lastRun(): ReportInput {
  const input = JSON.parse(fs.readFileSync(RECORD, 'utf8')) as ReportInput;
  return { ...input, runs: input.runs.map((r) => ({ ...r, json: r.jsonFile ? JSON.parse(fs.readFileSync(path.join(BENCH_DIR, r.jsonFile), 'utf8')) : null })) };
}

async function main(argv: readonly string[]): Promise<void> {
  const o = parseOptions(argv);
  if (o.renderOnly) return write(lastRun());
  fs.mkdirSync(RESULTS, { recursive: true });
  // Results of benches this report no longer runs would pass for this run's in the directory.
  for (const f of fs.readdirSync(RESULTS)) if (f.endsWith('.json') && f !== path.basename(RECORD) && !BENCHES.some((b) => `${b.name}.json` === f)) fs.rmSync(path.join(RESULTS, f));
  const started = new Date();
  const t0 = process.hrtime.bigint();
  const before = { uptime: uptime(), steal: stealMs() };
  progress(`${o.quick ? 'quick' : 'full'} run started ${started.toISOString()}; ${before.uptime}`);
  const runs: BenchRun[] = [];
  for (const spec of BENCHES) {
    const r = await runBench(spec, o);
    progress(`${spec.name}: ${r.status}${r.reason ? ` (${r.reason.split('\n')[0]})` : ''}${r.seconds === null ? '' : `, ${Math.round(r.seconds)} s`}`);
    runs.push(r);
  }
  const steal = stealMs();
  const m = machine();
  const input: ReportInput = {
    date: started.toISOString(),
    quick: o.quick,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    machine: { nproc: m.nproc, cpuModel: m.cpuModel, kernel: m.kernel, preemption: m.preemption, node: m.node, memoryGiB: m.memoryGiB },
    uptimeBefore: before.uptime,
    uptimeAfter: uptime(),
    stealMs: before.steal === null || steal === null ? null : steal - before.steal,
    runs,
  };
  // The record without the JSON (each bench's own file has it), for --render-only.
  fs.writeFileSync(RECORD, JSON.stringify({ ...input, runs: runs.map((r) => ({ ...r, json: null })) }, null, 1) + '\n');
  write(input);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`bench/report: ${e.message}\n`);
    process.exitCode = 1;
  });
}
