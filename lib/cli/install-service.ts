// `hbd install-service`: the one command that puts the packaged systemd unit (default) or SysV
// init script in place, pointing at this hbd, so that a package install needs no copying by hand.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command, Option } from 'commander';

import { describeErrno } from '../errors';
import { processIo, type Io } from './control';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './options';

interface InstallOptions {
  kind: 'systemd' | 'init';
  root?: string;
  hbd?: string;
  force?: boolean;
}

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');
/** The path the packaged files name; replaced with the real one when installed. */
const PACKAGED_HBD = '/usr/local/sbin/hbd';

interface Target {
  readonly source: string;
  readonly dest: string;
  readonly mode: number;
  /** Commands that activate it (skipped with --root), and what the operator runs next. */
  readonly activate: string[][];
  readonly next: string;
}

function target(kind: InstallOptions['kind']): Target {
  return kind === 'systemd'
    ? { source: 'packaging/hbd.service', dest: '/etc/systemd/system/hbd.service', mode: 0o644, activate: [['systemctl', 'daemon-reload']], next: 'systemctl enable --now hbd' }
    : { source: 'packaging/init.d/hbd', dest: '/etc/init.d/hbd', mode: 0o755, activate: [['update-rc.d', 'hbd', 'defaults']], next: '/etc/init.d/hbd start' };
}

/** The packaged file with this installation's hbd in place of the packaged path. */
export function serviceFile(kind: InstallOptions['kind'], hbd: string): string {
  const text = fs.readFileSync(path.join(PACKAGE_ROOT, target(kind).source), 'utf8');
  if (!text.includes(PACKAGED_HBD)) throw new Error(`${target(kind).source} does not name ${PACKAGED_HBD}`);
  return text.split(PACKAGED_HBD).join(hbd);
}

export function runInstallService(opts: InstallOptions, io: Io): number {
  const t = target(opts.kind);
  const hbd = path.resolve(opts.hbd ?? path.join(PACKAGE_ROOT, 'bin', 'hbd'));
  if (!fs.existsSync(hbd)) {
    io.err(`hbd install-service: ${hbd} does not exist: give the installed hbd with --hbd PATH\n`);
    return EXIT_USAGE;
  }
  const dest = path.join(opts.root ?? '/', t.dest);
  const text = serviceFile(opts.kind, hbd);
  try {
    const existing = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : null;
    if (existing !== null && existing !== text && !opts.force) {
      io.err(`hbd install-service: ${dest} exists and differs: give --force to replace it\n`);
      return EXIT_FAILURE;
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, text, { mode: t.mode });
    fs.chmodSync(dest, t.mode);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    io.err(`hbd install-service: ${describeErrno(e, err.syscall ?? 'write', err.path ?? dest)}${err.code === 'EACCES' ? ': run it as root' : ''}\n`);
    return EXIT_FAILURE;
  }
  io.out(`installed ${dest} (runs ${hbd})\n`);
  // Under --root the files are for another system image: nothing here is activated.
  if (opts.root === undefined) {
    for (const argv of t.activate) {
      const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.error || r.status !== 0) {
        io.err(`hbd install-service: ${argv.join(' ')} failed (${r.error ? describeErrno(r.error, 'spawn', argv[0]) : `exit ${r.status}`}); run it by hand\n`);
        return EXIT_FAILURE;
      }
    }
  }
  io.out(`next: hbd check, then ${t.next}\n`);
  return EXIT_OK;
}

export function register(program: Command): void {
  const cmd = new Command('install-service')
    .description('install the packaged systemd unit (or, with --init, the SysV init script) for this hbd')
    .addOption(new Option('--init', 'install the init script /etc/init.d/hbd (and run update-rc.d) instead of the systemd unit').default(false))
    .option('--root <dir>', 'install under DIR (a system image) and activate nothing')
    .option('--hbd <path>', "the hbd the service runs (default: this package's bin/hbd)")
    .option('--force', 'replace an existing file that differs')
    .addHelpText(
      'after',
      `
systemd: writes /etc/systemd/system/hbd.service and runs systemctl daemon-reload; enable it
with systemctl enable --now hbd. --init: writes /etc/init.d/hbd and runs update-rc.d hbd
defaults; settings go in /etc/default/hbd. Stop heartbeat first: both use UDP port 694.

Exit status: 0 installed; 1 a file differs (without --force), cannot be written, or the
activation failed; 2 usage error.`,
    )
    .action((opts: { init: boolean; root?: string; hbd?: string; force?: boolean }) => {
      process.exitCode = runInstallService({ kind: opts.init ? 'init' : 'systemd', root: opts.root, hbd: opts.hbd, force: opts.force }, processIo);
    });
  program.addCommand(cmd);
}
