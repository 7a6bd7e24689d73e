// `hbd resource start|stop|status RESOURCE…`: run an action by hand as heartbeat's
// ResourceManager would, one haresources token per argument, and print what was done.
import * as os from 'node:os';

import { Command, InvalidArgumentError } from 'commander';

import { parseResourceText } from '../config/haresources';
import { loadConfig } from '../config/load';
import type { Resource as ResourceDecl } from '../config/types';
import { Logger } from '../log/logger';
import type { AddressBackend } from '../resources/address';
import { DEFAULT_TIMEOUTS, type ActionTimeouts } from '../resources/command-action';
import { GroupRunner } from '../resources/group';
import type { ResourceLog } from '../resources/log';
import { createResource, selectAddressBackend } from '../resources/registry';
import { haEnvironment } from '../resources/script';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, withConfigDir, withNode } from './options';

/** `status`: at least one resource is not running (the LSB status code). */
export const EXIT_NOT_RUNNING = 3;

const ACTIONS = ['start', 'stop', 'status'] as const;
type Action = (typeof ACTIONS)[number];

export interface ResourceCliOptions {
  configDir: string;
  node?: string;
  timeout?: number;
}

export interface ResourceCliIo {
  out(s: string): void;
  err(s: string): void;
  /** The address backend (tests pass one bound to a namespace). */
  backend?: AddressBackend;
  env?: NodeJS.ProcessEnv;
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > 86_400) throw new InvalidArgumentError('expected seconds, more than 0 and at most 86400');
  return n;
}

export function register(program: Command): void {
  const cmd = new Command('resource')
    .description('start, stop or ask the status of haresources resources by hand, as heartbeat\'s ResourceManager does')
    .argument('<action>', 'start | stop | status')
    .argument('<resource...>', 'haresources resources: IPaddr::198.18.0.100/24/eth0, 198.18.0.100, IPaddr2::…, IPv6addr::…, systemd::nginx, SCRIPT[::ARG…]')
    .option('--timeout <seconds>', 'bound every script/systemctl action (default: start/stop 120, status 30)', parseSeconds)
    .addHelpText(
      'after',
      `
start acquires the resources left to right as a group (a running one is left alone; a failed
start gives up the ones already started), stop releases them right to left (a failed stop is
retried 10 times, 1 s apart), status asks each one. Scripts are looked up in <dir>/resource.d,
then /etc/init.d, and get heartbeat's environment (HA_* from ha.cf, its env directives).

Exit status: 0 done (status: every resource is running); 1 an action failed;
2 usage error or an invalid resource; 3 status: a resource is not running.`,
    )
    .action(async (action: string, resources: string[], opts: ResourceCliOptions) => {
      process.exitCode = await runResource(action, resources, opts, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
    });
  program.addCommand(withNode(withConfigDir(cmd)));
}

/** Log lines go to stderr as `level: message` (heartbeat's texts), results to stdout. */
function stderrLog(err: (s: string) => void): ResourceLog {
  const line = (level: string) => (m: string) => err(`${level}: ${m}\n`);
  return { info: line('info'), warn: line('WARN'), error: line('ERROR'), crit: line('CRIT'), debug: (n, m) => void (n === 0 && err(`debug: ${m}\n`)) };
}

export async function runResource(action: string, tokens: readonly string[], opts: ResourceCliOptions, io: ResourceCliIo): Promise<number> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    io.err(`hbd resource: unknown action [${action}]\n    hint: use one of: ${ACTIONS.join(', ')}\n`);
    return EXIT_USAGE;
  }
  const decls: ResourceDecl[] = [];
  for (const t of tokens) {
    const r = parseResourceText(t, 0);
    if (!r.ok) {
      io.err(`hbd resource: ${r.message}${r.hint ? `\n    hint: ${r.hint}` : ''}\n`);
      return EXIT_USAGE;
    }
    decls.push(r.value);
  }
  const loaded = loadConfig(opts.configDir, { node: opts.node, hostChecks: 'warn' });
  const cfg = loaded.config;
  if (cfg === null) io.err(`hbd resource: note: ${opts.configDir} is not a valid configuration (see \`hbd check -c ${opts.configDir}\`): scripts get a minimal environment\n`);
  const env = haEnvironment(
    cfg ?? { configDir: opts.configDir, localNode: (opts.node ?? os.hostname()).toLowerCase(), logging: { logfile: null, debugfile: null, facility: null, debugLevel: 0, logBadPacket: false, syslogMsgFmt: true }, env: [] },
  );
  // As ResourceManager run by hand, the actions also go to ha.cf's logs.
  const logger = cfg ? new Logger(cfg.localNode, { logfile: cfg.logging.logfile, debugfile: cfg.logging.debugfile, facility: cfg.logging.facility, debugLevel: cfg.logging.debugLevel }) : null;
  const log = logger ? tee(stderrLog(io.err), logger) : stderrLog(io.err);
  const timeouts: ActionTimeouts = opts.timeout === undefined ? DEFAULT_TIMEOUTS : { start: opts.timeout * 1000, stop: opts.timeout * 1000, status: opts.timeout * 1000 };
  const transport = (io.env ?? process.env).HBD_TRANSPORT === 'ts' ? 'ts' : 'native';
  const backend = io.backend ?? selectAddressBackend(transport);
  const resources = decls.map((d) => createResource(d, { configDir: opts.configDir, env, backend, log, timeouts }));
  const runner = new GroupRunner({ key: tokens[0], node: cfg?.localNode ?? env.HA_CURHOST, resources }, { log });
  try {
    return await runAction(action as Action, runner, io);
  } finally {
    await logger?.close();
  }
}

function tee(a: ResourceLog, b: ResourceLog): ResourceLog {
  return {
    info: (m) => (a.info(m), b.info(m)),
    warn: (m) => (a.warn(m), b.warn(m)),
    error: (m) => (a.error(m), b.error(m)),
    crit: (m) => (a.crit(m), b.crit(m)),
    debug: (n, m) => (a.debug(n, m), b.debug(n, m)),
  };
}

async function runAction(action: Action, runner: GroupRunner, io: ResourceCliIo): Promise<number> {
  const results = new Map<string, string[]>();
  const note = (res: string, text: string): void => void results.set(res, [...(results.get(res) ?? []), text]);
  const print = (): void => {
    for (const [res, lines] of results) io.out(`${res}: ${lines.join('; ')}\n`);
  };
  if (action === 'status') {
    const s = await runner.status();
    for (const r of runner.group.resources) note(r.text, s.running.includes(r.text) ? 'running' : 'not running');
    print();
    return s.status === 'ALL' ? EXIT_OK : EXIT_NOT_RUNNING;
  }
  if (action === 'start') {
    const o = await runner.acquire();
    for (const r of o.alreadyRunning) note(r, 'already running');
    for (const r of o.started) note(r, 'started');
    if (o.failed) note(o.failed, 'start FAILED');
    for (const r of o.release?.stopped ?? []) note(r, 'stopped (giving up the group)');
    for (const r of o.release?.stopFailures ?? []) note(r, 'stop FAILED, still running');
    print();
    return o.ok ? EXIT_OK : EXIT_FAILURE;
  }
  const o = await runner.release();
  for (const r of o.stopped) note(r, 'stopped');
  for (const r of o.stopFailures) note(r, 'stop FAILED, still running');
  print();
  return o.ok ? EXIT_OK : EXIT_FAILURE;
}
