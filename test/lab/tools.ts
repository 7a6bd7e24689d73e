// Locating the system tools the lab drives, and running them bounded in time with argv arrays
// (never a shell string), so a hung tool or an odd name cannot wedge or subvert a test run.

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The Debian package that provides each tool, named in the error when one is missing. */
const PACKAGE_OF = {
  ip: 'iproute2',
  tcpdump: 'tcpdump',
  python3: 'python3',
  sysctl: 'procps',
  nft: 'nftables',
} as const;
export type Tool = keyof typeof PACKAGE_OF;

// A non-root PATH often lacks the sbin directories where ip and tcpdump live.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
const found = new Map<string, string | null>();

/** Absolute path of an executable found on PATH or in the sbin directories, or null. */
export function findExecutable(name: string): string | null {
  if (found.has(name)) return found.get(name)!;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  let hit: string | null = null;
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) {
        hit = candidate;
        break;
      }
    } catch {
      // not here: try the next directory
    }
  }
  found.set(name, hit);
  return hit;
}

/** Why a tool is unusable ("`tcpdump` not found …: apt-get install -y tcpdump"), or null. */
export function missingTool(name: Tool): string | null {
  return findExecutable(name)
    ? null
    : `\`${name}\` not found on PATH or in /usr/sbin, /sbin: install it with \`apt-get install -y ${PACKAGE_OF[name]}\``;
}

/** Absolute path of a tool the lab needs; throws the install hint when it is missing. */
export function tool(name: Tool): string {
  const reason = missingTool(name);
  if (reason) throw new Error(`network lab: ${reason}`);
  return findExecutable(name)!;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Killed with SIGKILL after this long (default 10 s). */
  timeoutMs?: number;
  /** Written to the command's standard input, which is then closed. */
  input?: string;
  /** Resolve with a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
}

/** A command that failed or timed out, with its argv and what it said. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult | null,
    cause?: unknown,
  ) {
    super(`${describeArgv(argv)}: ${result ? describeFailure(result) : String((cause as Error)?.message ?? cause)}`);
    this.name = 'CommandError';
  }
}

function describeFailure(r: RunResult): string {
  const how = r.signal ? `killed by ${r.signal} (timeout?)` : `exit ${r.code}`;
  const said = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join(' | ');
  return said ? `${how}: ${said}` : how;
}

/** argv as one readable line for error messages (quoting only what needs it). */
export function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs argv to completion, bounded by timeoutMs; rejects with CommandError unless allowFailure. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = cp.execFile(
      argv[0],
      argv.slice(1),
      { timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (cp.ExecFileException & { code?: number | string }) | null;
        if (e && typeof e.code === 'string') {
          reject(new CommandError(argv, null, `${e.code} (${e.syscall ?? 'spawn'} ${argv[0]})`));
          return;
        }
        const result: RunResult = {
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: (e?.signal as NodeJS.Signals | undefined) ?? null,
          stdout,
          stderr,
        };
        if (result.code === 0 || opts.allowFailure) resolve(result);
        else reject(new CommandError(argv, result));
      },
    );
    child.stdin?.on('error', () => undefined); // a command that exits without reading its input
    child.stdin?.end(opts.input ?? '');
  });
}

/** The synchronous twin for exit-time cleanup, where no event loop is left to await on. */
export function runSync(argv: readonly string[], timeoutMs = 5_000): RunResult {
  const r = cp.spawnSync(argv[0], argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** Runs `ip -n ns …`: every ip command of the lab names its namespace, so none can reach the root one. */
export function ipIn(ns: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run([tool('ip'), '-n', ns, ...args], opts);
}

/** Runs several ip commands in namespace ns with one process (`ip -n ns -batch -`), stopping at the first failure. */
export async function ipBatch(ns: string, lines: readonly string[]): Promise<void> {
  await run([tool('ip'), '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}
