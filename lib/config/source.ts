// Reading a configuration file: regular files only (a FIFO or device in /etc/ha.d must not hang
// or feed us endless input), with errno names in every failure.
import * as fs from 'node:fs';

import { describeErrno } from '../errors';

export type FileRead =
  | { readonly ok: true; readonly bytes: Buffer; readonly mode: number }
  /** `code` is the errno name (ENOENT, EACCES, …) or ENOTREG for a file that is not regular. */
  | { readonly ok: false; readonly code: string; readonly message: string };

export function readConfigFile(file: string): FileRead {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: describeErrno(e, 'open', file) };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { ok: false, code: 'ENOTREG', message: `${file}: not a regular file` };
    return { ok: true, bytes: fs.readFileSync(fd), mode: st.mode };
  } catch (e) {
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: describeErrno(e, 'read', file) };
  } finally {
    fs.closeSync(fd);
  }
}
