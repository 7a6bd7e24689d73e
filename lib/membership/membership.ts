// heartbeat's membership and reliable-delivery protocol (spec §7.2–§7.7) as a pure state machine:
// transport events and timer ticks in, actions out; no I/O, an explicit monotonic clock and an
// injected random source so that tests replay every scenario exactly.
//
// Liveness (deadlines, link timeouts, generation replay checks) is decided by the transport
// (lib/transport/liveness.ts); this class keeps the node table those events describe, tracks every
// peer's sequence numbers, asks for and serves retransmissions, sends ACKs and runs the comm-up
// handshake. Log texts are heartbeat's (spec §12.3) unless a line says it is hbd's own.
import type { Level } from '../log/levels';
import type { RetransmitResult, TransportEvent } from '../transport/types';
import { describeStall } from '../transport/stall-cause';
import { ackMessage, nakRexmitMessage, repnodesMessage, reqnodesMessage, rexmitMessage, type NakReason } from '../wire/builders';
import { get, getDec, getHex } from '../wire/message';
import type { Message } from '../wire/types';
import { SeqTrack, type Removal } from './seqtrack';

export type NodeStatus = 'init' | 'up' | 'active' | 'dead' | 'ping';
export type LinkStatus = 'up' | 'dead';
/** init: waiting to hear every node; links-up: waiting for `repnodes`; up: comm_now_up() done. */
export type CommState = 'init' | 'links-up' | 'up';

export interface MembershipConfig {
  readonly localNode: string;
  /** Normal nodes in ha.cf order, the local node included. */
  readonly nodes: readonly string[];
  /** Ping nodes (`ping IP` names, `ping_group` NAMEs), after the normal nodes in the node table. */
  readonly pingNodes?: readonly string[];
  /** ha.cf `max_rexmit_delay`, ms. */
  readonly maxRexmitDelayMs: number;
  readonly keepaliveMs: number;
  /** The local deadtime: a late heartbeat beyond it is CRIT (heartbeat 3.0.6). */
  readonly deadtimeMs: number;
  /**
   * heartbeat advertises deadtime + 2 s for its first 5 s, because its first beats may be late.
   * Default on; the native engine beats from its own thread from the first moment and needs none.
   */
  readonly startDeadtimeBump?: boolean;
  /**
   * The transport's highest seq sent (Transport.highestSeq): an ACK beyond it is refused, and a
   * rexmit request beyond it is reported with it. Without it ACKs are taken as they come.
   */
  readonly highestSeq?: () => number;
}

export type MembershipAction =
  /** transport.send(message): control fields and signature are the transport's. */
  | { readonly type: 'send'; readonly message: Message }
  /** transport.retransmit(seq) for node `to`; feed the result to onRetransmitResult(). */
  | { readonly type: 'retransmit'; readonly seq: number; readonly to: string }
  | { readonly type: 'set-status'; readonly status: 'up' | 'active' }
  | { readonly type: 'comm-up' }
  | { readonly type: 'flow-control'; readonly on: boolean }
  /** transport.setDeadtimeBump(extraMs): the largest bump in force (heartbeat's hb_add_deadtime). */
  | { readonly type: 'deadtime-bump'; readonly extraMs: number }
  /**
   * A sequenced cluster message for the resource layer, addressed to us, once, in order: a peer's
   * as it arrives, ours (`own`, from sent()) as we send it: heartbeat acts on its own shutdone,
   * ask_resources and resource info=mach_down. `comm`: the comm state when it arrived.
   */
  | { readonly type: 'deliver'; readonly from: string; readonly message: Message; readonly own: boolean; readonly comm: CommState }
  /**
   * A peer's status changed (the local node's changes are the set-status actions). `message`: the
   * status (or shutdone) packet that caused it; null when a death or a timeout did.
   */
  | { readonly type: 'node-status'; readonly node: string; readonly status: NodeStatus; readonly previous: NodeStatus; readonly message: Message | null }
  /** A peer restarted (a status with a higher generation): it holds none of what it held. */
  | { readonly type: 'peer-restart'; readonly node: string; readonly oldGeneration: number; readonly generation: number }
  /** A peer declared dead came back without restarting (heartbeat: "returning after partition"). */
  | { readonly type: 'partition-healed'; readonly node: string }
  /** transport.markDead(node): the peer announced its shutdown; it must not die again at its deadline. */
  | { readonly type: 'mark-dead'; readonly node: string }
  | { readonly type: 'link-status'; readonly node: string; readonly link: string; readonly status: LinkStatus }
  | { readonly type: 'log'; readonly level: Level; readonly text: string };

export interface NodeSnapshot {
  readonly name: string;
  /** heartbeat's node types (cl_status nodetype): ping nodes are `ping IP` and `ping_group` entries. */
  readonly type: 'normal' | 'ping';
  readonly local: boolean;
  readonly status: NodeStatus;
  readonly links: readonly { readonly name: string; readonly status: LinkStatus }[];
  /** The peer's current generation (`hg`); null for the local node and before any packet. */
  readonly generation: number | null;
  /** The last of its seqs accepted in order; null when none since the last reset. */
  readonly lastSeq: number | null;
  /** How many of its seqs we are still asking for. */
  readonly missing: number;
  /** The highest of our seqs it acknowledged (0: none). */
  readonly ackSeq: number;
}

export interface MembershipSnapshot {
  readonly comm: CommState;
  readonly flowControl: boolean;
  readonly nodes: readonly NodeSnapshot[];
}

/** heartbeat: hb_add_deadtime(2000) at start, popped by a 5 s timer. */
const START_DEADTIME_BUMP_MS = 2000;
const START_BUMP_DURATION_MS = 5000;
const START_BUMP_TAG = 'start';
/** "corrupted ackseq" is logged at most once per this per peer (anyone with the key can send it). */
const ACK_COMPLAINT_INTERVAL_MS = 10_000;
const REQNODES_INTERVAL_MS = 1000;
/** ACK_MSG_DIV: an ACK every 10 seqs, at each peer's own random offset. */
const ACK_DIV = 10;
/** MAX_REXMIT_BATCH: the most retransmissions one NS_rexmit can cause. */
const MAX_REXMIT_BATCH = 50;

interface Peer {
  readonly name: string;
  readonly ping: boolean;
  status: NodeStatus;
  /** heartbeat's anypacketsyet: any authenticated packet since start or since its death. */
  heard: boolean;
  readonly links: Map<string, LinkStatus>;
  readonly track: SeqTrack;
  /** Missing seq → when to send the next NS_rexmit for it (mono ms). */
  readonly rexmit: Map<number, number>;
  readonly ackTrigger: number;
  ackSeq: number;
  /** heartbeat's status_seqno: the seq of the last status whose content was applied (0: none). */
  statusSeq: number;
  /** It sent shutdone: dead, and its last statuses change nothing until it restarts. */
  departed: boolean;
  /** Rate limit of the corrupted-ackseq complaint: when it may be logged next, and how many waited. */
  ackComplaintAt: number;
  ackComplaintsHeld: number;
}

type Out = MembershipAction[];

function log(out: Out, level: Level, text: string): void {
  out.push({ type: 'log', level, text });
}

/** Message types for the resource layer: everything sequenced but membership's own bookkeeping. */
function deliverable(type: string): boolean {
  return !type.startsWith('NS_') && type !== 'status' && type !== 'reqnodes' && type !== 'repnodes' && type !== 'addnode' && type !== 'delnode';
}

function validate(cfg: MembershipConfig): void {
  const where = 'membership configuration';
  if (new Set(cfg.nodes).size !== cfg.nodes.length) throw new Error(`${where}: node list ${cfg.nodes.join(', ')} names a node twice; list each ha.cf node once`);
  const ping = cfg.pingNodes ?? [];
  const clash = ping.find((n, i) => cfg.nodes.includes(n) || ping.indexOf(n) !== i);
  if (clash !== undefined) throw new Error(`${where}: ping node "${clash}" is also a node or another ping node; every node, ping and ping_group name must be unique`);
  if (!cfg.nodes.includes(cfg.localNode)) throw new Error(`${where}: the local node "${cfg.localNode}" is not among the configured nodes (${cfg.nodes.join(', ')}); add "node ${cfg.localNode}" to ha.cf`);
  if (!Number.isInteger(cfg.maxRexmitDelayMs) || cfg.maxRexmitDelayMs <= 0) throw new Error(`${where}: max_rexmit_delay must be a positive integer (ms), got ${cfg.maxRexmitDelayMs}`);
}

export class Membership {
  private readonly peers = new Map<string, Peer>();
  private readonly localLinks = new Map<string, LinkStatus>();
  private localStatus: NodeStatus = 'init';
  private started = false;
  private comm: CommState = 'init';
  private flowControl = true;
  /** Deadtime bumps in force by tag (heartbeat's hb_add_deadtime stack); the transport gets the largest. */
  private readonly bumps = new Map<string, number>();
  private advertisedBump = 0;
  private bumpEndsAt = Infinity;
  /** Nodes heartbeat peers added with hb_addnode (not in ha.cf), and their deleted-node list: kept
   * so that our repnodes answer never makes a heartbeat peer drop or revive them. */
  private readonly addedNodes: string[] = [];
  private deletedNodes: string[] = [];
  /** The pending reqnodes repeat: config index of the peer asked, and when to ask again. */
  private reqnodes: { readonly index: number; readonly at: number } | null = null;
  /** While a status run is sequenced (onStatusRun): ACKs wait here, the highest due one is sent. */
  private deferAcks = false;
  private ackDue: number | null = null;

  constructor(
    private readonly cfg: MembershipConfig,
    // Nothing is timed before start(); `now` keeps the (cfg, now, random) seam of the state machines.
    _now: number,
    private readonly random: () => number,
  ) {
    validate(cfg);
    // Ping nodes send no seqs, so they need no ACK offset (and draw no random number).
    const add = (name: string, ping: boolean) =>
      this.peers.set(name, {
        name,
        ping,
        status: 'init',
        heard: false,
        links: new Map(),
        track: new SeqTrack(),
        rexmit: new Map(),
        ackTrigger: ping ? 0 : Math.min(ACK_DIV - 1, Math.floor(random() * ACK_DIV)),
        ackSeq: 0,
        statusSeq: 0,
        departed: false,
        ackComplaintAt: -Infinity,
        ackComplaintsHeld: 0,
      });
    for (const name of cfg.nodes) if (name !== cfg.localNode) add(name, false);
    for (const name of cfg.pingNodes ?? []) add(name, true);
  }

  /**
   * The MCP starts: flow control on, a 2 s longer advertised deadtime for 5 s (unless
   * cfg.startDeadtimeBump is false), status `up`. The transport's very first status says `init`
   * (Transport.start): apply the flow-control and deadtime-bump actions before starting it, the
   * rest after, and both statuses are heartbeat's.
   */
  start(now: number): MembershipAction[] {
    if (this.started) throw new Error('Membership.start() called twice');
    this.started = true;
    const out: Out = [{ type: 'flow-control', on: true }];
    if (this.cfg.startDeadtimeBump ?? true) {
      this.bumpEndsAt = now + START_BUMP_DURATION_MS;
      out.push(...this.bumpDeadtime(START_BUMP_TAG, START_DEADTIME_BUMP_MS, now));
    }
    this.setLocalStatus('up', out);
    this.checkCommUp(now, out);
    return out;
  }

  /**
   * Advertises deadtime + extraMs while `tag` is in force (heartbeat's hb_add_deadtime: +30 s while
   * restarting after a shutdown). Bumps stack: the transport gets the largest in force, so a
   * shorter one ending (the start-up bump) never cancels a longer one.
   */
  bumpDeadtime(tag: string, extraMs: number, _now: number): MembershipAction[] {
    if (!Number.isFinite(extraMs) || extraMs < 0) throw new RangeError(`Membership.bumpDeadtime(${JSON.stringify(tag)}): extraMs must be a finite number ≥ 0, got ${extraMs}`);
    this.bumps.set(tag, extraMs);
    return this.advertiseBump();
  }

  /** Ends the bump `tag` (heartbeat's hb_pop_deadtime); unknown tags change nothing. */
  clearDeadtime(tag: string, _now: number): MembershipAction[] {
    if (tag === START_BUMP_TAG) this.bumpEndsAt = Infinity;
    this.bumps.delete(tag);
    return this.advertiseBump();
  }

  /** heartbeat's live_node_count: normal nodes up or active, the local node included. */
  liveNodes(): number {
    const alive = (s: NodeStatus) => s === 'up' || s === 'active';
    let n = alive(this.localStatus) ? 1 : 0;
    for (const p of this.peers.values()) if (!p.ping && alive(p.status)) n++;
    return n;
  }

  /** heartbeat's anypacketsyet: any packet of `node` since start or since it was declared dead. */
  heardSinceDeath(node: string): boolean {
    if (node === this.cfg.localNode) return true;
    const p = this.peers.get(node);
    if (!p) throw new RangeError(`Membership.heardSinceDeath: "${node}" is not a configured node`);
    return p.heard;
  }

  /**
   * A message we just sent (the transport gave it `seq`): heartbeat hears its own messages, so a
   * sequenced one addressed to us (or to everyone) is delivered to the resource layer as `own`.
   */
  sent(message: Message, seq: number | null): MembershipAction[] {
    const type = get(message, 't');
    const dest = get(message, 'dest');
    if (seq === null || type === undefined || !deliverable(type) || (dest !== undefined && dest !== this.cfg.localNode)) return [];
    return [{ type: 'deliver', from: this.cfg.localNode, message, own: true, comm: this.comm }];
  }

  private advertiseBump(): MembershipAction[] {
    const extraMs = Math.max(0, ...this.bumps.values());
    if (extraMs === this.advertisedBump) return [];
    this.advertisedBump = extraMs;
    return [{ type: 'deadtime-bump', extraMs }];
  }

  onEvent(e: TransportEvent, now: number): MembershipAction[] {
    const out: Out = [];
    switch (e.type) {
      case 'status': {
        const p = this.peerFor(e.node, out);
        if (p) this.onStatus(p, e.message, e.generation, e.seq, now, out);
        break;
      }
      case 'status-advance': {
        const p = this.peerFor(e.node, out);
        if (p) this.onStatusRun(p, e.generation, e.fromSeq, e.monos.length, now, out);
        break;
      }
      case 'message': {
        const p = this.peerFor(e.node, out);
        if (p) this.onMessage(p, e.message, e.generation, e.seq, e.forUs, now, out);
        break;
      }
      case 'peer-up': {
        const p = this.peerFor(e.node, out);
        if (!p) break;
        p.heard = true;
        if (e.returned) {
          log(out, 'CRIT', `Cluster node ${p.name} returning after partition.`);
          log(out, 'WARN', 'Deadtime value may be too small.');
          out.push({ type: 'partition-healed', node: p.name });
        }
        // A normal node's status is applied by the status event of the same packet, after its
        // link-up (heartbeat logs "Link … up." first). Ping nodes' echo replies say `ping`.
        if (p.ping) this.setPeerStatus(p, 'ping', null, out);
        break;
      }
      case 'peer-late': {
        const gap = Math.round(e.gapMs);
        if (gap > this.cfg.deadtimeMs) log(out, 'CRIT', `Late heartbeat: Node ${e.node}: interval ${gap} ms (> deadtime)`);
        else log(out, 'WARN', `Late heartbeat: Node ${e.node}: interval ${gap} ms`);
        break;
      }
      case 'peer-dead': {
        const p = this.peerFor(e.node, out);
        if (p) this.markDead(p, out);
        break;
      }
      case 'peer-restart': {
        const p = this.peerFor(e.node, out);
        if (!p) break;
        p.heard = true;
        log(out, 'info', `Heartbeat restart on node ${p.name}`);
        this.restartTracking(p, e.generation);
        out.push({ type: 'peer-restart', node: p.name, oldGeneration: e.oldGeneration, generation: e.generation });
        break;
      }
      case 'replay': {
        const p = this.peerFor(e.node, out);
        if (!p) break;
        p.heard = true;
        log(out, 'ERROR', `should_drop_message: attempted replay attack [${p.name}]? [gen = ${e.generation}, curgen = ${e.currentGeneration}]`);
        break;
      }
      case 'link-up':
      case 'link-dead':
        this.setLink(e.node, e.link, e.type === 'link-up' ? 'up' : 'dead', out);
        break;
      case 'own-stall':
        log(out, 'WARN', `hbd: this node itself ran ${Math.round(e.lateMs)} ms late (${e.cause ? describeStall(e.lateMs, e.cause) : 'CPU starvation or VM pause?'}); no peer is declared dead until it could have been heard again`);
        break;
      case 'auth-fail':
        if (e.node !== null && !this.cfg.nodes.includes(e.node) && !this.peers.get(e.node)?.ping) {
          log(out, 'ERROR', `process_status_message: bad node [${e.node}] in message`);
        } else {
          log(out, 'WARN', `string2msg_ll: node [${e.node ?? e.source}] failed authentication`);
        }
        log(out, 'debug', `hbd: packet from ${e.source} on ${e.link} dropped: ${e.reason}`);
        break;
      case 'stall-stop':
      case 'media-error':
      case 'media-reopened':
      case 'warning':
        break; // the daemon's business: they change nothing in the node table
    }
    this.checkCommUp(now, out);
    return out;
  }

  /** Timers due at `now`: rexmit requests, the reqnodes repeat, the end of the start-up deadtime bump. */
  onTimer(now: number): MembershipAction[] {
    const out: Out = [];
    if (now >= this.bumpEndsAt) out.push(...this.clearDeadtime(START_BUMP_TAG, now));
    for (const p of this.peers.values()) {
      const due = [...p.rexmit].filter(([, at]) => at <= now).map(([seq]) => seq);
      for (const seq of due.sort((a, b) => a - b)) {
        if (p.status !== 'up' && p.status !== 'active') {
          p.rexmit.delete(seq); // heartbeat stops asking a node that is not alive
          continue;
        }
        out.push({ type: 'send', message: rexmitMessage(p.name, seq, seq) });
        p.rexmit.set(seq, now + this.cfg.maxRexmitDelayMs);
      }
    }
    if (this.reqnodes && now >= this.reqnodes.at) this.sendReqnodes(this.reqnodes.index, now, out);
    return out;
  }

  /** Absolute mono ms of the next timer, Infinity when none is pending. */
  nextTimer(): number {
    let next = Math.min(this.bumpEndsAt, this.reqnodes?.at ?? Infinity);
    for (const p of this.peers.values()) for (const due of p.rexmit.values()) next = Math.min(next, due);
    return next;
  }

  /**
   * The transport's answer to a `retransmit` action. `highestSent` (the transport's highest seq)
   * completes heartbeat's "too high" warning when the caller knows it.
   */
  onRetransmitResult(seq: number, to: string, result: RetransmitResult, _now: number, highestSent: number | undefined = this.cfg.highestSeq?.()): MembershipAction[] {
    const nak = (reason: NakReason): MembershipAction[] => [
      { type: 'log', level: 'ERROR', text: `Cannot rexmit pkt ${seq} for ${to}: ${reason}` },
      { type: 'send', message: nakRexmitMessage(to, seq, reason) },
    ];
    switch (result) {
      case 'sent':
      case 'throttled':
        return [];
      case 'too-low':
        return nak('seqno too low');
      case 'not-found':
        return nak('seqno not found');
      case 'too-high':
        return [
          highestSent === undefined
            ? { type: 'log', level: 'WARN', text: `Rexmit of seq ${seq} requested, beyond the highest seq sent.` }
            : { type: 'log', level: 'WARN', text: `Rexmit of seq ${seq} requested. ${highestSent} is max.` },
        ];
    }
  }

  snapshot(): MembershipSnapshot {
    const links = (m: ReadonlyMap<string, LinkStatus>) => [...m].map(([name, status]) => ({ name, status }));
    const nodes = [...this.cfg.nodes, ...(this.cfg.pingNodes ?? [])].map((name): NodeSnapshot => {
      const p = this.peers.get(name);
      if (!p) return { name, type: 'normal', local: true, status: this.localStatus, links: links(this.localLinks), generation: null, lastSeq: null, missing: 0, ackSeq: 0 };
      const generation = p.track.generation;
      return { name, type: p.ping ? 'ping' : 'normal', local: false, status: p.status, links: links(p.links), generation: generation < 0 ? null : generation, lastSeq: p.track.lastSeq, missing: p.track.missingCount, ackSeq: p.ackSeq };
    });
    return { comm: this.comm, flowControl: this.flowControl, nodes };
  }

  // --- incoming packets ---------------------------------------------------------------------

  /** The peer a packet or event names; null (and heartbeat's complaint) for unknown nodes. */
  private peerFor(node: string, out: Out): Peer | null {
    const p = this.peers.get(node);
    if (!p && node !== this.cfg.localNode) log(out, 'ERROR', `process_status_message: bad node [${node}] in message`);
    return p ?? null;
  }

  /**
   * Every status the transport passes on: sequence tracking always (a retransmitted status fills
   * its gap), content only when it is newer than the last status applied (heartbeat's
   * status_seqno) and the peer has not announced its shutdown.
   */
  private onStatus(p: Peer, msg: Message, generation: number, seq: number, now: number, out: Out): void {
    p.heard = true;
    if (generation < p.track.generation) return; // the transport reported the replay
    const newer = generation > p.track.generation || seq > p.statusSeq;
    // Checked before the ACK sequencing may send: a peer without flow control has no use for one.
    if (newer && this.flowControl && getDec(msg, 'protocol') === null) {
      this.flowControl = false;
      log(out, 'info', 'flow control disabled due to different version heartbeat');
      out.push({ type: 'flow-control', on: false });
      if (this.comm === 'links-up') this.commNowUp(out); // the reqnodes handshake is a flow-control feature
    }
    this.sequence(p, generation, seq, true, now, out);
    if (!newer || p.departed) return;
    p.statusSeq = seq;
    this.applyStatusField(p, msg, out);
  }

  /**
   * `count` statuses from seq `from` on, each the next of the peer with the content of the newest
   * status it reported (the native engine's status-advance): sequenced as that many statuses, the
   * content already applied. One ACK at most, for the highest seq due, not one per ten seqs of it.
   */
  private onStatusRun(p: Peer, generation: number, from: number, count: number, now: number, out: Out): void {
    p.heard = true;
    if (generation < p.track.generation) return;
    this.ackDue = null;
    this.deferAcks = true;
    try {
      for (let seq = from; seq < from + count; seq++) this.sequence(p, generation, seq, true, now, out);
    } finally {
      this.deferAcks = false;
    }
    if (this.ackDue !== null) out.push({ type: 'send', message: ackMessage(p.name, this.ackDue) });
    if (!p.departed && generation === p.track.generation) p.statusSeq = Math.max(p.statusSeq, from + count - 1);
  }

  private applyStatusField(p: Peer, msg: Message, out: Out): void {
    const st = get(msg, 'st');
    // A starting heartbeat 3.0.6 (and hbd) sends one `st=init` status first.
    if (st === 'init' || st === 'up' || st === 'active') this.setPeerStatus(p, st, msg, out);
    else if (st === undefined) log(out, 'ERROR', 'HBDoMsg_T_STATUS: status update without st field');
    else log(out, 'WARN', `hbd: status from node ${p.name} with st=${JSON.stringify(st)} ignored: heartbeat sends only init, up and active`);
  }

  private onMessage(p: Peer, msg: Message, generation: number, seq: number | null, forUs: boolean, now: number, out: Out): void {
    p.heard = true;
    const type = get(msg, 't');
    if (type === undefined) {
      log(out, 'ERROR', `process_clustermsg: message from ${p.name} without t field dropped`);
      return;
    }
    if (type.startsWith('NS_')) {
      this.onUnsequenced(p, type, msg, forUs, now, out);
      return;
    }
    if (seq === null) {
      log(out, 'ERROR', `process_clustermsg: ${type} from ${p.name} missing seqno`);
      return;
    }
    if (!this.sequence(p, generation, seq, false, now, out) || !forUs) return;
    switch (type) {
      case 'reqnodes':
        // heartbeat's answer: every node it knows and its deleted-node list (the asker replaces
        // its own lists with them, so nothing a heartbeat peer added with hb_addnode is dropped).
        out.push({ type: 'send', message: repnodesMessage(p.name, [...this.cfg.nodes, ...this.addedNodes], this.deletedNodes) });
        break;
      case 'repnodes':
        this.onRepnodes(p, msg, out);
        break;
      case 'addnode':
      case 'delnode':
        this.onNodeChange(p, type, msg, out);
        break;
      case 'status':
        break; // statuses arrive as 'status' events; never resource traffic
      case 'shutdone':
        out.push({ type: 'deliver', from: p.name, message: msg, own: false, comm: this.comm });
        this.onShutdone(p, msg, out);
        break;
      default:
        out.push({ type: 'deliver', from: p.name, message: msg, own: false, comm: this.comm });
    }
  }

  /**
   * heartbeat's HBDoMsg_T_SHUTDONE: the peer released everything and is going away. It is gone at
   * once (heartbeat hands its resources over right away); the transport stops watching its
   * deadline, so no "is dead" follows a deadtime later; a restart brings it back.
   */
  private onShutdone(p: Peer, msg: Message, out: Out): void {
    log(out, 'info', `Received shutdown notice from '${p.name}'.`);
    p.departed = true;
    p.rexmit.clear();
    this.setPeerStatus(p, 'dead', msg, out);
    out.push({ type: 'mark-dead', node: p.name });
  }

  /** hb_addnode / hb_delnode from a heartbeat peer: remembered for our repnodes answers only. */
  private onNodeChange(p: Peer, type: 'addnode' | 'delnode', msg: Message, out: Out): void {
    const names = (get(msg, 'nodelist') ?? '').split(' ').filter((n) => n !== '');
    for (const n of names) {
      if (type === 'addnode') {
        this.deletedNodes = this.deletedNodes.filter((d) => d !== n);
        if (!this.cfg.nodes.includes(n) && !this.addedNodes.includes(n)) this.addedNodes.push(n);
      } else {
        const i = this.addedNodes.indexOf(n);
        if (i >= 0) this.addedNodes.splice(i, 1);
        if (!this.deletedNodes.includes(n)) this.deletedNodes.push(n);
      }
    }
    log(out, 'WARN', `hbd: ${type} ${names.join(' ')} from ${p.name}: hbd keeps its ha.cf node list (it does not ${type === 'addnode' ? 'watch added' : 'drop deleted'} nodes) and only passes the change on to heartbeat peers that ask; change ha.cf on every node instead`);
  }

  /** heartbeat's "corrupted ackseq" complaint, at most once per ACK_COMPLAINT_INTERVAL_MS per peer. */
  private complainAck(p: Peer, highest: number, ack: number, now: number, out: Out): void {
    if (now < p.ackComplaintAt) {
      p.ackComplaintsHeld++;
      return;
    }
    const held = p.ackComplaintsHeld > 0 ? ` (hbd: ${p.ackComplaintsHeld} more from ${p.name} not logged)` : '';
    log(out, 'ERROR', `HBDoMsg_T_ACK: corrupted ackseq current hiseq = ${highest} ackseq =${ack} in this message${held}`);
    p.ackComplaintAt = now + ACK_COMPLAINT_INTERVAL_MS;
    p.ackComplaintsHeld = 0;
  }

  /** NS_ messages carry no seq (spec §5.2): no sequence processing. */
  private onUnsequenced(p: Peer, type: string, msg: Message, forUs: boolean, now: number, out: Out): void {
    switch (type) {
      case 'NS_nak_rexmit': {
        const seq = getHex(msg, 'firstseq');
        if (seq === null || seq <= 0) {
          log(out, 'ERROR', 'should_drop_message: bad nak seq number');
          return;
        }
        if (forUs) log(out, 'ERROR', `Irretrievably lost packet: node ${p.name} seq ${seq}`);
        // Whoever it was meant for, the sender cannot resend it: stop asking (heartbeat does too).
        const removal = p.track.remove(seq);
        if (removal) this.afterRemoval(p, seq, removal, out);
        return;
      }
      case 'NS_rexmit':
        if (forUs) this.serveRexmit(p, msg, out);
        return;
      case 'NS_ackmsg': {
        if (!this.flowControl || get(msg, 'dest') !== this.cfg.localNode) return;
        const ack = getHex(msg, 'ackseq');
        if (ack === null || ack <= p.ackSeq) return; // late or duplicate
        // A replayed or stale ACK beyond what we sent must not silence retransmissions.
        const highest = this.cfg.highestSeq?.();
        if (highest !== undefined && ack > highest) {
          this.complainAck(p, highest, ack, now, out);
          return;
        }
        p.ackSeq = ack;
        return;
      }
      default:
        return; // NS_st (ping replies) and unknown NS_ types mean nothing here
    }
  }

  private serveRexmit(p: Peer, msg: Message, out: Out): void {
    const first = getDec(msg, 'firstseq');
    const last = getDec(msg, 'lastseq');
    if (first === null || last === null || first <= 0 || last < first) {
      log(out, 'ERROR', `Invalid rexmit seqnos [firstseq=${get(msg, 'firstseq') ?? ''} lastseq=${get(msg, 'lastseq') ?? ''}] from ${p.name}`);
      return;
    }
    // What it acknowledged it has; a (replayed) huge range costs at most MAX_REXMIT_BATCH.
    let n = 0;
    for (let seq = Math.max(first, p.ackSeq + 1); seq <= last && n < MAX_REXMIT_BATCH; seq++, n++) {
      out.push({ type: 'retransmit', seq, to: p.name });
    }
  }

  private onRepnodes(p: Peer, msg: Message, out: Out): void {
    const listed = (get(msg, 'nodelist') ?? '').split(' ').filter((n) => n !== '');
    const unknown = listed.filter((n) => !this.cfg.nodes.includes(n));
    if (unknown.length > 0) {
      log(out, 'WARN', `hbd: repnodes from ${p.name} lists ${unknown.join(', ')}, not in ha.cf here; hbd does not add nodes dynamically (autojoin is not supported): add them to ha.cf on every node`);
    }
    const unlisted = this.cfg.nodes.filter((n) => !listed.includes(n));
    if (unlisted.length > 0) {
      log(out, 'WARN', `hbd: repnodes from ${p.name} does not list ${unlisted.join(', ')}, configured in ha.cf here; hbd keeps its ha.cf node list`);
    }
    // Passed on as heartbeat would: its lists become ours (heartbeat replaces its deleted list).
    for (const n of unknown) if (!this.addedNodes.includes(n)) this.addedNodes.push(n);
    const deleted = get(msg, 'delnodelist');
    if (deleted !== undefined) this.deletedNodes = deleted.split(' ').filter((n) => n !== '');
    if (this.comm === 'links-up') this.commNowUp(out);
  }

  // --- sequence numbers, retransmission requests, ACKs ----------------------------------------

  /**
   * Sequence processing for every sequenced packet of `p` (spec §7.6); true when accepted. Only a
   * status starts a new generation (heartbeat's should_drop_message); a message of a newer one
   * before its status is dropped, as heartbeat drops it, except from a peer never heard before.
   */
  private sequence(p: Peer, generation: number, seq: number, isStatus: boolean, now: number, out: Out): boolean {
    if (generation > p.track.generation) {
      if (!isStatus && p.track.generation >= 0) {
        log(out, 'debug', `hbd: seq ${seq} of ${p.name} is of generation ${generation} before any status of it (current ${p.track.generation}): dropped`);
        return false;
      }
      this.restartTracking(p, generation);
    }
    const v = p.track.receive(generation, seq);
    switch (v.kind) {
      case 'next':
        this.ackIfDue(p, seq, out);
        return true;
      case 'gap':
        log(out, 'WARN', `${v.missing.length} lost packet(s) for [${p.name}] [${v.last}:${seq}]`);
        for (const s of v.evicted) p.rexmit.delete(s);
        for (const s of v.missing) p.rexmit.set(s, now + this.firstRexmitDelay());
        return true;
      case 'lost-a-lot':
        log(out, 'WARN', `${seq - v.last - 1} lost packet(s) for [${p.name}] [${v.last}:${seq}]`);
        log(out, 'ERROR', 'lost a lot of packets!');
        p.rexmit.clear();
        return true;
      case 'recovered':
        this.afterRemoval(p, seq, v.removal, out);
        return true;
      case 'duplicate':
      case 'old-generation':
        return false;
    }
  }

  /** heartbeat's schedule_rexmit_request(): 50 ms of slack for reordering unless the max is tiny. */
  private firstRexmitDelay(): number {
    const max = this.cfg.maxRexmitDelayMs;
    const min = max < 100 ? 0 : 50;
    return min + Math.round(this.random() * (max - min));
  }

  /** An in-order seq with nothing missing before it, at the peer's ACK offset (spec §7.7). */
  private ackIfDue(p: Peer, seq: number, out: Out): void {
    if (this.flowControl && p.track.missingCount === 0 && seq % ACK_DIV === p.ackTrigger) {
      if (this.deferAcks) this.ackDue = seq;
      else out.push({ type: 'send', message: ackMessage(p.name, seq) });
    }
  }

  /** A missing seq arrived or was given up: log when none is left, and ACK what is now complete. */
  private afterRemoval(p: Peer, seq: number, r: Removal, out: Out): void {
    p.rexmit.delete(seq);
    if (r.firstAfter === null) log(out, 'info', `No pkts missing from ${p.name}!`);
    const complete = r.firstAfter === null ? p.track.lastSeq : r.firstAfter - 1;
    if (!this.flowControl || seq !== r.firstBefore || complete === null) return;
    // The highest seq up to `complete` at the ACK offset; only if the recovery newly covers it.
    const ack = complete - ((complete % ACK_DIV) - p.ackTrigger + ACK_DIV) % ACK_DIV;
    if (ack >= r.firstBefore) out.push({ type: 'send', message: ackMessage(p.name, ack) });
  }

  /** A new generation: heartbeat's reset_seqtrack() plus a fresh replay floor. */
  private restartTracking(p: Peer, generation: number): void {
    if (generation <= p.track.generation) return;
    p.track.restart(generation);
    p.rexmit.clear();
    p.ackSeq = 0;
    p.statusSeq = 0;
    p.departed = false;
  }

  private markDead(p: Peer, out: Out): void {
    log(out, 'WARN', `node ${p.name}: is dead`);
    p.heard = false;
    p.track.reset(); // the replay floor stays (see lib/membership/seqtrack.ts)
    p.rexmit.clear();
    p.ackSeq = 0;
    this.setPeerStatus(p, 'dead', null, out);
  }

  // --- node table -----------------------------------------------------------------------------

  private setPeerStatus(p: Peer, status: NodeStatus, message: Message | null, out: Out): void {
    if (p.status === status) return;
    const previous = p.status;
    p.status = status;
    // A death is logged as "node …: is dead"; every status the peer itself reports as an update.
    if (status !== 'dead') log(out, 'info', `Status update for node ${p.name}: status ${status}`);
    out.push({ type: 'node-status', node: p.name, status, previous, message });
  }

  private setLocalStatus(status: 'up' | 'active', out: Out): void {
    this.localStatus = status;
    out.push({ type: 'set-status', status });
    log(out, 'info', `Local status now set to: '${status}'`);
  }

  private setLink(node: string, link: string, status: LinkStatus, out: Out): void {
    const links = node === this.cfg.localNode ? this.localLinks : this.peers.get(node)?.links;
    if (!links || links.get(link) === status) return;
    links.set(link, status);
    log(out, 'info', `Link ${node}:${link} ${status}.`);
    out.push({ type: 'link-status', node, link, status });
  }

  // --- comm-up handshake (spec §7.7) ----------------------------------------------------------

  /**
   * heartbeat's check_comm_isup(): every node heard from or declared dead. Ping nodes count too:
   * heartbeat loops over all of config->nodes, where add_node() put them (an unreachable one
   * delays comm-up until deadping declares it dead).
   */
  private checkCommUp(now: number, out: Out): void {
    if (!this.started || this.comm !== 'init') return;
    for (const p of this.peers.values()) if (!p.heard && p.status !== 'dead') return;
    this.comm = 'links-up';
    if (this.flowControl) this.sendReqnodes(0, now, out);
    else this.commNowUp(out);
  }

  /** Asks the first live peer at or after config index `from`; with none left, comm is up. */
  private sendReqnodes(from: number, now: number, out: Out): void {
    const index = this.cfg.nodes.findIndex((n, i) => i >= from && this.peers.has(n) && this.peers.get(n)?.status !== 'dead');
    if (index < 0) {
      this.commNowUp(out);
      return;
    }
    out.push({ type: 'send', message: reqnodesMessage(this.cfg.nodes[index] as string) });
    this.reqnodes = { index, at: now + REQNODES_INTERVAL_MS };
  }

  private commNowUp(out: Out): void {
    this.comm = 'up';
    this.reqnodes = null;
    log(out, 'info', 'Comm_now_up(): updating status to active');
    this.setLocalStatus('active', out);
    out.push({ type: 'comm-up' });
  }
}
