// Every ha.cf directive heartbeat 3.0 knows (spec §9.2), plus hbd's extensions: how it is
// written, heartbeat's default, how its value is validated, and what hbd does with it.
// hacf.ts reads lines and dispatches through this table; nothing else knows directive names.
import { SYSLOG_FACILITY } from '../log/levels';
import { parseMetricsAddress, type MetricsAddress } from '../metrics/address';
import { parseHost, parseInterfaceName, parseMulticastGroup } from './addresses';
import type { Sink } from './diagnostics';
import { parseTime } from './time';
import type { AutoFailback, Medium, NodeDecl, PingGroup, PingNode } from './types';
import { fail, integerIn, nonEmpty, ok, oneOf, parseBoolean, type Parser } from './values';

/**
 * How the rest of the line is handed to the directive (spec §9.1):
 * - 'value': one token, and the directive may appear once;
 * - 'values': the line is split on whitespace and commas and each token applied (node, bcast…);
 * - 'line': the whole rest of the line is one argument (mcast, ucast, stonith…).
 */
export type Shape = 'value' | 'values' | 'line';

export type Disposition =
  | { readonly kind: 'honoured' }
  /** Accepted for compatibility; a warning says why it changes nothing. */
  | { readonly kind: 'no-effect'; readonly why: string }
  /** An error: hbd cannot do what the line asks. */
  | { readonly kind: 'unsupported'; readonly reason: string; readonly instead: string }
  /** hbd-only directive: honoured, with a note that heartbeat refuses it. */
  | { readonly kind: 'extension' };

/** Scalar settings, as the directives set them. */
export interface Settings {
  keepalive: number;
  deadtime: number;
  warntime: number;
  initdead: number;
  deadping: number;
  stallLimit: number;
  udpPort: number;
  msgfmt: 'classic' | 'netstring' | 'classic-text';
  autoFailback: AutoFailback;
  realtime: boolean;
  rtprio: number;
  hbgenMethod: 'file' | 'time';
  uuidFrom: 'file' | 'nodename';
  hopfudge: number;
  maxRexmitDelay: number;
  debug: number;
  logfile: string;
  debugfile: string;
  logfacility: string;
  logBadPacket: boolean;
  syslogMsgFmt: boolean;
  cluster: string;
  metrics: MetricsAddress;
}

/** A setting's value and the ha.cf line that set it (null: heartbeat's default). */
export interface Setting<T> {
  readonly value: T;
  readonly line: number | null;
}

/** What the directives build up while ha.cf is read, in file order. */
export interface Draft {
  readonly settings: { [K in keyof Settings]?: Setting<Settings[K]> };
  readonly nodes: NodeDecl[];
  readonly pingNodes: PingNode[];
  readonly pingGroups: PingGroup[];
  readonly media: Medium[];
  readonly env: Array<{ name: string; value: string }>;
}

export function emptyDraft(): Draft {
  return { settings: {}, nodes: [], pingNodes: [], pingGroups: [], media: [], env: [] };
}

export interface Directive {
  readonly name: string;
  readonly shape: Shape;
  /** heartbeat's default text, applied (through `apply`) after the file when not given. */
  readonly defaultValue: string | null;
  readonly disposition: Disposition;
  /** Validates one value (one token, or the rest of the line) and records it. `line` is null for defaults. */
  readonly apply: (draft: Draft, value: string, line: number | null, sink: Sink) => void;
}

// heartbeat's limits (include/heartbeat.h): HOSTLENG 100, MAXNODE 100, MAXMEDIA 64.
const MAX_NODE_NAME = 99;
const MAX_NODES = 100;
const MAX_MEDIA = 64;

const HONOURED: Disposition = { kind: 'honoured' };
const EXTENSION: Disposition = { kind: 'extension' };
const PACEMAKER_ONLY = 'a Pacemaker-only setting; hbd runs haresources clusters';

function report(sink: Sink, line: number | null, name: string, r: { message: string; hint?: string }): void {
  sink.error(line, `${name}: ${r.message}`, r.hint);
}

/** A directive that sets one scalar. A default never overrides a value already set. */
function setting<K extends keyof Settings>(
  name: string,
  key: K,
  parse: Parser<Settings[K]>,
  defaultValue: string | null,
  disposition: Disposition = HONOURED,
): Directive {
  return {
    name,
    shape: 'value',
    defaultValue,
    disposition,
    apply(draft, value, line, sink) {
      if (line === null && draft.settings[key] !== undefined) return;
      const r = parse(value);
      if (r.ok) (draft.settings as Record<K, Setting<Settings[K]>>)[key] = { value: r.value, line };
      else report(sink, line, name, r);
    },
  };
}

/** A directive hbd does not act on: its value is still validated as heartbeat would. */
function noEffect(name: string, shape: Shape, parse: Parser<unknown> | null, defaultValue: string | null, why: string): Directive {
  return {
    name,
    shape,
    defaultValue,
    disposition: { kind: 'no-effect', why },
    apply(_draft, value, line, sink) {
      const r = parse?.(value);
      if (r && !r.ok) report(sink, line, name, r);
    },
  };
}

function unsupported(name: string, shape: Shape, instead: string, reason = 'is not implemented in hbd'): Directive {
  return { name, shape, defaultValue: null, disposition: { kind: 'unsupported', reason, instead }, apply() {} };
}

function positive(parse: Parser<number>): Parser<number> {
  return (text) => {
    const r = parse(text);
    return r.ok && r.value <= 0 ? fail(`value [${text}] must be more than 0`) : r;
  };
}

function withHint<T>(parse: Parser<T>, hint: string): Parser<T> {
  return (text) => {
    const r = parse(text);
    return r.ok ? r : fail(r.message, hint);
  };
}

const positiveTime = positive(parseTime);

/** Plain integer milliseconds (heartbeat reads it with atoi(): no units). */
const plainMs: Parser<number> = (text) => {
  const m = /^(\d+)\s*ms$/i.exec(text);
  if (m) return fail(`invalid value [${text}]: this directive takes plain milliseconds`, `write ${m[1]}`);
  return integerIn(1, 2 ** 31 - 1, 'delay in milliseconds')(text);
};

const autoFailback: Parser<AutoFailback> = (text) => {
  if (text.toLowerCase() === 'legacy') return ok('legacy');
  const b = parseBoolean(text);
  return b.ok ? ok(b.value ? 'on' : 'off') : fail(`invalid value [${text}]`, 'write on, off or legacy');
};

/** Ping nodes count against heartbeat's MAXNODE like normal nodes. */
function roomForNode(draft: Draft, line: number | null, sink: Sink): boolean {
  if (draft.nodes.length + draft.pingNodes.length + draft.pingGroups.length < MAX_NODES) return true;
  sink.error(line, `too many nodes: heartbeat supports at most ${MAX_NODES} (node, ping and ping_group entries together)`);
  return false;
}

function addMedium(draft: Draft, medium: Medium, sink: Sink): void {
  if (draft.media.length >= MAX_MEDIA) {
    sink.error(medium.line, `too many media: heartbeat supports at most ${MAX_MEDIA}`);
    return;
  }
  draft.media.push(medium);
}

const node: Directive = {
  name: 'node',
  shape: 'values',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const name = value.toLowerCase();
    if (Buffer.byteLength(name) > MAX_NODE_NAME) {
      sink.error(line, `node name [${value}] is longer than ${MAX_NODE_NAME} characters`, 'heartbeat truncates longer names; use the short host name (uname -n)');
      return;
    }
    const twin = draft.nodes.find((n) => n.name === name);
    if (twin) {
      sink.warning(line, `node ${name} is declared twice (first on line ${twin.line})`, 'remove the repeated node entry');
      return;
    }
    if (roomForNode(draft, line, sink)) draft.nodes.push({ name, line: line ?? 0 });
  },
};

const bcast: Directive = {
  name: 'bcast',
  shape: 'values',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const iface = parseInterfaceName(value);
    if (!iface.ok) return report(sink, line, 'bcast', iface);
    addMedium(draft, { type: 'bcast', iface: iface.value, line: line ?? 0 }, sink);
  },
};

const MCAST_USAGE = 'write mcast IF GROUP PORT TTL LOOP, e.g. mcast eth0 239.0.0.43 694 1 0';

const mcast: Directive = {
  name: 'mcast',
  shape: 'line',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const args = value.split(/\s+/).filter(Boolean);
    if (args.length < 5) {
      sink.error(line, `mcast needs 5 arguments IF GROUP PORT TTL LOOP, got ${args.length}`, MCAST_USAGE);
      return;
    }
    if (args.length > 5) sink.warning(line, `mcast: extra arguments ignored [${args.slice(5).join(' ')}]`, MCAST_USAGE);
    const iface = parseInterfaceName(args[0]);
    const group = parseMulticastGroup(args[1]);
    const port = integerIn(1, 65535, 'port')(args[2]);
    const ttl = withHint(integerIn(0, 4, 'TTL'), "heartbeat's mcast plugin accepts TTL 0-4 only (the ha.cf man page's 0-255 is wrong)")(args[3]);
    const loop = withHint(oneOf(['0', '1'] as const, 'LOOP'), 'LOOP is 0 or 1')(args[4]);
    for (const r of [iface, group, port, ttl, loop]) if (!r.ok) report(sink, line, 'mcast', r);
    if (iface.ok && group.ok && port.ok && ttl.ok && loop.ok) {
      addMedium(draft, { type: 'mcast', iface: iface.value, group: group.value, port: port.value, ttl: ttl.value, loop: loop.value === '1', line: line ?? 0 }, sink);
    }
  },
};

const ucast: Directive = {
  name: 'ucast',
  shape: 'line',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const args = value.split(/\s+/).filter(Boolean);
    if (args.length < 2) {
      sink.error(line, `ucast needs 2 arguments IF PEER, got ${args.length}`, 'write ucast IF PEER, e.g. ucast eth0 192.168.1.2 (one line per peer)');
      return;
    }
    if (args.length > 2) sink.warning(line, `ucast: extra arguments ignored [${args.slice(2).join(' ')}]`, 'ucast takes one peer: write one ucast line per peer');
    const iface = parseInterfaceName(args[0]);
    const peer = parseHost(args[1]);
    if (!iface.ok) report(sink, line, 'ucast', iface);
    if (!peer.ok) report(sink, line, 'ucast', peer);
    if (iface.ok && peer.ok) addMedium(draft, { type: 'ucast', iface: iface.value, peer: peer.value, line: line ?? 0 }, sink);
  },
};

const ping: Directive = {
  name: 'ping',
  shape: 'values',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const host = parseHost(value);
    if (!host.ok) return report(sink, line, 'ping', host);
    if (roomForNode(draft, line, sink)) draft.pingNodes.push({ address: host.value, line: line ?? 0 });
  },
};

const pingGroup: Directive = {
  name: 'ping_group',
  shape: 'line',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const [name, ...hosts] = value.split(/\s+/).filter(Boolean);
    if (hosts.length === 0) {
      sink.error(line, 'ping_group needs a name and at least one address', 'write ping_group NAME IP [IP…], e.g. ping_group routers 10.0.0.1 10.0.0.2');
      return;
    }
    const parsed = hosts.map(parseHost);
    parsed.forEach((r) => r.ok || report(sink, line, 'ping_group', r));
    if (parsed.every((r) => r.ok) && roomForNode(draft, line, sink)) {
      draft.pingGroups.push({ name: name.toLowerCase(), addresses: hosts, line: line ?? 0 });
    }
  },
};

const udpport: Directive = {
  name: 'udpport',
  shape: 'value',
  defaultValue: '694',
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    if (line === null && draft.settings.udpPort) return;
    const port = integerIn(1, 65535, 'port')(value);
    if (!port.ok) return report(sink, line, 'udpport', port);
    // heartbeat's bcast/ucast media latch the port when they are read (spec §9.1).
    const first = line === null ? undefined : draft.media.find((m) => m.type !== 'mcast');
    if (first) {
      sink.error(line, `udpport must come before the media that use it: line ${first.line} (${first.type} ${first.iface}) was read first and uses the default port`, `move udpport ${value} above line ${first.line}`);
      return;
    }
    draft.settings.udpPort = { value: port.value, line };
  },
};

const msgfmt: Directive = {
  name: 'msgfmt',
  shape: 'value',
  defaultValue: 'classic',
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    if (line === null && draft.settings.msgfmt) return;
    const r = oneOf(['classic', 'netstring', 'classic-text'] as const, 'message format')(value);
    if (!r.ok) return report(sink, line, 'msgfmt', r);
    if (r.value === 'classic-text') {
      sink.note(line, 'msgfmt classic-text is an hbd extension (the classic text packets of cluster-glue ≤ 1.0.9); heartbeat refuses this value', 'keep it out of ha.cf files shared with heartbeat nodes');
    }
    draft.settings.msgfmt = { value: r.value, line };
  },
};

/** heartbeat tests the *current* failback flag, not the value: see spec §8.4. */
const niceFailback: Directive = {
  name: 'nice_failback',
  shape: 'value',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const r = parseBoolean(value);
    if (!r.ok) return report(sink, line, 'nice_failback', r);
    const prior = draft.settings.autoFailback?.value;
    const result: AutoFailback = prior === 'on' || prior === 'off' ? 'off' : 'legacy';
    sink.warning(line, `nice_failback is obsolete: heartbeat reads "nice_failback ${value}" as "auto_failback ${result}"`, 'write auto_failback on, off or legacy instead');
    draft.settings.autoFailback = { value: result, line };
  },
};

const pacemaker = (name: string): Directive => ({
  name,
  shape: 'value',
  defaultValue: name === 'pacemaker' ? 'false' : null,
  disposition: HONOURED,
  apply(_draft, value, line, sink) {
    const b = parseBoolean(value);
    const modes = ['respawn', 'manual', 'minimal', 'valgrind', 'ccm-only'];
    if (b.ok && !b.value) return;
    if (b.ok || modes.includes(value.toLowerCase())) {
      sink.error(line, `${name} ${value}: Pacemaker resource management is not implemented in hbd`, 'hbd runs haresources clusters: remove this line to use haresources, or use Pacemaker with corosync');
      return;
    }
    report(sink, line, name, { message: `invalid value [${value}]`, hint: 'write off (hbd runs haresources clusters only)' });
  },
});

const autojoin: Directive = {
  name: 'autojoin',
  shape: 'value',
  defaultValue: 'none',
  disposition: HONOURED,
  apply(_draft, value, line, sink) {
    const v = value.toLowerCase();
    if (v === 'none') return;
    if (v === 'other' || v === 'any') {
      sink.error(line, `autojoin ${value} conflicts with haresources resource management (heartbeat: "R1 style resource management conflicts with autojoin set")`, 'remove the autojoin line or write autojoin none, and list every node with a node line');
      return;
    }
    report(sink, line, 'autojoin', { message: `invalid value [${value}]`, hint: 'write none (other and any are not usable with haresources)' });
  },
};

/** `env NAME=value` exports HA_NAME=value to the children (resource scripts). */
const env: Directive = {
  name: 'env',
  shape: 'values',
  defaultValue: null,
  disposition: HONOURED,
  apply(draft, value, line, sink) {
    const eq = value.indexOf('=');
    if (eq <= 0) {
      sink.error(line, `env: invalid setting [${value}]: expected NAME=value`, 'write env NAME=value (exported to resource scripts as HA_NAME); values cannot contain spaces or commas');
      return;
    }
    draft.env.push({ name: value.slice(0, eq), value: value.slice(eq + 1) });
  },
};

const BAUD_RATES = ['9600', '19200', '38400', '57600', '115200', '230400', '460800'] as const;
const NO_SERIAL = 'serial media are not implemented in hbd';
const NO_IPV6 = 'use mcast, ucast or ping over IPv4 (hbd media are IPv4 only)';
const NO_LOGD = 'hbd has no ha_logd client; it writes logfile, debugfile and logfacility itself (stderr when none is set)';

export const DIRECTIVES: readonly Directive[] = [
  node,
  setting('keepalive', 'keepalive', positiveTime, '1000ms'),
  setting('deadtime', 'deadtime', parseTime, '30000ms'),
  setting('warntime', 'warntime', positiveTime, null),
  setting('initdead', 'initdead', parseTime, null),
  setting('deadping', 'deadping', parseTime, null),
  setting('hbd_stall_limit', 'stallLimit', positiveTime, null, EXTENSION),
  setting('hbd_metrics', 'metrics', parseMetricsAddress, null, EXTENSION),
  udpport,
  bcast,
  mcast,
  ucast,
  ping,
  pingGroup,
  unsupported('mcast6', 'line', NO_IPV6),
  unsupported('ucast6', 'line', NO_IPV6),
  unsupported('ping6', 'values', NO_IPV6),
  unsupported('serial', 'values', 'use bcast, mcast or ucast, e.g. over a dedicated cross-over link'),
  noEffect('baud', 'value', oneOf(BAUD_RATES, 'baud rate'), '19200', NO_SERIAL),
  unsupported('hbaping', 'values', 'use ping or ping_group'),
  setting('hopfudge', 'hopfudge', integerIn(0, 255, 'hop count'), '1'),
  setting('auto_failback', 'autoFailback', autoFailback, 'legacy'),
  niceFailback,
  unsupported('stonith', 'line', 'remove the stonith and stonith_host lines', 'is not supported in hbd'),
  unsupported('stonith_host', 'line', 'remove the stonith and stonith_host lines', 'is not supported in hbd'),
  unsupported('watchdog', 'value', 'remove it; hbd stops sending heartbeats when its own process stalls longer than hbd_stall_limit, and systemd WatchdogSec= can restart it'),
  unsupported('respawn', 'line', 'run the program as its own systemd service (hbd does not start client daemons; ipfail has no hbd equivalent)'),
  unsupported('failfast', 'line', 'run the program as its own systemd service (hbd does not start client daemons)'),
  noEffect('apiauth', 'line', null, null, "hbd has no heartbeat API socket; its control socket's file permissions decide who may use it"),
  setting('logfile', 'logfile', nonEmpty, null),
  setting('debugfile', 'debugfile', nonEmpty, null),
  setting('logfacility', 'logfacility', oneOf([...Object.keys(SYSLOG_FACILITY), 'none'], 'syslog facility'), null),
  noEffect('use_logd', 'value', parseBoolean, null, NO_LOGD),
  noEffect('conn_logd_time', 'value', parseTime, '60', NO_LOGD),
  setting('syslogmsgfmt', 'syslogMsgFmt', parseBoolean, 'true'),
  setting('log_badpack', 'logBadPacket', parseBoolean, 'true'),
  setting('debug', 'debug', integerIn(0, 255, 'debug level'), '0'),
  setting('realtime', 'realtime', parseBoolean, 'true'),
  setting('rtprio', 'rtprio', integerIn(1, 99, 'realtime priority'), null),
  noEffect('memreserve', 'value', integerIn(1, 2 ** 31 - 1, 'size in KiB'), '6500', 'hbd does not pre-allocate heap (Node.js manages its own memory)'),
  setting('hbgenmethod', 'hbgenMethod', oneOf(['file', 'time'] as const, 'generation method'), 'file'),
  setting('uuidfrom', 'uuidFrom', oneOf(['file', 'nodename'] as const, 'uuid source'), 'file'),
  msgfmt,
  noEffect('compression', 'value', oneOf(['zlib', 'bz2'] as const, 'compression'), 'zlib', 'hbd never compresses what it sends (haresources messages stay far below the 256 KiB limit)'),
  noEffect('compression_threshold', 'value', integerIn(1, 2 ** 21, 'threshold in KiB'), '2', 'hbd never compresses what it sends'),
  noEffect('traditional_compression', 'value', parseBoolean, 'no', 'hbd never compresses what it sends'),
  setting('max_rexmit_delay', 'maxRexmitDelay', plainMs, '250'),
  autojoin,
  env,
  noEffect('coredumps', 'value', parseBoolean, 'true', 'hbd leaves core dumps to the service manager (systemd LimitCORE=)'),
  noEffect('coreroot', 'value', nonEmpty, null, 'hbd leaves core dumps to the service manager (systemd LimitCORE=)'),
  noEffect('use_apphbd', 'value', parseBoolean, null, 'hbd does not register with apphbd'),
  setting('cluster', 'cluster', nonEmpty, 'linux-ha'),
  noEffect('quorum_server', 'value', nonEmpty, null, PACEMAKER_ONLY),
  pacemaker('crm'),
  pacemaker('pacemaker'),
  noEffect('crm_daemon_dir', 'value', nonEmpty, null, PACEMAKER_ONLY),
  noEffect('crmd_spawns_pengine', 'value', parseBoolean, null, PACEMAKER_ONLY),
  noEffect('record_config_changes', 'value', parseBoolean, null, PACEMAKER_ONLY),
  noEffect('record_pengine_inputs', 'value', parseBoolean, null, PACEMAKER_ONLY),
  noEffect('enable_config_writes', 'value', parseBoolean, null, PACEMAKER_ONLY),
  unsupported('normalpoll', 'value', 'remove it', 'is compiled out of heartbeat 3.0 (heartbeat itself refuses it) and not implemented in hbd'),
];

const BY_NAME = new Map(DIRECTIVES.map((d) => [d.name, d]));

export function directive(name: string): Directive | undefined {
  return BY_NAME.get(name);
}
