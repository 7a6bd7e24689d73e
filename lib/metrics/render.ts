// The Prometheus text exposition format (version 0.0.4) of one scrape: the daemon's StatusReport
// for states and totals, the MetricsRecorder for what only events show (gaps, reasons, durations).
import type { StatusReport } from '../control/types';
import type { NodeStatus } from '../membership/membership';
import type { Histogram } from './histogram';
import type { MetricsRecorder } from './recorder';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const NODE_STATES: readonly NodeStatus[] = ['init', 'up', 'active', 'dead', 'ping'];
const GROUP_STATES = ['held', 'released', 'acquiring', 'releasing', 'failed'] as const;

type Labels = Readonly<Record<string, string>>;

/** Label values escape backslash, double quote and newline (the format's only escapes). */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${labelText(labels)} ${num(value)}`);
    return this;
  }

  histogram(name: string, labels: Labels, h: Histogram): this {
    const s = h.snapshot();
    for (const b of s.buckets) this.sample(`${name}_bucket`, { ...labels, le: num(b.le) }, b.count);
    this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, s.count);
    this.sample(`${name}_sum`, labels, s.sum);
    return this.sample(`${name}_count`, labels, s.count);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export function renderMetrics(r: StatusReport, rec: MetricsRecorder): string {
  const x = new Exposition();
  x.family('hbd_info', 'gauge', 'hbd version and this node (always 1)').sample('hbd_info', { version: r.version, node: r.localNode }, 1);
  x.family('hbd_start_time_seconds', 'gauge', 'when the daemon started, Unix time').sample('hbd_start_time_seconds', {}, r.startedAt / 1000);
  x.family('hbd_transport', 'gauge', 'the packet core in use (1) and the one not in use (0)');
  for (const kind of ['native', 'ts'] as const) x.sample('hbd_transport', { kind }, r.transport.kind === kind ? 1 : 0);
  x.family('hbd_communication_up', 'gauge', "1 once the cluster communication is up (heartbeat's comm_now_up)").sample('hbd_communication_up', {}, r.comm === 'up' ? 1 : 0);

  x.family('hbd_node_state', 'gauge', 'node state: 1 for the current one of init, up, active, dead, ping');
  for (const n of r.nodes) for (const state of NODE_STATES) x.sample('hbd_node_state', { node: n.name, type: n.type, state }, n.status === state ? 1 : 0);
  x.family('hbd_node_alive', 'gauge', '1 when the node is heard (up, active, or a ping node answering)');
  for (const n of r.nodes) x.sample('hbd_node_alive', { node: n.name, type: n.type }, n.status === 'dead' || n.status === 'init' ? 0 : 1);
  x.family('hbd_link_up', 'gauge', "1 when the node is heard on this link (heartbeat's link status up)");
  for (const n of r.nodes) for (const l of n.links) x.sample('hbd_link_up', { node: n.name, link: l.name }, l.status === 'up' ? 1 : 0);

  x.family('hbd_resource_group_state', 'gauge', 'resource group state: 1 for the current one');
  for (const g of r.groups) for (const state of GROUP_STATES) x.sample('hbd_resource_group_state', { group: g.key, state }, g.state === state ? 1 : 0);
  x.family('hbd_resource_group_local', 'gauge', '1 when this node holds the resource group');
  for (const g of r.groups) x.sample('hbd_resource_group_local', { group: g.key, preferred: g.node }, g.holder === r.localNode ? 1 : 0);

  const c = r.counters;
  x.family('hbd_packets_received_total', 'counter', 'heartbeat packets received').sample('hbd_packets_received_total', {}, c.packetsIn);
  x.family('hbd_packets_sent_total', 'counter', 'heartbeat packets sent').sample('hbd_packets_sent_total', {}, c.packetsOut);
  x.family('hbd_late_heartbeats_total', 'counter', 'heartbeats that arrived after warntime').sample('hbd_late_heartbeats_total', {}, c.lateHeartbeats);
  x.family('hbd_heartbeat_largest_gap_seconds', 'gauge', 'the largest gap between two heartbeats of any peer').sample('hbd_heartbeat_largest_gap_seconds', {}, c.largestGapMs / 1000);
  x.family('hbd_heartbeat_gap_seconds', 'histogram', 'time between two heartbeats of a peer');
  for (const [node, h] of [...rec.gaps].sort(([a], [b]) => a.localeCompare(b))) x.histogram('hbd_heartbeat_gap_seconds', { node }, h);

  x.family('hbd_auth_failures_total', 'counter', 'packets refused: bad signature, unknown key index, unsigned, unverified, unknown node, malformed');
  for (const [reason, n] of rec.authFailures) x.sample('hbd_auth_failures_total', { reason }, n);

  x.family('hbd_takeovers_total', 'counter', 'resource takeovers (a peer died, or a standby/takeover request)').sample('hbd_takeovers_total', {}, rec.takeovers.snapshot().count);
  x.family('hbd_takeover_duration_seconds', 'histogram', 'from the death or request to the last resource running').histogram('hbd_takeover_duration_seconds', {}, rec.takeovers);

  const series = [...rec.resources.values()].sort((a, b) => a.resource.localeCompare(b.resource) || a.op.localeCompare(b.op));
  x.family('hbd_resource_action_duration_seconds', 'histogram', 'resource start/stop/status run time');
  for (const s of series) x.histogram('hbd_resource_action_duration_seconds', { resource: s.resource, op: s.op }, s.durations);
  x.family('hbd_resource_action_failures_total', 'counter', 'resource actions that failed');
  for (const s of series) x.sample('hbd_resource_action_failures_total', { resource: s.resource, op: s.op }, s.failures);

  // The process's own usage, under the names Prometheus client libraries give them (process_*,
  // nodejs_*), so existing dashboards and leak alerts apply.
  const p = r.process;
  x.family('process_resident_memory_bytes', 'gauge', 'resident set size (VmRSS)').sample('process_resident_memory_bytes', {}, p.rssBytes);
  x.family('process_cpu_seconds_total', 'counter', 'user and system CPU time').sample('process_cpu_seconds_total', {}, p.cpuSeconds);
  x.family('process_open_fds', 'gauge', 'open file descriptors').sample('process_open_fds', {}, p.openFds);
  x.family('process_threads', 'gauge', 'threads of the process').sample('process_threads', {}, p.threads);
  x.family('nodejs_heap_space_size_total_bytes', 'gauge', "V8 heap space size committed");
  for (const h of p.heapSpaces) x.sample('nodejs_heap_space_size_total_bytes', { space: h.name }, h.sizeBytes);
  x.family('nodejs_heap_space_size_used_bytes', 'gauge', 'V8 heap space size used by live objects');
  for (const h of p.heapSpaces) x.sample('nodejs_heap_space_size_used_bytes', { space: h.name }, h.usedBytes);
  x.family('nodejs_external_memory_bytes', 'gauge', 'memory of C++ objects bound to JavaScript objects').sample('nodejs_external_memory_bytes', {}, p.externalBytes);
  return x.text();
}
