// What the detection benchmark runs: the cluster both nodes share (two nodes on bcast eth0, one
// sha1 key), the timings, the load conditions, and the transport-driver configuration of a node.
import type { AuthKeys } from '../../lib/wire/types';
import type { DriverConfig, TransportKind } from '../../test/support/transport-driver';

export interface Timing {
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
}

export const FAST: Timing = { keepaliveMs: 10, deadtimeMs: 50 };
/** The hardest soak: a death after four missed beats, with no room for a 10 ms pause. */
export const FASTEST: Timing = { keepaliveMs: 2, deadtimeMs: 10 };
export const SLOW: Timing = { keepaliveMs: 1000, deadtimeMs: 3000 };

export const timingLabel = (t: Timing): string => `${fmtMs(t.keepaliveMs)}/${fmtMs(t.deadtimeMs)}`;
const fmtMs = (ms: number): string => (ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/**
 * idle: nothing else on purpose; cpu: both cores saturated by spinning processes (cpuStress);
 * block: the survivor's JavaScript event loop blocked 200 ms of every second.
 */
export type Load = 'idle' | 'cpu' | 'block';
export const LOADS: readonly Load[] = ['idle', 'cpu', 'block'];
export const BLOCK = { everyMs: 1000, forMs: 200 } as const;

export const SURVIVOR = 'n1';
export const VICTIM = 'n2';
export const NODES = [SURVIVOR, VICTIM] as const;
export const UDP_PORT = 694;
export const SECRET = 'detection-bench-secret';
export const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from(SECRET, 'latin1') }] };

/** hbd's default hbd_stall_limit (lib/config/hacf.ts): the native engine stops beating past it. */
export function stallLimitMs(deadtimeMs: number): number {
  return Math.max(4 * deadtimeMs, 2000);
}

/**
 * A node's driver configuration. initdead is long on purpose: the survivor starts before the first
 * victim, and a death of a node that never ran is no detection to measure.
 */
export function driverConfig(kind: TransportKind, node: string, timing: Timing, generation: number, extra: Partial<DriverConfig> = {}): Omit<DriverConfig, 'control'> {
  const index = NODES.indexOf(node as (typeof NODES)[number]) + 1;
  if (index === 0) throw new RangeError(`bench/detection: node ${node} is not one of ${NODES.join(', ')}`);
  return {
    kind,
    localNode: node,
    nodes: NODES,
    media: [{ kind: 'bcast', iface: 'eth0' }],
    udpPort: UDP_PORT,
    keepaliveMs: timing.keepaliveMs,
    deadtimeMs: timing.deadtimeMs,
    warntimeMs: timing.deadtimeMs / 2,
    initdeadMs: Math.max(2 * timing.deadtimeMs, 60_000),
    stallLimitMs: stallLimitMs(timing.deadtimeMs),
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: SECRET }] },
    // A node keeps its UUID across restarts, as hbd's state directory does.
    uuid: `0000000000004000800000000000${index.toString(16).padStart(4, '0')}`,
    generation,
    printMono: true,
    ...extra,
  };
}

/** Statuses the survivor must have accepted from a new victim before it is killed. */
export function steadyBeats(t: Timing): number {
  return Math.max(3, Math.ceil(100 / t.keepaliveMs));
}
