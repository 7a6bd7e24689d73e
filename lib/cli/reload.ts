// `hbd reload`: the daemon re-reads its files (as on SIGHUP); an invalid new configuration is
// refused and the daemon keeps running on the old one.
import { Command } from 'commander';

import { formatDiagnostic } from '../config/diagnostics';
import { call } from '../control/client';
import type { ReloadResult } from '../control/types';
import { talk, processIo, type Io } from './control';
import { EXIT_FAILURE, EXIT_OK, withRunDir } from './options';

export function register(program: Command): void {
  const cmd = new Command('reload')
    .description('make the running daemon re-read ha.cf, authkeys and haresources (same as SIGHUP)')
    .addHelpText(
      'after',
      `
Settings that can change live apply at once; the others are listed and apply at the next
restart. An invalid configuration is refused with its errors, and the daemon keeps running
on the configuration it had.
Exit status: 0 reloaded; 1 the new configuration is invalid, or hbd is not running.`,
    )
    .action(async (opts: { runDir: string }) => {
      process.exitCode = await runReload(opts.runDir, processIo);
    });
  program.addCommand(withRunDir(cmd));
}

export function runReload(runDir: string, io: Io): Promise<number> {
  return talk('hbd reload', async () => {
    const r = await call<ReloadResult>(runDir, { cmd: 'reload' });
    for (const d of r.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    if (!r.ok) {
      io.err('hbd reload: the new configuration is NOT valid: hbd keeps running on the previous one\n');
      return EXIT_FAILURE;
    }
    const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'nothing');
    io.out(`hbd reloaded: applied ${list(r.applied)}\n`);
    if (r.restartNeeded.length) io.out(`changed, effective at the next restart: ${r.restartNeeded.join(', ')}\n`);
    return EXIT_OK;
  }, io.err);
}
