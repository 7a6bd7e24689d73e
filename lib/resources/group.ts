// A resource group as ResourceManager runs it (spec §8.2):
//   acquire (takegroup): left to right; a resource whose status says running is skipped, any other
//     is started; the first failure logs `Giving up resources due to failure of <res>`, releases
//     the whole group and reports the failure (heartbeat then runs hb_standby after 30 s: the
//     caller's decision, `standbyAfterMs`).
//   release (givegroup): right to left; a failed stop is retried HA_STOPRETRYMAX (10) times 1 s
//     apart (`Retrying failed stop operation [<res>]`); still failing and still running:
//     `Resource STOP failure. Reboot required!` — hbd does not kill itself or reboot, it reports
//     the resource in `stopFailures` and goes on; still failing but not running: heartbeat's
//     "probably not LSB-compliant" warnings.
//   status (statgroup): ALL, SOME or NONE.
// One operation at a time per group (later calls queue behind the running one), so a resource
// never has two actions in flight. Every action is logged with its duration.
import type { ResourceLog } from './log';
import type { ActionResult, Resource } from './resource';

export interface GroupSpec {
  /** The group's key: its first resource as written. */
  readonly key: string;
  /** The preferred node, as in haresources (it starts heartbeat's log lines). */
  readonly node: string;
  readonly resources: readonly Resource[];
}

export interface ActionEvent {
  readonly group: string;
  readonly resource: string;
  readonly result: ActionResult;
}

export interface GroupOptions {
  readonly log: ResourceLog;
  /** HA_STOPRETRYMAX: retries after a failed stop (default 10; 0 or less: retry forever, as heartbeat). */
  readonly stopRetryMax?: number;
  readonly stopRetryDelayMs?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Every action's result, as it completes (status probes included). */
  readonly onAction?: (e: ActionEvent) => void;
}

export interface AcquireOutcome {
  readonly ok: boolean;
  /** Stopped before the end because the signal was aborted (the started resources stay). */
  readonly cancelled: boolean;
  readonly started: readonly string[];
  readonly alreadyRunning: readonly string[];
  /** The resource whose start failed (the group was then released). */
  readonly failed: string | null;
  /** heartbeat runs `hb_standby` this long after a failed acquisition. */
  readonly standbyAfterMs: number | null;
  readonly release: ReleaseOutcome | null;
}

export interface ReleaseOutcome {
  readonly ok: boolean;
  readonly stopped: readonly string[];
  /** Resources whose stop failed and whose status still says running ("Reboot required!"). */
  readonly stopFailures: readonly string[];
}

export type GroupStatus = 'ALL' | 'SOME' | 'NONE';

export const STANDBY_AFTER_FAILURE_MS = 30_000;

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class GroupRunner {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stopRetryMax: number;
  private readonly stopRetryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly group: GroupSpec,
    private readonly opts: GroupOptions,
  ) {
    this.stopRetryMax = opts.stopRetryMax ?? 10;
    this.stopRetryDelayMs = opts.stopRetryDelayMs ?? 1_000;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** heartbeat's `$*` in its messages: `<node> <res1> <res2> …`. */
  private get line(): string {
    return [this.group.node, ...this.group.resources.map((r) => r.text)].join(' ');
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  acquire(signal?: AbortSignal): Promise<AcquireOutcome> {
    return this.serial(() => this.acquireNow(signal));
  }

  release(): Promise<ReleaseOutcome> {
    return this.serial(() => this.releaseNow());
  }

  status(): Promise<{ readonly status: GroupStatus; readonly running: readonly string[] }> {
    return this.serial(async () => {
      const running: string[] = [];
      for (const r of this.group.resources) if ((await this.act(r, 'status')).running) running.push(r.text);
      const status: GroupStatus = running.length === 0 ? 'NONE' : running.length === this.group.resources.length ? 'ALL' : 'SOME';
      return { status, running };
    });
  }

  private async act(r: Resource, action: 'start' | 'stop' | 'status'): Promise<ActionResult> {
    let result: ActionResult;
    try {
      result = await r[action]();
    } catch (e) {
      // A Resource must not throw; if one does, it is a failed action, never a dead daemon.
      result = { action, ok: false, running: false, command: `${r.text} ${action}`, outcome: 'exception', exitCode: null, outputTail: (e as Error)?.message ?? String(e), output: '', durationMs: 0, timedOut: false };
    }
    const ms = Math.round(result.durationMs);
    if (action === 'status') this.opts.log.debug(2, `${r.text} status: ${result.running ? 'running' : 'not running'} (${result.outcome}, ${ms} ms)`);
    else if (result.ok) this.opts.log.info(`${r.text} ${action}: ok in ${ms} ms`);
    else this.opts.log.error(`${r.text} ${action} failed after ${ms} ms: ${result.command}: ${result.outcome}${result.outputTail ? `: ${result.outputTail}` : ''}`);
    this.opts.onAction?.({ group: this.group.key, resource: r.text, result });
    return result;
  }

  private async acquireNow(signal?: AbortSignal): Promise<AcquireOutcome> {
    const log = this.opts.log;
    log.info(`Acquiring resource group: ${this.line}`);
    const started: string[] = [];
    const alreadyRunning: string[] = [];
    for (const r of this.group.resources) {
      if (signal?.aborted) {
        log.warn(`Acquisition of resource group ${this.group.key} cancelled before ${r.text}`);
        return { ok: false, cancelled: true, started, alreadyRunning, failed: null, standbyAfterMs: null, release: null };
      }
      if ((await this.act(r, 'status')).running) {
        alreadyRunning.push(r.text);
        continue;
      }
      if ((await this.act(r, 'start')).ok) {
        started.push(r.text);
        continue;
      }
      log.crit(`Giving up resources due to failure of ${r.text}`);
      const release = await this.releaseNow();
      return { ok: false, cancelled: false, started, alreadyRunning, failed: r.text, standbyAfterMs: STANDBY_AFTER_FAILURE_MS, release };
    }
    return { ok: true, cancelled: false, started, alreadyRunning, failed: null, standbyAfterMs: null, release: null };
  }

  private async releaseNow(): Promise<ReleaseOutcome> {
    const log = this.opts.log;
    log.info(`Releasing resource group: ${this.line}`);
    const stopped: string[] = [];
    const stopFailures: string[] = [];
    for (const r of [...this.group.resources].reverse()) {
      let retries = 0;
      let result = await this.act(r, 'stop');
      while (!result.ok && (this.stopRetryMax <= 0 || retries < this.stopRetryMax)) {
        await this.sleep(this.stopRetryDelayMs);
        retries++;
        log.info(`Retrying failed stop operation [${r.text}]`);
        result = await this.act(r, 'stop');
      }
      if (result.ok) {
        stopped.push(r.text);
      } else if ((await this.act(r, 'status')).running) {
        log.crit('Resource STOP failure. Reboot required!');
        log.crit(`${r.text} could not be stopped and is still running; hbd does not reboot the machine: stop it by hand before it runs anywhere else`);
        stopFailures.push(r.text);
      } else {
        log.error(`Resource script for ${r.text} probably not LSB-compliant.`);
        log.warn(`it (${r.text}) MUST succeed on a stop when already stopped`);
        log.warn('Machine reboot narrowly avoided!');
        stopped.push(r.text);
      }
    }
    return { ok: stopFailures.length === 0, stopped, stopFailures };
  }
}
