// keepalived (Debian's package) as a lab node: one VRRPv3 instance on eth0 with unicast peers
// inside the lab, for the takeover comparison and the footprint bench. Its pid files go to the
// node's own run directory, its log to the console (the lab's stdout file), never to syslog.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Lab, LabNode } from '../../test/lab/lab';
import type { LabProcess } from '../../test/lab/process';
import { findExecutable } from '../../test/lab/tools';

export const VIP = '198.18.0.100';
export const ROUTER_ID = 51;

export interface VrrpNode {
  /** VRRP priority: the higher one is master (and preempts when it returns). */
  readonly priority: number;
  /** Advertisement interval, ms: VRRPv3 counts centiseconds, so a multiple of 10 (smallest 10). */
  readonly advertMs: number;
  /** A returning higher-priority node stays backup (as hbd's auto_failback off). */
  readonly nopreempt?: boolean;
}

/** Null when keepalived can run here, else why not (and how to get it). */
export function keepalivedSkipReason(): string | null {
  return findExecutable('keepalived') ? null : 'keepalived is not installed: apt-get install keepalived (with a /usr/sbin/policy-rc.d that exits 101, so that its service does not start on this machine)';
}

/** keepalived -v's version, e.g. "2.2.7". */
export function keepalivedVersion(stdout: string): string {
  return /Keepalived v(\S+)/.exec(stdout)?.[1] ?? 'unknown version';
}

/**
 * RFC 5798 §6.1: Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time, Skew_Time =
 * (256 − Priority) × Master_Adver_Interval / 256: when a backup of `priority` takes over.
 */
export function masterDownMs(advertMs: number, backupPriority: number): number {
  return 3 * advertMs + ((256 - backupPriority) * advertMs) / 256;
}

/** keepalived.conf for node `i` of the lab, its peers by unicast. */
export function keepalivedConf(lab: Lab, i: number, v: VrrpNode): string {
  if (!Number.isInteger(v.advertMs / 10) || v.advertMs < 10) throw new RangeError(`keepalived: advert interval ${v.advertMs} ms is not a multiple of VRRPv3's 10 ms`);
  const peers = lab.nodes.filter((n) => n.index !== i).map((n) => `    ${n.address(0)}`);
  return [
    'global_defs {',
    `  router_id ${lab.node(i).name}`,
    '  vrrp_version 3',
    '}',
    'vrrp_instance hbd_bench {',
    // Both start as backup; priority decides, as after any restart.
    '  state BACKUP',
    '  interface eth0',
    `  virtual_router_id ${ROUTER_ID}`,
    `  priority ${v.priority}`,
    ...(v.nopreempt ? ['  nopreempt'] : []),
    `  advert_int ${(v.advertMs / 1000).toFixed(2)}`,
    `  unicast_src_ip ${lab.node(i).address(0)}`,
    '  unicast_peer {',
    ...peers,
    '  }',
    '  virtual_ipaddress {',
    `    ${VIP}/24 dev eth0`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Starts keepalived (VRRP only, in the foreground) as `node`. */
export async function startKeepalived(lab: Lab, node: LabNode, v: VrrpNode): Promise<LabProcess> {
  const bin = findExecutable('keepalived');
  if (!bin) throw new Error(keepalivedSkipReason()!);
  const conf = path.join(node.dirs.config, 'keepalived.conf');
  fs.writeFileSync(conf, keepalivedConf(lab, node.index, v));
  const pid = (what: string) => path.join(node.dirs.run, `keepalived-${what}.pid`);
  // A crashed keepalived leaves its pid files, and a new one refuses to start while one names a
  // process it cannot tell from its own (the killed VRRP child): a rebooted machine's /run is empty.
  for (const what of ['main', 'vrrp', 'checkers', 'bfd']) fs.rmSync(pid(what), { force: true });
  // -n: foreground (its VRRP child stays in the lab process's group); -l -G: console, no syslog.
  return node.spawn([bin, '-n', '-l', '-G', '-P', '-f', conf, '-p', pid('main'), '-r', pid('vrrp'), '-c', pid('checkers'), '-b', pid('bfd')], { name: 'keepalived' });
}
