// `hbd stop`: ask the daemon to shut down cleanly and wait until it has exited (heartbeat -k).
import { setTimeout as sleep } from 'node:timers/promises';

import { Command, InvalidArgumentError } from 'commander';

import { call, ControlClientError } from '../control/client';
import type { StopAnswer } from '../control/types';
import { processIo, type Io } from './control';
import { EXIT_FAILURE, EXIT_OK, withRunDir } from './options';

interface StopOptions {
  runDir: string;
  timeout: number;
}

/** heartbeat's unit waits 30 minutes: releasing resources may take that long. */
const DEFAULT_TIMEOUT_S = 1800;

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1) throw new InvalidArgumentError('expected a whole number of seconds ≥ 1');
  return n;
}

export function register(program: Command): void {
  const cmd = new Command('stop')
    .description('stop the running daemon cleanly (resources released, peers told) and wait until it has exited')
    .option('--timeout <seconds>', 'give up waiting after this long', parseSeconds, DEFAULT_TIMEOUT_S)
    .addHelpText('after', '\nExit status: 0 the daemon stopped, or was not running; 1 it did not stop within --timeout.')
    .action(async (opts: StopOptions) => {
      process.exitCode = await runStop(opts, processIo);
    });
  program.addCommand(withRunDir(cmd));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function runStop(opts: StopOptions, io: Io, pollMs = 100): Promise<number> {
  let answer: StopAnswer;
  try {
    answer = await call<StopAnswer>(opts.runDir, { cmd: 'stop' });
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    // Stopping what is not running is done already (heartbeat -k: "Heartbeat already stopped.").
    const stopped = e.kind === 'not-running';
    io.err(`hbd stop: ${e.message}${stopped ? ': already stopped' : ''}\n`);
    return stopped ? EXIT_OK : EXIT_FAILURE;
  }
  const deadline = Date.now() + opts.timeout * 1000;
  while (alive(answer.pid)) {
    if (Date.now() >= deadline) {
      io.err(`hbd stop: pid ${answer.pid} is still running after ${opts.timeout} s (resources still being released?); see the log\n`);
      return EXIT_FAILURE;
    }
    await sleep(pollMs);
  }
  io.out(`hbd stopped (pid ${answer.pid})\n`);
  return EXIT_OK;
}
