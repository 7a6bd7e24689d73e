// The driver configuration the lab's two-node engine tests and benches share: node n<i> of n1 and
// n2 on `bcast eth0`, heartbeat's derived warntime (deadtime / 2) and initdead (2 × deadtime),
// one sha1 key. Callers add what their case changes.
import type { DriverConfig } from './transport-driver';

export interface TwoNodeTiming {
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  /** The sha1 key both nodes sign with. */
  readonly secret: string;
}

export function twoNodeConfig(i: number, t: TwoNodeTiming): Omit<DriverConfig, 'control'> {
  return {
    kind: 'native',
    localNode: `n${i}`,
    nodes: ['n1', 'n2'],
    media: [{ kind: 'bcast', iface: 'eth0' }],
    udpPort: 694,
    keepaliveMs: t.keepaliveMs,
    deadtimeMs: t.deadtimeMs,
    warntimeMs: t.deadtimeMs / 2,
    initdeadMs: 2 * t.deadtimeMs,
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: t.secret }] },
    uuid: `0000000000004000800000000000${i.toString(16).padStart(4, '0')}`,
    generation: 1,
  };
}
