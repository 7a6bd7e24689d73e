// `hbd` entry point: one commander program, one module per subcommand under lib/cli/.
import { Command, CommanderError } from 'commander';

import { register as registerCheck } from './check';
import { register as registerClStatus } from './cl-status';
import { register as registerDecode } from './decode';
import { register as registerExport } from './export';
import { register as registerInstallService } from './install-service';
import { register as registerResource } from './resource';
import { EXIT_USAGE } from './options';
import { register as registerReload } from './reload';
import { register as registerStandby } from './standby';
import { register as registerStart } from './start';
import { register as registerStatus } from './status';
import { register as registerStop } from './stop';
import { version } from '../version';

type Register = (program: Command) => void;

/** Every subcommand module exports `register`; the order here is the order in `--help`. */
const subcommands: Register[] = [registerStart, registerStop, registerStatus, registerReload, registerStandby, registerClStatus, registerCheck, registerResource, registerDecode, registerExport, registerInstallService];

export function buildProgram(): Command {
  const program = new Command('hbd')
    .description('hbd: a drop-in reimplementation of the Linux-HA Heartbeat cluster daemon')
    .version(version(), '-V, --version', 'print the hbd version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit status: 0 success; 1 failure (invalid configuration, a failed packet, ...);
2 usage error or unreadable input.

Environment:
  HBD_TRANSPORT=native|ts|auto  which packet core to use (default auto: native if it loads)
  HBD_REQUIRE_NATIVE=1          a missing native addon is an error instead of a fallback`,
    )
    .exitOverride();
  for (const register of subcommands) register(program);
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`hbd: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
}
