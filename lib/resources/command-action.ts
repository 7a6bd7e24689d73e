// One start/stop/status of a command-backed resource (scripts, systemctl): logged as
// ResourceManager's doscript() logs it — `Running <command>`, output to ha-debug,
// `Return code <rc> from <path>` — plus one line with how it ended, its duration and output tail.
import { commandLine, describeExit, outputTail, runCommand, type CommandRunner, type ExecResult } from './exec';
import type { ResourceLog } from './log';
import type { Action, ActionResult } from './resource';

export interface ActionTimeouts {
  readonly start: number;
  readonly stop: number;
  readonly status: number;
}

/** heartbeat has none; these bound a hung script while leaving slow services room to start. */
export const DEFAULT_TIMEOUTS: ActionTimeouts = { start: 120_000, stop: 120_000, status: 30_000 };

export interface CommandActionOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly timeouts?: ActionTimeouts;
  readonly runner?: CommandRunner;
  readonly log: ResourceLog;
}

export async function runCommandAction(argv: readonly string[], action: Action, opts: CommandActionOptions, running: (r: ExecResult) => boolean): Promise<ActionResult> {
  const log = opts.log;
  const command = commandLine(argv);
  const timeoutMs = (opts.timeouts ?? DEFAULT_TIMEOUTS)[action];
  if (action !== 'status') log.info(`Running ${command}`);
  const r = await (opts.runner ?? runCommand)(argv, { timeoutMs, env: opts.env });
  const output = `${r.stdout}${r.stderr}`;
  const answered = !r.timedOut && r.spawnError === null;
  if (action !== 'status') {
    if (output.trim() !== '') log.debug(0, `${command} output:\n${output.trimEnd()}`);
    if (r.code !== 0) {
      if (r.code !== null) log.error(`Return code ${r.code} from ${argv[0]}`);
      log.error(`${command}: ${describeExit(r, timeoutMs)} after ${Math.round(r.durationMs)} ms${outputTail(r) ? `: ${outputTail(r)}` : ''}`);
    }
  } else if (!answered) {
    log.warn(`${command}: ${describeExit(r, timeoutMs)}: taken as not running`);
  }
  return {
    action,
    ok: action === 'status' ? answered : r.code === 0,
    running: action === 'status' && answered && running(r),
    command,
    outcome: describeExit(r, timeoutMs),
    exitCode: r.code,
    outputTail: outputTail(r),
    output,
    durationMs: r.durationMs,
    timedOut: r.timedOut,
  };
}
