// heartbeat's haresources resource policy (spec §8; hb_resource.c, ResourceManager, mach_down,
// req_resource, rc.d/*) as a pure state machine: inputs and a monotonic `now` in, actions out.
// Log texts are heartbeat's (spec §12.3 and the scripts'); lines starting `hbd:` are hbd's own.
//
// Two nodes: heartbeat's messages and exchanges exactly (starting / resource / ask_resources /
// ip-request / hb_takeover / shutdone), so a heartbeat 3.0.6 peer and hbd form a cluster.
// Three or more nodes (heartbeat's protocol has one "other" node; hbd's rule, documented in
// README "Resource policy"): `resource` messages also carry the held keys (hbd_held); a group
// nobody alive holds goes to its preferred node if alive, else to the first live node in ha.cf
// order; groups move between named nodes only by ip-request / ip-request-resp (the holder stops
// the group first); the ask_resources exchange and hb_takeover messages are not used.
//
// Healed partition (heartbeat restarts itself; hbd does not): for every group held on both sides
// the better-ranked node (the preferred node, else the one first in ha.cf order) asks for it with
// ip-request, the other releases it and answers, so exactly one holder remains without an outage
// for the groups that did not move.
import type { Level } from '../log/levels';
import type { VipSpec } from '../resources/address';
import { askResourcesMessage, ipRequestMessage, ipRequestRespMessage, resourceMessage, resourceScriptMessage, shutdoneMessage, startingMessage, takeoverMessage, type AskInfo, type RscHold as WireHold, type TakeoverHold } from '../wire/builders';
import { get, modifyOrAppend, str } from '../wire/message';
import type { Message } from '../wire/types';
import { ALL_RSC, FOREIGN_RSC, HANDOVER_FIELD, LOCAL_RSC, NO_RSC, heldKeys, holdBits, holdName, stonithMessage, withHeld } from './messages';
import type { GroupReason, GroupSnapshot, NodeStatus, PolicyAction, PolicyConfig, PolicyGroup, PolicyInput, PolicySnapshot, StandbyScope } from './types';

type Phase = PolicySnapshot['phase'];
type Going = 'not' | 'me' | 'other' | 'done';
/** heartbeat's enum standby values, for "in state %d". */
const GOING_NUM: Readonly<Record<Going, number>> = { not: 0, me: 1, other: 2, done: 3 };

const RSC_MGR = '/usr/share/heartbeat/ResourceManager';

interface Peer {
  readonly name: string;
  status: NodeStatus;
  /** heartbeat's anypacketsyet: heard since start or since its last death. */
  heard: boolean;
  /** Its last `rsc_hold` (heartbeat's other_holds_resources). */
  bits: number;
  /** The groups we believe it holds. */
  holds: Set<string>;
  /** Groups we handed it that none of its `resource` messages listed yet (those may predate it). */
  readonly granted: Set<string>;
  /** What its `resource` messages say it holds (holds = announced + granted). */
  announced: Set<string>;
  /** heartbeat's other_is_stable, per peer. */
  stable: boolean;
  /** It sent `shutdone`: it holds nothing and takes nothing until it starts again. */
  gone: boolean;
  /** Legacy: its previous process left our requests unanswered; ask again once it is active. */
  reask: boolean;

}

interface Group {
  readonly g: PolicyGroup;
  state: 'none' | 'starting' | 'held' | 'stopping' | 'failed';
  want: 'held' | 'released';
  reason: GroupReason;
  /** The node our release answers (ip-request / handover); the latest asker wins. */
  grantTo: string | null;
  failure: string | null;
}

interface Barrier {
  readonly keys: readonly string[];
  /** A further condition (besides no operation running on the keys), e.g. "stopped here". */
  readonly ready?: () => boolean;
  readonly then: (out: Out) => void;
}

type Out = PolicyAction[];

function log(out: Out, level: Level, text: string): void {
  out.push({ type: 'log', level, text });
}

const isUp = (s: NodeStatus): boolean => s === 'up' || s === 'active';

function validate(cfg: PolicyConfig): void {
  const where = 'resource policy configuration';
  if (!cfg.nodes.includes(cfg.localNode)) throw new Error(`${where}: the local node "${cfg.localNode}" is not among the nodes (${cfg.nodes.join(', ')}); add "node ${cfg.localNode}" to ha.cf`);
  const seen = new Set<string>();
  for (const g of cfg.groups) {
    if (seen.has(g.key)) throw new Error(`${where}: haresources names the group "${g.key}" twice; every group's first resource must be unique`);
    seen.add(g.key);
    if (!cfg.nodes.includes(g.node)) throw new Error(`${where}: group "${g.key}" prefers node "${g.node}", which is not an ha.cf node; fix haresources or add "node ${g.node}" to ha.cf`);
    if (/\s/.test(g.key)) throw new Error(`${where}: group key "${g.key}" contains a blank; haresources resources cannot contain blanks`);
  }
  for (const k of cfg.restartHeld ?? []) if (!seen.has(k)) throw new Error(`${where}: the restart state names group "${k}", which is not in haresources`);
}

export class ResourcePolicy {
  private readonly me: string;
  private readonly nice: boolean;
  private readonly auto: boolean;
  /** Three or more nodes: hbd's rules (see the file comment). */
  private readonly multi: boolean;
  private readonly peers = new Map<string, Peer>();
  private readonly groups = new Map<string, Group>();
  private phase: Phase = 'init';
  private commUp = false;
  /**
   * Legacy: comm came up before a heard peer's first status (its first packet to a restarted node
   * can be an ack or a repnodes, the status beat follows within a keepalive). Our groups are asked
   * for once every peer's status is known: counted as not active, a running peer that holds them
   * would keep them while we granted them to ourselves — held twice.
   */
  private askAfterStatus = false;
  /** heartbeat's procinfo->i_hold_resources: what we claim, as the protocol's bits. */
  private claim = NO_RSC;
  private going: Going = 'not';
  /** standby_running: when the current standby step times out (0: none). */
  private standbyUntil = 0;
  private standbyType = ALL_RSC;
  /** Incremented when a standby exchange is cancelled, to void the work it started. */
  private standbyEpoch = 0;
  private takeoverInProgress = false;
  private needsFailback = false;
  /** Our auto-failback `me` is out: if the exchange does not happen, failback is tried again. */
  private failbackInProgress = false;
  private failbackAt = Infinity;
  private rscrcvdAt = Infinity;
  private localDone = false;
  private foreignDone = false;
  private announced = false;
  /** Our own requests in flight: ip-request-resp to ourselves, ip-request to the holder. */
  private readonly pendingGrants = new Map<string, string | null>();
  /** Our requests dropped because the group was asked from us meanwhile: key → whom we had asked. */
  private barriers: Barrier[] = [];
  /** Groups whose start failed: heartbeat's background `hb_standby` 30 s later. */
  private readonly failedStandby = new Map<string, number>();
  private shutdown: 'none' | 'waiting' | 'releasing' | 'sent' | 'done' = 'none';
  private shutdownQueue: string[] = [];
  private shutdownDelayLogged = false;
  /** When the orphan audit runs: a quiet period after an input left everything stable. */
  private auditAt = Infinity;
  private auditDue = false;
  /** The isstable and (3+ nodes) hbd_held of our last `resource` message. */
  private advertisedStable = false;
  private advertisedKeys = '';
  private readonly restarting: boolean;
  /** The takeover plan last given to the engine per peer (JSON of the keys), to send changes only. */
  private readonly plans = new Map<string, string>();

  constructor(private readonly cfg: PolicyConfig, _now: number) {
    validate(cfg);
    this.me = cfg.localNode;
    this.multi = cfg.nodes.length > 2;
    // With 3+ nodes `legacy` (always give a returning node its groups back) is `on`: hbd needs the
    // resource messages there to know who holds what.
    this.nice = cfg.autoFailback !== 'legacy' || this.multi;
    this.auto = cfg.autoFailback !== 'off';
    for (const n of cfg.nodes) {
      if (n !== this.me) this.peers.set(n, { name: n, status: 'init', heard: false, bits: NO_RSC, holds: new Set(), granted: new Set(), announced: new Set(), stable: false, gone: false, reask: false });
    }
    const held = new Set(cfg.restartHeld ?? []);
    for (const g of cfg.groups) this.groups.set(g.key, { g, state: held.has(g.key) ? 'held' : 'none', want: held.has(g.key) ? 'held' : 'released', reason: 'acquire', grantTo: null, failure: null });
    this.restarting = cfg.restartHeld !== null;
    if (this.restarting) this.claim = this.bitsOf(this.me, [...held]);
  }

  onInput(input: PolicyInput, now: number): PolicyAction[] {
    const out: Out = [];
    switch (input.type) {
      case 'comm-up':
        this.onCommUp(now, out);
        break;
      case 'node-status':
        this.onNodeStatus(input.node, input.status, input.previous, now, out);
        break;
      case 'deliver':
        this.onDeliver(input.from, input.message, input.own, input.comm, now, out);
        break;
      case 'peer-restart': {
        const p = this.peers.get(input.node);
        if (p) {
          // Its new process knows nothing of what the old one held; its `starting` and
          // `resource` messages will say. Until then it is in flux.
          p.stable = false;
          p.gone = false;
          p.heard = true;
          p.granted.clear();
          p.holds.clear();
          p.announced.clear();
          p.bits = NO_RSC;
          // hbd: its new process knows nothing of a standby exchange with the old one, nor of
          // what the old one asked us for.
          if (this.going !== 'not' && !this.multi) this.cancelStandby(out);
          this.voidGrantsTo(p, out);
          let dropped = false;
          for (const [key, from] of this.pendingGrants) {
            if (from !== p.name) continue;
            this.pendingGrants.delete(key);
            dropped = true;
          }
          // Legacy has no audit to place them: ask again for what the old process never answered,
          // once the new one is active (before its comm-up it ignores requests).
          if (dropped && !this.nice) p.reask = true;
        }
        break;
      }
      case 'partition-healed':
        this.onPartitionHealed(input.node, out);
        break;
      case 'plan-executed':
        this.onPlanExecuted(input.node, input.addresses, out);
        break;
      case 'group-result':
        this.onGroupResult(input.key, input.op, input.ok, input.detail, now, out);
        break;
      case 'standby':
      case 'takeover':
        if (this.shutdown !== 'none') log(out, 'WARN', `hbd: ${input.type} ${input.scope} refused: this node is shutting down`);
        else if (input.type === 'standby') this.operatorStandby(input.scope, out);
        else this.operatorTakeover(input.scope, out);
        break;
      case 'shutdown':
        this.onShutdownRequest(input.keepResources, out);
        break;
      case 'timer':
        this.onTimer(now, out);
        break;
    }
    if (input.type !== 'timer') {
      // Something happened: the orphan audit waits for the next quiet period.
      this.auditAt = Infinity;
      this.auditDue = true;
    }
    this.settle(now, out);
    return out;
  }

  /** Absolute mono ms of the next timer, Infinity when none. */
  nextTimer(): number {
    let t = Math.min(this.rscrcvdAt, this.failbackAt, this.auditAt);
    if (this.standbyUntil !== 0) t = Math.min(t, this.standbyUntil);
    for (const at of this.failedStandby.values()) t = Math.min(t, at);
    return t;
  }

  snapshot(): PolicySnapshot {
    const groups = [...this.groups.values()].map((r): GroupSnapshot => {
      const remote = this.holderPeers(r.g.key)[0] ?? null;
      const state = r.state === 'held' ? 'held-local' : r.state === 'none' ? (remote ? 'held-remote' : 'none') : r.state;
      const holder = r.state === 'held' || r.state === 'stopping' ? this.me : r.state === 'starting' ? this.me : remote;
      return { key: r.g.key, preferred: r.g.node, holder, state, failure: r.failure };
    });
    return {
      autoFailback: this.cfg.autoFailback,
      phase: this.phase,
      rscstatus: this.isStable() ? holdName(this.nice ? this.claim : this.wantedBits()) : 'transition',
      standby: this.going,
      groups,
    };
  }

  // --- start-up -------------------------------------------------------------------------------

  private onCommUp(_now: number, out: Out): void {
    if (this.commUp) return;
    this.commUp = true;
    if ([...this.peers.values()].every((p) => p.status !== 'dead')) this.foreignDone = true;
    if (this.shutdown === 'waiting') {
      // Asked to stop before communication was up: acquire nothing, just give everything up.
      log(out, 'info', 'hbd: communication is up; the delayed shutdown proceeds without acquiring resources');
      return;
    }
    if (this.restarting) {
      // heartbeat's -R: the groups are still up; nothing to ask for.
      this.phase = this.nice ? 'stable' : this.phase;
      this.localDone = true;
      this.foreignDone = true;
      if (this.nice) this.sendHeld(true, undefined, out);
      return;
    }
    if (this.nice) {
      out.push({ type: 'send', message: startingMessage() });
      this.phase = 'starting';
    } else {
      const unknown = this.statusUnknown();
      if (unknown.length === 0) this.reqOurResources(false, out);
      else {
        this.askAfterStatus = true;
        log(out, 'info', `hbd: communication is up before the first status of ${unknown.join(', ')}; asking for our resources once it is known`);
      }
    }
    // A peer whose shutdone came before our comm-up: its takeover was left until now.
    for (const p of this.peers.values()) if (p.gone && isUp(p.status)) this.takeoverFromNode(p, out);
  }

  /** Peers heard (comm-up waits for every peer to be heard or dead) but whose status has not come yet. */
  private statusUnknown(): string[] {
    return [...this.peers.values()].filter((p) => p.status === 'init').map((p) => p.name);
  }

  /**
   * req_our_resources(): ask for our own groups — granted to ourselves with an
   * `ip-request-resp dest=<us>` when alone or in nice_failback mode, else asked from the current
   * holder with `ip-request`. The groups start when our own grant comes back (rc.d/ip-request-resp).
   */
  private reqOurResources(getThemAnyway: boolean, out: Out): void {
    this.askAfterStatus = false;
    if (this.shutdown !== 'none') return;
    const ours = this.cfg.groups.filter((g) => g.node === this.me);
    if (this.nice && !getThemAnyway && !this.multi) {
      // heartbeat's other_holds_resources, which a death clears: a peer heard since it last died
      // counts even before its first status arrived (a restarted node may hear its `resource`
      // reply, and come up, before the peer's next status beat).
      const otherHoldsOurs = [...this.peers.values()].some((p) => (this.alive(p) || (p.heard && !p.gone)) && (p.bits & FOREIGN_RSC) !== 0);
      if ((otherHoldsOurs || (this.claim & LOCAL_RSC) !== 0) && this.going === 'not') {
        log(out, 'info', 'Local Resource acquisition completed. (none)');
        return;
      }
    }
    if (this.nice) this.claim |= LOCAL_RSC;
    const upcount = [...this.peers.values()].filter((p) => p.status === 'active' && !p.gone).length + 1;
    for (const g of ours) {
      const r = this.group(g.key);
      // Held, asked for, or being given to someone who asked: nothing to request.
      if (r.want === 'held' || this.pendingGrants.has(g.key) || r.grantTo !== null) continue;
      const holders = this.holderPeers(g.key);
      const grant = this.nice ? holders.length === 0 || !this.multi : upcount < 2;
      if (grant) {
        this.pendingGrants.set(g.key, null);
        out.push({ type: 'send', message: ipRequestRespMessage(this.me, g.key, true) });
      } else if (!this.nice || this.auto) {
        // Legacy (heartbeat's req_resource), or hbd's 3+ node failback: ask the holder.
        const holder = holders[0] ?? [...this.peers.values()].find((p) => p.status === 'active' && !p.gone)?.name ?? null;
        this.ipRequest(g.key, holder, out);
      }
    }
    if (ours.length === 0) log(out, 'info', `No local resources [${RSC_MGR} listkeys ${this.me}] to acquire.`);
    else log(out, 'info', 'Local Resource acquisition completed.');
    this.sendHeld(true, 'req_our_resources()', out);
    this.localDone = true;
    this.announceTakeover('req_our_resources', out);
  }

  private announceTakeover(reason: string, out: Out): void {
    if (this.announced || !this.localDone || !this.foreignDone) return;
    this.announced = true;
    log(out, 'info', `Initial resource acquisition complete (${reason})`);
  }

  // --- node status, death, takeover ----------------------------------------------------------

  private onNodeStatus(node: string, status: NodeStatus, previous: NodeStatus, now: number, out: Out): void {
    const p = this.peers.get(node);
    if (!p) return; // ping nodes hold no groups
    const heardBefore = p.heard;
    p.status = status;
    if (this.askAfterStatus && this.statusUnknown().length === 0) this.reqOurResources(false, out);
    if (status !== 'dead') {
      p.heard = true;
      if (!isUp(previous)) p.gone = false;
      // Back from the dead already active: it ran without us (booted alone, or a partition the
      // membership did not see as one) and may hold what we hold. A fresh restart comes up first.
      if (previous === 'dead' && status === 'active') this.askForDuplicates(p, out);
      if (status === 'active' && p.reask) {
        p.reask = false;
        if (this.commUp) this.reqOurResources(false, out);
      }
      // 3+ nodes: what it missed while cut off (e.g. our answer to its `starting`) it learns now.
      if (previous === 'dead' && this.multi && this.nice && this.commUp && this.shutdown === 'none') this.sendHeld(this.phase === 'stable' && this.ownWorkDone(), undefined, out);
      return;
    }
    p.heard = false;
    if (previous !== 'dead') this.recoverDeadResources(p, heardBefore, now, out);
  }

  /** hb_rsc_recover_dead_resources(): hbd has no STONITH, so a needed one is reported as n_stnth. */
  private recoverDeadResources(p: Peer, heard: boolean, _now: number, out: Out): void {
    if (this.going !== 'not' && !this.multi) {
      this.cancelStandby(out);
      if (!p.stable && this.claim === ALL_RSC) p.stable = true;
    }
    for (const [key, from] of this.pendingGrants) if (from === p.name) this.pendingGrants.delete(key);
    this.voidGrantsTo(p, out);
    if (this.shutdown !== 'none') return;
    if (this.multi && !this.commUp && [...this.peers.values()].some((x) => x.status !== 'dead')) {
      // 3+ nodes: before comm-up we do not know what the live ones hold; after it, the start-up
      // exchange and the orphan audit place the dead node's groups.
      log(out, 'info', `hbd: takeover from ${p.name} left to the start-up exchange: other nodes may be alive`);
      return;
    }
    this.needsFailback = true;
    const needStonith = !(heard && (this.nice ? p.bits === NO_RSC && p.holds.size === 0 : p.gone));
    if (needStonith) {
      out.push({ type: 'send', message: stonithMessage(p.name, 'n_stnth') });
      log(out, 'WARN', 'No STONITH device configured.');
      log(out, 'WARN', 'Shared disks are not protected.');
      this.takeoverFromNode(p, out);
      return;
    }
    log(out, 'info', `Dead node ${p.name} gave up resources.`);
    out.push({ type: 'send', message: stonithMessage(p.name, 'unneeded') });
    if (this.nice && !this.multi) {
      if (this.claim === ALL_RSC) {
        p.stable = true;
        return;
      }
      if ((this.claim & LOCAL_RSC) === 0) this.reqOurResources(true, out);
      if ((this.claim & FOREIGN_RSC) === 0) this.takeoverFromNode(p, out);
    } else {
      this.takeoverFromNode(p, out);
    }
  }

  /**
   * takeover_from_node() + mach_down: the groups the dead (or departing) node held or prefers that
   * fall to us, then `resource rsc_hold=foreign info=mach_down`; and our own groups.
   */
  private takeoverFromNode(p: Peer, out: Out): void {
    if (this.shutdown !== 'none') {
      log(out, 'info', 'Resource takeover cancelled - shutdown in progress.');
      return;
    }
    log(out, 'info', `Resources being acquired from ${p.name}.`);
    p.holds.clear();
    p.announced.clear();
    p.granted.clear();
    p.bits = NO_RSC;
    // Its groups, and any other group no live node holds (a node that died before it announced a
    // takeover), that fall to us; with two nodes that is exactly mach_down's `listkeys <node>`.
    const keys = this.cfg.groups
      .filter((g) => this.group(g.key).want !== 'held' && this.holderPeers(g.key).length === 0 && this.targetOf(g) === this.me && (g.node === p.name || this.multi))
      .map((g) => g.key);
    for (const k of keys) {
      log(out, 'info', `Taking over resource group ${k}`);
      this.want(k, 'held', 'takeover', out);
    }
    this.barriers.push({
      keys,
      then: (o) => {
        if (this.nice) this.sendScript(o);
        log(o, 'info', `mach_down takeover complete for node ${p.name}.`);
        if (!this.nice) {
          this.foreignDone = true;
          this.announceTakeover('status', o);
        }
      },
    });
    if (this.nice) {
      this.claim |= FOREIGN_RSC;
      p.stable = true;
      this.takeoverInProgress = true;
    }
    this.reqOurResources(true, out);
    p.heard = true; // heartbeat sets anypacketsyet here so a later death needs no STONITH
  }

  /** mach_down's `resource rsc_hold=foreign info=mach_down` (with hbd_held in 3+ node clusters). */
  private sendScript(out: Out): void {
    const m = resourceScriptMessage('foreign', 'mach_down');
    out.push({ type: 'send', message: this.multi ? withHeld(m, this.wantedKeys()) : m });
  }

  // --- messages -------------------------------------------------------------------------------

  private onDeliver(from: string, msg: Message, own: boolean, comm: string, now: number, out: Out): void {
    const t = get(msg, 't');
    const p = own ? null : (this.peers.get(from) ?? null);
    if (!own && !p) return;
    if (p) p.heard = true;
    // shutdone is heartbeat's only resource handler registered before comm-up.
    if (t === 'shutdone') {
      this.onShutdone(p, out);
      return;
    }
    if (comm !== 'up' || !this.commUp) return;
    switch (t) {
      case 'starting':
        if (p) this.onStarting(p, out);
        this.audit(out);
        break;
      case 'resource':
        this.onResource(p, msg, now, out);
        this.audit(out);
        break;
      case 'ask_resources':
        this.askForResources(msg, from, own, now, out);
        break;
      case 'ip-request':
        if (p) this.onIpRequest(p, get(msg, 'ipaddr'), out);
        break;
      case 'ip-request-resp':
        this.onIpRequestResp(from, own, msg, out);
        break;
      case 'hb_takeover':
        if (p) this.onHbTakeover(p, get(msg, 'rsc_hold'), out);
        break;
      default:
        break; // stonith, API traffic: nothing for the policy
    }
  }

  private onStarting(p: Peer, out: Out): void {
    if (!this.nice) return;
    p.gone = false;
    switch (this.phase) {
      case 'rscrcvd':
      case 'stable':
      case 'shutdown':
        break;
      case 'bothstarting':
        if (!this.multi) {
          log(out, 'ERROR', `Received 'starting' message in state ${this.phaseNum()}`);
          return;
        }
        break; // hbd, 3+ nodes: a further peer starting as well
      case 'starting':
        this.phase = 'bothstarting';
        this.foreignDone = true;
        this.announceTakeover('HB_R_BOTHSTARTING', out);
        break;
      default:
        log(out, 'ERROR', `Received 'starting' message in state ${this.phaseNum()}`);
        return;
    }
    p.stable = false;
    if (this.takeoverInProgress) log(out, 'WARN', 'T_STARTING received during takeover.');
    this.sendHeld(this.phase === 'stable', undefined, out);
  }

  private onResource(p: Peer | null, msg: Message, now: number, out: Out): void {
    if (!this.nice) return;
    const n = holdBits(get(msg, 'rsc_hold'));
    if (get(msg, 'rsc_hold') === undefined) {
      log(out, 'ERROR', 'resource message without rsc_hold field.');
      return;
    }
    if (n === null) log(out, 'ERROR', `encode_resources: bad resource type [${get(msg, 'rsc_hold')}]`);
    const bits = n ?? NO_RSC;
    const full = get(msg, 'rtype') === 'full';
    switch (this.phase) {
      case 'bothstarting':
      case 'starting':
        this.phase = 'rscrcvd';
        if (!this.auto) {
          this.foreignDone = true;
          this.announceTakeover('T_RESOURCES', out);
        }
        break;
      case 'rscrcvd':
      case 'stable':
      case 'shutdown':
        break;
      default:
        log(out, 'ERROR', `resource message received in state ${this.phaseNum()}`);
        return;
    }
    if (this.phase === 'rscrcvd' && this.rscrcvdAt === Infinity) this.rscrcvdAt = now + this.cfg.timings.rqstDelayMs;
    if (p) this.onPeerResource(p, msg, bits, full, out);
    else this.onOwnResource(get(msg, 'info'), out);
  }

  private onPeerResource(p: Peer, msg: Message, bits: number, full: boolean, out: Out): void {
    p.bits = full ? bits : bits === NO_RSC ? NO_RSC : bits | p.bits;
    const keys = heldKeys(msg);
    const derived = keys ?? this.cfg.groups.filter((g) => this.inSet(g, p.name, p.bits)).map((g) => g.key);
    if (full || keys !== null || bits === NO_RSC) p.announced = new Set(derived);
    else for (const k of derived) p.announced.add(k);
    for (const k of derived) p.granted.delete(k);
    p.holds = new Set([...p.announced, ...p.granted]);
    const stable = get(msg, 'isstable');
    if (stable === '1') {
      if (!p.stable) {
        log(out, 'info', 'remote resource transition completed.');
        p.stable = true;
        this.sendHeld(this.phase === 'stable', undefined, out);
        this.performAutoFailback(out);
      }
    } else if (stable !== undefined) {
      p.stable = false;
    }
    if (this.phase !== 'stable' && this.phase !== 'shutdown' && this.otherStable()) {
      log(out, 'info', 'remote resource transition completed.');
      this.reqOurResources(false, out);
      this.phase = 'stable';
      this.rscrcvdAt = Infinity;
      this.sendHeld(true, undefined, out);
      this.performAutoFailback(out);
      this.foreignDone = true;
      if (!this.auto && (p.bits & FOREIGN_RSC) !== 0) this.localDone = true;
      this.announceTakeover('T_RESOURCES(them)', out);
    }
    if (stable === '1') this.claimDuplicates(p, out);
  }

  /**
   * hbd: a stable peer says it holds a group we hold too (a healed partition that one side saw as
   * a restart, a peer that booted alone). The better-ranked holder asks for it, as after a heal.
   */
  private claimDuplicates(p: Peer, out: Out): void {
    if (this.shutdown !== 'none' || this.going !== 'not') return;
    for (const g of this.cfg.groups) {
      if (this.group(g.key).state !== 'held' || !p.holds.has(g.key)) continue;
      if (this.rank(this.me, g) > this.rank(p.name, g) || this.pendingGrants.has(g.key)) continue;
      log(out, 'WARN', `hbd: ${p.name} holds ${g.key} as well; asking for it (it stays with its preferred node, else the first in ha.cf order)`);
      this.ipRequest(g.key, p.name, out);
    }
  }

  /**
   * heartbeat's ip-request goes to everyone and whoever holds the group gives it up. With 3+ nodes
   * hbd names the holder it asks (`dest`), so a third holder keeps its claim.
   */
  private ipRequest(key: string, holder: string | null, out: Out): void {
    this.pendingGrants.set(key, holder);
    const m = ipRequestMessage(key);
    out.push({ type: 'send', message: this.multi && holder !== null ? [...m, str('dest', holder)] : m });
  }

  /**
   * Our own `resource` looped back. heartbeat also re-applies the bits it sent ("probably
   * unnecessary"); hbd keeps its claim, which may have moved on since, and reacts to the comment.
   */
  private onOwnResource(info: string | undefined, out: Out): void {
    if ((this.claim & LOCAL_RSC) !== 0) {
      this.localDone = true;
      this.announceTakeover('T_RESOURCES(us)', out);
    }
    if (info === 'mach_down') {
      log(out, 'info', 'mach_down takeover complete.');
      this.takeoverInProgress = false;
      // heartbeat claims the foreign set here; hbd not if it handed those groups on meanwhile.
      if ((this.wantedBits() & FOREIGN_RSC) !== 0 || this.cfg.groups.every((g) => g.node === this.me)) this.claim |= FOREIGN_RSC;
      this.needsFailback = true;
      for (const p of this.peers.values()) if (!this.alive(p)) p.stable = true;
      if (!this.multi) for (const p of this.peers.values()) p.stable = true;
      this.foreignDone = true;
      this.announceTakeover('mach_down', out);
      // hbd: a peer that came back during the takeover was stable before we were; heartbeat would
      // wait for its next `resource` message to fail back.
      if (this.auto && !this.multi && [...this.peers.values()].some((x) => this.alive(x))) this.performAutoFailback(out);
    } else if (info === 'shutdown') {
      this.phase = 'shutdown';
    }
  }

  /** HBDoMsg_T_SHUTDONE: a peer released everything — take over at once, without waiting for deadtime. */
  private onShutdone(p: Peer | null, out: Out): void {
    if (!p) {
      if (this.shutdown === 'sent') {
        this.shutdown = 'done';
        out.push({ type: 'shutdown-complete', keepResources: false });
      }
      return;
    }
    p.gone = true;
    p.stable = true;
    p.bits = NO_RSC;
    // heartbeat's "Received shutdown notice from 'X'." is membership's line (it marks the node dead).
    for (const [key, from] of this.pendingGrants) if (from === p.name) this.pendingGrants.delete(key);
    // Before comm-up our own messages are not handled yet: comm-up does the takeover.
    if (this.commUp) this.takeoverFromNode(p, out);
  }

  // --- ip-request (legacy failback, hbd's moves between named nodes) -------------------------

  /** rc.d/ip-request: give the group up if we hold it, then always answer. */
  private onIpRequest(p: Peer, key: string | undefined, out: Out): void {
    const r = key === undefined ? undefined : this.groups.get(key);
    if (!r || key === undefined) {
      log(out, 'ERROR', `hbd: ip-request from ${p.name} for "${key ?? ''}", which is no haresources group here; answering weown=no`);
      if (key !== undefined) out.push({ type: 'send', message: ipRequestRespMessage(p.name, key, false) });
      return;
    }
    if (r.want === 'released' && r.state === 'none') {
      out.push({ type: 'send', message: ipRequestRespMessage(p.name, key, false) });
      return;
    }
    // Whatever we asked for it, the asker wins; the answer to our request will be stale.
    this.pendingGrants.delete(key);
    // Once the shutdown releases everything, this group's turn comes: answer when it is done.
    if (this.shutdown === 'none' || this.shutdown === 'waiting') this.want(key, 'released', 'handover', out);
    r.grantTo = p.name;
    this.barriers.push({
      keys: [key],
      // Answered once stopped here; dropped when we keep it or promise it to a later asker.
      ready: () => r.grantTo !== p.name || r.state !== 'held',
      then: (o) => {
        if (r.grantTo !== p.name) return; // kept or promised to a later asker meanwhile
        r.grantTo = null;
        if (this.nice) {
          this.claim = this.wantedBits();
          this.sendHeld(this.isStable(), undefined, o);
        }
        o.push({ type: 'send', message: ipRequestRespMessage(p.name, key, true) });
        this.granted(p, key);
      },
    });
  }

  /** rc.d/ip-request-resp: ours (dest = us) means "take it". */
  private onIpRequestResp(from: string, own: boolean, msg: Message, out: Out): void {
    if (get(msg, 'dest') !== this.me) return;
    const key = get(msg, 'ipaddr');
    const r = key === undefined ? undefined : this.groups.get(key);
    if (!r || key === undefined) {
      log(out, 'ERROR', `hbd: ip-request-resp from ${from} for "${key ?? ''}", which is no haresources group here; ignored`);
      return;
    }
    const weown = get(msg, 'weown') ?? '';
    // An answer to a request we dropped since (the group was asked from us meanwhile) is stale;
    // only a 3+ node handover comes unasked, and it says so.
    if (!this.pendingGrants.has(key) && !(this.multi && !own && get(msg, HANDOVER_FIELD) === '1')) {
      log(out, 'debug', `hbd: ip-request-resp for ${key} from ${from} answers no request of ours; ignored`);
      return;
    }
    this.pendingGrants.delete(key);
    log(out, 'info', `received ip-request-resp ${key} OK ${weown}`);
    if (get(msg, 'ok') !== 'OK' || this.shutdown !== 'none' || r.want === 'held') return; // refused, or moot
    // Our own grant was decided on what we knew then: never start what a live peer now holds;
    // nor what a third node holds when the answer comes from another.
    const holder = this.holderPeers(key).find((n) => n !== from);
    if (holder !== undefined) {
      log(out, 'WARN', `hbd: not acquiring ${key}: ${holder} holds it`);
      // 3+ nodes: it was held twice (a healed split); ask the other holder as well.
      if (!own && this.multi && r.reason !== 'shutdown') this.ipRequest(key, holder, out);
      return;
    }
    if (!own) {
      for (const p of this.peers.values()) {
        p.holds.delete(key);
        p.announced.delete(key);
      }
    }
    this.want(key, 'held', own ? 'acquire' : 'handover', out);
  }

  // --- standby / takeover (spec §8.7) ---------------------------------------------------------

  private operatorStandby(scope: StandbyScope, out: Out): void {
    const set = scope === 'failback' ? 'foreign' : scope;
    if (this.multi) {
      this.handOver(set, out);
      return;
    }
    log(out, 'info', `Going standby [${set}].`);
    out.push({ type: 'send', message: askResourcesMessage(set, 'me') });
  }

  private operatorTakeover(scope: StandbyScope, out: Out): void {
    if (!this.multi) {
      out.push({ type: 'send', message: takeoverMessage(scope as TakeoverHold) });
      return;
    }
    for (const g of this.cfg.groups) {
      if (!this.inSet(g, this.me, holdBits(scope === 'failback' ? 'local' : scope) ?? ALL_RSC)) continue;
      const holder = this.holderPeers(g.key)[0];
      if (holder === undefined || this.pendingGrants.has(g.key)) continue;
      this.ipRequest(g.key, holder, out);
    }
  }

  /** rc.d/hb_takeover: the other node wants a set, so we go standby with the complement. */
  private onHbTakeover(p: Peer, hold: string | undefined, out: Out): void {
    const mapped: Partial<Record<string, StandbyScope>> = { all: 'all', local: 'foreign', foreign: 'local', failback: 'foreign' };
    const scope = hold === undefined ? undefined : mapped[hold];
    if (scope === undefined) {
      log(out, 'ERROR', `hbd: hb_takeover from ${p.name} with rsc_hold=${hold ?? '(none)'} ignored: expected all, local, foreign or failback`);
      return;
    }
    // heartbeat's hook maps `failback` to nothing (hb_standby prints its usage); hbd gives the
    // requester its own groups back, which is what the command says.
    this.operatorStandby(scope, out);
  }

  /** ask_for_resources(): the three-phase standby exchange, ported state for state. */
  private askForResources(msg: Message, from: string, own: boolean, now: number, out: Out): void {
    if (!this.nice) {
      log(out, 'info', 'Standby mode only implemented when nice_failback on');
      return;
    }
    if (this.multi) {
      log(out, 'WARN', `hbd: ask_resources from ${from} ignored: with three or more nodes hbd moves groups with ip-request`);
      return;
    }
    if (this.phase === 'shutdown') return;
    const info = get(msg, 'info');
    const rsc = get(msg, 'rsc_hold');
    const rtype = rsc === undefined ? ALL_RSC : (holdBits(rsc) ?? NO_RSC);
    if (info === undefined) {
      log(out, 'ERROR', 'Received standby message without info/from');
      return;
    }
    if (info === 'not') {
      // hbd's cancel: the requester gave the exchange up (refused or timed out on its side);
      // heartbeat never sends `not` and would keep waiting for up to an hour.
      if (this.going === 'other' && !own) {
        log(out, 'info', `hbd: ${from} cancelled its standby request`);
        this.going = 'not';
        this.standbyUntil = 0;
      }
      return;
    }
    if (this.standbyUntil !== 0 && now < this.standbyUntil && info === 'me') {
      const secs = Math.ceil((this.standbyUntil - now) / 1000);
      log(out, 'WARN', `Standby in progress- new request from ${from} ignored [${secs} seconds left]`);
      return;
    }
    const orig = this.going;
    let ignored = false;
    const run = this.cfg.timings.standbyRunMs;
    switch (this.going) {
      case 'not':
        if (!this.otherStable() || this.phase !== 'stable') {
          log(out, 'WARN', `standby message [${info}] from ${from} ignored.  ${this.otherStable() ? 'local resources' : 'Other side is'} in flux.`);
          if (own) this.failbackAgain(out);
          return;
        }
        this.standbyType = rtype;
        if (info === 'me') {
          for (const p of this.peers.values()) p.stable = false;
          log(out, 'info', `${from} wants to go standby [${holdName(rtype)}]`);
          if (own) {
            this.standbyUntil = now + this.cfg.timings.standbyReplyMs;
            this.going = 'me';
          } else {
            this.going = 'other';
            this.sendStandby('other', out);
            this.standbyUntil = now + run;
          }
        } else ignored = true;
        break;
      case 'me':
        if (!own) {
          this.standbyType = rtype;
          this.standbyUntil = now + run;
          if (info === 'other') {
            log(out, 'info', `standby: ${from} can take our ${holdName(rtype)} resources`);
            this.goStandby('me', rtype, out);
          } else ignored = true;
        } else if (info === 'done') {
          log(out, 'info', `Local standby process completed [${holdName(rtype)}].`);
          this.going = 'done';
          this.claim &= ~this.standbyType;
          this.standbyUntil = now + run;
        } else ignored = true;
        break;
      case 'other':
        this.standbyType = rtype;
        if (info === 'done') {
          this.standbyUntil = now + run;
          if (!own) {
            log(out, 'info', `standby: acquire [${holdName(rtype)}] resources from ${from}`);
            this.goStandby('other', this.standbyType, out);
            this.going = 'done';
          } else ignored = true;
        } else if (!own || info !== 'other') ignored = true;
        break;
      case 'done':
        this.standbyType = rtype;
        if (info === 'done') {
          this.standbyUntil = 0;
          this.going = 'not';
          this.failbackInProgress = false;
          if (own) {
            log(out, 'info', `Standby resource acquisition done [${holdName(rtype)}].`);
            if (this.auto) {
              this.localDone = true;
              this.announceTakeover('auto_failback', out);
            }
            this.claim |= rtype === LOCAL_RSC ? FOREIGN_RSC : rtype === FOREIGN_RSC ? LOCAL_RSC : rtype;
          } else {
            log(out, 'info', `Other node completed standby takeover of ${holdName(rtype)} resources.`);
          }
          this.sendHeld(true, undefined, out);
        } else ignored = true;
        break;
    }
    if (ignored) log(out, 'ERROR', `Ignored standby message '${info}' from ${from} in state ${GOING_NUM[orig]}`);
  }

  /**
   * go_standby(): the giver (`me`) drops the set from its claim and releases its groups; the
   * acquirer (`other`) takes the complementary set. Each ends with `ask_resources info=done`.
   */
  private goStandby(who: 'me' | 'other', set: number, out: Out): void {
    const give = who === 'me';
    if (give) {
      for (const p of this.peers.values()) p.stable = false;
      this.claim &= ~set;
      this.sendHeld(false, 'standby', out);
    }
    const act = give || set === ALL_RSC ? set : set === LOCAL_RSC ? FOREIGN_RSC : set === FOREIGN_RSC ? LOCAL_RSC : NO_RSC;
    if (act === NO_RSC) {
      log(out, 'ERROR', `no resources to ${give ? 'give up' : 'acquire'}`);
      return;
    }
    log(out, 'info', `${give ? 'give up' : 'acquire'} ${holdName(act)} HA resources (standby).`);
    const keys: string[] = [];
    for (const g of this.cfg.groups) {
      if (!this.inSet(g, this.me, act)) continue;
      const r = this.group(g.key);
      if (give) {
        if (r.state === 'none' && r.want === 'released') continue;
        this.want(g.key, 'released', 'standby', out);
      } else {
        if (this.holderPeers(g.key).length > 0) continue;
        this.want(g.key, 'held', 'standby', out);
      }
      keys.push(g.key);
    }
    const epoch = this.standbyEpoch;
    this.barriers.push({
      keys,
      then: (o) => {
        if (epoch !== this.standbyEpoch) {
          // Cancelled: the giver takes its groups back, the acquirer keeps what it got, and both
          // say so, so that a restarted partner sees who holds what.
          log(o, 'info', `hbd: standby cancelled; keeping the ${holdName(act)} resources`);
          if (give) for (const k of keys) if (this.holderPeers(k).length === 0) this.want(k, 'held', 'standby', o);
          this.claim |= this.wantedBits();
          this.sendHeld(true, undefined, o);
          return;
        }
        log(o, 'info', `${holdName(act)} HA resource ${give ? 'release' : 'acquisition'} completed (standby).`);
        this.sendStandby('done', o);
      },
    });
  }

  /** The exchange's partner is gone: what we were giving away we keep (go_standby's work is voided). */
  private cancelStandby(out: Out): void {
    log(out, 'info', 'Cancelling pending standby operation');
    this.going = 'not';
    this.standbyUntil = 0;
    this.standbyEpoch++;
  }

  private sendStandby(info: AskInfo, out: Out): void {
    out.push({ type: 'send', message: askResourcesMessage(holdName(this.standbyType), info) });
  }

  /** PerformAutoFailback(): hand the foreign groups back once the other side is stable. */
  private performAutoFailback(out: Out): void {
    this.failbackAt = Infinity;
    if (this.shutdown !== 'none' || (this.claim & FOREIGN_RSC) === 0 || !this.needsFailback || !this.auto) {
      this.needsFailback = false;
      return;
    }
    if (this.multi) {
      // 3+ nodes: the returning preferred node asks with ip-request (reqOurResources).
      this.needsFailback = false;
      return;
    }
    if (this.going !== 'not' || !this.otherStable() || this.phase !== 'stable') {
      log(out, 'debug', 'Auto failback delayed.');
      this.failbackAt = -1; // armed in settle() relative to now
      return;
    }
    this.standbyType = FOREIGN_RSC;
    this.sendStandby('me', out);
    this.needsFailback = false;
    this.failbackInProgress = true;
  }

  /**
   * hbd: our auto-failback request was refused here or got no reply. The other side may have
   * accepted it, so it is told (`info=not`), and failback is tried again once things are stable.
   */
  private failbackAgain(out: Out): void {
    if (!this.failbackInProgress) return;
    this.failbackInProgress = false;
    this.needsFailback = true;
    this.failbackAt = -1;
    this.sendStandby('not', out);
  }

  /** hbd's `standby` with three or more nodes: each held group in the set goes to its next holder. */
  private handOver(set: WireHold, out: Out): void {
    const bits = holdBits(set) ?? ALL_RSC;
    log(out, 'info', `Going standby [${set}].`);
    for (const g of this.cfg.groups) {
      const r = this.group(g.key);
      if (!this.inSet(g, this.me, bits) || r.want !== 'held') continue;
      const to = this.targetOf(g, this.me);
      if (to === null) {
        log(out, 'WARN', `hbd: ${g.key} stays here: no other node is up to take it`);
        continue;
      }
      this.want(g.key, 'released', 'handover', out);
      r.grantTo = to;
      this.barriers.push({
        keys: [g.key],
        then: (o) => {
          if (r.grantTo !== to) return; // kept or promised elsewhere meanwhile
          r.grantTo = null;
          this.sendHeld(this.isStable(), undefined, o);
          o.push({ type: 'send', message: [...ipRequestRespMessage(to, g.key, true), str(HANDOVER_FIELD, '1')] });
          const tp = this.peers.get(to);
          if (tp) this.granted(tp, g.key);
        },
      });
    }
  }

  /** Groups we were releasing for `p`, which is gone: we keep them (its takeover may want them). */
  private voidGrantsTo(p: Peer, out: Out): void {
    for (const r of this.groups.values()) {
      if (r.grantTo !== p.name) continue;
      r.grantTo = null;
      if (this.shutdown === 'none') this.want(r.g.key, 'held', 'handover', out);
    }
  }

  /** It starts the group on our answer: count it as its holder from now on. */
  private granted(p: Peer, key: string): void {
    p.holds.add(key);
    p.granted.add(key);
  }

  // --- partitions -----------------------------------------------------------------------------

  private onPartitionHealed(node: string, out: Out): void {
    const p = this.peers.get(node);
    if (!p) return;
    p.stable = false;
    p.gone = false;
    this.advertisedStable = false; // what we said while cut off may be lost: say it again
    if (this.shutdown !== 'none') return;
    log(out, 'WARN', `hbd: partition with ${node} healed: a group held on both sides stays with its preferred node (else the one first in ha.cf), which asks for it with ip-request; the other releases it (heartbeat would restart both nodes)`);
    this.askForDuplicates(p, out);
    if (this.nice) this.sendHeld(this.isStable(), undefined, out);
  }

  /**
   * A node we declared dead is back (healed partition, or a restart that took groups while it
   * could not hear us): it may hold groups we hold. For each group we hold and rank better on, we
   * ask with ip-request; it answers weown=no when it does not hold it, and releases it when it does.
   */
  private askForDuplicates(p: Peer, out: Out): void {
    if (this.shutdown !== 'none' || !this.commUp) return;
    for (const g of this.cfg.groups) {
      if (this.group(g.key).want !== 'held' || this.rank(this.me, g) > this.rank(p.name, g)) continue;
      // Asked even when another request for it is out: with 3+ nodes each may hold a copy.
      this.ipRequest(g.key, p.name, out);
    }
  }


  /** Lower wins a group held twice: its preferred node, then ha.cf order. */
  private rank(node: string, g: PolicyGroup): number {
    return node === g.node ? -1 : this.cfg.nodes.indexOf(node);
  }

  // --- shutdown -------------------------------------------------------------------------------

  private onShutdownRequest(keepResources: boolean, out: Out): void {
    if (this.shutdown !== 'none') {
      log(out, 'info', 'Heartbeat shutdown already underway.');
      return;
    }
    if (keepResources) {
      // heartbeat's restart keeping resources: peers see dt + 30 s and do not take over meanwhile.
      this.shutdown = 'done';
      for (const n of this.peers.keys()) this.setPlan(n, null, out);
      out.push({ type: 'bump-deadtime', tag: 'restart', extraMs: this.cfg.timings.restartBumpMs });
      out.push({ type: 'shutdown-complete', keepResources: true });
      return;
    }
    this.shutdown = 'waiting';
    this.pendingGrants.clear(); // we take nothing any more; late answers are ignored
    for (const n of this.peers.keys()) this.setPlan(n, null, out);
    if (!this.commUp) log(out, 'WARN', 'Shutdown delayed until Communication is up.');
  }

  /** hb_giveup_resources(): once stable, every group is stopped, last group first, then `shutdone`. */
  private beginRelease(out: Out): void {
    this.shutdown = 'releasing';
    this.claim = NO_RSC;
    this.phase = 'shutdown';
    this.going = 'not';
    this.standbyUntil = 0;
    this.rscrcvdAt = Infinity;
    this.failbackAt = Infinity;
    this.failedStandby.clear();
    if (this.nice) this.sendHeld(false, 'shutdown', out);
    log(out, 'info', `Heartbeat shutdown in progress. (${this.cfg.pid})`);
    log(out, 'info', 'Giving up all HA resources.');
    this.shutdownQueue = this.cfg.groups.map((g) => g.key).reverse();
    this.releaseNext(out);
  }

  private releaseNext(out: Out): void {
    const key = this.shutdownQueue.shift();
    if (key === undefined) {
      log(out, 'info', 'All HA resources relinquished.');
      this.shutdown = 'sent';
      out.push({ type: 'send', message: shutdoneMessage() });
      return;
    }
    const r = this.group(key);
    r.want = 'released';
    r.reason = 'shutdown';
    r.state = 'stopping'; // stops are idempotent: heartbeat gives up every group, held or not
    out.push({ type: 'stop-group', key, reason: 'shutdown' });
  }

  // --- groups ---------------------------------------------------------------------------------

  private group(key: string): Group {
    const r = this.groups.get(key);
    if (!r) throw new Error(`resource policy: unknown group "${key}"`);
    return r;
  }

  private want(key: string, want: 'held' | 'released', reason: GroupReason, out: Out): void {
    const r = this.group(key);
    r.want = want;
    r.reason = reason;
    if (want === 'held') {
      r.failure = null;
      // A promised answer is void once we keep the group: the asker hears "no" (ok=NO: heartbeat's
      // rc.d/ip-request-resp takes nothing then), so that it stops waiting.
      const asker = r.grantTo === null ? undefined : this.peers.get(r.grantTo);
      if (asker && this.alive(asker)) out.push({ type: 'send', message: modifyOrAppend(ipRequestRespMessage(asker.name, key, false), str('ok', 'NO')) });
      r.grantTo = null;
      // Claimed before it is acquired (heartbeat's rule), so our `rsc_hold` never hides it.
      if (this.nice) this.claim |= this.bitsOf(this.me, [key]);
    } else {
      // Giving it up: whatever we asked for it is void, and so will the answer be.
      this.pendingGrants.delete(key);
    }
    this.drive(r, true, out);
  }

  /** Starts or stops toward `want` unless an operation runs; a failed group moves only when asked. */
  private drive(r: Group, asked: boolean, out: Out): void {
    if (r.state === 'starting' || r.state === 'stopping') return;
    if (r.state === 'failed' && !asked) return;
    if (r.want === 'held' && r.state !== 'held') {
      r.state = 'starting';
      out.push({ type: 'start-group', key: r.g.key, reason: r.reason });
    } else if (r.want === 'released' && (r.state === 'held' || r.state === 'failed')) {
      r.state = 'stopping';
      out.push({ type: 'stop-group', key: r.g.key, reason: r.reason });
    }
  }

  private onGroupResult(key: string, op: 'start' | 'stop', ok: boolean, detail: string, now: number, out: Out): void {
    const r = this.groups.get(key);
    if (!r) {
      log(out, 'ERROR', `hbd: result for unknown group "${key}" ignored`);
      return;
    }
    const expected = op === 'start' ? 'starting' : 'stopping';
    if (r.state !== expected) {
      log(out, 'ERROR', `hbd: ${op} result for group ${key} while it is ${r.state}; ignored`);
      return;
    }
    if (ok) {
      r.state = op === 'start' ? 'held' : 'none';
    } else {
      r.state = 'failed';
      r.failure = `${op}: ${detail}`;
      if (op === 'start') {
        // ResourceManager released what it started; heartbeat pushes the group away 30 s later.
        r.want = 'released';
        if (this.nice && this.shutdown === 'none') this.failedStandby.set(key, now + this.cfg.timings.failedStartStandbyMs);
      }
      log(out, 'ERROR', `hbd: group ${key} failed to ${op}: ${detail}`);
    }
    if (r.reason === 'shutdown' && this.shutdown === 'releasing') {
      this.releaseNext(out);
      return;
    }
    this.drive(r, false, out);
  }

  /**
   * The engine added these addresses at `node`'s death (contract C). A group it belongs to that we
   * did not take over after all (someone else holds it) is stopped here again, which removes them.
   */
  private onPlanExecuted(node: string, addresses: readonly string[], out: Out): void {
    for (const r of this.groups.values()) {
      // Wanted, or granted to ourselves and about to start (our own answer is on its way): keep.
      if (r.want === 'held' || this.pendingGrants.has(r.g.key) || r.state !== 'none' || !r.g.vips.some((v) => addresses.includes(v.address))) continue;
      log(out, 'WARN', `hbd: the engine took over ${r.g.key}'s address at ${node}'s death, but the group stays with ${this.holderPeers(r.g.key)[0] ?? 'no one'}; removing it`);
      r.state = 'stopping';
      r.reason = 'takeover';
      out.push({ type: 'stop-group', key: r.g.key, reason: 'takeover' });
    }
  }

  // --- timers ---------------------------------------------------------------------------------

  private onTimer(now: number, out: Out): void {
    if (now >= this.rscrcvdAt) {
      this.rscrcvdAt = Infinity;
      if (this.phase === 'rscrcvd') {
        this.phase = 'stable';
        this.reqOurResources(false, out);
        log(out, 'info', 'local resource transition completed.');
        this.sendHeld(true, undefined, out);
        this.performAutoFailback(out);
      }
    }
    if (this.standbyUntil !== 0 && now >= this.standbyUntil) {
      log(out, 'WARN', 'No reply to standby request.  Standby request cancelled.');
      this.failbackAgain(out);
      this.going = 'not';
      this.standbyUntil = 0;
      this.standbyEpoch++;
      for (const p of this.peers.values()) if (this.alive(p)) p.stable = true;
    }
    if (now >= this.failbackAt) this.performAutoFailback(out);
    if (now >= this.auditAt) {
      this.auditAt = Infinity;
      this.adoptOrphans(out);
    }
    for (const [key, at] of this.failedStandby) {
      if (now < at) continue;
      this.failedStandby.delete(key);
      const g = this.group(key).g;
      this.operatorStandby(g.node === this.me ? 'local' : 'foreign', out);
    }
  }

  // --- after every input ----------------------------------------------------------------------

  private settle(now: number, out: Out): void {
    this.runBarriers(out);
    if (this.failbackAt === -1) this.failbackAt = now + this.cfg.timings.failbackRetryMs;
    if (this.shutdown === 'waiting' && this.commUp) {
      // hbd: with no groups there is no resource activity to wait for.
      if (this.isStable() || this.cfg.groups.length === 0) this.beginRelease(out);
      else if (!this.shutdownDelayLogged) {
        log(out, 'WARN', 'Shutdown delayed until current resource activity finishes.');
        this.shutdownDelayLogged = true;
      }
    }
    // hbd: our last word was "in flux" and our own work is done: say so, or two nodes that both
    // said isstable=0 would wait for each other (heartbeat relies on its exchanges ending with 1).
    // (A delayed shutdown waits for exactly this, on both sides.)
    if (this.nice && this.commUp && (this.shutdown === 'none' || this.shutdown === 'waiting') && this.phase === 'stable' && !this.advertisedStable && this.ownWorkDone()) this.sendHeld(true, undefined, out);
    // 3+ nodes: the peers learn every change of what we hold (they place orphans on it).
    else if (this.multi && this.commUp && this.shutdown === 'none' && this.advertisedKeys !== this.wantedKeys().join(' ')) this.sendHeld(this.phase === 'stable' && this.ownWorkDone(), undefined, out);
    this.updatePlans(out);
    if (this.auditDue && this.nice && this.commUp && this.shutdown === 'none' && this.phase === 'stable' && this.isStable()) {
      this.auditDue = false;
      this.auditAt = now + this.cfg.timings.orphanAuditMs;
    }
  }

  private runBarriers(out: Out): void {
    for (;;) {
      const i = this.barriers.findIndex((b) => b.keys.every((k) => !this.inFlight(k)) && (b.ready?.() ?? true));
      if (i < 0) return;
      const [b] = this.barriers.splice(i, 1);
      b?.then(out);
    }
  }

  private inFlight(key: string): boolean {
    const s = this.group(key).state;
    return s === 'starting' || s === 'stopping';
  }

  /**
   * hbd's audit beyond heartbeat's (which only logs "No one owns …"): once everything has been
   * stable and quiet for orphanAuditMs (so that the peers' last `resource` messages are in), a group
   * no live node holds whose turn it is ours (preferred node, else first live in ha.cf order) is
   * acquired — e.g. after a peer restarted while holding our groups, or died before it took over.
   */
  private adoptOrphans(out: Out): void {
    if (!this.nice || !this.commUp || this.shutdown !== 'none' || this.phase !== 'stable' || !this.isStable()) return;
    // After a quiet period a handover it accepted has been announced; one it has not, it refused.
    for (const p of this.peers.values()) {
      p.granted.clear();
      p.holds = new Set(p.announced);
    }
    for (const g of this.cfg.groups) {
      const r = this.group(g.key);
      if (r.want === 'held' || r.state === 'failed' || this.failedStandby.has(g.key) || this.pendingGrants.has(g.key)) continue;
      if (this.holderPeers(g.key).length > 0) continue;
      // Ours by the rule, or (two nodes) in the set our `rsc_hold` claims: the peer cannot tell a
      // partly held set from a full one, so a claim must be made true.
      if (this.targetOf(g) !== this.me && (this.multi || !this.inSet(g, this.me, this.claim))) continue;
      log(out, 'WARN', `hbd: no live node holds ${g.key}; acquiring it`);
      this.want(g.key, 'held', g.node === this.me ? 'acquire' : 'takeover', out);
      if (this.nice) this.claim |= g.node === this.me ? LOCAL_RSC : FOREIGN_RSC;
      this.barriers.push({ keys: [g.key], then: (o) => this.sendHeld(this.isStable(), undefined, o) });
    }
  }

  /** AuditResources(): heartbeat's duplicate/orphan log lines (two-node bits, as heartbeat). */
  private audit(out: Out): void {
    if (!this.nice || this.multi) return;
    const other = [...this.peers.values()][0];
    const ob = other && this.alive(other) ? other.bits : NO_RSC;
    if ((this.claim & LOCAL_RSC) !== 0 && (ob & FOREIGN_RSC) !== 0) log(out, 'ERROR', 'Both machines own our resources!');
    if ((ob & LOCAL_RSC) !== 0 && (this.claim & FOREIGN_RSC) !== 0) log(out, 'ERROR', 'Both machines own foreign resources!');
    if (this.isStable() && this.shutdown === 'none' && this.phase !== 'shutdown') {
      // hbd: only about groups that exist (heartbeat also complains of an empty set).
      const mine = this.cfg.groups.some((g) => g.node === this.me);
      const theirs = this.cfg.groups.some((g) => g.node !== this.me);
      if (mine && (this.claim & LOCAL_RSC) === 0 && (ob & FOREIGN_RSC) === 0) log(out, 'ERROR', 'No one owns our local resources!');
      if (theirs && (ob & LOCAL_RSC) === 0 && (this.claim & FOREIGN_RSC) === 0) log(out, 'ERROR', 'No one owns foreign resources!');
    }
  }

  /**
   * The engine's standing plan per live peer (contract C): the leading VIPs of the groups that
   * would fall to us the moment that peer is declared dead.
   */
  private updatePlans(out: Out): void {
    for (const p of this.peers.values()) {
      let vips: VipSpec[] | null = null;
      if (this.commUp && this.shutdown === 'none' && this.alive(p)) {
        const othersHold = (k: string) => this.holderPeers(k).some((n) => n !== p.name);
        const keys = this.cfg.groups.filter((g) => this.group(g.key).want !== 'held' && !othersHold(g.key) && (p.holds.has(g.key) || g.node === p.name) && this.targetOf(g, p.name) === this.me);
        const all = keys.flatMap((g) => g.vips);
        vips = all.length > 0 ? all : null;
      }
      this.setPlan(p.name, vips, out);
    }
  }

  private setPlan(node: string, vips: readonly VipSpec[] | null, out: Out): void {
    const sig = vips === null ? '' : JSON.stringify(vips);
    if ((this.plans.get(node) ?? '') === sig) return;
    this.plans.set(node, sig);
    out.push({ type: 'set-takeover-plan', node, vips });
  }

  // --- knowledge ------------------------------------------------------------------------------

  private alive(p: Peer): boolean {
    return isUp(p.status) && !p.gone;
  }

  private holderPeers(key: string): string[] {
    return [...this.peers.values()].filter((p) => this.alive(p) && p.holds.has(key)).map((p) => p.name);
  }

  /**
   * Who should hold an unheld group: its preferred node if alive, else the first live node in ha.cf
   * order. A node not heard from yet (start-up) may be alive: it counts, so that nobody takes its
   * turn before comm-up has shown who is there.
   */
  private targetOf(g: PolicyGroup, excluding?: string): string | null {
    const up = (n: string): boolean => {
      if (n === excluding) return false;
      if (n === this.me) return this.shutdown === 'none';
      const p = this.peers.get(n);
      return p !== undefined && (this.alive(p) || p.status === 'init');
    };
    if (up(g.node)) return g.node;
    return this.cfg.nodes.find(up) ?? null;
  }

  /** Is `g` in the set `bits` from `holder`'s point of view (local = the holder's own groups)? */
  private inSet(g: PolicyGroup, holder: string, bits: number): boolean {
    return g.node === holder ? (bits & LOCAL_RSC) !== 0 : (bits & FOREIGN_RSC) !== 0;
  }

  private bitsOf(holder: string, keys: readonly string[]): number {
    let b = NO_RSC;
    for (const k of keys) b |= this.group(k).g.node === holder ? LOCAL_RSC : FOREIGN_RSC;
    return b;
  }

  private wantedKeys(): string[] {
    return [...this.groups.values()].filter((r) => r.want === 'held').map((r) => r.g.key);
  }

  private wantedBits(): number {
    return this.bitsOf(this.me, this.wantedKeys());
  }

  private otherStable(): boolean {
    return [...this.peers.values()].every((p) => !this.alive(p) || p.stable);
  }

  private busy(): boolean {
    return [...this.groups.values()].some((r) => r.state === 'starting' || r.state === 'stopping') || this.barriers.length > 0 || this.pendingGrants.size > 0;
  }

  private ownWorkDone(): boolean {
    return !this.busy() && !this.takeoverInProgress && this.going === 'not' && this.standbyUntil === 0;
  }

  /** hb_rsc_isstable(). */
  private isStable(): boolean {
    if (!this.nice) return !this.busy();
    if (this.shutdown !== 'none' && this.phase === 'init') return true;
    return this.otherStable() && this.ownWorkDone() && (this.phase === 'stable' || this.phase === 'shutdown' || this.phase === 'init');
  }

  /** hb_send_resources_held(): nice_failback only. */
  private sendHeld(stable: boolean, info: string | undefined, out: Out): void {
    if (!this.nice) return;
    this.advertisedStable = stable;
    this.advertisedKeys = this.wantedKeys().join(' ');
    // With 3+ nodes the bits cannot describe the holdings; they follow hbd_held there.
    const bits = this.multi && this.shutdown === 'none' ? this.wantedBits() : this.claim;
    const m = resourceMessage({ rscHold: holdName(bits), stable, ...(info === undefined ? {} : { info }) });
    out.push({ type: 'send', message: this.multi ? withHeld(m, this.wantedKeys()) : m });
  }

  private phaseNum(): number {
    return ['init', 'starting', 'bothstarting', 'rscrcvd', 'stable', 'shutdown'].indexOf(this.phase);
  }
}
