// Carries out the resource policy's actions (lib/cluster/policy.ts is pure): groups are started and
// stopped through their GroupRunners and answered with group-results, standing takeover plans go
// to the transport, messages and deadtime bumps to membership through the daemon, and the policy's
// timer is armed. It also keeps what `hbd status` shows of resources: each resource's last known
// state and the takeovers with their durations.
import type { ResourceGroup } from '../config/types';
import type { GroupReport, ResourceState, TakeoverReport } from '../control/types';
import type { Level } from '../log/levels';
import type { MetricsSink } from '../metrics/recorder';
import type { AnnounceOptions, VipSpec } from '../resources/address';
import type { ActionEvent, GroupRunner } from '../resources/group';
import type { Message } from '../wire/types';
import type { ResourcePolicy } from './policy';
import type { GroupReason, GroupSnapshot, PolicyAction, PolicyInput } from './types';

export interface ExecutorDeps {
  readonly policy: ResourcePolicy;
  readonly runners: ReadonlyMap<string, GroupRunner>;
  readonly groups: readonly ResourceGroup[];
  readonly log: (level: Level, text: string) => void;
  /** A cluster message through membership (so that our own comes back as `deliver own`). */
  readonly send: (message: Message) => void;
  readonly bumpDeadtime: (tag: string, extraMs: number) => void;
  /** The engine's takeover plan for `node`; null when the transport has none (TS). */
  readonly setPlan: ((node: string, vips: readonly VipSpec[] | null, announce: AnnounceOptions) => void) | null;
  /** Announce settings of the plan's addresses (IPaddr's send_arp burst). */
  readonly announce: AnnounceOptions;
  readonly metrics: MetricsSink;
  readonly monoNow: () => number;
  readonly wallNow: () => number;
}

/** How many takeovers `hbd status` keeps. */
const TAKEOVER_HISTORY = 20;

interface PendingTakeover {
  readonly from: string | null;
  readonly atWall: number;
  readonly atMono: number;
}

export class ResourceExecutor {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly queue: PolicyInput[] = [];
  private draining = false;
  /** request(): sees the actions its input causes. */
  private observe: ((a: PolicyAction) => void) | null = null;
  private readonly resourceState = new Map<string, ResourceState>();
  private readonly deaths = new Map<string, { mono: number; wall: number }>();
  private readonly pendingTakeover = new Map<string, PendingTakeover>();
  readonly takeovers: TakeoverReport[] = [];
  private resolveShutdown!: (keepResources: boolean) => void;
  /** Resolves when the policy has released everything and our `shutdone` came back. */
  readonly shutdownComplete = new Promise<boolean>((resolve) => (this.resolveShutdown = resolve));

  constructor(private readonly d: ExecutorDeps) {
    for (const g of d.groups) for (const r of g.resources) this.resourceState.set(r.text, 'unknown');
  }

  /**
   * Inputs are handled one at a time in arrival order: an action may cause another input at once
   * (our own message comes back from membership as `deliver own`), which waits for its turn, as
   * heartbeat's own messages come back through its read loop.
   */
  input(i: PolicyInput): void {
    if (this.closed) return;
    this.queue.push(i);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next !== undefined && !this.closed; next = this.queue.shift()) {
        if (next.type === 'node-status' && next.status === 'dead') this.deaths.set(next.node, { mono: this.d.monoNow(), wall: this.d.wallNow() });
        this.run(this.d.policy.onInput(next, this.d.monoNow()));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Operator requests: the policy's own words say whether it was taken. */
  request(i: Extract<PolicyInput, { type: 'standby' | 'takeover' }>): { accepted: boolean; message: string } {
    const logs: Extract<PolicyAction, { type: 'log' }>[] = [];
    this.observe = (a) => {
      if (a.type === 'log') logs.push(a);
    };
    try {
      this.input(i);
    } finally {
      this.observe = null;
    }
    const refusal = logs.find((l) => l.level === 'WARN' || l.level === 'ERROR');
    if (refusal) return { accepted: false, message: refusal.text };
    return { accepted: true, message: logs[0]?.text ?? `${i.type} ${i.scope} requested` };
  }

  /** A resource action finished (GroupRunner onAction). */
  onAction(e: ActionEvent): void {
    const r = e.result;
    if (r.action === 'status') this.resourceState.set(e.resource, r.running ? 'running' : 'stopped');
    else if (!r.ok) this.resourceState.set(e.resource, 'failed');
    else this.resourceState.set(e.resource, r.action === 'start' ? 'running' : 'stopped');
    if (r.action !== 'status') this.d.metrics.onResourceAction(e.resource, r.action, r.durationMs, r.ok);
  }

  groupReports(snapshot: readonly GroupSnapshot[]): GroupReport[] {
    return this.d.groups.map((g) => {
      const s = snapshot.find((x) => x.key === g.key);
      const state: GroupReport['state'] =
        s === undefined || s.state === 'none' ? 'released' : s.state === 'held-local' || s.state === 'held-remote' ? 'held' : s.state === 'starting' ? 'acquiring' : s.state === 'stopping' ? 'releasing' : 'failed';
      return { key: g.key, node: g.node, holder: s?.holder ?? null, state, resources: g.resources.map((r) => ({ text: r.text, state: this.resourceState.get(r.text) ?? 'unknown' })) };
    });
  }

  /** Stops a group outside the policy (after the transport stopped: nothing to tell the peers). */
  async release(key: string): Promise<void> {
    this.mark(key, 'stopping');
    await this.runner(key).release();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(actions: readonly PolicyAction[]): void {
    for (const a of actions) {
      this.observe?.(a);
      switch (a.type) {
        case 'send':
          this.d.send(a.message);
          break;
        case 'log':
          this.d.log(a.level, a.text);
          break;
        case 'bump-deadtime':
          this.d.bumpDeadtime(a.tag, a.extraMs);
          break;
        case 'set-takeover-plan':
          this.d.setPlan?.(a.node, a.vips, this.d.announce);
          break;
        case 'start-group':
          this.startGroup(a.key, a.reason);
          break;
        case 'stop-group':
          this.stopGroup(a.key);
          break;
        case 'shutdown-complete':
          this.resolveShutdown(a.keepResources);
          break;
      }
    }
    this.armTimer();
  }

  private runner(key: string): GroupRunner {
    const r = this.d.runners.get(key);
    // The policy only names groups of the same configuration the runners were built from.
    if (!r) throw new Error(`no resource group ${key}`);
    return r;
  }

  private mark(key: string, state: ResourceState): void {
    for (const r of this.runner(key).group.resources) this.resourceState.set(r.text, state);
  }

  private startGroup(key: string, reason: GroupReason): void {
    const runner = this.runner(key);
    const death = reason === 'takeover' ? this.latestDeath() : null;
    this.pendingTakeover.set(key, death ? { from: death.node, atWall: death.wall, atMono: death.mono } : { from: null, atWall: this.d.wallNow(), atMono: this.d.monoNow() });
    this.mark(key, 'starting');
    void runner.acquire().then(
      (o) => {
        const detail = o.ok ? `started ${o.started.length}, already running ${o.alreadyRunning.length}` : o.failed ? `failure of ${o.failed}` : 'cancelled';
        if (o.ok) this.recordTakeover(key, reason);
        this.input({ type: 'group-result', key, op: 'start', ok: o.ok, detail });
      },
      (e: unknown) => this.input({ type: 'group-result', key, op: 'start', ok: false, detail: (e as Error)?.message ?? String(e) }),
    );
  }

  private stopGroup(key: string): void {
    const runner = this.runner(key);
    this.pendingTakeover.delete(key);
    this.mark(key, 'stopping');
    void runner.release().then(
      (o) => this.input({ type: 'group-result', key, op: 'stop', ok: o.ok, detail: o.ok ? `stopped ${o.stopped.length}` : `stop failed: ${o.stopFailures.join(', ')}` }),
      (e: unknown) => this.input({ type: 'group-result', key, op: 'stop', ok: false, detail: (e as Error)?.message ?? String(e) }),
    );
  }

  private latestDeath(): { node: string; mono: number; wall: number } | null {
    let best: { node: string; mono: number; wall: number } | null = null;
    for (const [node, t] of this.deaths) if (!best || t.mono > best.mono) best = { node, ...t };
    return best;
  }

  /** Takeovers (of a dead node's groups) and standby/handover moves, timed to the last resource up. */
  private recordTakeover(key: string, reason: GroupReason): void {
    const p = this.pendingTakeover.get(key);
    this.pendingTakeover.delete(key);
    if (!p || (reason !== 'takeover' && reason !== 'standby' && reason !== 'handover')) return;
    const durationMs = this.d.monoNow() - p.atMono;
    this.takeovers.push({ from: p.from, at: p.atWall, durationMs });
    if (this.takeovers.length > TAKEOVER_HISTORY) this.takeovers.shift();
    this.d.metrics.onTakeover(durationMs);
    this.d.log('info', `hbd: resource group ${key} running ${Math.round(durationMs)} ms after ${p.from ? `${p.from} was declared dead` : 'the request'}`);
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const at = this.d.policy.nextTimer();
    if (at === Infinity || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.input({ type: 'timer' });
    }, Math.min(Math.max(0, at - this.d.monoNow()), 2 ** 31 - 1));
  }
}
