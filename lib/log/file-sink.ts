import * as fs from 'node:fs';

import { errnoName } from '../errors';

/** How often a sink checks whether logrotate moved its file away (heartbeat: once a minute). */
const REOPEN_CHECK_MS = 60_000;

/**
 * An append-only log file kept open, written synchronously so that lines are never lost or
 * reordered when the daemon dies right after logging. Re-opened when the path's inode changes
 * (logrotate) and on `reopen()` (SIGHUP). A file that cannot be written (a full disk, a missing
 * directory) is reported once on stderr, until a line gets written again; the caller's other sinks
 * keep working and this one retries at the next check.
 */
export class FileSink {
  private fd: number | null = null;
  private inode = -1;
  private lastCheck = -Infinity;
  private failed: string | null = null;

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
    private readonly warn: (text: string) => void = (t) => process.stderr.write(t + '\n'),
  ) {
    this.open();
  }

  write(line: string): void {
    const t = this.now();
    if (t - this.lastCheck >= REOPEN_CHECK_MS) {
      this.lastCheck = t;
      if (this.fd === null || this.moved()) this.reopen();
    }
    if (this.fd === null) return;
    try {
      fs.writeSync(this.fd, line.endsWith('\n') ? line : line + '\n');
      this.failed = null;
    } catch (e) {
      this.fail(e as NodeJS.ErrnoException, 'write');
    }
  }

  reopen(): void {
    this.close();
    this.open();
  }

  close(): void {
    if (this.fd !== null) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // Already gone: nothing left to flush.
      }
      this.fd = null;
    }
  }

  private open(): void {
    try {
      this.fd = fs.openSync(this.path, 'a', 0o644);
      this.inode = fs.fstatSync(this.fd).ino;
      // `failed` stays until a line is written: a full disk opens fine and fails every write, and
      // is reported once, not at every reopen check.
    } catch (e) {
      this.fd = null;
      this.fail(e as NodeJS.ErrnoException, 'open');
    }
  }

  private moved(): boolean {
    try {
      return fs.statSync(this.path).ino !== this.inode;
    } catch {
      return true;
    }
  }

  private fail(e: NodeJS.ErrnoException, syscall: string): void {
    const why = `${errnoName(e)} (${syscall})`;
    this.close();
    if (this.failed === why) return;
    this.failed = why;
    this.warn(`hbd: WARN: cannot write log file ${this.path}: ${why}; logging continues on the other outputs`);
  }
}
