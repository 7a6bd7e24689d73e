// The heartbeat generation (`hg`, spec §7.5): bumped at every start and persisted, so that peers
// tell a restart (higher generation) from a replay (lower generation).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeErrno } from '../errors';
import { STATE_DIR_MODE } from './private-dir';

export const GENERATION_FILE = 'hb_generation';

export interface GenerationResult {
  readonly generation: number;
  /** Set when the file was missing or unreadable and the clock was used instead. */
  readonly warning: string | null;
}

/** heartbeat's file format: the decimal number right-aligned in 15 columns, then a newline. */
export function formatGeneration(n: number): string {
  return String(n).padStart(15, ' ') + '\n';
}

export function parseGeneration(text: string): number | null {
  const m = /^\s*(\d{1,15})\s*$/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * `hbgenmethod file`: read, increment, write back durably (write + fsync of file and directory)
 * before the first packet leaves. `hbgenmethod time`: the current Unix time.
 */
export function nextGeneration(stateDir: string, method: 'file' | 'time', nowSec: number): GenerationResult {
  if (method === 'time') return { generation: nowSec, warning: null };
  const file = path.join(stateDir, GENERATION_FILE);
  let previous: number | null = null;
  let warning: string | null = null;
  try {
    previous = parseGeneration(fs.readFileSync(file, 'latin1'));
    if (previous === null) warning = `${file} does not hold a generation number; starting from the current time`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warning = `${describeErrno(e, 'read', file)}; starting from the current time`;
    else warning = `No generation file ${file}; starting from the current time`;
  }
  // Never go backwards: a peer would take our packets for replays.
  const generation = previous === null ? nowSec + 1 : previous + 1;
  writeDurably(file, formatGeneration(generation));
  return { generation, warning };
}

/**
 * Write to a temporary file, fsync, rename over the target and fsync the directory. The file is
 * `mode` whatever the umask, and a symlink planted at the temporary name is not followed.
 */
export function writeDurably(file: string, data: string | Buffer, mode = 0o600): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE });
  const tmp = `${file}.tmp${process.pid}`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  try {
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}
