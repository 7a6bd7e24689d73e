// The seam between the packet core and the rest of hbd. Two implementations: the native engine
// (native/, its own thread) and the pure-TypeScript fallback (lib/transport/udp.ts, a worker thread). Both send
// the same bytes, keep the same per-peer liveness (lib/transport/liveness.ts is the reference,
// native/liveness.cc its C++ twin) and report the same events.
import type { AnnounceOptions, VipSpec } from '../resources/address';
import type { AuthKeys, Message, WireFormat } from '../wire/types';

/** Every event carries the transport's own clock: CLOCK_MONOTONIC and wall time, both in ms. */
export interface EventTime {
  readonly mono: number;
  readonly wall: number;
}

export type LivenessEvent =
  /** First accepted status from a node that was init or dead, or after a restart. */
  | { readonly type: 'peer-up'; readonly node: string; readonly link: string; readonly status: string; readonly generation: number; readonly restarted: boolean; readonly returned: boolean }
  /** A status arrived later than warntime after the previous one. */
  | { readonly type: 'peer-late'; readonly node: string; readonly link: string; readonly gapMs: number }
  /** No status for the node's deadtime: fired at the deadline itself. */
  | { readonly type: 'peer-dead'; readonly node: string; readonly silentMs: number; readonly timeoutMs: number }
  /** A status with a higher generation: the peer restarted. */
  | { readonly type: 'peer-restart'; readonly node: string; readonly oldGeneration: number; readonly generation: number }
  /**
   * A packet with an older generation than the peer's current one (heartbeat: "attempted replay
   * attack"). Liveness's verdict only: the transports count these in their auth-fail summaries
   * (reason lib/transport/inbound.ts replayReason()), since whoever replays a capture chooses the rate.
   */
  | { readonly type: 'replay'; readonly node: string; readonly generation: number; readonly currentGeneration: number }
  | { readonly type: 'link-up'; readonly node: string; readonly link: string }
  | { readonly type: 'link-dead'; readonly node: string; readonly link: string }
  /**
   * The transport itself woke late (CPU starvation, VM pause): deadlines were extended. The native
   * engine adds what the kernel counted for its thread meanwhile (lib/transport/stall-cause.ts).
   */
  | { readonly type: 'own-stall'; readonly lateMs: number; readonly cause?: StallCause };

/** The native engine thread's counters from its previous wake-up to the late one (native/thread_stats.h). */
export interface StallCause {
  /** Runnable, but another task had the CPU. */
  readonly runDelayMs: number;
  /** Preempted. */
  readonly involuntary: number;
  /** Sleeps beyond the engine's own epoll_waits: blocked on a lock or I/O. */
  readonly blockedSleeps: number;
  readonly minorFaults: number;
  readonly majorFaults: number;
  readonly cpu: number;
  /** The previous wake-up's own work, ms. */
  readonly busyMs: number;
  /** Statuses the beat sentinel (a second engine thread on another CPU) sent meanwhile. */
  readonly sentinelBeats: number;
}

export type TransportEvent = EventTime &
  (
    | LivenessEvent
    /**
     * Every status newer than the last one (liveness refreshed), and every older one (a
     * retransmission or a copy that was overtaken: liveness untouched), for sequence tracking and
     * status changes in lib/membership, which applies an older status's content never.
     */
    | { readonly type: 'status'; readonly node: string; readonly link: string; readonly message: Message; readonly seq: number; readonly generation: number }
    /**
     * Native engine only (the TypeScript transport reports every status): statuses it held back
     * because each was the next seq of its node with the same content as the newest status reported
     * (native/status_filter.h). Seqs fromSeq … fromSeq + monos.length − 1 of `generation`, each
     * arrived at its `monos` entry; sequence tracking takes them as if each had come as a status.
     */
    | { readonly type: 'status-advance'; readonly node: string; readonly generation: number; readonly fromSeq: number; readonly monos: readonly number[] }
    /** Every accepted non-status message, addressed to us or not (membership tracks all seqs). */
    | { readonly type: 'message'; readonly node: string; readonly link: string; readonly message: Message; readonly seq: number | null; readonly generation: number; readonly forUs: boolean }
    /**
     * Packets that failed decoding or authentication, or came from a node not in ha.cf: one event per
     * source and link per second (lib/transport/auth-fail-summary.ts), with the reason and claimed
     * node of the first (escaped for logs: no control characters) and how many there were.
     */
    | { readonly type: 'auth-fail'; readonly link: string; readonly source: string; readonly reason: string; readonly node: string | null; readonly count: number }
    /** JS did not check in for the stall limit: the transport stopped sending heartbeats. */
    | { readonly type: 'stall-stop'; readonly silentMs: number }
    /** A medium failed or was reopened (interface vanished and returned). */
    | { readonly type: 'media-error'; readonly link: string; readonly syscall: string; readonly errno: string; readonly message: string }
    | { readonly type: 'media-reopened'; readonly link: string; readonly ifindex: number }
    /** Something the transport could not set up but works without (realtime refused, no link watch). */
    | { readonly type: 'warning'; readonly syscall: string; readonly errno: string; readonly message: string }
    /** A takeover plan ran at `node`'s death (right after its peer-dead); see Transport.setTakeoverPlan. */
    | PlanExecutedEvent
  );

/**
 * What the engine does by itself when a peer is declared dead: add these addresses (in order) and
 * start their announcements (gratuitous ARP / unsolicited NA: the first round at once, the rest
 * `announce.intervalMs` apart from the engine's own timer). count 0: no announcements.
 */
export interface TakeoverPlan {
  readonly vips: readonly VipSpec[];
  readonly announce: AnnounceOptions;
}

export interface PlanVipResult {
  readonly vip: VipSpec;
  /** The address is there and (count > 0) its first announcement left. */
  readonly ok: boolean;
  /** false: it was already there. */
  readonly changed: boolean;
  /** The label it carries (IPv4), null for IPv6 or when the add failed. */
  readonly label: string | null;
  /** CLOCK_MONOTONIC ms when the kernel acknowledged the add (0 when it failed). */
  readonly addedAtMono: number;
  /** When the first frame left; null when none did (add or send failed, or count 0). */
  readonly firstAnnounceAtMono: number | null;
  /** The first failure (add, or the first announcement): errno name, operation, message naming address and interface. */
  readonly errno: string | null;
  readonly syscall: string | null;
  readonly message: string | null;
}

export interface PlanExecutedEvent {
  readonly type: 'plan-executed';
  readonly node: string;
  /** The death deadline (CLOCK_MONOTONIC ms) the plan ran at. */
  readonly deadAtMono: number;
  readonly results: readonly PlanVipResult[];
}

export type Medium =
  | { readonly kind: 'bcast'; readonly iface: string }
  | { readonly kind: 'mcast'; readonly iface: string; readonly group: string; readonly port: number; readonly ttl: number; readonly loop: boolean }
  | { readonly kind: 'ucast'; readonly iface: string; readonly peer: string };

/**
 * A ping node (spec §7.8): `ping IP` (name = the IP as written, one address) or
 * `ping_group NAME IP…` (alive while any address answers). Reached by ICMP echo: native engine only.
 */
export interface PingNodeSpec {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly group: boolean;
}

/** Everything a transport needs, resolved from the configuration and the state directory. */
export interface TransportOptions {
  readonly localNode: string;
  /** Normal nodes in ha.cf order, the local node included. */
  readonly nodes: readonly string[];
  readonly media: readonly Medium[];
  readonly udpPort: number;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly warntimeMs: number;
  readonly initdeadMs: number;
  /** JS may be unresponsive this long before the transport stops beating. */
  readonly stallLimitMs: number;
  readonly authKeys: AuthKeys;
  readonly wireFormat: WireFormat;
  readonly uuid: Buffer;
  readonly generation: number;
  /** First sequence number to use (heartbeat's counter starts at 1 every process start). */
  readonly firstSeq: number;
  /** `ttl` field: hopfudge + number of configured nodes. */
  readonly ttl: number;
  readonly realtime: boolean;
  readonly rtprio: number | null;
  /** ha.cf max_rexmit_delay (ms, default 250): one history slot is re-sent at most once per (this − 10) ms. */
  readonly maxRexmitDelayMs?: number;
  /** Ping nodes, echoed with our NS_st on every status beat (default none). */
  readonly pingNodes?: readonly PingNodeSpec[];
  /** ha.cf deadping: a ping node is dead after this long without an echo reply (default deadtimeMs). */
  readonly deadpingMs?: number;
  /**
   * systemd's watchdog (Type=notify, WatchdogSec=): the native engine's own thread sends WATCHDOG=1 to
   * `socket` ($NOTIFY_SOCKET) every intervalMs/2 ($WATCHDOG_USEC/2000) while JavaScript checks in,
   * so that systemd restarts a wedged daemon. The TypeScript transport cannot (no AF_UNIX datagrams).
   */
  readonly watchdog?: { readonly socket: string; readonly intervalMs: number } | null;
}

export type RetransmitResult = 'sent' | 'throttled' | 'too-low' | 'too-high' | 'not-found';

export interface Transport {
  readonly kind: 'native' | 'ts';
  /**
   * Opens every medium and starts beating: one `st=init` status first (as heartbeat does), then the
   * status set (default `up`). Rejects with the failing medium, syscall and errno.
   */
  start(onEvent: (e: TransportEvent) => void): Promise<void>;
  /** Changes `st` and sends a status at once (heartbeat does so on every local change). */
  setStatus(status: 'up' | 'active'): void;
  /** Extra ms added to the advertised `dt` (heartbeat: +2000 for the first 5 s after start). */
  setDeadtimeBump(extraMs: number): void;
  /** Before comm-up every peer times out after initdead; after it, after the `dt` it advertises. */
  setCommUp(): void;
  /** Whether status carries `protocol=1` (flow control, spec §7.7). */
  setFlowControl(on: boolean): void;
  /** Adds the control fields, signs and sends on every medium. Returns the seq given, or null (NS_ types). */
  send(message: Message): number | null;
  /** Re-sends a message we sent earlier (identical bytes) from the 500-message history. */
  retransmit(seq: number): RetransmitResult;
  /** The last seq given to a sequenced message (firstSeq − 1 before any): heartbeat's hiseq. */
  highestSeq(): number;
  /**
   * The peer announced its shutdown (`shutdone`): it counts as dead from now on, without a
   * peer-dead event, and no status of the same generation brings it back; a restart does.
   */
  markDead(node: string): void;
  /** JS is alive; see TransportOptions.stallLimitMs. */
  checkIn(): void;
  /**
   * A reloaded authkeys (key rotation, SIGHUP): the next packet sent is signed with its sendIndex
   * and every packet received from now on is verified against its keys. Throws a RangeError when
   * sendIndex has no key.
   */
  setAuthKeys(keys: AuthKeys): void;
  /**
   * Native engine only: the standing plan for `node`'s death (null clears it), executed on the
   * engine thread at the death deadline itself — the addresses move on time even while the event
   * loop is blocked — and reported by a 'plan-executed' event. A plan fires once. Throws a
   * TypeError for a bad plan or a node that is not a peer, an Error with .code/.syscall when the
   * sockets cannot be opened (EPERM without CAP_NET_RAW).
   */
  setTakeoverPlan?(node: string, plan: TakeoverPlan | null): void;
  /** Sends nothing more, closes every socket. */
  stop(): Promise<void>;
}
