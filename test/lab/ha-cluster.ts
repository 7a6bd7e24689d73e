// A cluster of `hbd start` daemons in the netns lab with one haresources group — a virtual IP and
// an LSB service whose state is a file per node — and the checks on it: who holds the VIP (the
// namespaces' addresses) and the service (the state files). Used by the fault campaign, the soak
// test and bench/soak.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { statusField } from '../../lib/metrics/process';
import { haLogPath, logOf } from './ha-log';
import type { Lab, LabNode } from './lab';
import type { LabProcess } from './process';
import { ipIn, run, tool } from './tools';

export type Kind = 'native' | 'ts';

export const VIP = '198.18.0.100';
const HBD = path.resolve(__dirname, '..', '..', '..', 'bin', 'hbd');

export interface ClusterOptions {
  autoFailback: 'on' | 'off' | 'legacy';
  keepalive?: string;
  deadtime?: string;
  warntime?: string;
  initdead?: string;
  /** Nodes in ha.cf (default: every lab node). */
  nodes?: number;
  /** ha.cf lines added at the end. */
  extra?: string[];
  /** The service script's commands for `start` and `stop` (default: touch / remove the state file). */
  serviceStart?: string;
  serviceStop?: string;
  /** haresources line after the node name (default: the VIP and websvc). */
  resources?: string;
  /** Overrides ha.cf's logfile (default: the node's ha-log). */
  logfile?: string;
}

export function haCf(lab: Lab, o: ClusterOptions, logFile: string): string {
  const count = o.nodes ?? lab.nodes.length;
  return [
    `logfile ${o.logfile ?? logFile}`,
    'debug 0',
    `keepalive ${o.keepalive ?? '100ms'}`,
    `deadtime ${o.deadtime ?? '1000ms'}`,
    `warntime ${o.warntime ?? '500ms'}`,
    `initdead ${o.initdead ?? '3000ms'}`,
    'udpport 694',
    'bcast eth0',
    `auto_failback ${o.autoFailback}`,
    'realtime off',
    ...Array.from({ length: count }, (_, i) => `node ${lab.node(i + 1).name}`),
    ...(o.extra ?? []),
    '',
  ].join('\n');
}

/** One state file per node: the service "runs" on a node while its file exists. */
export function serviceState(node: LabNode): string {
  return path.join(node.dirs.root, 'lsb-svc.state');
}

/** An LSB init script whose service is a state file: status texts as LSB scripts print them. */
export function lsbScript(state: string, start = 'touch "$state"', stop = 'rm -f "$state"'): string {
  return [
    '#!/bin/sh',
    `state='${state}'`,
    'case "$1" in',
    `  start) echo "Starting websvc"; ${start} ;;`,
    `  stop) echo "Stopping websvc"; ${stop} ;;`,
    '  status) if [ -e "$state" ]; then echo "websvc is running"; else echo "websvc is not running"; exit 3; fi ;;',
    '  *) echo "Usage: $0 {start|stop|status}" >&2; exit 2 ;;',
    'esac',
    'exit 0',
    '',
  ].join('\n');
}

export function serviceRunning(node: LabNode): boolean {
  return fs.existsSync(serviceState(node));
}

/** Writes the node's configuration (ha.cf, authkeys, haresources, resource.d/websvc). */
export function configure(lab: Lab, node: LabNode, o: ClusterOptions): void {
  const resourceD = path.join(node.dirs.config, 'resource.d');
  fs.mkdirSync(resourceD, { recursive: true });
  fs.writeFileSync(path.join(resourceD, 'websvc'), lsbScript(serviceState(node), o.serviceStart, o.serviceStop), { mode: 0o755 });
  node.writeConfig({
    haCf: haCf(lab, o, haLogPath(node)),
    authkeys: 'auth 1\n1 sha1 fault-campaign-secret\n',
    haresources: `${lab.node(1).name} ${o.resources ?? `IPaddr::${VIP}/24/eth0 websvc`}\n`,
  });
}

export function hbdEnv(kind: Kind): NodeJS.ProcessEnv {
  return kind === 'native' ? { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' } : { HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: '/nonexistent-hbd-addon', HBD_REQUIRE_NATIVE: '0' };
}

/**
 * Starts `hbd start` on node (configured first). `wrap` goes before the program (e.g. `env
 * LD_PRELOAD=…`, `unshare --mount …`); `nodeFlags` go to node before the script (V8 flags, which
 * NODE_OPTIONS mostly refuses); `env` is added to its environment.
 */
export async function startNode(lab: Lab, node: LabNode, kind: Kind, o: ClusterOptions, more: { wrap?: string[]; nodeFlags?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<LabProcess> {
  configure(lab, node, o);
  const [nodeBin, ...script] = node.hbdArgv('start');
  return node.spawn([...(more.wrap ?? []), nodeBin!, ...(more.nodeFlags ?? []), ...script, '--no-stderr'], { env: { ...hbdEnv(kind), ...more.env }, logFile: haLogPath(node), name: `hbd-${kind}` });
}

export async function hasVip(node: LabNode): Promise<boolean> {
  const r = await ipIn(node.ns, ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${VIP}/24 `);
}

/** The nodes that hold the VIP or run the service (a correct cluster: at most one, holding both). */
export async function holders(nodes: readonly LabNode[]): Promise<{ vip: LabNode[]; service: LabNode[] }> {
  const vip: LabNode[] = [];
  for (const n of nodes) if (await hasVip(n)) vip.push(n);
  return { vip, service: nodes.filter(serviceRunning) };
}

/** Exactly `holder` holds both VIP and service (nobody with null). */
export async function heldBy(nodes: readonly LabNode[], holder: LabNode | null): Promise<boolean> {
  const h = await holders(nodes);
  const want = holder ? [holder] : [];
  return same(h.vip, want) && same(h.service, want);
}

/** The single node holding both VIP and service, or null (nobody, or more than one). */
export async function soleHolder(nodes: readonly LabNode[]): Promise<LabNode | null> {
  const h = await holders(nodes);
  return h.vip.length === 1 && same(h.service, h.vip) ? h.vip[0] : null;
}

function same(a: readonly LabNode[], b: readonly LabNode[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Polls until `pred` holds, at most `ms`; rejects with `what` and the nodes' log tails. */
export async function until(lab: Lab, what: string, ms: number, pred: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const tails = lab.nodes.map((n) => `--- ${n.name}\n${logOf(n).split('\n').slice(-30).join('\n')}`).join('\n');
  throw new Error(`${what}: not within ${ms} ms\n${tails}`);
}

/** A crashed machine's addresses go with it: what a reboot leaves of the killed node. */
export async function crash(node: LabNode, p: LabProcess): Promise<void> {
  p.kill('SIGKILL');
  await p.exited;
  await killNamespaceProcesses(node);
  await ipIn(node.ns, ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);
  fs.rmSync(serviceState(node), { force: true });
}

/**
 * What else a crashed machine loses: the processes hbd started there (a resource script halfway
 * through its start would otherwise finish after the "crash"). Only processes in the node's own
 * namespace, which this test run created, each by its PID.
 */
export async function killNamespaceProcesses(node: LabNode): Promise<void> {
  const r = await run([tool('ip'), 'netns', 'pids', node.ns]).catch(() => null);
  for (const pid of (r?.stdout ?? '').split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** `hbd ARGS` against node's control socket (bounded 20 s); never blocks the event loop. */
export function hbdIn(node: LabNode, args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', node.ns, process.execPath, HBD, ...args, '--run-dir', node.dirs.run], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (status) => resolve({ status, out }));
    child.on('error', (e) => resolve({ status: null, out: e.message }));
  });
}

/** VmRSS (kB), threads and open descriptors of a process, from /proc. */
export function procUsage(pid: number): { rssKb: number; threads: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: statusField(status, 'VmRSS'), threads: statusField(status, 'Threads'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}
