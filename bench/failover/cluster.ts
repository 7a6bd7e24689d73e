// The two cluster nodes of a failover measurement: hbd daemons (native engine) or Debian's
// heartbeat 3.0.6, with one haresources group (a VIP) and auto_failback off, so that the group
// stays where it was taken over and the roles alternate between trials. Each node also runs
// `ip -ts monitor address` (SCHED_FIFO, so CPU load does not delay its stamps) in its namespace:
// the moment the kernel added the VIP, measured the same way for hbd and heartbeat.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { startHeartbeat, stopHeartbeat } from '../../test/lab/heartbeat';
import type { Lab, LabNode } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import { ipIn } from '../../test/lab/tools';
import type { Timing } from '../detection/config';

export type Implementation = 'hbd' | 'heartbeat';

export const VIP = '198.18.0.100';
export const SECRET = 'failover-bench-secret';
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BLOCK_PRELOAD = path.join(REPO_ROOT, 'dist', 'bench', 'failover', 'block.js');
const START_MS = 20_000;
const SETTLE_MS = 30_000;

export interface ClusterOptions {
  readonly impl: Implementation;
  readonly timing: Timing;
  /** hbd only: the daemons' JavaScript blocked BLOCK.forMs of every BLOCK.everyMs. */
  readonly blockJs: boolean;
}

function haCf(lab: Lab, t: Timing): string {
  const initdead = Math.max(2 * t.deadtimeMs, 1000);
  return [
    `keepalive ${t.keepaliveMs}ms`, `deadtime ${t.deadtimeMs}ms`, `warntime ${t.deadtimeMs / 2}ms`, `initdead ${initdead}ms`,
    'udpport 694', 'bcast eth0', 'auto_failback off', 'realtime on',
    ...lab.nodes.map((n) => `node ${n.name}`), '',
  ].join('\n');
}

function textOf(file: string | null): string {
  try {
    return file ? fs.readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

/** One node: its daemon (restartable), its address monitor, and its log. */
export class ClusterNode {
  private proc: LabProcess | null = null;
  private monitor: LabProcess | null = null;
  private readonly logs: string[] = [];
  /** Date.now() when the daemon was last started. */
  startedAt = 0;

  constructor(
    readonly lab: Lab,
    readonly node: LabNode,
    private readonly o: ClusterOptions,
  ) {}

  get name(): string {
    return this.node.name;
  }

  log(): string {
    return this.logs.map(textOf).join('');
  }

  /** Stamped address events of this namespace: `ip -ts monitor address` output so far. */
  monitorText(): string {
    return textOf(this.monitor?.stdoutPath ?? null);
  }

  async startMonitor(): Promise<void> {
    this.monitor = await this.node.spawn(['chrt', '-f', '50', 'ip', '-ts', 'monitor', 'address', 'dev', 'eth0'], { name: 'ip-monitor', env: { TZ: 'UTC' } });
  }

  async stopMonitor(): Promise<void> {
    await this.monitor?.stop('SIGTERM', 2_000);
  }

  /**
   * Starts the daemon; with join, resolves once it has joined a running peer (its resource
   * exchange done), else once it runs (see joined()).
   */
  async start(join = true): Promise<void> {
    const mark = this.log().length;
    this.startedAt = Date.now();
    if (this.o.impl === 'hbd') {
      const logFile = path.join(this.node.dirs.logs, 'hbd.log');
      if (!this.logs.includes(logFile)) this.logs.push(logFile);
      this.node.writeConfig({ haCf: `logfile ${logFile}\n${haCf(this.lab, this.o.timing)}`, authkeys: `auth 1\n1 sha1 ${SECRET}\n`, haresources: `${this.lab.node(1).name} IPaddr::${VIP}/24/eth0\n` });
      const env: Record<string, string> = { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' };
      if (this.o.blockJs) env.NODE_OPTIONS = `--require ${BLOCK_PRELOAD}`;
      this.proc = await this.node.spawn([...this.node.hbdArgv('start'), '--no-stderr'], { env, logFile, name: 'hbd' });
    } else {
      this.proc = await startHeartbeat(this.node, { haCf: haCf(this.lab, this.o.timing), authkeys: `auth 1\n1 sha1 ${SECRET}\n`, haresources: `${this.lab.node(1).name} IPaddr::${VIP}/24/eth0\n` });
      this.logs.push(this.proc.logFile!);
    }
    if (join) await this.joined(mark);
  }

  /** Resolves once the log from mark on says the resource exchange with the peer is done. */
  async joined(mark = 0): Promise<void> {
    // Both implementations log heartbeat's texts: a node's exchange with a stable peer ends here.
    await this.proc!.waitFor(() => /remote resource transition completed/.test(this.log().slice(mark)), SETTLE_MS).catch((e: Error) => {
      throw new Error(`${this.node.name} ${this.o.impl}: did not join: ${e.message.split('\n')[0]}\n${this.log().slice(mark).split('\n').slice(-30).join('\n')}`);
    });
  }

  /** SIGKILL (every heartbeat process), then what a crashed machine leaves: not its VIP. */
  async crash(): Promise<void> {
    if (this.o.impl === 'hbd') {
      this.proc!.kill('SIGKILL');
      await this.proc!.exitWithin(START_MS);
    } else {
      await stopHeartbeat(this.proc!, { signal: 'SIGKILL' });
    }
    await ipIn(this.node.ns, ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);
  }

  /** The graceful stop: `hbd stop` (waits for the daemon to finish), heartbeat's SIGTERM. */
  async stop(): Promise<void> {
    if (this.o.impl === 'hbd') {
      await this.node.exec([process.execPath, path.join(REPO_ROOT, 'bin', 'hbd'), 'stop', '--run-dir', this.node.dirs.run], { timeoutMs: START_MS });
      if (!(await this.proc!.exitWithin(START_MS))) throw new Error(`${this.node.name}: hbd still running after hbd stop`);
    } else {
      await stopHeartbeat(this.proc!);
    }
    // A graceful stop releases the VIP; a leftover would be a failure of the stop.
    if (await this.hasVip()) throw new Error(`${this.node.name}: ${this.o.impl} kept ${VIP} after its graceful stop`);
  }

  async hasVip(): Promise<boolean> {
    const r = await ipIn(this.node.ns, ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    return r.stdout.includes(` ${VIP}/24 `);
  }

  async shutdown(): Promise<void> {
    if (this.proc?.running) {
      if (this.o.impl === 'hbd') await this.proc.stop('SIGKILL', 2_000);
      else await stopHeartbeat(this.proc, { signal: 'SIGKILL' });
    }
    await this.stopMonitor();
  }
}

/** Polls until pred holds, every 5 ms, at most ms; throws naming what. */
export async function until(what: string, ms: number, pred: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}
