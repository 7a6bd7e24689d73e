// A process the lab started: its PID, its exit, its output in files, signals by PID, and a bounded
// wait for a line in a log file. Each one leads its own process group (detached), so teardown can
// reach the children it forked without touching anything else.

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

import { describeArgv } from './tools';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Label used in error messages ("n1 hbd"). */
  name: string;
  /** Where standard output and error go (truncated first; may be the same file); omitted: discarded. */
  stdoutPath?: string;
  stderrPath?: string;
  /** The file waitFor reads by default: the process's own log, else its standard output. */
  logFile?: string;
  /** The complete environment (callers merge with process.env themselves). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep a pipe to standard input (the relay takes its settings there). */
  stdinPipe?: boolean;
}

export type LogPredicate = RegExp | ((text: string) => boolean);

export interface WaitOptions {
  /** File to read instead of the process's log file. */
  file?: string;
  /** Give up as soon as the process has exited without a match (default true). */
  failOnExit?: boolean;
}

const POLL_MS = 20;

export class LabProcess {
  readonly pid: number;
  readonly name: string;
  readonly argv: readonly string[];
  readonly stdoutPath: string | null;
  readonly stderrPath: string | null;
  readonly logFile: string | null;
  readonly stdin: Writable | null;
  /** Resolves once the process has exited and been reaped. */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | null = null;

  private constructor(child: cp.ChildProcess, argv: readonly string[], opts: StartOptions) {
    this.pid = child.pid!;
    this.name = opts.name;
    this.argv = argv;
    this.stdoutPath = opts.stdoutPath ?? null;
    this.stderrPath = opts.stderrPath ?? null;
    this.logFile = opts.logFile ?? this.stdoutPath;
    this.stdin = child.stdin;
    this.stdin?.on('error', () => undefined); // EPIPE once the process is gone
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** Starts argv; resolves once the kernel has created the process, rejects if it could not. */
  static start(argv: readonly string[], opts: StartOptions): Promise<LabProcess> {
    // Truncated, so waitFor never matches what an earlier process left in a reused path.
    const out = opts.stdoutPath ? fs.openSync(opts.stdoutPath, 'w') : 'ignore';
    const err = !opts.stderrPath ? 'ignore' : opts.stderrPath === opts.stdoutPath ? out : fs.openSync(opts.stderrPath, 'w');
    try {
      const child = cp.spawn(argv[0], argv.slice(1), {
        stdio: [opts.stdinPipe ? 'pipe' : 'ignore', out, err],
        detached: true,
        env: opts.env,
        cwd: opts.cwd,
      });
      return new Promise((resolve, reject) => {
        child.once('spawn', () => resolve(new LabProcess(child, argv, opts)));
        child.once('error', (e: NodeJS.ErrnoException) =>
          reject(new Error(`${opts.name}: cannot start ${describeArgv(argv)}: ${e.code ?? e.message} (spawn)`)),
        );
      });
    } finally {
      // The child holds its own copies of the descriptors.
      if (typeof out === 'number') fs.closeSync(out);
      if (typeof err === 'number' && err !== out) fs.closeSync(err);
    }
  }

  /** Exit code and signal once exited, else null. */
  get exitInfo(): ExitInfo | null {
    return this.exit;
  }

  /** True until the process has exited (and its PID may be reused). */
  get running(): boolean {
    return this.exit === null;
  }

  /** Sends signal to this PID only; false when the process has already exited. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (!this.running) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the process and whatever it forked in its group: signal (default SIGTERM), then SIGKILL
   * after graceMs, then waits (bounded) for the exit.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2_000): Promise<ExitInfo | null> {
    if (!this.running) return this.exit;
    this.signalGroup(signal);
    if (await this.exitWithin(graceMs)) return this.exit;
    this.signalGroup('SIGKILL');
    await this.exitWithin(2_000);
    return this.exit;
  }

  /** Signals the whole process group, which is ours while its leader has not been reaped. */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      this.kill(signal);
    }
  }

  /** True if the process exits within ms. */
  async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.exited.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits until the log file (or opts.file) satisfies the predicate (a RegExp is tested against the
   * whole text so far), polling every 20 ms for at most timeoutMs. Resolves with the text; rejects
   * with the file's last lines on timeout or when the process exits without a match.
   */
  async waitFor(predicate: LogPredicate, timeoutMs: number, opts: WaitOptions = {}): Promise<string> {
    const file = opts.file ?? this.logFile;
    if (!file) throw new Error(`${this.name}: waitFor needs a file: its output is discarded and no logFile was given`);
    const failOnExit = opts.failOnExit ?? true;
    const reader = new GrowingFile(file);
    const matches = typeof predicate === 'function' ? predicate : (t: string) => predicate.test(t);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const exitedBefore = !this.running;
      const text = reader.read();
      if (matches(text)) return text;
      if (exitedBefore && failOnExit) {
        throw new Error(
          `${this.name} exited (${describeExit(this.exit!)}) before ${file} matched ${predicate}; it ends with:\n${tail(text)}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(`${this.name}: ${file} did not match ${predicate} within ${timeoutMs} ms; it ends with:\n${tail(text)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

export function describeExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

function tail(text: string, lines = 10): string {
  return text.split('\n').slice(-lines - 1).join('\n') || '(empty)';
}

/** Reads a file that another process appends to, keeping what was read (the file may not exist yet). */
class GrowingFile {
  private text = '';
  private offset = 0;
  // Keeps a multi-byte character split across two reads whole.
  private decoder = new StringDecoder('utf8');

  constructor(private readonly file: string) {}

  read(): string {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return this.text;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) {
        // Truncated or replaced (log rotation): start over.
        this.text = '';
        this.offset = 0;
        this.decoder = new StringDecoder('utf8');
      }
      if (size > this.offset) {
        const buf = Buffer.alloc(size - this.offset);
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        this.offset += n;
        this.text += this.decoder.write(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
    return this.text;
  }
}
