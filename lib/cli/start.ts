// `hbd start`: run the daemon in the foreground until SIGTERM/SIGINT.
import { Command } from 'commander';

import { loadConfig } from '../config/load';
import { formatDiagnostic, hasErrors, sortDiagnostics } from '../config/diagnostics';
import { Daemon } from '../daemon';
import { EXIT_FAILURE, EXIT_OK, withConfigDir, withNode, withRunDir, withStateDir, type CommonOptions } from './options';

interface StartOptions extends CommonOptions {
  stderr: boolean;
}

/** The `hbd check` command line that reproduces start's verdict: same directory, same node. */
export function checkCommand(opts: Pick<CommonOptions, 'configDir' | 'node'>): string {
  const args = ['hbd', 'check', '-c', opts.configDir, ...(opts.node === undefined ? [] : ['--node', opts.node])];
  return args.map(shellQuote).join(' ');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

async function run(opts: StartOptions): Promise<number> {
  const { config, diagnostics } = loadConfig(opts.configDir, { node: opts.node, hostChecks: 'error' });
  for (const d of sortDiagnostics(diagnostics)) {
    if (d.severity !== 'note') process.stderr.write(formatDiagnostic(d) + '\n');
  }
  if (!config || hasErrors(diagnostics)) {
    process.stderr.write(`hbd: not started: ${opts.configDir} has errors (run \`${checkCommand(opts)}\` for the details)\n`);
    return EXIT_FAILURE;
  }
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config, stateDir: opts.stateDir, runDir: opts.runDir, logStderr: opts.stderr });
  } catch (e) {
    process.stderr.write(`hbd: not started: ${(e as Error).message}\n`);
    return EXIT_FAILURE;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      void daemon.stop(signal).then(() => resolve(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK));
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    process.on('SIGHUP', () => daemon.reopenLogs());
  });
}

export function register(program: Command): void {
  const cmd = program
    .command('start')
    .description('run the cluster daemon in the foreground (as root) until SIGTERM or SIGINT')
    .option('--no-stderr', 'do not copy log lines to stderr')
    .addHelpText(
      'after',
      `
Logs go to ha.cf's logfile / debugfile / logfacility, and to stderr unless --no-stderr.
Exit status: 0 after a clean shutdown; 1 when the configuration is invalid, a medium
cannot be opened, or the daemon stopped itself (e.g. its JavaScript side stalled).`,
    );
  withStateDir(withRunDir(withNode(withConfigDir(cmd)))).action(async (opts: StartOptions) => {
    process.exitCode = await run(opts);
  });
}
