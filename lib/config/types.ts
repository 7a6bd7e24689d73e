// The typed, validated configuration: what every later part of hbd reads instead of the files.
// Everything carries the ha.cf / haresources line it came from, for log messages.
import type { MetricsAddress } from '../metrics/address';
import type { AuthKeys, WireFormat } from '../wire/types';

export interface NodeDecl {
  /** Lower-cased, as heartbeat stores node names. */
  readonly name: string;
  readonly line: number;
}

/** `ping IP`: a ping node named by its address text. */
export interface PingNode {
  readonly address: string;
  readonly line: number;
}

/** `ping_group NAME IP…`: one ping node reachable through any of the addresses. */
export interface PingGroup {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly line: number;
}

export type Medium =
  | { readonly type: 'bcast'; readonly iface: string; readonly line: number }
  | {
      readonly type: 'mcast';
      readonly iface: string;
      readonly group: string;
      readonly port: number;
      readonly ttl: number;
      readonly loop: boolean;
      readonly line: number;
    }
  /** `peer` is an IPv4 literal or a host name, resolved when the medium opens. */
  | { readonly type: 'ucast'; readonly iface: string; readonly peer: string; readonly line: number };

export const TIMING_NAMES = ['keepalive', 'deadtime', 'warntime', 'initdead', 'deadping', 'stallLimit'] as const;
export type TimingName = (typeof TIMING_NAMES)[number];

/** 'set' in ha.cf, heartbeat's fixed 'default', or 'derived' from other timings (spec §7.1). */
export type TimingSource = 'set' | 'default' | 'derived';

export interface Timings {
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly warntimeMs: number;
  readonly initdeadMs: number;
  readonly deadpingMs: number;
  /** hbd_stall_limit: how long the JS side may be unresponsive before the engine stops beating. */
  readonly stallLimitMs: number;
  readonly source: Readonly<Record<TimingName, TimingSource>>;
}

/** auto_failback (spec §8.4); `legacy` is heartbeat's default and the ip-request protocol. */
export type AutoFailback = 'on' | 'off' | 'legacy';

export interface Logging {
  readonly logfile: string | null;
  readonly debugfile: string | null;
  /** A name of lib/log/levels.ts SYSLOG_FACILITY, or null for `none`/unset. */
  readonly facility: string | null;
  readonly debugLevel: number;
  readonly logBadPacket: boolean;
  readonly syslogMsgFmt: boolean;
}

/** IPaddr / IPaddr2 argument `IP[/NETMASK[/NIC[/BROADCAST]]]` (spec §10.1). */
export interface IpAddrSpec {
  readonly ip: string;
  /** Prefix length, when given. */
  readonly cidrNetmask: number | null;
  /** May carry an alias label (`eth0:1`). */
  readonly nic: string | null;
  readonly broadcast: string | null;
}

export interface Resource {
  /** Script name after canonicalisation (a bare IP becomes `IPaddr`). */
  readonly script: string;
  readonly args: readonly string[];
  /** The resource exactly as written in haresources. */
  readonly text: string;
  readonly line: number;
  /** Parsed argument of IPaddr/IPaddr2 resources, which hbd implements itself. */
  readonly ipaddr: IpAddrSpec | null;
}

export interface ResourceGroup {
  /** The first resource as written; it names the group in messages (`ipaddr=` of ip-request). */
  readonly key: string;
  /** Lower-cased preferred node, a configured node. */
  readonly node: string;
  readonly resources: readonly Resource[];
  /** First physical line of the logical line. */
  readonly line: number;
}

/** Everything ha.cf says, after defaults and derived values are applied. */
export interface HaCf {
  readonly nodes: readonly NodeDecl[];
  readonly pingNodes: readonly PingNode[];
  readonly pingGroups: readonly PingGroup[];
  readonly media: readonly Medium[];
  readonly udpPort: number;
  readonly timings: Timings;
  /** ha.cf `msgfmt` as written (`classic` by default) and what it means on the wire. */
  readonly msgfmt: string;
  readonly wireFormat: WireFormat;
  readonly autoFailback: AutoFailback;
  readonly logging: Logging;
  readonly realtime: boolean;
  /** null: the lowest SCHED_FIFO priority, as heartbeat does when `rtprio` is not given. */
  readonly rtprio: number | null;
  readonly hbgenMethod: 'file' | 'time';
  readonly uuidFrom: 'file' | 'nodename';
  readonly hopfudge: number;
  readonly maxRexmitDelayMs: number;
  readonly clusterName: string;
  /** `env NAME=value`: exported as HA_NAME=value to resource scripts. */
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** `hbd_metrics ADDR:PORT` (hbd extension): where the Prometheus endpoint listens; null: off. */
  readonly metrics: MetricsAddress | null;
}

export interface ConfigFiles {
  readonly haCf: string;
  readonly authkeys: string;
  readonly haresources: string;
}

export interface ClusterConfig extends HaCf {
  readonly configDir: string;
  readonly files: ConfigFiles;
  readonly localNode: string;
  readonly localNodeSource: LocalNodeSource;
  readonly authKeys: AuthKeys;
  readonly resources: readonly ResourceGroup[];
}

export type LocalNodeSource = '--node' | 'nodeinfo' | 'uname -n';
