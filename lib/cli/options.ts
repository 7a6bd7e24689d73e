// Options shared by the subcommands, defined once so every command spells and
// documents them the same way.
import { Command, Option } from 'commander';

export const DEFAULT_CONFIG_DIR = '/etc/ha.d';
export const DEFAULT_STATE_DIR = '/var/lib/hbd';
export const DEFAULT_RUN_DIR = '/run/hbd';

export interface CommonOptions {
  configDir: string;
  node?: string;
  stateDir: string;
  runDir: string;
}

/** Exit codes used by every subcommand (documented in `hbd --help`). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function withConfigDir(cmd: Command): Command {
  return cmd.addOption(new Option('-c, --config-dir <dir>', 'heartbeat configuration directory (ha.cf, authkeys, haresources)').default(DEFAULT_CONFIG_DIR));
}

export function withNode(cmd: Command): Command {
  return cmd.addOption(new Option('--node <name>', "this node's name (default: /etc/ha.d/nodeinfo, else `uname -n`)"));
}

export function withStateDir(cmd: Command): Command {
  return cmd.addOption(new Option('--state-dir <dir>', 'persistent state (generation, UUID)').default(DEFAULT_STATE_DIR));
}

export function withRunDir(cmd: Command): Command {
  return cmd.addOption(new Option('--run-dir <dir>', 'runtime files (pid file, control socket)').default(DEFAULT_RUN_DIR));
}
