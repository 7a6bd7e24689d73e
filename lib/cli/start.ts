// `hbd start`: run the daemon in the foreground until SIGTERM/SIGINT, or with --daemon in the
// background once it is up.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command, InvalidArgumentError } from 'commander';

import { formatDiagnostic, hasErrors, sortDiagnostics } from '../config/diagnostics';
import { loadConfig } from '../config/load';
import type { ClusterConfig } from '../config/types';
import { alreadyRunningMessage, Daemon, runningPid } from '../daemon';
import { formatMetricsAddress, parseMetricsAddress, type MetricsAddress } from '../metrics/address';
import { describeMissing, missing, readEffectiveCapabilities } from '../service/capabilities';
import { EXIT_FAILURE, EXIT_OK, withConfigDir, withNode, withRunDir, withStateDir, type CommonOptions } from './options';

interface StartOptions extends CommonOptions {
  stderr: boolean;
  daemon?: boolean;
  metrics?: MetricsAddress;
}

/** Set in the detached child of `--daemon`: the fd to write `ready` to once the daemon is up. */
const READY_FD_ENV = 'HBD_READY_FD';

/** The `hbd check` command line that reproduces start's verdict: same directory, same node. */
export function checkCommand(opts: Pick<CommonOptions, 'configDir' | 'node'>): string {
  const args = ['hbd', 'check', '-c', opts.configDir, ...(opts.node === undefined ? [] : ['--node', opts.node])];
  return args.map(shellQuote).join(' ');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

const err = (s: string): void => void process.stderr.write(s);

/** Everything that must hold before anything is opened; null with the reasons printed when not. */
function preflight(opts: StartOptions): ClusterConfig | null {
  const { config, diagnostics } = loadConfig(opts.configDir, { node: opts.node, hostChecks: 'error' });
  for (const d of sortDiagnostics(diagnostics)) {
    if (d.severity !== 'note') err(formatDiagnostic(d) + '\n');
  }
  if (!config || hasErrors(diagnostics)) {
    err(`hbd: not started: ${opts.configDir} has errors (run \`${checkCommand(opts)}\` for the details)\n`);
    return null;
  }
  const lacking = missing(config, readEffectiveCapabilities());
  for (const n of lacking) err(`hbd: ${n.severity === 'error' ? '' : 'warning: '}${describeMissing(n)}\n`);
  if (lacking.some((n) => n.severity === 'error')) {
    err('hbd: not started: missing capabilities (above)\n');
    return null;
  }
  const other = runningPid(opts.runDir);
  if (other !== null) {
    err(`hbd: not started: ${alreadyRunningMessage(other, opts.runDir)}\n`);
    return null;
  }
  const l = config.logging;
  if (opts.daemon && !l.logfile && !l.debugfile && !l.facility) {
    err(`hbd: not started: with --daemon there is no terminal to log to: set logfile, debugfile or logfacility in ${config.files.haCf}\n`);
    return null;
  }
  return config;
}

async function runForeground(opts: StartOptions): Promise<number> {
  const config = preflight(opts);
  if (!config) return EXIT_FAILURE;
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config, stateDir: opts.stateDir, runDir: opts.runDir, logStderr: opts.stderr, metrics: opts.metrics ?? config.metrics });
  } catch (e) {
    err(`hbd: not started: ${(e as Error).message}\n`);
    return EXIT_FAILURE;
  }
  signalReady();
  const shutdown = (signal: NodeJS.Signals) => void daemon.stop(signal);
  const reload = () => void daemon.reload();
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // heartbeat: SIGHUP re-reads the configuration (and logrotate's HUP reopens the files).
  process.on('SIGHUP', reload);
  const status = await daemon.stopped;
  process.off('SIGTERM', shutdown);
  process.off('SIGINT', shutdown);
  process.off('SIGHUP', reload);
  return status;
}

/** In the child of --daemon: tell the waiting parent that the media are open, then let go of it. */
function signalReady(): void {
  const fd = Number(process.env[READY_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  fs.writeSync(fd, `ready ${process.pid}\n`);
  fs.closeSync(fd);
  delete process.env[READY_FD_ENV];
  // The parent exits now, taking the read end of our stderr with it: later writes must not kill us.
  process.stderr.on('error', () => undefined);
}

/**
 * --daemon: the checks run here, then a detached copy of this command (its own session, stdin and
 * stdout on /dev/null) starts the daemon; its stderr is relayed until it reports ready on fd 3, so
 * start-up errors still reach the terminal and the exit status says whether the daemon is up.
 */
async function runDaemonized(opts: StartOptions): Promise<number> {
  if (!preflight(opts)) return EXIT_FAILURE;
  // Absolute paths: the daemon runs in / so that it holds no mount busy.
  const abs = (p: string) => path.resolve(p);
  const args = [abs(process.argv[1]), 'start', '-c', abs(opts.configDir), '--state-dir', abs(opts.stateDir), '--run-dir', abs(opts.runDir), ...(opts.node === undefined ? [] : ['--node', opts.node]), ...(opts.metrics === undefined ? [] : ['--metrics', formatMetricsAddress(opts.metrics)]), '--no-stderr'];
  const child = spawn(process.execPath, [...process.execArgv, ...args], {
    detached: true,
    cwd: '/',
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: '3' },
  });
  child.stderr!.on('data', (b: Buffer) => process.stderr.write(b));
  return new Promise<number>((resolve) => {
    let said = '';
    let settled = false;
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    ready.on('data', (b: Buffer) => {
      said += b.toString('latin1');
      const m = /^ready (\d+)\n/.exec(said);
      if (!m || settled) return;
      settled = true;
      child.stderr!.destroy();
      (ready as unknown as { destroy(): void }).destroy();
      child.unref();
      process.stdout.write(`hbd started in the background (pid ${m[1]}, pid file ${opts.runDir}/hbd.pid)\n`);
      resolve(EXIT_OK);
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      err(`hbd: not started: the daemon exited during start-up (${signal ?? `status ${code}`})\n`);
      resolve(EXIT_FAILURE);
    });
  });
}

function metricsOption(text: string): MetricsAddress {
  const r = parseMetricsAddress(text);
  if (!r.ok) throw new InvalidArgumentError(`${r.message}: ${r.hint}`);
  return r.value;
}

export function register(program: Command): void {
  const cmd = program
    .command('start')
    .description('run the cluster daemon (as root) in the foreground until SIGTERM or SIGINT, or in the background with --daemon')
    .option('--no-stderr', 'do not copy log lines to stderr')
    .option('--daemon', 'detach once the media are open (the exit status says whether it started); stop it with hbd stop')
    .option('--metrics <[addr:]port>', 'serve Prometheus metrics at http://ADDR:PORT/metrics (default address 127.0.0.1); overrides ha.cf hbd_metrics', metricsOption)
    .addHelpText(
      'after',
      `
Logs go to ha.cf's logfile / debugfile / logfacility, and to stderr unless --no-stderr.
SIGHUP re-reads the configuration (like hbd reload) and reopens the log files.
A second daemon on the same --run-dir is refused (pid file <run-dir>/hbd.pid). Without root,
the missing capability (CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE) is named.
Exit status: 0 after a clean shutdown (--daemon: the daemon is up); 1 when the configuration
is invalid, a capability is missing, hbd already runs, a medium cannot be opened, or the
daemon stopped itself (e.g. its JavaScript side stalled).`,
    );
  withStateDir(withRunDir(withNode(withConfigDir(cmd)))).action(async (opts: StartOptions) => {
    process.exitCode = opts.daemon ? await runDaemonized(opts) : await runForeground(opts);
  });
}
