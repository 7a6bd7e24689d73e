// What every control-socket command shares: find the daemon through --run-dir, turn connection
// problems into one clear line, map them to exit codes.
import { ControlClientError } from '../control/client';
import { EXIT_FAILURE } from './options';

/**
 * Runs `fn` (which talks to the daemon); a ControlClientError becomes `PROG: message` on stderr
 * and `notRunningCode` (hbd is not running) or EXIT_FAILURE.
 */
export async function talk(prog: string, fn: () => Promise<number>, err: (s: string) => void, notRunningCode = EXIT_FAILURE): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    err(`${prog}: ${e.message}\n`);
    return e.kind === 'not-running' ? notRunningCode : EXIT_FAILURE;
  }
}

/** Output of a command: stdout / stderr writers, replaced in tests. */
export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

export const processIo: Io = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };
