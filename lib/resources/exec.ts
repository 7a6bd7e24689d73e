// Every child process the resource layer starts (ip, arping, resource scripts, systemctl) goes
// through here: argv only (no shell), a clean environment, stdin /dev/null, only stdout/stderr
// piped, no other descriptor (libuv opens its own close-on-exec; descriptors hbd inherited without
// it are closed by a bash trampoline), its own process group, and a hard timeout that SIGKILLs the
// whole group — an init script that forks a hung helper cannot keep the action alive.
import * as cp from 'node:child_process';
import * as fs from 'node:fs';

import { monoNowMs } from '../transport/clock';

/** Bytes of each output stream kept (the tail: the end of a failing script says why). */
export const OUTPUT_KEEP = 64 * 1024;

export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C',
  LC_ALL: 'C',
};

export interface ExecOptions {
  readonly timeoutMs: number;
  /** The complete environment (BASE_ENV when omitted); nothing is inherited from the daemon. */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with the monotonic time the child was spawned (the ARP sender's first-frame estimate). */
  readonly onSpawn?: (atMono: number) => void;
}

export interface ExecResult {
  readonly argv: readonly string[];
  /** Exit status, null when killed by a signal or not started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** The process could not be started (ENOENT, EACCES …). */
  readonly spawnError: NodeJS.ErrnoException | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly startedAtMono: number;
  readonly durationMs: number;
}

/** Runs argv to completion; never rejects (a failure to start is in spawnError). */
export type CommandRunner = (argv: readonly string[], opts: ExecOptions) => Promise<ExecResult>;

/** A runner that prefixes every argv, e.g. ['ip', 'netns', 'exec', NS] to act inside a namespace. */
export function prefixedRunner(prefix: readonly string[], inner: CommandRunner = runCommand): CommandRunner {
  return prefix.length === 0 ? inner : (argv, opts) => inner([...prefix, ...argv], opts);
}

class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size - this.chunks[0].length >= OUTPUT_KEEP) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - OUTPUT_KEEP)).toString('utf8');
  }
}

const O_CLOEXEC = 0o2000000;
const BASH = '/bin/bash';

/**
 * Descriptors ≥ 3 of this process that a child would inherit: ones hbd's own parent passed without
 * close-on-exec (Node's own are all close-on-exec). Read at each spawn; a few /proc lookups.
 */
function inheritableFds(): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  return names
    .map(Number)
    .filter((fd) => fd >= 3)
    .filter((fd) => {
      try {
        const flags = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
        return flags !== null && (parseInt(flags[1], 8) & O_CLOEXEC) === 0;
      } catch {
        return false; // closed meanwhile (the readdir's own descriptor, for one)
      }
    });
}

/** argv, behind `bash -c 'exec N>&- …; exec "$@"'` when there are descriptors to close. */
function withoutInheritedFds(argv: readonly string[]): readonly string[] {
  const fds = inheritableFds();
  if (fds.length === 0 || !fs.existsSync(BASH)) return argv;
  return [BASH, '-c', `exec ${fds.map((fd) => `${fd}>&-`).join(' ')}; exec "$@"`, argv[0], ...argv];
}

export const runCommand: CommandRunner = (argv, opts) =>
  new Promise((resolve) => {
    const startedAtMono = monoNowMs();
    const out = new Tail();
    const err = new Tail();
    let timedOut = false;
    let spawnError: NodeJS.ErrnoException | null = null;
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ argv, code, signal, timedOut, spawnError, stdout: out.text(), stderr: err.text(), startedAtMono, durationMs: monoNowMs() - startedAtMono });
    };
    const real = withoutInheritedFds(argv);
    const child = cp.spawn(real[0], real.slice(1), { env: { ...(opts.env ?? BASE_ENV) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('spawn', () => opts.onSpawn?.(monoNowMs()));
    child.once('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
      if (child.pid === undefined) done(null, null);
    });
    // 'close' waits for the pipes too. A daemon the script started in the background may hold
    // them open for ever: once the script itself has exited, stop waiting for its output (the
    // daemon stays; only a timeout kills the group).
    child.once('exit', () => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 100).unref();
    });
    child.once('close', (code, signal) => done(code, signal));
  });

/** `exit 3`, `killed by SIGKILL after the 30000 ms timeout`, `not started: ENOENT`. */
export function describeExit(r: ExecResult, timeoutMs?: number): string {
  if (r.spawnError) return `not started: ${r.spawnError.code ?? r.spawnError.message}`;
  if (r.timedOut) return `killed by SIGKILL after the ${timeoutMs ?? '?'} ms timeout`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit ${r.code}`;
}

/** The last `lines` non-empty lines of stdout+stderr, joined with ` | ` for one log line. */
export function outputTail(r: Pick<ExecResult, 'stdout' | 'stderr'>, lines = 5): string {
  return `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean).slice(-lines).join(' | ');
}

/** argv as one readable line (quoting only what needs it). */
export function commandLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
