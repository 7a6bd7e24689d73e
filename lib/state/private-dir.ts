// The directories hbd keeps its state (hb_generation, hb_uuid) and its run files (hbd.pid, the
// control socket) in. Whoever can write there can replace what hbd trusts: a lower generation makes
// peers take our packets for replays, another uuid another node, and a socket or pid file planted in
// the run directory can be connected to or signalled by mistake. So both must be ours and closed to
// group and others for writing; the state directory, which says who we are, is not readable either.
import * as fs from 'node:fs';

import { describeErrno } from '../errors';

/** The state directory's mode when hbd creates it; its files are 0600. */
export const STATE_DIR_MODE = 0o700;
/** The run directory's mode when hbd creates it: the pid file (0644) stays readable for tools. */
export const RUN_DIR_MODE = 0o755;

/**
 * Creates `dir` with `mode` (parents too) or checks the existing one: a real directory (not a
 * symlink), owned by this process's user, not writable by group or others. Throws an Error naming
 * the directory and the fix.
 */
export function ensurePrivateDir(dir: string, mode: number, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
  } catch (e) {
    throw new Error(`cannot create the ${what} directory: ${describeErrno(e, 'mkdir', dir)}`);
  }
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    throw new Error(`cannot check the ${what} directory: ${describeErrno(e, 'lstat', dir)}`);
  }
  if (!st.isDirectory()) throw new Error(`the ${what} directory ${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: give a real directory owned by the user hbd runs as`);
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid !== uid) throw new Error(`the ${what} directory ${dir} belongs to uid ${st.uid}, not to hbd's uid ${uid}: chown ${uid} ${dir}`);
  if (st.mode & 0o022) {
    throw new Error(`the ${what} directory ${dir} is writable by ${st.mode & 0o020 ? 'its group' : 'others'} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): anyone who can write there can replace hbd's files; chmod go-w ${dir}`);
  }
}
