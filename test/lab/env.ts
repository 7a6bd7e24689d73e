// What a lab test needs from the machine (and why it skips without it), and the CPU-load helpers
// for the benchmarks that measure failure detection under load.

import * as crypto from 'node:crypto';

import { LabProcess } from './process';
import { cleanupAtExit } from './safety-net';
import { Tool, missingTool, runSync, tool } from './tools';

const REQUIRED_TOOLS: Tool[] = ['ip', 'tcpdump', 'python3', 'sysctl'];
let skipReason: string | null | undefined;

/**
 * Null when network-lab tests can run here, else why not (for `test(…, { skip })`): not Linux, not
 * root, a tool missing, or `ip netns add` refused. Under CI=true always null: CI is expected to
 * have all of it, and a missing piece must fail the run rather than skip silently.
 */
export function labSkipReason(): string | null {
  if (process.env.CI === 'true') return null;
  skipReason ??= probe();
  return skipReason;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `network lab needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network lab needs root for `ip netns add`: run the test as root (CI does)';
  for (const t of REQUIRED_TOOLS) {
    const reason = missingTool(t);
    if (reason) return `network lab: ${reason}`;
  }
  const ns = `hb${crypto.randomBytes(2).toString('hex')}probe`;
  const added = runSync([tool('ip'), 'netns', 'add', ns]);
  if (added.code !== 0) {
    return `network lab: \`ip netns add\` fails here (${added.stderr.trim() || `exit ${added.code}`}): no network namespaces in this sandbox`;
  }
  runSync([tool('ip'), 'netns', 'del', ns]);
  return null;
}

export interface CpuStressOptions {
  /** Busy processes, one per core to load (1–64). */
  cores: number;
  /** Share of each period spent spinning, 1–100. */
  dutyPct: number;
  /** Each process exits on its own after this long (1 ms – 10 min). */
  durationMs: number;
  /** Length of one busy+idle cycle (default 10 ms). */
  periodMs?: number;
}

export interface CpuStress {
  readonly pids: readonly number[];
  /** Resolves when every stress process has exited. */
  readonly done: Promise<void>;
  /** Ends the stress now (SIGTERM by PID, SIGKILL if needed). */
  stop(): Promise<void>;
}

// Spins for duty% of every period until its duration is up; argv: duty, duration, period.
const SPINNER = `
const [duty, duration, period] = process.argv.slice(1).map(Number);
const end = Date.now() + duration;
(function cycle() {
  const start = Date.now();
  if (start >= end) return;
  const busyUntil = Math.min(start + (period * duty) / 100, end);
  while (Date.now() < busyUntil);
  setTimeout(cycle, Math.max(0, period - (busyUntil - start)));
})();
`;

/** Loads `cores` CPUs at dutyPct% for durationMs with child processes (bounded, killed by PID). */
export async function cpuStress(opts: CpuStressOptions): Promise<CpuStress> {
  const period = opts.periodMs ?? 10;
  checkRange('cores', opts.cores, 1, 64, true);
  checkRange('dutyPct', opts.dutyPct, 1, 100, false);
  checkRange('durationMs', opts.durationMs, 1, 600_000, false);
  checkRange('periodMs', period, 1, 1_000, false);
  const procs: LabProcess[] = [];
  const release = cleanupAtExit(() => procs.forEach((p) => p.signalGroup('SIGKILL')));
  try {
    for (let c = 0; c < opts.cores; c++) {
      procs.push(
        await LabProcess.start(
          [process.execPath, '-e', SPINNER, String(opts.dutyPct), String(opts.durationMs), String(period)],
          { name: `cpu stress ${c + 1}/${opts.cores}` },
        ),
      );
    }
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop()));
    release();
    throw e;
  }
  const done = Promise.all(procs.map((p) => p.exited)).then(release);
  return {
    pids: procs.map((p) => p.pid),
    done,
    async stop() {
      await Promise.all(procs.map((p) => p.stop('SIGTERM', 1_000)));
      await done;
    },
  };
}

/** Blocks this process's event loop for ms (≤ 10 s) by spinning: a stalled JS thread, on purpose. */
export function blockEventLoop(ms: number): void {
  checkRange('ms', ms, 0, 10_000, false);
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function checkRange(name: string, value: unknown, min: number, max: number, integer: boolean): void {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value));
  if (!ok) throw new RangeError(`cpu load: option '${name}' must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${JSON.stringify(value)})`);
}
