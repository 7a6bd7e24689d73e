// What the daemon reports as it happens (MetricsSink) and keeps for the endpoint: the events a
// StatusReport snapshot cannot show (every heartbeat gap, each failure's reason, durations).
// Label values come from the configuration (nodes, resources) or fixed sets (reasons,
// operations), so an outsider cannot grow the label space.
import { Histogram } from './histogram';

/** Why a packet was refused, as counted (the transport's texts carry details; this is the class). */
export const AUTH_FAILURE_REASONS = ['bad-signature', 'unknown-key-index', 'unsigned', 'unverified', 'unknown-node', 'replay', 'malformed'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type ResourceOp = 'start' | 'stop' | 'status';

/** Called by the daemon; every method is cheap and never throws. */
export interface MetricsSink {
  /** The time between two heartbeats of `node` (any link), ms, as the liveness tracker saw it. */
  onHeartbeatGap(node: string, ms: number): void;
  /** `count` packets refused for `reason` (counts may be batched). */
  onAuthFailure(reason: AuthFailureReason, count: number): void;
  /** A takeover finished: from the death (or request) to the last resource running, ms. */
  onTakeover(ms: number): void;
  /** One resource script / built-in action finished after `ms`, successfully or not. */
  onResourceAction(resource: string, op: ResourceOp, ms: number, ok: boolean): void;
}

/** The auth-fail `reason` text of a transport event (lib/transport/inbound.ts verdictReason, decode errors) → its class. */
export function classifyAuthFailure(text: string): AuthFailureReason {
  if (text.startsWith('bad signature')) return 'bad-signature';
  if (/^key index \d+ is not in authkeys/.test(text)) return 'unknown-key-index';
  if (text.startsWith('unsigned')) return 'unsigned';
  if (text.startsWith('signature not verified')) return 'unverified';
  if (text === 'unknown node') return 'unknown-node';
  if (text.startsWith('replayed packet')) return 'replay';
  return 'malformed';
}

/** Heartbeat gaps: from 2 ms keepalives to minutes-long outages. */
export const GAP_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
/** Takeovers and resource actions: script run times. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Most distinct label values kept per metric; more are folded into `other` (a bug guard, not a limit operators meet). */
const MAX_SERIES = 512;
const OTHER = 'other';

function bounded<V>(map: Map<string, V>, key: string, make: (key: string) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= MAX_SERIES && key !== OTHER) return bounded(map, OTHER, make);
    v = make(key);
    map.set(key, v);
  }
  return v;
}

export interface ResourceSeries {
  readonly resource: string;
  readonly op: ResourceOp;
  readonly durations: Histogram;
  failures: number;
}

export class MetricsRecorder implements MetricsSink {
  readonly gaps = new Map<string, Histogram>();
  readonly authFailures = new Map<AuthFailureReason, number>(AUTH_FAILURE_REASONS.map((r) => [r, 0]));
  readonly takeovers = new Histogram(DURATION_BUCKETS);
  readonly resources = new Map<string, ResourceSeries>();

  onHeartbeatGap(node: string, ms: number): void {
    bounded(this.gaps, node, () => new Histogram(GAP_BUCKETS)).observe(ms / 1000);
  }

  onAuthFailure(reason: AuthFailureReason, count: number): void {
    const key = this.authFailures.has(reason) ? reason : 'malformed';
    if (Number.isFinite(count) && count > 0) this.authFailures.set(key, this.authFailures.get(key)! + count);
  }

  onTakeover(ms: number): void {
    this.takeovers.observe(ms / 1000);
  }

  onResourceAction(resource: string, op: ResourceOp, ms: number, ok: boolean): void {
    const s = bounded(this.resources, `${op}\0${resource}`, (key) => ({ resource: key === OTHER ? OTHER : resource, op, durations: new Histogram(DURATION_BUCKETS), failures: 0 }));
    s.durations.observe(ms / 1000);
    if (!ok) s.failures++;
  }
}
