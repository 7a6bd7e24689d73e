// What hbd needs from the kernel to run, checked before anything is opened, so that a missing
// privilege is named instead of surfacing later as an EPERM from some socket call.
import * as fs from 'node:fs';

import type { ClusterConfig } from '../config/types';

/** linux/capability.h bit numbers. */
export const CAPABILITY = { CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_NICE: 23 } as const;
export type CapabilityName = keyof typeof CAPABILITY;

export interface Need {
  readonly cap: CapabilityName;
  readonly why: string;
  /** 'error': hbd does not start without it; 'warning': it runs, with less. */
  readonly severity: 'error' | 'warning';
}

/** The effective set from /proc/self/status (`CapEff:\t0000003fffffffff`). */
export function effectiveCapabilities(statusText: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(statusText);
  if (!m) throw new Error('no CapEff line in /proc/self/status');
  return BigInt(`0x${m[1]}`);
}

export function readEffectiveCapabilities(file = '/proc/self/status'): bigint {
  return effectiveCapabilities(fs.readFileSync(file, 'latin1'));
}

function has(caps: bigint, cap: CapabilityName): boolean {
  return ((caps >> BigInt(CAPABILITY[cap])) & 1n) === 1n;
}

/** Every capability this configuration needs, and why. */
export function needs(cfg: ClusterConfig): Need[] {
  const out: Need[] = [
    { cap: 'CAP_NET_ADMIN', why: 'to add and remove the cluster\'s IP addresses and tune the media sockets', severity: 'error' },
    { cap: 'CAP_NET_RAW', why: 'for raw sockets: ping nodes (ICMP) and gratuitous ARP / unsolicited NA after a takeover', severity: 'error' },
  ];
  const lowPorts = [cfg.udpPort, ...cfg.media.flatMap((m) => (m.type === 'mcast' ? [m.port] : []))].filter((p) => p < 1024);
  if (lowPorts.length) out.push({ cap: 'CAP_NET_BIND_SERVICE', why: `to bind UDP port ${[...new Set(lowPorts)].join(', ')} (below 1024)`, severity: 'error' });
  if (cfg.realtime) out.push({ cap: 'CAP_SYS_NICE', why: 'for realtime scheduling (realtime on, the default): without it heartbeats may be late under load', severity: 'warning' });
  return out;
}

export function missing(cfg: ClusterConfig, caps: bigint): Need[] {
  return needs(cfg).filter((n) => !has(caps, n.cap));
}

/** One line per missing capability, with the fix. */
export function describeMissing(n: Need): string {
  return `missing capability ${n.cap}, needed ${n.why}: run hbd as root, or grant it (systemd: AmbientCapabilities=${n.cap})`;
}
