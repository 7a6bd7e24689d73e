import { spawn, type ChildProcess } from 'node:child_process';

import { SYSLOG_SEVERITY, type Level } from './levels';

/**
 * Syslog through util-linux `logger`, kept running as one child reading lines from a pipe.
 * Node has no AF_UNIX datagram sockets, and /dev/log is one; `logger --prio-prefix` takes a
 * `<PRI>` per line, so one long-lived child carries every priority. Messages read
 * `hbd[PID]: WARN: node n1: is dead`, like heartbeat's `heartbeat: [PID]: WARN: …`.
 */
export class SyslogSink {
  private child: ChildProcess | null = null;
  private broken: string | null = null;

  constructor(
    private readonly facility: number,
    private readonly pid: number = process.pid,
    private readonly socketPath: string = '/dev/log',
    private readonly warn: (text: string) => void = (t) => process.stderr.write(t + '\n'),
  ) {}

  write(level: Level, message: string): void {
    const child = this.ensure();
    if (!child?.stdin?.writable) return;
    const pri = this.facility * 8 + SYSLOG_SEVERITY[level];
    // One record per line: newlines inside a message would split it into bogus records.
    child.stdin.write(`<${pri}>${level}: ${message.replace(/[\r\n]+/g, ' ')}\n`);
  }

  /** Flushes what was written and lets `logger` exit; resolves when it has. */
  close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.stdin?.end();
    });
  }

  private ensure(): ChildProcess | null {
    if (this.child || this.broken) return this.child;
    const child = spawn('logger', ['--prio-prefix', '-t', 'hbd', `--id=${this.pid}`, '-u', this.socketPath], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => this.fail(`cannot run logger: ${e.code ?? e.message}`));
    child.on('exit', (code) => {
      if (this.child === child) this.fail(`logger exited with status ${code}: ${stderr.trim() || 'no message'}`);
    });
    child.stdin?.on('error', () => undefined); // reported through 'exit'
    // The daemon's exit must not wait for the syslog child.
    child.unref();
    (child.stdin as unknown as { unref?: () => void })?.unref?.();
    this.child = child;
    return child;
  }

  private fail(why: string): void {
    this.child = null;
    if (this.broken) return;
    this.broken = why;
    this.warn(`hbd: WARN: syslog output disabled: ${why}; logging continues on the other outputs`);
  }
}
