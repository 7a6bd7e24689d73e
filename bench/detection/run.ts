// Failure-detection benchmark of both hbd transports, with a real heartbeat as the baseline, in
// the network-namespace lab (root needed):
//
//   node dist/bench/detection/run.js [--trials N] [--pairs P] [--soak-min M] [--search-min M] [--quick] [--only RE] [--out FILE]
//
// For each transport (native, ts) × timing (10ms/50ms, 1s/3s) × load (idle, cpu, block) it kills
// victims and measures how long after the victim's deadline the survivor declared it dead, plus the
// victim's send jitter and any false death; then a soak and a search for the smallest timing
// without false deaths. Prints a table (progress goes to stderr) and writes JSON (method included).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../../lib/native';
import { labSkipReason } from '../../test/lab/env';
import { heartbeatSkipReason } from '../../test/lab/heartbeat';
import type { TransportKind } from '../../test/support/transport-driver';
import { cellLabel, runCell, type CellResult, type CellSpec } from './cell';
import { FAST, FASTEST, LOADS, SLOW, timingLabel, type Timing } from './config';
import { HeartbeatSurvivor } from './heartbeat-survivor';
import { describeLoad } from './load';
import { machine, stealMs, uptime } from './machine';
import { parseOptions, selected, UsageError, USAGE, type Options } from './options';
import { HEARTBEAT_METHOD, judgeTargets, methodText, soakLine, stallSummary, table } from './report';
import { runSoak, searchSmallest, type SearchResult, type SoakResult } from './soak';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const progress = (line: string): void => void process.stderr.write(line + '\n');

/** Why this machine cannot run the benchmark at all, or null. */
function refusal(): string | null {
  if (process.getuid?.() !== 0) return 'bench/detection needs root: it builds network namespaces (ip netns add) and captures on them. Run it as root (sudo npm run bench:detection).';
  const lab = labSkipReason();
  return lab === null ? null : `bench/detection cannot build its lab: ${lab}`;
}

function nativeUnavailable(): string | null {
  const load = loadNative();
  if (!load.binding) return load.reason;
  return 'Engine' in load.binding ? null : 'the native addon has no Engine';
}

/** The cells in the order they run: hbd first, then the heartbeat baseline. */
export function plan(o: Options, nativeOk: boolean, heartbeatOk: boolean): CellSpec[] {
  const kinds: TransportKind[] = nativeOk ? ['native', 'ts'] : ['ts'];
  const cell = (survivor: CellSpec['survivor'], victim: TransportKind, timing: Timing, load: CellSpec['load'], realtime = true): CellSpec => {
    const fast = timing === FAST;
    return { survivor, victim, timing, load, realtime, trials: fast ? o.fastTrials : o.trials, pairs: fast ? 1 : o.pairs };
  };
  const cells: CellSpec[] = [];
  for (const kind of kinds) for (const timing of [FAST, SLOW]) for (const load of LOADS) cells.push(cell(kind, kind, timing, load));
  // What realtime buys under CPU load, the one case where it should matter.
  if (nativeOk) cells.push(cell('native', 'native', FAST, 'cpu', false));
  if (heartbeatOk && nativeOk) {
    cells.push(cell('heartbeat', 'native', SLOW, 'idle'), cell('heartbeat', 'native', SLOW, 'cpu'));
    cells.push({ ...cell('heartbeat', 'native', FAST, 'idle'), trials: o.trials });
  }
  return cells.filter((c) => selected(o, cellLabel(c)));
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const o = parseOptions(argv, REPO_ROOT);
  const refused = refusal();
  if (refused) throw new Error(refused);
  const nativeWhy = nativeUnavailable();
  const heartbeatWhy = heartbeatSkipReason();
  if (nativeWhy) progress(`native transport not measured: ${nativeWhy}`);
  if (heartbeatWhy) progress(`heartbeat baseline not measured: ${heartbeatWhy}`);

  const startedAt = new Date();
  const before = { uptime: uptime(), stealMs: stealMs() };
  progress(`bench/detection ${o.quick ? '(quick) ' : ''}started ${startedAt.toISOString()}; ${before.uptime}`);

  const cells: (CellResult & { label: string })[] = [];
  for (const spec of plan(o, nativeWhy === null, heartbeatWhy === null)) {
    const label = cellLabel(spec);
    progress(`${label}: ${spec.trials} trials, ${spec.pairs} pair(s), load: ${describeLoad(spec.load)}`);
    const r = await runCell(spec, spec.survivor === 'heartbeat' ? HeartbeatSurvivor.start : null, progress);
    cells.push({ label, ...r });
    progress(`  overshoot p50 ${r.overshootMs.p50} p99 ${r.overshootMs.p99} max ${r.overshootMs.max} ms; false deaths ${r.falseDeaths.survivor}/${r.falseDeaths.victim}; ${r.seconds} s`);
  }

  let soak: SoakResult | null = null;
  if (nativeWhy === null && o.soakMin > 0 && selected(o, 'soak')) {
    progress(`soak: native ${FAST.keepaliveMs}ms/${FAST.deadtimeMs}ms for ${o.soakMin} min under cpu + block on both nodes`);
    soak = await runSoak('native', FAST, o.soakMin);
    progress(`  ${soakLine(soak)}`);
  }
  let fastSoak: SoakResult | null = null;
  if (nativeWhy === null && o.fastSoakMin > 0 && selected(o, 'fast soak')) {
    progress(`fast soak: native ${timingLabel(FASTEST)} for ${o.fastSoakMin} min under cpu + block on both nodes, the wake probe beside it`);
    fastSoak = await runSoak('native', FASTEST, o.fastSoakMin);
    progress(`  ${soakLine(fastSoak)}`);
  }
  let search: SearchResult | null = null;
  if (nativeWhy === null && o.searchMin > 0 && selected(o, 'search')) {
    progress(`search: native, ${o.searchMin} min each, smallest first`);
    search = await searchSmallest('native', o.searchMin, progress);
  }

  const after = { uptime: uptime(), stealMs: stealMs() };
  const targets = judgeTargets(cells, soak, fastSoak);
  const result = {
    benchmark: 'detection',
    date: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: { ...machine(), uptimeBefore: before.uptime, uptimeAfter: after.uptime, stealMsDuringRun: before.stealMs === null || after.stealMs === null ? null : after.stealMs - before.stealMs },
    options: { trials: o.trials, fastTrials: o.fastTrials, pairs: o.pairs, soakMin: o.soakMin, fastSoakMin: o.fastSoakMin, searchMin: o.searchMin, quick: o.quick, only: o.only?.source ?? null },
    notMeasured: { native: nativeWhy, heartbeat: heartbeatWhy },
    method: methodText(o, o.pairs, heartbeatWhy === null ? HEARTBEAT_METHOD : null),
    loads: Object.fromEntries(LOADS.map((l) => [l, describeLoad(l)])),
    cells,
    soak,
    fastSoak,
    search,
    targets,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(result, null, 1) + '\n');

  const out: string[] = [table(cells), ''];
  if (soak) out.push(`soak: ${soakLine(soak)}`);
  if (fastSoak) out.push(`fast soak: ${soakLine(fastSoak)}`, `  ${stallSummary(fastSoak)}`);
  if (search) {
    for (const r of search.runs) out.push(`search: ${soakLine(r)}`);
    out.push(`smallest timing without a false death over ${search.minutesEach} min: ${search.smallest ?? 'none of those tried'}`);
  }
  out.push('', ...targets.map((t) => `target ${t.target}: ${t.met === null ? 'not measured' : t.met ? 'MET' : 'NOT MET'}\n  ${t.detail.join('\n  ')}`));
  out.push('', `machine: ${result.machine.nproc} cores, ${result.machine.kernel}, node ${result.machine.node}; before: ${before.uptime}; after: ${after.uptime}; steal during the run ${result.machine.stealMsDuringRun ?? '?'} ms`);
  out.push(`JSON: ${path.relative(process.cwd(), o.out) || o.out}; ${result.seconds} s`);
  process.stdout.write(out.join('\n') + '\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(e instanceof UsageError ? `${e.message}\n` : `bench/detection: ${e.stack ?? e.message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
}
