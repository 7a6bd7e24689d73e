// A real heartbeat 3.0.6 as the survivor, the baseline hbd is compared with. Its verdict is the
// log line "node n2: is dead"; heartbeat stamps lines with whole seconds only, so a log-stamper
// process (SCHED_FIFO when chrt exists, as heartbeat itself runs realtime by default) stamps each
// line as it appears in the file.
import * as cp from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { startHeartbeat } from '../../test/lab/heartbeat';
import type { Lab } from '../../test/lab/lab';
import { findExecutable } from '../../test/lab/tools';
import { NODES, SECRET, SURVIVOR, UDP_PORT, VICTIM, type Timing } from './config';
import type { Death, Survivor } from './survivor';

interface Stamped {
  readonly mono: number;
  readonly line: string;
}

/** ha.cf for the survivor (startHeartbeat adds the log directives). */
export function heartbeatHaCf(t: Timing): string {
  return [
    `keepalive ${t.keepaliveMs}ms`,
    `deadtime ${t.deadtimeMs}ms`,
    `warntime ${t.deadtimeMs / 2}ms`,
    // As for hbd's survivor: no death of a node that never ran.
    `initdead ${Math.max(2 * t.deadtimeMs, 60_000)}ms`,
    `udpport ${UDP_PORT}`,
    'bcast eth0',
    'auto_failback off',
    ...NODES.map((n) => `node ${n}`),
    '',
  ].join('\n');
}

export const HEARTBEAT_AUTHKEYS = `auth 1\n1 sha1 ${SECRET}\n`;

const DEAD = new RegExp(`node ${VICTIM}: is dead`);
/** Lines that show heartbeat taking the victim (back) as alive. */
const ALIVE = new RegExp(`Status update for node ${VICTIM}: status (up|active)|Heartbeat restart on node ${VICTIM}|Link ${VICTIM}:eth0 up`);

const STAMPER = path.resolve(__dirname, 'log-stamper.js');

export class HeartbeatSurvivor implements Survivor {
  readonly kind = 'heartbeat' as const;
  private readonly lines: Stamped[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly pid: number,
    private readonly stamper: cp.ChildProcess,
    private readonly timing: Timing,
  ) {
    readline.createInterface({ input: stamper.stdout! }).on('line', (text) => {
      this.lines.push(JSON.parse(text) as Stamped);
      for (const w of this.waiters) w();
    });
  }

  /** Starts heartbeat as node 1 of the lab and the stamper on its log. */
  static async start(lab: Lab, timing: Timing): Promise<HeartbeatSurvivor> {
    const hb = await startHeartbeat(lab.node(1), { haCf: heartbeatHaCf(timing), authkeys: HEARTBEAT_AUTHKEYS });
    if (!hb.logFile) throw new Error('startHeartbeat returned no log file');
    const chrt = findExecutable('chrt');
    const argv = [...(chrt ? [chrt, '-f', '1'] : []), process.execPath, STAMPER, hb.logFile];
    const stamper = cp.spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    // Closing its stdin ends it; so does our own exit.
    void hb.exited.then(() => stamper.stdin?.end());
    const s = new HeartbeatSurvivor(hb.pid, stamper, timing);
    await s.until('the log stamper', () => s.lines.length > 0, 10_000);
    return s;
  }

  /** True when the stamper runs SCHED_FIFO (chrt was found). */
  static stamperRealtime(): boolean {
    return findExecutable('chrt') !== null;
  }

  mark(): number {
    return this.lines.length;
  }

  async waitSteady(_generation: number, beats: number, from: number, timeoutMs: number): Promise<void> {
    // heartbeat logs a returning node once, not each status: after that line, `beats` keepalives.
    await this.until(`heartbeat taking ${VICTIM} as alive`, () => this.lines.slice(from).some((l) => ALIVE.test(l.line)), timeoutMs);
    await new Promise((r) => setTimeout(r, beats * this.timing.keepaliveMs));
  }

  lastStatusMono(): null {
    return null;
  }

  holdsVictimUp(): boolean {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      if (DEAD.test(this.lines[i]!.line)) return false;
      if (ALIVE.test(this.lines[i]!.line)) return true;
    }
    return false;
  }

  async waitDeath(from: number, timeoutMs: number): Promise<Death> {
    const find = () => this.lines.slice(from).find((l) => DEAD.test(l.line));
    await this.until(`heartbeat: node ${VICTIM}: is dead`, () => find() !== undefined, timeoutMs);
    return { detectedMono: find()!.mono, deliveredMono: null, timeoutMs: null };
  }

  deathsBetween(from: number, to: number): number {
    return this.lines.slice(from, to).filter((l) => DEAD.test(l.line)).length;
  }

  stallsSince(): number {
    return 0;
  }

  async setBlocking(): Promise<void> {
    throw new Error('heartbeat has no JavaScript event loop to block');
  }

  close(): void {
    this.stamper.stdin?.end();
  }

  private async until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
    if (ok()) return;
    let waiter: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = () => ok() && resolve();
        this.waiters.add(waiter);
        timer = setTimeout(() => reject(new Error(`${SURVIVOR} heartbeat: no ${what} within ${timeoutMs} ms; last log lines:\n${this.lines.slice(-8).map((l) => l.line).join('\n')}`)), timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters.delete(waiter);
    }
  }
}
