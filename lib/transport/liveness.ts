// Per-peer liveness, as a pure state machine driven with an explicit monotonic clock (ms).
// The reference for both transports: the TS transport runs this class, the native engine runs
// its C++ twin (native/liveness.cc), and test/liveness.test.ts drives both through the same cases.
//
// Semantics follow heartbeat (spec §7.3–§7.5) with three deliberate differences:
// - deaths fire at the deadline itself (heartbeat polls every 250 ms);
// - a status that does not advance the peer's (generation, seq) never refreshes liveness, even after
//   the peer was declared dead (heartbeat forgets the seq on death and accepts replays, §13 W4);
// - after the transport itself stalled, no peer is declared dead until fresh packets had a chance to
//   arrive (memberlist's "awareness"): a stalled node must not blame others for its own stall.
//
// Every status is judged against the last accepted one: newer → liveness, links and the status
// event; the same seq again (another medium, or a replay) → dropped here, refreshing only a link
// that had not carried that seq yet; older → passed on without touching anything, because sequence
// tracking (lib/membership) must see a retransmitted or reordered status to stop asking for it
// (heartbeat runs sequence tracking on every packet and ignores only an older status's content).
//
// Ping nodes (spec §7.8) live on answered ICMP echoes (ping()), carry no generation or seq, and
// always time out after deadping: heartbeat also applies initdead to them before comm-up, but a
// router's liveness does not depend on our cluster forming.
import type { LivenessEvent } from './types';

export interface LivenessConfig {
  readonly localNode: string;
  readonly nodes: readonly string[];
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly warntimeMs: number;
  readonly initdeadMs: number;
  /** Ping nodes (`ping IP` names, `ping_group` NAMEs); a name that is also a normal node stays normal. */
  readonly pingNodes?: readonly string[];
  /** ha.cf deadping: a ping node is dead after this long without an echo reply (default deadtimeMs). */
  readonly deadpingMs?: number;
}

export interface StatusInput {
  readonly node: string;
  readonly link: string;
  readonly generation: number;
  readonly seq: number;
  readonly status: string;
  /** The peer's advertised deadtime (`dt`), ms. */
  readonly dtMs: number;
}

export interface StatusOutcome {
  /**
   * Whether the caller passes the packet on (status / message event). True for news and, for
   * statuses, for older seqs (sequence tracking decides); false for duplicates, replays of an
   * older generation and packets of unknown nodes.
   */
  readonly accepted: boolean;
  readonly events: LivenessEvent[];
}

/**
 * The longest `dt` a peer may advertise; more is clamped (a corrupt or hostile `dt` must not make
 * a deadline overflow or run backwards). An hour is far beyond any heartbeat deadtime in use.
 */
export const MAX_ADVERTISED_DEADTIME_MS = 3_600_000;

/** A peer's advertised `dt` as the timeout to use: clamped; null when it is no usable number. */
export function advertisedDeadtime(dtMs: number): number | null {
  if (!(dtMs > 0)) return null;
  return Math.min(dtMs, MAX_ADVERTISED_DEADTIME_MS);
}

type PeerState = 'init' | 'up' | 'dead';

interface Link {
  up: boolean;
  lastSeen: number;
  /** The highest status seq of the peer's generation seen on this link; -1: none. */
  lastSeq: number;
}

/**
 * The seqs of a peer's current generation seen lately — statuses and other sequenced messages — so
 * that a replayed copy of any of them is dropped here instead of being passed on: SEQ_WINDOW below
 * the highest (heartbeat keeps 500 messages to resend); older ones are dropped too. The C++ twin is
 * native/liveness.h SeqWindow.
 */
export const SEQ_WINDOW = 512;

export class SeqWindow {
  private high = -1;
  private readonly seen = new Uint8Array(SEQ_WINDOW);

  reset(): void {
    this.high = -1;
    this.seen.fill(0);
  }

  /** True (and recorded) when `seq` was not seen; false for a copy or a seq older than the window. */
  admit(seq: number): boolean {
    if (seq < 0) return true;
    if (this.high < 0 || seq > this.high) {
      if (this.high < 0 || seq - this.high >= SEQ_WINDOW) this.seen.fill(0);
      else for (let s = this.high + 1; s < seq; s++) this.seen[s % SEQ_WINDOW] = 0;
      this.high = seq;
      this.seen[seq % SEQ_WINDOW] = 1;
      return true;
    }
    if (this.high - seq >= SEQ_WINDOW || this.seen[seq % SEQ_WINDOW]) return false;
    this.seen[seq % SEQ_WINDOW] = 1;
    return true;
  }
}

interface Peer {
  state: PeerState;
  generation: number; // -1: none seen yet
  lastSeq: number; // last accepted status seq in `generation`; -1: none
  lastStatus: number; // mono ms of the last accepted status (start time before any)
  heardAny: boolean;
  dtMs: number;
  /** It announced its shutdown (shutdone): no deadline, no return until a new generation. */
  departed: boolean;
  /** Seqs of `generation` passed on, statuses and messages alike. */
  seen: SeqWindow;
  readonly ping: boolean;
  readonly links: Map<string, Link>;
}

/** How late a transport's own wake-up must be to count as a stall. */
export function stallThresholdMs(keepaliveMs: number): number {
  return Math.max(5, keepaliveMs / 2);
}

export class Liveness {
  private readonly peers = new Map<string, Peer>();
  private readonly ownLinks = new Map<string, boolean>();
  private commUp = false;
  private graceUntil = -Infinity;

  constructor(
    private readonly cfg: LivenessConfig,
    startMono: number,
  ) {
    const add = (node: string, ping: boolean) => {
      if (node === cfg.localNode || this.peers.has(node)) return;
      this.peers.set(node, { state: 'init', generation: -1, lastSeq: -1, lastStatus: startMono, heardAny: false, dtMs: cfg.deadtimeMs, departed: false, seen: new SeqWindow(), ping, links: new Map() });
    };
    for (const node of cfg.nodes) add(node, false);
    for (const node of cfg.pingNodes ?? []) add(node, true);
  }

  /** A normal peer: its UDP packets count. Ping nodes are not peers (they speak only ICMP). */
  isPeer(node: string): boolean {
    return this.peers.get(node)?.ping === false;
  }

  isPingNode(node: string): boolean {
    return this.peers.get(node)?.ping === true;
  }

  state(node: string): PeerState | undefined {
    return this.peers.get(node)?.state;
  }

  /** After comm-up, peers time out after the deadtime they advertise instead of initdead. */
  setCommUp(): void {
    this.commUp = true;
  }

  /** A status message from `s.node`, already authenticated, received at `now`. */
  status(now: number, s: StatusInput): StatusOutcome {
    const events: LivenessEvent[] = [];
    if (s.node === this.cfg.localNode) {
      this.ownLink(s.link, events);
      return { accepted: false, events };
    }
    const p = this.peers.get(s.node);
    if (!p || p.ping) return { accepted: false, events };
    const oldGeneration = p.generation;
    if (!this.checkGeneration(p, s.node, s.generation, true, events)) return { accepted: false, events };
    if (s.seq === p.lastSeq) {
      // The same status again: a copy on another medium proves that link; a replay proves nothing.
      const l = p.links.get(s.link);
      if (!l || l.lastSeq < s.seq) this.touchLink(now, p, s.node, s.link, s.seq, events);
      return { accepted: false, events };
    }
    // A copy of an older status seen already (a replay, or a retransmission on a second medium).
    if (!p.seen.admit(s.seq)) return { accepted: false, events };
    // Older: only sequence tracking may use it (a retransmitted or reordered status).
    if (s.seq < p.lastSeq) return { accepted: true, events };
    p.lastSeq = s.seq;
    // A peer that announced its shutdown sends its last statuses: sequenced, but it stays gone.
    if (p.departed) return { accepted: true, events };
    const returned = p.state === 'dead' && p.heardAny; // heard in this generation before
    const restarted = oldGeneration >= 0 && s.generation > oldGeneration;
    this.heard(now, p, s.node, s.link, s.seq, { status: s.status, generation: s.generation, restarted, returned }, events);
    const dt = advertisedDeadtime(s.dtMs);
    if (dt !== null) p.dtMs = dt;
    return { accepted: true, events };
  }

  /**
   * The peer announced its shutdown (`shutdone`): it is dead now, without a peer-dead event, and
   * no later status of the same generation brings it back; a restart (new generation) does.
   */
  markDead(node: string): void {
    const p = this.peers.get(node);
    if (!p || p.ping) return;
    p.state = 'dead';
    p.departed = true;
  }

  /**
   * An authenticated echo reply (NS_st) of ping node `node` from its address `link`. Every reply
   * counts: NS_st has no generation or seq (the transport checks that the reply is fresh).
   */
  ping(now: number, node: string, link: string): StatusOutcome {
    const events: LivenessEvent[] = [];
    const p = this.peers.get(node);
    if (!p?.ping) return { accepted: false, events };
    this.heard(now, p, node, link, -1, { status: 'ping', generation: 0, restarted: false, returned: false }, events);
    return { accepted: true, events };
  }

  /** Any other authenticated packet from `node`: proves the link, never the node (spec §7.3). */
  /** `seq`: the packet's seq, -1 for unsequenced (NS_) messages. */
  packet(now: number, node: string, link: string, generation: number, seq = -1): StatusOutcome {
    const events: LivenessEvent[] = [];
    if (node === this.cfg.localNode) {
      this.ownLink(link, events);
      return { accepted: false, events };
    }
    const p = this.peers.get(node);
    if (!p || p.ping) return { accepted: false, events };
    if (!this.checkGeneration(p, node, generation, false, events)) return { accepted: false, events };
    // A message of a newer generation than its statuses have shown is passed on unjudged.
    if (generation === p.generation && !p.seen.admit(seq)) return { accepted: false, events }; // a copy: proves nothing
    this.touchLink(now, p, node, link, -1, events);
    return { accepted: true, events };
  }

  /** The transport woke `lateMs` late: give peers time to be heard before judging them. */
  stalled(now: number, lateMs: number): LivenessEvent[] {
    this.graceUntil = Math.max(this.graceUntil, now + 2 * this.cfg.keepaliveMs + stallThresholdMs(this.cfg.keepaliveMs));
    return [{ type: 'own-stall', lateMs }];
  }

  /** Deaths and link timeouts due at `now`. */
  tick(now: number): LivenessEvent[] {
    const events: LivenessEvent[] = [];
    if (now < this.graceUntil) return events;
    for (const [node, p] of this.peers) {
      const timeout = this.timeout(p);
      if (p.state !== 'dead' && now >= p.lastStatus + timeout) {
        p.state = 'dead';
        events.push({ type: 'peer-dead', node, silentMs: now - p.lastStatus, timeoutMs: timeout });
      }
      for (const [link, l] of p.links) {
        if (l.up && now >= l.lastSeen + timeout) {
          l.up = false;
          events.push({ type: 'link-dead', node, link });
        }
      }
    }
    return events;
  }

  /** When `tick` next has something to do (Infinity: nothing pending). */
  nextDeadline(): number {
    let next = Infinity;
    for (const p of this.peers.values()) {
      const timeout = this.timeout(p);
      if (p.state !== 'dead') next = Math.min(next, p.lastStatus + timeout);
      for (const l of p.links.values()) if (l.up) next = Math.min(next, l.lastSeen + timeout);
    }
    return next === Infinity ? next : Math.max(next, this.graceUntil);
  }

  private timeout(p: Peer): number {
    if (p.ping) return (this.cfg.deadpingMs ?? 0) > 0 ? this.cfg.deadpingMs! : this.cfg.deadtimeMs;
    return this.commUp ? p.dtMs : this.cfg.initdeadMs;
  }

  /** A newer status or an echo reply: late check, peer-up, liveness and the link it came by. */
  private heard(now: number, p: Peer, node: string, link: string, seq: number, up: { status: string; generation: number; restarted: boolean; returned: boolean }, events: LivenessEvent[]): void {
    const gap = now - p.lastStatus;
    if (p.state === 'up' && p.heardAny && gap > this.cfg.warntimeMs) {
      events.push({ type: 'peer-late', node, link, gapMs: gap });
    }
    if (p.state !== 'up') {
      events.push({ type: 'peer-up', node, link, ...up });
      p.state = 'up';
    }
    p.lastStatus = now;
    p.heardAny = true;
    this.touchLink(now, p, node, link, seq, events);
  }

  /**
   * Replays of an older generation are refused. Only a status starts a new generation (heartbeat:
   * should_drop_message): then the peer's sequence, last-heard time and link seqs start over.
   */
  private checkGeneration(p: Peer, node: string, generation: number, isStatus: boolean, events: LivenessEvent[]): boolean {
    if (p.generation >= 0 && generation < p.generation) {
      events.push({ type: 'replay', node, generation, currentGeneration: p.generation });
      return false;
    }
    if (isStatus && generation > p.generation) {
      if (p.generation >= 0) events.push({ type: 'peer-restart', node, oldGeneration: p.generation, generation });
      p.generation = generation;
      p.lastSeq = -1;
      p.seen.reset();
      p.heardAny = false; // no "Late heartbeat" measured across the restart
      p.departed = false;
      for (const l of p.links.values()) l.lastSeq = -1;
    }
    return true;
  }

  /** `seq`: the status seq it carried (-1 for other packets and echoes). */
  private touchLink(now: number, p: Peer, node: string, link: string, seq: number, events: LivenessEvent[]): void {
    let l = p.links.get(link);
    if (!l) p.links.set(link, (l = { up: false, lastSeen: now, lastSeq: -1 }));
    l.lastSeen = now;
    l.lastSeq = Math.max(l.lastSeq, seq);
    if (!l.up) {
      l.up = true;
      events.push({ type: 'link-up', node, link });
    }
  }

  private ownLink(link: string, events: LivenessEvent[]): void {
    if (this.ownLinks.get(link)) return;
    this.ownLinks.set(link, true);
    events.push({ type: 'link-up', node: this.cfg.localNode, link });
  }
}
