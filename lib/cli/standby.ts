// `hbd standby|takeover [all|local|foreign]` and heartbeat's `hb_standby` / `hb_takeover`
// (same arguments, output and exit codes as heartbeat's scripts, spec §11.2).
import { Command, InvalidArgumentError } from 'commander';

import { call } from '../control/client';
import { SCOPES, type ActionResult, type Scope } from '../control/types';
import { talk, processIo, type Io } from './control';
import { EXIT_FAILURE, EXIT_OK, withRunDir } from './options';

type Action = 'standby' | 'takeover';

const WHAT: Readonly<Record<Action, string>> = {
  standby: 'give resource groups to the other node (heartbeat\'s hb_standby)',
  takeover: 'take resource groups from the other node (heartbeat\'s hb_takeover)',
};

/** hb_standby's `failback` means `foreign` (spec §8.7). */
export function parseScope(v: string): Scope | null {
  if (v === 'failback') return 'foreign';
  return (SCOPES as readonly string[]).includes(v) ? (v as Scope) : null;
}

export async function runAction(action: Action, scope: Scope, runDir: string, io: Io, prog = `hbd ${action}`): Promise<number> {
  return talk(prog, async () => {
    const r = await call<ActionResult>(runDir, { cmd: action, scope });
    (r.accepted ? io.out : io.err)(`${r.message}\n`);
    return r.accepted ? EXIT_OK : EXIT_FAILURE;
  }, io.err);
}

function registerModern(program: Command, action: Action): void {
  const cmd = new Command(action)
    .description(WHAT[action])
    .argument('[scope]', 'all, local or foreign resource groups (failback means foreign)', (v: string) => {
      const s = parseScope(v);
      if (s === null) throw new InvalidArgumentError(`expected all, local, foreign or failback`);
      return s;
    }, 'all')
    .addHelpText(
      'after',
      `
local: the groups whose preferred node is this one; foreign: the other node's; all: both.
Needs auto_failback on or off (heartbeat's nice_failback); with legacy the daemon refuses.
Exit status: 0 the daemon accepted the request (the outcome is logged); 1 it refused or is not running.`,
    )
    .action(async (scope: Scope, opts: { runDir: string }) => {
      process.exitCode = await runAction(action, scope, opts.runDir, processIo);
    });
  program.addCommand(withRunDir(cmd));
}

/** heartbeat's script, word for word: `usage:` on stdout, the synopsis on stderr, exit 1. */
function legacyUsage(prog: string, io: Io, problem: string | null): number {
  if (problem) io.out(`${prog}: ${problem}\n`);
  io.out('usage:\n');
  io.err(`${prog} [all|foreign|local|failback]\n`);
  return EXIT_FAILURE;
}

export async function runLegacy(prog: 'hb_standby' | 'hb_takeover', args: readonly string[], runDir: string, io: Io): Promise<number> {
  if (args.length >= 2) return legacyUsage(prog, io, 'too many arguments');
  const word = args[0] ?? 'all';
  if (word === '--help') return legacyUsage(prog, io, null);
  const scope = parseScope(word);
  if (scope === null) return legacyUsage(prog, io, `wrong resources(${word}).`);
  // heartbeat's scripts print nothing on success: the outcome is in the log.
  return talk(prog, async () => {
    const r = await call<ActionResult>(runDir, { cmd: prog === 'hb_standby' ? 'standby' : 'takeover', scope });
    if (!r.accepted) io.err(`${prog}: ${r.message}\n`);
    return EXIT_OK;
  }, io.err);
}

function registerLegacy(program: Command, prog: 'hb_standby' | 'hb_takeover'): void {
  const cmd = new Command(prog)
    .description(`heartbeat's ${prog} script: same arguments, output and exit codes`)
    .argument('[args...]')
    .helpOption(false)
    .allowUnknownOption(true)
    .action(async (args: string[], opts: { runDir: string }) => {
      process.exitCode = await runLegacy(prog, args, opts.runDir, processIo);
    });
  program.addCommand(withRunDir(cmd));
}

export function register(program: Command): void {
  registerModern(program, 'standby');
  registerModern(program, 'takeover');
  registerLegacy(program, 'hb_standby');
  registerLegacy(program, 'hb_takeover');
}
