// ha.cf read exactly as heartbeat's parse_config() reads it (spec §9.1), then completed with
// heartbeat's defaults and derived timings and checked as init_config() checks it (spec §7.1).
// Always returns a best-effort HaCf (for `hbd check` to show) next to the diagnostics.
import type { WireFormat } from '../wire/types';
import { Sink, type Diagnostic } from './diagnostics';
import { DIRECTIVES, directive, emptyDraft, type Draft, type Settings } from './directives';
import { physicalLines } from './lines';
import { closest } from './suggest';
import type { HaCf, Medium, TimingName, TimingSource, Timings } from './types';

/** ha.cf `msgfmt` → what hbd sends (spec §3.3). */
const WIRE_FORMAT: Readonly<Record<Settings['msgfmt'], WireFormat>> = {
  classic: 'netstring+auth', // what Debian's heartbeat 3.0.6 with cluster-glue 1.0.12 sends
  netstring: 'netstring',
  'classic-text': 'classic', // cluster-glue ≤ 1.0.9
};

const NAMES = DIRECTIVES.map((d) => d.name);

export function parseHaCf(text: string, file: string): { haCf: HaCf; diagnostics: Diagnostic[] } {
  const sink = new Sink(file);
  const draft = emptyDraft();
  const seenAt = new Map<string, number>();

  for (const { line, text: raw } of physicalLines(text, sink)) {
    // Leading blanks, then everything from the first '#' and from the first CR is dropped.
    const content = raw.replace(/^[ \t\f\v]+/, '').replace(/[#\r].*$/s, '');
    if (content === '') continue;
    let [name] = content.split(/[ \t\f\v]/, 1);
    const rest = content.slice(name.length).replace(/^[ \t\f\v,]+/, '').replace(/[ \t\f\v]+$/, '');

    if (name === 'udp') {
      sink.warning(line, "directive 'udp' replaced by 'bcast'", 'write bcast');
      name = 'bcast';
    }
    const d = directive(name);
    if (d === undefined) {
      sink.error(line, `unknown directive [${name}]`, unknownHint(name));
      continue;
    }

    const disp = d.disposition;
    if (disp.kind === 'unsupported') {
      sink.error(line, `${name} ${disp.reason}`, disp.instead);
      continue;
    }
    if (disp.kind === 'no-effect') sink.warning(line, `${name} has no effect in hbd: ${disp.why}`);
    if (disp.kind === 'extension') sink.note(line, `${name} is an hbd extension; heartbeat refuses this directive`, 'keep it out of ha.cf files shared with heartbeat nodes');

    if (d.shape === 'line') {
      d.apply(draft, rest, line, sink);
      continue;
    }
    const values = rest.split(/[ \t\f\v,]+/).filter(Boolean);
    if (values.length === 0) {
      sink.error(line, `${name} needs a value`);
      continue;
    }
    if (d.shape === 'values') {
      for (const v of values) d.apply(draft, v, line, sink);
      continue;
    }
    if (values.length > 1) {
      sink.error(line, `${name} takes one value, got ${values.length} [${values.join(' ')}]`, 'values are split at blanks and commas; a time takes its unit attached (10000ms)');
      continue;
    }
    const first = seenAt.get(name);
    if (first !== undefined) {
      sink.error(line, `duplicate ${name}: already set on line ${first}`, `keep one ${name} line`);
      continue;
    }
    seenAt.set(name, line);
    d.apply(draft, values[0], line, sink);
  }

  // heartbeat sets every directive with a default that the file did not give (spec §9.1).
  for (const d of DIRECTIVES) {
    if (d.defaultValue !== null && !seenAt.has(d.name)) d.apply(draft, d.defaultValue, null, sink);
  }
  return { haCf: finish(draft, seenAt, sink), diagnostics: sink.diagnostics };
}

function unknownHint(name: string): string {
  const near = closest(name, NAMES);
  if (near !== null && near === name.toLowerCase()) return `directive names are case-sensitive: write ${near}`;
  if (near !== null) return `did you mean ${near}?`;
  return 'see the directive list in ha.cf(5); heartbeat refuses to start on an unknown directive';
}

/** Defaults and derived values, then the cross-directive checks of heartbeat's init_config(). */
function finish(draft: Draft, seenAt: ReadonlyMap<string, number>, sink: Sink): HaCf {
  const s = draft.settings;
  const timings = deriveTimings(draft);
  checkTimings(draft, timings, sink);

  if (draft.media.length === 0) {
    sink.error(null, 'no heartbeat media defined', 'add a medium, e.g. bcast eth0, mcast eth0 239.0.0.43 694 1 0, or ucast eth0 192.168.1.2');
  }
  checkSharedInterfaces(draft.media, sink);
  if (draft.nodes.length === 0) {
    sink.error(null, 'no nodes defined', 'add one node line per cluster node, named as `uname -n` prints them: node alice bob');
  } else if (draft.nodes.length === 1) {
    sink.warning(draft.nodes[0].line, `only one node (${draft.nodes[0].name}) is configured: there is no peer to fail over to`, 'add a node line for every other cluster node');
  }
  if (s.autoFailback?.value === 'legacy') {
    sink.warning(s.autoFailback?.line ?? null, "Deprecated 'legacy' auto_failback option selected.", 'write auto_failback on (groups go back to their preferred node) or off (they stay where they are); legacy is the old ip-request protocol');
  }
  if (!['logfile', 'debugfile', 'logfacility'].some((n) => seenAt.has(n))) {
    sink.note(null, 'no logfile, debugfile or logfacility: heartbeat would pass its messages to ha_logd; hbd logs to stderr', 'add e.g. logfacility daemon, or logfile /var/log/ha-log');
  }

  const msgfmt = s.msgfmt?.value ?? 'classic';
  const facility = s.logfacility?.value ?? null;
  return {
    nodes: draft.nodes,
    pingNodes: draft.pingNodes,
    pingGroups: draft.pingGroups,
    media: draft.media,
    udpPort: s.udpPort?.value ?? 694,
    timings,
    msgfmt,
    wireFormat: WIRE_FORMAT[msgfmt],
    autoFailback: s.autoFailback?.value ?? 'legacy',
    logging: {
      logfile: s.logfile?.value ?? null,
      debugfile: s.debugfile?.value ?? null,
      facility: facility === 'none' ? null : facility,
      debugLevel: s.debug?.value ?? 0,
      logBadPacket: s.logBadPacket?.value ?? true,
      syslogMsgFmt: s.syslogMsgFmt?.value ?? true,
    },
    realtime: s.realtime?.value ?? true,
    rtprio: s.rtprio?.value ?? null,
    hbgenMethod: s.hbgenMethod?.value ?? 'file',
    uuidFrom: s.uuidFrom?.value ?? 'file',
    hopfudge: s.hopfudge?.value ?? 1,
    maxRexmitDelayMs: s.maxRexmitDelay?.value ?? 250,
    clusterName: s.cluster?.value ?? 'linux-ha',
    env: draft.env,
    metrics: s.metrics?.value ?? null,
  };
}

/** heartbeat's derivations (init_config(), spec §7.1) plus hbd's stall limit. */
function deriveTimings(draft: Draft): Timings {
  const s = draft.settings;
  const source = (v: { line: number | null } | undefined): TimingSource => (v === undefined ? 'derived' : v.line === null ? 'default' : 'set');
  // keepalive and deadtime always have a value: their defaults were applied (or were invalid).
  const keepaliveMs = s.keepalive?.value ?? 1000;
  const deadtimeMs = s.deadtime?.value ?? 30000;
  const derivedInitdead = deadtimeMs > 10000 ? deadtimeMs : deadtimeMs < 6000 ? 12000 : 2 * deadtimeMs;
  const src: Record<TimingName, TimingSource> = {
    keepalive: source(s.keepalive ?? { line: null }),
    deadtime: source(s.deadtime ?? { line: null }),
    warntime: source(s.warntime),
    initdead: source(s.initdead),
    deadping: source(s.deadping),
    stallLimit: source(s.stallLimit),
  };
  return {
    keepaliveMs,
    deadtimeMs,
    warntimeMs: s.warntime?.value ?? Math.floor(deadtimeMs / 2),
    initdeadMs: s.initdead?.value ?? derivedInitdead,
    deadpingMs: s.deadping?.value ?? deadtimeMs,
    stallLimitMs: s.stallLimit?.value ?? Math.max(4 * deadtimeMs, 2000),
    source: src,
  };
}

function checkTimings(draft: Draft, t: Timings, sink: Sink): void {
  const s = draft.settings;
  const k = t.keepaliveMs;
  const at = (...lines: Array<number | null | undefined>): number | null => lines.find((l) => typeof l === 'number') ?? null;
  // heartbeat's own wording (including its "keeplive" typo), so the text matches its logs.
  if (t.deadtimeMs <= 2 * k) {
    sink.error(at(s.deadtime?.line, s.keepalive?.line), `Dead time [${t.deadtimeMs}] is too small compared to keeplive [${k}]`, `deadtime must be more than 2 × keepalive (${2 * k}ms): raise deadtime or lower keepalive`);
  }
  if (s.warntime && t.warntimeMs >= t.deadtimeMs) {
    sink.warning(s.warntime.line, `warntime [${t.warntimeMs}] is not below deadtime [${t.deadtimeMs}]: late heartbeats are never reported before the node is declared dead`, `set warntime below deadtime, e.g. warntime ${Math.floor(t.deadtimeMs / 2)}ms`);
  }
  if (t.initdeadMs < t.deadtimeMs) {
    sink.error(at(s.initdead?.line, s.deadtime?.line), `Initial dead time [${t.initdeadMs}] is smaller than deadtime [${t.deadtimeMs}]`, `set initdead to at least deadtime (${t.deadtimeMs}ms); twice deadtime is usual`);
  } else if (t.initdeadMs < 10000) {
    sink.warning(at(s.initdead?.line), `Initial dead time [${t.initdeadMs} ms] may be too small!`, 'initdead allows for slow network start-up: it should be >= deadtime and >= 10 seconds');
  }
  if (s.deadping && t.deadpingMs <= 2 * k) {
    sink.error(s.deadping.line, `Ping dead time [${t.deadpingMs}] is too small compared to keeplive [${k}]`, `deadping must be more than 2 × keepalive (${2 * k}ms)`);
  }
  if (s.stallLimit && t.stallLimitMs <= t.deadtimeMs) {
    sink.warning(s.stallLimit.line, `hbd_stall_limit [${t.stallLimitMs}] is not above deadtime [${t.deadtimeMs}]: a short pause of hbd's JavaScript side would stop the heartbeats and cause a failover`, `set hbd_stall_limit well above deadtime, e.g. ${4 * t.deadtimeMs}ms (the default)`);
  }
}

/** Two media on one interface share a link name; heartbeat tracks only the first (spec §3.6). */
function checkSharedInterfaces(media: readonly Medium[], sink: Sink): void {
  for (let i = 1; i < media.length; i++) {
    const m = media[i];
    // One ucast line per peer on the same interface is the documented way to unicast.
    const first = media.slice(0, i).find((o) => o.iface === m.iface && !(o.type === 'ucast' && m.type === 'ucast'));
    if (first) {
      sink.warning(m.line, `${m.type} ${m.iface} uses the same interface as the ${first.type} medium on line ${first.line}: heartbeat tracks only the first as link ${m.iface}`, 'use one medium per interface');
    }
  }
}
