// The control socket's contract: what the daemon implements (ControlHandler) and what
// `hbd status|standby|takeover|stop|reload|cl_status` read (StatusReport). Plain JSON data only,
// so the same types describe the wire.
import type { Diagnostic } from '../config/diagnostics';
import type { AutoFailback } from '../config/types';
import type { CommState, LinkStatus, NodeStatus } from '../membership/membership';

/** hb_standby / hb_takeover's argument: which resource groups (spec §8.7, §11.2). */
export const SCOPES = ['all', 'local', 'foreign'] as const;
export type Scope = (typeof SCOPES)[number];

/** cl_status rscstatus: the resources this node holds, in heartbeat's words (spec §11.1). */
export type HeldResources = 'none' | 'local' | 'foreign' | 'all' | 'transition';

export interface LinkReport {
  /** The interface name as heartbeat names links (`eth0`), or the ping node's address. */
  readonly name: string;
  readonly status: LinkStatus;
}

export interface NodeReport {
  readonly name: string;
  readonly type: 'normal' | 'ping';
  readonly status: NodeStatus;
  /** Wall-clock ms (Date.now()) of the last status change; null when it never changed. */
  readonly since: number | null;
  readonly links: readonly LinkReport[];
}

export type ResourceState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed' | 'unknown';

export interface ResourceReport {
  /** The resource as written in haresources. */
  readonly text: string;
  readonly state: ResourceState;
}

export interface GroupReport {
  /** The first resource as written: the group's name in heartbeat's messages. */
  readonly key: string;
  /** The preferred node (haresources' first word). */
  readonly node: string;
  /** The node holding the group now, or null when nobody does. */
  readonly holder: string | null;
  readonly state: 'held' | 'released' | 'acquiring' | 'releasing' | 'failed';
  readonly resources: readonly ResourceReport[];
}

export interface TakeoverReport {
  /** The node whose resources were taken over (null: a standby/takeover request, no death). */
  readonly from: string | null;
  /** Wall-clock ms when the takeover started. */
  readonly at: number;
  /** From the death (or request) to the last resource running. */
  readonly durationMs: number;
}

export interface Counters {
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly authFailures: number;
  readonly lateHeartbeats: number;
  /** The largest gap between two heartbeats of any peer, ms. */
  readonly largestGapMs: number;
  readonly takeovers: readonly TakeoverReport[];
}

/** The daemon process's own usage at the moment of the report (lib/metrics/process.ts). */
export interface ProcessReport {
  /** VmRSS. */
  readonly rssBytes: number;
  /** User plus system CPU time since start. */
  readonly cpuSeconds: number;
  readonly threads: number;
  readonly openFds: number;
  /** V8's heap spaces: committed size and the part live objects use. */
  readonly heapSpaces: readonly { readonly name: string; readonly sizeBytes: number; readonly usedBytes: number }[];
  /** Memory of C++ objects tied to JavaScript ones (Buffers among them), and of ArrayBuffers alone. */
  readonly externalBytes: number;
  readonly arrayBuffersBytes: number;
}

export interface StatusReport {
  readonly version: string;
  readonly pid: number;
  /** Wall-clock ms when the daemon started. */
  readonly startedAt: number;
  readonly localNode: string;
  readonly comm: CommState;
  readonly autoFailback: AutoFailback;
  readonly nodes: readonly NodeReport[];
  readonly groups: readonly GroupReport[];
  /** What cl_status rscstatus prints (heartbeat's MCP notion: `none` in legacy mode). */
  readonly heldResources: HeldResources;
  /** The packet core in use and why (e.g. the native addon did not load). */
  readonly transport: { readonly kind: 'native' | 'ts'; readonly reason: string };
  readonly counters: Counters;
  /**
   * cl_status hbparameter: ha.cf directive name → value string, heartbeat's spelling (timings as
   * `<n>ms`, plus `hbversion`). configParameters() in lib/control/parameters.ts builds it.
   */
  readonly parameters: Readonly<Record<string, string>>;
  readonly process: ProcessReport;
}

/** The answer to standby / takeover: heartbeat only logs the outcome; hbd also returns it. */
export interface ActionResult {
  /** False when the request was refused (e.g. standby with auto_failback legacy). */
  readonly accepted: boolean;
  /** What happens, in heartbeat's log words where it has them (`Going standby [all].`). */
  readonly message: string;
}

export type ReloadResult =
  | {
      readonly ok: true;
      /** ha.cf / haresources settings that changed and now apply. */
      readonly applied: readonly string[];
      /** Settings that changed but take effect only at the next restart. */
      readonly restartNeeded: readonly string[];
      /** Warnings of the new configuration. */
      readonly diagnostics: readonly Diagnostic[];
    }
  /** The new files are invalid: the daemon keeps running on the previous configuration. */
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Implemented by the daemon; the control server calls it for each valid request. A method may
 * throw: the client then gets an `internal` error and the daemon keeps running.
 */
export interface ControlHandler {
  status(): StatusReport;
  standby(scope: Scope): ActionResult | Promise<ActionResult>;
  takeover(scope: Scope): ActionResult | Promise<ActionResult>;
  /** Starts a clean shutdown; called after the reply is sent. The socket closes when it is done. */
  stop(): void;
  /** Re-reads the configuration files; on an invalid one keeps the old one (SIGHUP does the same). */
  reload(): ReloadResult | Promise<ReloadResult>;
}

/** Requests on the wire: one JSON object per line. */
export type ControlRequest =
  | { readonly cmd: 'status' }
  | { readonly cmd: 'standby'; readonly scope: Scope }
  | { readonly cmd: 'takeover'; readonly scope: Scope }
  | { readonly cmd: 'stop' }
  | { readonly cmd: 'reload' };

export type ControlErrorCode = 'bad-request' | 'too-large' | 'timeout' | 'busy' | 'internal';

/** Counted by the server and added to every status answer. */
export interface ControlStats {
  readonly requests: number;
  readonly badRequests: number;
  readonly refusedConnections: number;
}

export type ControlResponse =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

/** The status answer as it arrives: the handler's report plus the server's own counters. */
export type StatusAnswer = StatusReport & { readonly control: ControlStats };
/** The stop answer: the pid to wait for. */
export interface StopAnswer {
  readonly pid: number;
}

export const SOCKET_NAME = 'hbd.sock';
