// The seam of the resource policy (spec §8): its configuration, the events the daemon feeds it
// (filled from MembershipActions, control requests and resource results) and the actions it asks
// for. The policy itself (policy.ts) does no I/O; the daemon carries the actions out.
import type { AutoFailback, ClusterConfig, Resource } from '../config/types';
import type { Level } from '../log/levels';
import type { VipSpec } from '../resources/address';
import type { Message } from '../wire/types';

/** heartbeat's node states as membership reports them (lib/membership). */
export type NodeStatus = 'init' | 'up' | 'active' | 'dead' | 'ping';
/** Membership's comm-up handshake state at the time a message was delivered. */
export type CommState = 'init' | 'links-up' | 'up';

/** heartbeat's resource-holding codes (`rsc_hold`): bit 1 = local groups, bit 2 = foreign groups. */
export type RscHold = 'none' | 'local' | 'foreign' | 'all';

export interface PolicyGroup {
  /** The first resource as written in haresources: the group's name in every message. */
  readonly key: string;
  /** The preferred node (haresources' first word), lower-cased. */
  readonly node: string;
  /** The resources as written, for log lines. */
  readonly resources: readonly string[];
  /**
   * The group's LEADING address resources, resolved: what the engine may add by itself the moment
   * the holder is declared dead (contract C). Resources after the first non-address one are started
   * in order by the resource layer only, so a VIP never comes up before what precedes it.
   */
  readonly vips: readonly VipSpec[];
}

export interface PolicyTimings {
  /** heartbeat's RQSTDELAY: how long RSCRCVD waits for the peer to become stable. */
  readonly rqstDelayMs: number;
  /** STANDBY_INIT_TO_MS: how long a standby request waits for its `other`. */
  readonly standbyReplyMs: number;
  /** HB_STANDBY_RSC_TO_MS: how long the rest of a standby exchange may take. */
  readonly standbyRunMs: number;
  /** PerformAutoFailback's retry while things are in flux. */
  readonly failbackRetryMs: number;
  /** ResourceManager's background `hb_standby` after a group failed to start. */
  readonly failedStartStandbyMs: number;
  /** The advertised-deadtime bump while a restart keeps the resources (heartbeat: +30 s). */
  readonly restartBumpMs: number;
  /** hbd: how long things must be stable and quiet before unheld groups are adopted. */
  readonly orphanAuditMs: number;
}

export const HEARTBEAT_TIMINGS: PolicyTimings = {
  rqstDelayMs: 10_000,
  standbyReplyMs: 10_000,
  standbyRunMs: 3_600_000,
  failbackRetryMs: 1_000,
  failedStartStandbyMs: 30_000,
  restartBumpMs: 30_000,
  orphanAuditMs: 5_000,
};

export interface PolicyConfig {
  readonly localNode: string;
  /** Normal nodes in ha.cf order, the local node included (ping nodes are not resource holders). */
  readonly nodes: readonly string[];
  /** haresources groups in file order. */
  readonly groups: readonly PolicyGroup[];
  readonly autoFailback: AutoFailback;
  readonly timings: PolicyTimings;
  /** For heartbeat's `Heartbeat shutdown in progress. (<pid>)`. */
  readonly pid: number;
  /**
   * Keys of the groups a previous hbd process left running when it restarted keeping its
   * resources (heartbeat's `-R -C <held>`); null for an ordinary start.
   */
  readonly restartHeld: readonly string[] | null;
}

/**
 * PolicyConfig from the validated configuration. `vipOf` resolves an IPaddr/IPaddr2 resource to
 * the address the engine can add (interface lookup is I/O, so the daemon does it); null when the
 * resource is not an address or cannot be resolved — the leading run of addresses ends there.
 */
export function policyConfigFrom(
  cfg: ClusterConfig,
  vipOf: (r: Resource) => VipSpec | null,
  o: { pid: number; restartHeld?: readonly string[] | null; timings?: PolicyTimings },
): PolicyConfig {
  const groups = cfg.resources.map((g): PolicyGroup => {
    const vips: VipSpec[] = [];
    for (const r of g.resources) {
      const v = vipOf(r);
      if (v === null) break;
      vips.push(v);
    }
    return { key: g.key, node: g.node, resources: g.resources.map((r) => r.text), vips };
  });
  return {
    localNode: cfg.localNode,
    nodes: cfg.nodes.map((n) => n.name),
    groups,
    autoFailback: cfg.autoFailback,
    timings: o.timings ?? HEARTBEAT_TIMINGS,
    pid: o.pid,
    restartHeld: o.restartHeld ?? null,
  };
}

/** `hbd standby` / `hb_standby`: which groups to give away (`failback` = `foreign`). */
export type StandbyScope = 'all' | 'local' | 'foreign' | 'failback';

/** Why a group is started or stopped (for logs and `hbd status`). */
export type GroupReason =
  | 'acquire' // our own group at start-up (req_our_resources / ip-request-resp)
  | 'takeover' // a dead or departing node's group (mach_down)
  | 'standby' // the standby/takeover exchange or auto-failback
  | 'handover' // given to / received from a named node (ip-request, healed partitions, 3+ nodes)
  | 'shutdown';

export type PolicyInput =
  /** Membership's comm-up (heartbeat's comm_up_resource_action). */
  | { readonly type: 'comm-up' }
  /** A normal peer's status changed; `message` is the status packet that caused it, if any. */
  | { readonly type: 'node-status'; readonly node: string; readonly status: NodeStatus; readonly previous: NodeStatus; readonly message: Message | null }
  /** Every sequenced cluster message, ours included (own: true), in order, once. */
  | { readonly type: 'deliver'; readonly from: string; readonly message: Message; readonly own: boolean; readonly comm: CommState }
  | { readonly type: 'peer-restart'; readonly node: string; readonly oldGeneration: number; readonly generation: number }
  | { readonly type: 'partition-healed'; readonly node: string }
  /**
   * The engine ran its takeover plan at `node`'s death (TransportEvent plan-executed): the
   * addresses it actually added (changed: true). Fed after that node's node-status dead.
   */
  | { readonly type: 'plan-executed'; readonly node: string; readonly addresses: readonly string[] }
  /** A start-group / stop-group action finished (the resource layer ran the whole group). */
  | { readonly type: 'group-result'; readonly key: string; readonly op: 'start' | 'stop'; readonly ok: boolean; readonly detail: string }
  /** Operator: `hbd standby [scope]` (heartbeat's hb_standby). */
  | { readonly type: 'standby'; readonly scope: StandbyScope }
  /** Operator: `hbd takeover [scope]` (heartbeat's hb_takeover). */
  | { readonly type: 'takeover'; readonly scope: StandbyScope }
  /**
   * Operator / signal: stop. keepResources: a restart that leaves the groups running (heartbeat's
   * reload with a changed ha.cf, `-R`): peers must not take over meanwhile.
   */
  | { readonly type: 'shutdown'; readonly keepResources: boolean }
  /** nextTimer() is due. */
  | { readonly type: 'timer' };

export type PolicyAction =
  /** A cluster message; the transport adds control fields, seq and signature. */
  | { readonly type: 'send'; readonly message: Message }
  /** Run the group's resources left to right (idempotent); answer with a group-result. */
  | { readonly type: 'start-group'; readonly key: string; readonly reason: GroupReason }
  /** Stop the group's resources right to left (idempotent); answer with a group-result. */
  | { readonly type: 'stop-group'; readonly key: string; readonly reason: GroupReason }
  /**
   * The standing plan for `node`'s death (contract C): these addresses are ours the moment the
   * engine declares it dead; null: no plan. Emitted only when it changes.
   */
  | { readonly type: 'set-takeover-plan'; readonly node: string; readonly vips: readonly VipSpec[] | null }
  /** A stackable advertised-deadtime bump (membership.bumpDeadtime(tag, extraMs)). */
  | { readonly type: 'bump-deadtime'; readonly tag: string; readonly extraMs: number }
  | { readonly type: 'log'; readonly level: Level; readonly text: string }
  /**
   * Shutdown finished from the resource side: every group stopped and our `shutdone` sent and looped
   * back (or, with keepResources, nothing released). The daemon stops the transport and exits.
   */
  | { readonly type: 'shutdown-complete'; readonly keepResources: boolean };

export type GroupState = 'held-local' | 'held-remote' | 'starting' | 'stopping' | 'none' | 'failed';

export interface GroupSnapshot {
  readonly key: string;
  readonly preferred: string;
  /** Who holds it as far as this node knows (ourselves included); null: nobody. */
  readonly holder: string | null;
  readonly state: GroupState;
  /** The last failure of a start or stop here, with the resource layer's details. */
  readonly failure: string | null;
}

export interface PolicySnapshot {
  readonly autoFailback: AutoFailback;
  /** heartbeat's resource state (INIT … STABLE, SHUTDOWN). */
  readonly phase: 'init' | 'starting' | 'bothstarting' | 'rscrcvd' | 'stable' | 'shutdown';
  /** `cl_status rscstatus`: what we hold, or `transition` while anything moves. */
  readonly rscstatus: RscHold | 'transition';
  readonly standby: 'not' | 'me' | 'other' | 'done';
  readonly groups: readonly GroupSnapshot[];
}
