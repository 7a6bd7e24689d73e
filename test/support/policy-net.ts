// A deterministic cluster of resource policies for tests: a fake clock and event queue, a network
// that delivers every message to every connected node including the sender (membership's
// loopback), a membership stand-in that reports deaths after deadtime, restarts, healed
// partitions and comm-up, a resource layer whose group starts and stops finish after simulated
// delays, and an engine that runs the takeover plan at the death deadline. It records what is
// actually running where, so tests assert on outcomes rather than on the policy's beliefs.
import { ResourcePolicy } from '../../lib/cluster/policy';
import { HEARTBEAT_TIMINGS, type PolicyAction, type PolicyConfig, type PolicyGroup, type PolicyInput, type PolicyTimings } from '../../lib/cluster/types';
import type { AutoFailback } from '../../lib/config/types';
import type { VipSpec } from '../../lib/resources/address';
import { get, str } from '../../lib/wire/message';
import type { Message } from '../../lib/wire/types';

export function vip(address: string): VipSpec {
  return { family: 4, iface: 'eth0', address, prefix: 24, broadcast: null, label: null };
}

/** Group `key` preferred by `node`: a VIP then a service, so the plan holds exactly the VIP. */
export function group(key: string, node: string): PolicyGroup {
  return { key, node, resources: [key, `svc-${node}`], vips: [vip(key)] };
}

export interface NetOptions {
  readonly nodes: readonly string[];
  readonly groups: readonly PolicyGroup[];
  readonly autoFailback: AutoFailback;
  readonly deadtimeMs?: number;
  readonly initdeadMs?: number;
  /** How long after boot a node hears its connected peers. */
  readonly hearMs?: number;
  readonly latencyMs?: number;
  /** Group start/stop duration (a function of a counter, so runs stay deterministic). */
  readonly opMs?: (n: number) => number;
  readonly timings?: PolicyTimings;
  /** Keys whose start fails on the named node. */
  readonly failStart?: ReadonlyMap<string, readonly string[]>;
}

export interface Violation {
  readonly at: number;
  readonly text: string;
}

interface Inst {
  readonly name: string;
  readonly id: number;
  readonly policy: ResourcePolicy;
  commUp: boolean;
  /** Its view of each peer. */
  readonly view: Map<string, 'init' | 'up' | 'active' | 'dead'>;
  readonly plans: Map<string, readonly VipSpec[]>;
  stopping: boolean;
}

interface Ev {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export interface Record {
  readonly at: number;
  readonly node: string;
  readonly kind: 'in' | 'out';
  readonly item: PolicyInput | PolicyAction;
}

export class PolicyNet {
  now = 0;
  private seq = 0;
  private ids = 0;
  private opCount = 0;
  private queue: Ev[] = [];
  readonly inst = new Map<string, Inst>();
  /** What actually runs: node → running group keys / configured VIP addresses. */
  readonly running = new Map<string, Set<string>>();
  readonly vips = new Map<string, Set<string>>();
  readonly blocked = new Set<string>();
  private readonly blockedSince = new Map<string, number>();
  readonly violations: Violation[] = [];
  readonly trace: Record[] = [];
  readonly sent: { at: number; from: string; message: Message }[] = [];
  private readonly timerAt = new Map<string, number>();
  /** Incremented per node boot, as heartbeat's generation. */
  private readonly fifo = new Map<string, number>();
  readonly deadtime: number;
  private readonly initdead: number;
  private readonly hear: number;
  private readonly latency: number;

  constructor(readonly o: NetOptions) {
    this.deadtime = o.deadtimeMs ?? 5000;
    this.initdead = o.initdeadMs ?? 2 * this.deadtime;
    this.hear = o.hearMs ?? 50;
    this.latency = o.latencyMs ?? 2;
    for (const n of o.nodes) {
      this.running.set(n, new Set());
      this.vips.set(n, new Set());
    }
  }

  // --- scenario controls ----------------------------------------------------------------------

  boot(node: string): void {
    if (this.inst.has(node)) throw new Error(`${node} is already up`);
    const cfg: PolicyConfig = { localNode: node, nodes: this.o.nodes, groups: this.o.groups, autoFailback: this.o.autoFailback, timings: this.o.timings ?? HEARTBEAT_TIMINGS, pid: 1000 + this.o.nodes.indexOf(node), restartHeld: null };
    const i: Inst = { name: node, id: ++this.ids, policy: new ResourcePolicy(cfg, this.now), commUp: false, view: new Map(), plans: new Map(), stopping: false };
    for (const p of this.o.nodes) if (p !== node) i.view.set(p, 'init');
    this.inst.set(node, i);
    // Peers that still think it alive see a restart (new generation); the others see it come back.
    for (const p of this.o.nodes) {
      const pi = this.inst.get(p);
      if (!pi || p === node || !this.connected(p, node)) continue;
      const seen = pi.view.get(node);
      if (seen === 'up' || seen === 'active') {
        this.input(pi, { type: 'peer-restart', node, oldGeneration: 1, generation: 2 });
        this.status(pi, node, 'up');
      } else {
        this.at(this.hear, () => {
          if (!this.live(pi) || !this.connected(p, node)) return;
          this.status(pi, node, 'up');
          this.checkCommUp(pi);
        });
      }
    }
    for (const p of this.o.nodes) {
      if (p === node) continue;
      this.at(this.hear, () => {
        const pi = this.inst.get(p);
        // A peer reports `active` only once its own comm is up.
        if (this.live(i) && pi && this.connected(node, p) && i.view.get(p) === 'init') this.status(i, p, pi.commUp ? 'active' : 'up');
        this.checkCommUp(i);
      });
      this.at(this.initdead, () => {
        if (this.live(i) && i.view.get(p) === 'init') this.status(i, p, 'dead');
        this.checkCommUp(i);
      });
    }
    this.at(0, () => this.checkCommUp(i));
  }

  /** The machine dies: what ran there is gone. */
  kill(node: string): void {
    const i = this.inst.get(node);
    if (!i) return;
    this.inst.delete(node);
    this.running.get(node)?.clear();
    this.vips.get(node)?.clear();
    this.timerAt.delete(node);
    this.watchDeath(node);
  }

  partition(a: string, b: string): void {
    const k = this.pairKey(a, b);
    if (this.blocked.has(k)) return;
    this.blocked.add(k);
    this.blockedSince.set(k, this.now);
    this.watchDeath(a, b);
    this.watchDeath(b, a);
  }

  /** Ends a partition; waits first until both sides had time to declare each other dead. */
  heal(a: string, b: string): void {
    const k = this.pairKey(a, b);
    if (!this.blocked.has(k)) return;
    const since = this.blockedSince.get(k) ?? 0;
    if (this.now < since + this.deadtime + 100) this.runFor(since + this.deadtime + 100 - this.now);
    this.blocked.delete(k);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const xi = this.inst.get(x);
      const yi = this.inst.get(y);
      if (!xi || !yi) continue;
      const seen = xi.view.get(y);
      if (seen === 'dead' && this.deadGen.get(`${x}>${y}`) === yi.id) {
        // The same process it declared dead: a healed partition.
        this.status(xi, y, 'active');
        this.input(xi, { type: 'partition-healed', node: y });
      } else if (seen === 'dead' || seen === 'init') {
        // A node that restarted meanwhile, or one never heard: it simply comes up.
        this.status(xi, y, yi.commUp ? 'active' : 'up');
        this.checkCommUp(xi);
      }
    }
  }

  healAll(): void {
    for (const k of [...this.blocked]) {
      const [a, b] = k.split('|') as [string, string];
      this.heal(a, b);
    }
  }

  command(node: string, input: PolicyInput): void {
    const i = this.inst.get(node);
    if (i) this.input(i, input);
  }

  runFor(ms: number): void {
    const end = this.now + ms;
    for (let guard = 0; guard < 1_000_000; guard++) {
      this.queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
      const e = this.queue[0];
      if (!e || e.at > end) break;
      this.queue.shift();
      this.now = e.at;
      e.run();
    }
    this.now = end;
  }

  /** Nodes that actually run `key` (its whole group). */
  holders(key: string): string[] {
    return [...this.running].filter(([, s]) => s.has(key)).map(([n]) => n);
  }

  up(): string[] {
    return [...this.inst.values()].filter((i) => !i.stopping).map((i) => i.name);
  }

  logs(node?: string): string[] {
    return this.trace.filter((r) => (node === undefined || r.node === node) && r.kind === 'out' && r.item.type === 'log').map((r) => `${r.node}: ${(r.item as { text: string }).text}`);
  }

  // --- the machinery --------------------------------------------------------------------------

  private pairKey(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  connected(a: string, b: string): boolean {
    return this.inst.has(a) && this.inst.has(b) && !this.blocked.has(this.pairKey(a, b));
  }

  private live(i: Inst): boolean {
    return this.inst.get(i.name) === i;
  }

  private at(delay: number, run: () => void): void {
    this.queue.push({ at: this.now + delay, seq: this.seq++, run });
  }

  /** Every live node that lost `node` (or only `only`) declares it dead after deadtime. */
  private watchDeath(node: string, only?: string): void {
    for (const p of this.o.nodes) {
      if (p === node || (only !== undefined && p !== only)) continue;
      this.at(this.deadtime, () => {
        const pi = this.inst.get(p);
        if (!pi || this.connected(p, node)) return;
        const seen = pi.view.get(node);
        if (seen === 'dead') return;
        // The engine runs its standing plan at the deadline, before JS hears of the death.
        const added = (pi.plans.get(node) ?? []).map((v) => v.address).filter((a) => !this.vips.get(p)?.has(a));
        for (const a of added) this.vips.get(p)?.add(a);
        pi.plans.delete(node);
        this.status(pi, node, 'dead');
        if (added.length > 0) this.input(pi, { type: 'plan-executed', node, addresses: added });
        this.checkCommUp(pi);
      });
    }
  }

  private status(i: Inst, node: string, status: 'up' | 'active' | 'dead'): void {
    const previous = i.view.get(node) ?? 'init';
    if (previous === status) return;
    if (status === 'dead') this.deadGen.set(`${i.name}>${node}`, this.inst.get(node)?.id ?? -1);
    i.view.set(node, status);
    this.input(i, { type: 'node-status', node, status, previous, message: null });
  }

  private checkCommUp(i: Inst): void {
    if (!this.live(i) || i.commUp) return;
    if ([...i.view.values()].some((s) => s === 'init')) return;
    i.commUp = true;
    // Everyone connected sees it go active.
    for (const p of this.inst.values()) if (p !== i && this.connected(p.name, i.name) && p.view.get(i.name) !== 'dead') this.status(p, i.name, 'active');
    this.input(i, { type: 'comm-up' });
  }

  private input(i: Inst, input: PolicyInput): void {
    if (!this.live(i)) return;
    this.trace.push({ at: this.now, node: i.name, kind: 'in', item: input });
    const actions = i.policy.onInput(input, this.now);
    for (const a of actions) this.act(i, a);
    this.armTimer(i);
  }

  private armTimer(i: Inst): void {
    const t = i.policy.nextTimer();
    if (t === Infinity || this.timerAt.get(i.name) === t) return;
    this.timerAt.set(i.name, t);
    this.at(Math.max(0, t - this.now), () => {
      if (!this.live(i) || this.timerAt.get(i.name) !== t) return;
      this.timerAt.delete(i.name);
      if (i.policy.nextTimer() <= this.now) this.input(i, { type: 'timer' });
      else this.armTimer(i);
    });
  }

  private act(i: Inst, a: PolicyAction): void {
    this.trace.push({ at: this.now, node: i.name, kind: 'out', item: a });
    switch (a.type) {
      case 'send':
        this.broadcast(i, a.message);
        break;
      case 'start-group':
      case 'stop-group':
        this.runGroup(i, a.key, a.type === 'start-group');
        break;
      case 'set-takeover-plan':
        if (a.vips) i.plans.set(a.node, a.vips);
        else i.plans.delete(a.node);
        break;
      case 'shutdown-complete':
        // The daemon exits; peers declare it dead later (they already took over on shutdone).
        i.stopping = true;
        this.at(1000, () => this.live(i) && this.kill(i.name));
        break;
      case 'bump-deadtime':
      case 'log':
        break;
    }
  }

  private broadcast(from: Inst, message: Message): void {
    const stamped: Message = [...message, str('src', from.name)];
    this.sent.push({ at: this.now, from: from.name, message: stamped });
    const dest = get(message, 'dest');
    for (const to of this.inst.values()) {
      if (to !== from && !this.connected(from.name, to.name)) continue;
      // Membership hands on only what is addressed to us (or to everyone).
      if (dest !== undefined && dest !== to.name) continue;
      // FIFO per pair: a later message never overtakes an earlier one.
      const k = `${from.name}>${to.name}`;
      const when = Math.max(this.now + this.latency, this.fifo.get(k) ?? 0);
      this.fifo.set(k, when);
      const target = to;
      this.at(when - this.now, () => {
        if (!this.live(target)) return;
        if (target !== from && !this.connected(from.name, target.name)) return;
        this.input(target, { type: 'deliver', from: from.name, message: stamped, own: target === from, comm: target.commUp ? 'up' : 'init' });
      });
    }
  }

  private runGroup(i: Inst, key: string, start: boolean): void {
    if (start) {
      for (const other of this.o.nodes) {
        if (other !== i.name && this.connected(i.name, other) && this.running.get(other)?.has(key) && !this.stopping(other, key)) {
          this.violations.push({ at: this.now, text: `${i.name} starts ${key} while ${other} (connected) runs it` });
        }
      }
    }
    const ms = this.o.opMs ? this.o.opMs(this.opCount++) : 200;
    const fail = start && (this.o.failStart?.get(i.name) ?? []).includes(key);
    this.pendingOps.add(`${i.name}:${key}`);
    this.at(ms, () => {
      if (!this.live(i)) return;
      this.pendingOps.delete(`${i.name}:${key}`);
      const g = this.o.groups.find((x) => x.key === key);
      if (start && !fail) {
        this.running.get(i.name)?.add(key);
        for (const v of g?.vips ?? []) this.vips.get(i.name)?.add(v.address);
      } else {
        this.running.get(i.name)?.delete(key);
        for (const v of g?.vips ?? []) this.vips.get(i.name)?.delete(v.address);
      }
      this.input(i, { type: 'group-result', key, op: start ? 'start' : 'stop', ok: !fail, detail: fail ? 'exit code 1 from svc' : 'ok' });
    });
  }

  private readonly pendingOps = new Set<string>();
  /** viewer>node → the instance of `node` that viewer declared dead. */
  private readonly deadGen = new Map<string, number>();

  private stopping(node: string, key: string): boolean {
    const i = this.inst.get(node);
    if (!i || !this.pendingOps.has(`${node}:${key}`)) return false;
    return i.policy.snapshot().groups.find((g) => g.key === key)?.state === 'stopping';
  }

  /** The messages `node` sent, as "t=… k=v …" text without the src we stamped. */
  sentBy(node: string): string[] {
    return this.sent.filter((s) => s.from === node).map((s) => text(s.message));
  }
}

export function text(m: Message): string {
  return m
    .filter((f) => f.name !== 'src')
    .map((f) => `${f.name}=${get(m, f.name) ?? ''}`)
    .join(' ');
}
