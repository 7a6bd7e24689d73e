// One real heartbeat 3.0.6 (Debian's package) as a lab node, the reference peer of the interop
// tests. heartbeat reads /etc/ha.d and writes /var/lib/heartbeat, /var/run/heartbeat and
// /var/run/heartbeat.pid, all shared with the host; each instance therefore runs in a private
// mount namespace where node-owned directories are bind-mounted over those paths (over all of
// /run, for the pid file), and in a private UTS namespace whose hostname is the node's name
// (heartbeat takes its node name from uname -n). Nothing outside the lab directory is written.

import * as fs from 'node:fs';
import * as path from 'node:path';

import type { LabNode } from './lab';
import type { ExitInfo, LabProcess } from './process';
import { findExecutable, run, type RunOptions, type RunResult } from './tools';

export const HEARTBEAT_BINARY = '/usr/libexec/heartbeat/heartbeat';

export interface HeartbeatConfig {
  /** ha.cf without logfile/debugfile/logfacility/use_logd: startHeartbeat sets those itself. */
  haCf: string;
  authkeys: string;
  haresources?: string;
  /** Extra scripts for ha.d/resource.d (name → text, mode 755), e.g. an LSB service of the test. */
  resourceScripts?: Record<string, string>;
}

/** Where one node's heartbeat keeps its private copies of the shared paths. */
export interface HeartbeatDirs {
  /** Bind-mounted over /etc/ha.d. */
  haD: string;
  /** Bind-mounted over /var/lib/heartbeat; kept across restarts (hb_generation, hb_uuid). */
  lib: string;
  /** Bind-mounted over /run (so /var/run/heartbeat and /var/run/heartbeat.pid). */
  run: string;
}

export interface StopOptions {
  /**
   * SIGTERM (default): to the master control process only, which runs heartbeat's orderly
   * shutdown and stops its own children. SIGKILL: to every heartbeat process at once, a crash.
   */
  signal?: 'SIGTERM' | 'SIGKILL';
  /** How long a SIGTERM shutdown may take before everything is SIGKILLed (default 20 s). */
  graceMs?: number;
}

// Tools the wrapper needs besides `ip`, with the Debian package that ships each.
const WRAPPER_TOOLS = { unshare: 'util-linux', nsenter: 'util-linux', mount: 'mount', hostname: 'hostname', sh: 'dash' } as const;
// The package's own files in /etc/ha.d that heartbeat runs (harc → rc.d hooks, resource scripts).
const PACKAGE_HA_D = ['harc', 'shellfuncs', 'rc.d', 'resource.d', 'README.config'];
// Directives that would send heartbeat's log outside the node's directory (or to ha_logd).
const LOG_DIRECTIVES = ['logfile', 'debugfile', 'logfacility', 'use_logd'];
// heartbeat chdirs into cores/<user> of each user it runs as.
const CORE_USERS = ['root', 'hacluster', 'nobody'];
const STARTED_MS = 15_000;
const GONE_MS = 5_000;

// $1 hostname, $2 ha.d, $3 lib, $4 run, $5 heartbeat binary. -f keeps heartbeat in the
// foreground, so the lab's PID is the master control process's.
const WRAPPER = [
  'set -e',
  'hostname "$1"',
  'mount --bind "$2" /etc/ha.d',
  'mount --bind "$3" /var/lib/heartbeat',
  'mount --bind "$4" /run',
  'exec "$5" -f',
].join('\n');

interface NodeState {
  starts: number;
  current: LabProcess | null;
}
const nodes = new WeakMap<LabNode, NodeState>();

/**
 * Null when a real heartbeat can run here, else why not. Under CI=true always null: CI installs
 * heartbeat (.ci/run), and a missing one must fail the run (startHeartbeat says what is missing).
 */
export function heartbeatSkipReason(): string | null {
  if (process.env.CI === 'true') return null;
  return missingPieces();
}

function missingPieces(): string | null {
  if (!fs.existsSync(HEARTBEAT_BINARY)) {
    return `heartbeat is not installed (${HEARTBEAT_BINARY} is missing): apt-get install heartbeat, with a /usr/sbin/policy-rc.d that exits 101 so that its service does not start on this machine (as .ci/run does)`;
  }
  for (const [name, pkg] of Object.entries(WRAPPER_TOOLS)) {
    if (!findExecutable(name)) return `\`${name}\` not found on PATH: apt-get install ${pkg}`;
  }
  return null;
}

export function heartbeatDirs(node: LabNode): HeartbeatDirs {
  const root = path.join(node.dirs.root, 'heartbeat');
  return { haD: path.join(root, 'ha.d'), lib: path.join(root, 'lib'), run: path.join(root, 'run') };
}

/** Throws naming the directive when ha.cf would log outside the node's directory. */
function checkHaCf(haCf: string, where: string): void {
  for (const raw of haCf.split('\n')) {
    const name = raw.replace(/#.*/, '').trim().split(/[\s,]+/, 1)[0];
    if (LOG_DIRECTIVES.includes(name)) {
      throw new TypeError(`${where}: ha.cf must not set ${name} (line "${raw.trim()}"): startHeartbeat writes heartbeat's log into the node's logs directory itself`);
    }
  }
}

/** uid of each user in /etc/passwd (heartbeat's package creates hacluster). */
function uids(): Map<string, number> {
  const text = fs.readFileSync('/etc/passwd', 'utf8');
  return new Map(
    text
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]))
      .map((f) => [f[0], Number(f[2])]),
  );
}

/** The private /var/lib/heartbeat skeleton, once per node: later starts keep its state. */
function prepareLib(lib: string): void {
  if (fs.existsSync(lib)) return;
  const owners = uids();
  for (const user of CORE_USERS) {
    const dir = path.join(lib, 'cores', user);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = owners.get(user);
    if (uid !== undefined) fs.chownSync(dir, uid, 0);
  }
}

function writeHaD(dirs: HeartbeatDirs, cfg: HeartbeatConfig, logs: { log: string; debug: string }): void {
  fs.rmSync(dirs.haD, { recursive: true, force: true });
  fs.mkdirSync(dirs.haD, { recursive: true });
  for (const entry of PACKAGE_HA_D) {
    const from = path.join('/etc/ha.d', entry);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dirs.haD, entry), { recursive: true });
  }
  const logLines = [`logfile ${logs.log}`, `debugfile ${logs.debug}`, 'use_logd no', ''].join('\n');
  fs.writeFileSync(path.join(dirs.haD, 'ha.cf'), logLines + cfg.haCf);
  // heartbeat refuses an authkeys file readable by others.
  fs.writeFileSync(path.join(dirs.haD, 'authkeys'), cfg.authkeys, { mode: 0o600 });
  fs.writeFileSync(path.join(dirs.haD, 'haresources'), cfg.haresources ?? '');
  for (const [name, text] of Object.entries(cfg.resourceScripts ?? {})) {
    if (!/^[\w.-]+$/.test(name)) throw new TypeError(`resourceScripts: ${JSON.stringify(name)} is not a plain file name`);
    fs.writeFileSync(path.join(dirs.haD, 'resource.d', name), text, { mode: 0o755 });
  }
}

/** The last lines of a log file under a "--- <path>:" header, for assertion messages. */
export function fileTail(file: string | null, lines = 25): string {
  let text = '(not written)';
  try {
    if (file) text = fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n').trim() || '(empty)';
  } catch {
    // not written yet
  }
  return `--- ${file ?? '(no file)'}:\n${text}`;
}

/** What a failed start left behind: stderr, stdout and heartbeat's log. */
function heartbeatOutput(p: LabProcess): string {
  return [p.stderrPath, p.stdoutPath, p.logFile].map((f) => fileTail(f, 15)).join('\n');
}

/**
 * Starts heartbeat as `node` with its own /etc/ha.d, /var/lib/heartbeat and /run, and resolves
 * once it has set its status to up (it is then sending). Its log is dirs.logs/heartbeat-<k>.log
 * (and .debug), k counting the starts on this node; the handle's logFile is that log. Restarts
 * keep /var/lib/heartbeat, so heartbeat's generation goes up as on a real machine.
 */
export async function startHeartbeat(node: LabNode, cfg: HeartbeatConfig): Promise<LabProcess> {
  const where = `startHeartbeat(${node.name})`;
  const missing = missingPieces();
  if (missing) throw new Error(`${where}: ${missing}`);
  checkHaCf(cfg.haCf, where);
  const state = nodes.get(node) ?? { starts: 0, current: null };
  nodes.set(node, state);
  if (state.current?.running) throw new Error(`${where}: heartbeat is already running there (pid ${state.current.pid}); stopHeartbeat it first`);

  const dirs = heartbeatDirs(node);
  const k = ++state.starts;
  const logs = { log: path.join(node.dirs.logs, `heartbeat-${k}.log`), debug: path.join(node.dirs.logs, `heartbeat-${k}.debug`) };
  prepareLib(dirs.lib);
  writeHaD(dirs, cfg, logs);
  fs.mkdirSync(path.join(dirs.run, 'heartbeat'), { recursive: true });
  fs.mkdirSync(path.join(dirs.run, 'lock'), { recursive: true });
  // The OCF agents' HA_RSCTMP (IPaddr keeps its per-interface alias counts there).
  fs.mkdirSync(path.join(dirs.run, 'resource-agents'), { recursive: true });
  // The previous instance has been reaped (it is not running), so its pid file is stale.
  fs.rmSync(path.join(dirs.run, 'heartbeat.pid'), { force: true });

  const tool = (name: keyof typeof WRAPPER_TOOLS): string => findExecutable(name)!;
  const p = await node.spawn(
    [tool('unshare'), '--mount', '--uts', '--propagation', 'private', tool('sh'), '-c', WRAPPER, 'sh', node.name, dirs.haD, dirs.lib, dirs.run, HEARTBEAT_BINARY],
    { name: 'heartbeat', logFile: logs.log },
  );
  state.current = p;
  try {
    await p.waitFor(/info: Local status now set to: 'up'/, STARTED_MS);
  } catch (e) {
    await stopHeartbeat(p, { signal: 'SIGKILL' }).catch(() => undefined);
    throw new Error(`${where}: heartbeat did not come up: ${(e as Error).message.split('\n')[0]}\n${heartbeatOutput(p)}`);
  }
  return p;
}

/**
 * Runs argv inside a running heartbeat's namespaces (mount, UTS, network: nsenter -t PID -m -u -n),
 * where its /etc/ha.d, /var/lib/heartbeat and /run are the node's own: cl_status, hb_standby and
 * the resource scripts talk to this heartbeat there and nowhere else. Bounded (default 20 s).
 */
export function inHeartbeat(p: LabProcess, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!p.running) throw new Error(`inHeartbeat(${p.name}): heartbeat (pid ${p.pid}) is not running`);
  const nsenter = findExecutable('nsenter');
  if (!nsenter) throw new Error('`nsenter` not found on PATH: apt-get install util-linux');
  return run([nsenter, '-t', String(p.pid), '-m', '-u', '-n', '--', ...argv], { timeoutMs: 20_000, ...opts });
}

/** Live (non-zombie) processes whose process group is pgid: heartbeat and what it forked. */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/**
 * Stops heartbeat (see StopOptions) and resolves with its exit once it and every process of its
 * group are gone; rejects naming the survivors otherwise.
 */
export async function stopHeartbeat(p: LabProcess, opts: StopOptions = {}): Promise<ExitInfo> {
  const signal = opts.signal ?? 'SIGTERM';
  if (signal === 'SIGKILL') p.signalGroup('SIGKILL');
  else p.kill('SIGTERM');
  if (!(await p.exitWithin(signal === 'SIGKILL' ? GONE_MS : opts.graceMs ?? 20_000))) {
    p.signalGroup('SIGKILL');
    await p.exitWithin(GONE_MS);
  }
  // After the master process, its children: with a SIGKILLed master they linger until they
  // notice (about 2 s) unless they were killed with it.
  const deadline = Date.now() + GONE_MS;
  let left = groupMembers(p.pid);
  while (left.length > 0 && Date.now() < deadline) {
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 50));
    left = groupMembers(p.pid);
  }
  const exit = p.exitInfo;
  if (!exit || left.length > 0) {
    throw new Error(`${p.name} (pid ${p.pid}): still running after ${signal} and SIGKILL: ${[...(exit ? [] : [p.pid]), ...left].join(', ')}`);
  }
  return exit;
}
