// heartbeat's haresources cluster in Pacemaker terms, one pure function: each haresources line a
// group of primitives with a location preference for its node, auto_failback as stickiness.
// The crm script (crm.ts) and the CIB XML (cib.ts) are two spellings of this one model, so they
// cannot disagree. A resource Pacemaker cannot run as heartbeat did is kept as a Problem, never
// dropped: the writers print it as a comment and `hbd export` exits 1.
import type { ClusterConfig, Resource, ResourceGroup } from '../config/types';

export interface Op {
  readonly name: 'monitor' | 'start' | 'stop';
  readonly interval: string;
  readonly timeout: string;
}

export interface Primitive {
  readonly id: string;
  readonly class: 'ocf' | 'lsb' | 'systemd';
  readonly provider: string | null;
  readonly type: string;
  /** Ordered, as the agent's parameters are usually listed. */
  readonly params: ReadonlyArray<readonly [string, string]>;
  readonly ops: readonly Op[];
  /** The haresources text and line it came from. */
  readonly description: string;
}

export interface Group {
  readonly id: string;
  readonly primitives: readonly Primitive[];
  /** The haresources preferred node. */
  readonly node: string;
  readonly description: string;
}

/** A haresources resource with no faithful Pacemaker form: its whole group is left out. */
export interface Problem {
  readonly line: number;
  readonly text: string;
  /** The whole haresources line (the group left out). */
  readonly group: string;
  readonly reason: string;
  readonly instead: string;
}

export interface PacemakerModel {
  readonly clusterName: string;
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly id: number }>;
  readonly properties: ReadonlyArray<readonly [string, string]>;
  readonly stickiness: number;
  /** Score of each group's location preference for its haresources node. */
  readonly locationScore: number;
  readonly groups: readonly Group[];
  readonly problems: readonly Problem[];
  /** Explanations for the reader (ping nodes, legacy failback…), as comments. */
  readonly notes: readonly string[];
}

/** A preference for the haresources node that stickiness either beats (off) or does not (on). */
export const LOCATION_SCORE = 100;
const MONITOR_IP: Op = { name: 'monitor', interval: '10s', timeout: '20s' };
const MONITOR_SERVICE: Op = { name: 'monitor', interval: '30s', timeout: '100s' };

/** Pacemaker ids are XML ids: a letter or _ first, then letters, digits, `_`, `-`, `.`. */
function idFrom(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Za-z_]/.test(s) ? s : `r_${s}`;
}

class Ids {
  private readonly used = new Set<string>();

  take(base: string): string {
    let id = idFrom(base);
    for (let n = 2; this.used.has(id); n++) id = `${idFrom(base)}-${n}`;
    this.used.add(id);
    return id;
  }
}

type Mapped = { readonly ok: true; readonly primitive: Omit<Primitive, 'id' | 'description'>; readonly idBase: string } | { readonly ok: false; readonly reason: string; readonly instead: string };

function ocf(type: string, params: Array<[string, string]>, ops: Op[], idBase: string, provider = 'heartbeat'): Mapped {
  return { ok: true, primitive: { class: 'ocf', provider, type, params, ops }, idBase };
}

function ipaddr(r: Resource): Mapped {
  const a = r.ipaddr!;
  const params: Array<[string, string]> = [['ip', a.ip]];
  if (a.cidrNetmask !== null) params.push(['cidr_netmask', String(a.cidrNetmask)]);
  if (a.nic !== null) {
    // heartbeat's `eth0:1` alias label is IPaddr2's nic + iflabel.
    const [nic, label] = a.nic.split(':');
    params.push(['nic', nic]);
    if (label !== undefined) params.push(['iflabel', label]);
  }
  if (a.broadcast !== null) params.push(['broadcast', a.broadcast]);
  return ocf('IPaddr2', params, [MONITOR_IP], `ip_${a.ip}`);
}

/** heartbeat 3.0's resource.d wrappers that take arguments, and the OCF parameters they set (hto-mapfuncs). */
const WRAPPERS: Readonly<Record<string, { readonly params: readonly string[]; readonly required: number; readonly id: (args: readonly string[]) => string }>> = {
  Filesystem: { params: ['device', 'directory', 'fstype', 'options'], required: 2, id: (a) => `fs_${a[1]}` },
  MailTo: { params: ['email', 'subject'], required: 1, id: () => 'mailto' },
  IPsrcaddr: { params: ['ipaddress'], required: 1, id: (a) => `srcaddr_${a[0]}` },
  SendArp: { params: ['ip', 'nic'], required: 1, id: (a) => `sendarp_${a[0]}` },
  AudibleAlarm: { params: ['nodelist'], required: 0, id: () => 'alarm' },
  Delay: { params: ['startdelay', 'stopdelay'], required: 0, id: () => 'delay' },
  apache: { params: ['configfile'], required: 0, id: () => 'apache' },
  db2: { params: ['instance'], required: 1, id: (a) => `db2_${a[0]}` },
  Xinetd: { params: ['service'], required: 1, id: (a) => `xinetd_${a[0]}` },
};

const NO_ARGS_HINT = 'give the service an init script or systemd unit without arguments (lsb:NAME / systemd::UNIT), or write the Pacemaker primitive by hand';

/** One haresources resource → its Pacemaker primitive, or why there is none. */
export function mapResource(r: Resource): Mapped {
  if (r.ipaddr) return ipaddr(r);
  if (r.script === 'systemd') return { ok: true, primitive: { class: 'systemd', provider: null, type: r.args[0], params: [], ops: [MONITOR_SERVICE] }, idBase: r.args[0].replace(/\.service$/, '') };
  if (r.script === 'IPv6addr') {
    // haresources splits on `::`, which IPv6 addresses contain: join the pieces back.
    const [addr, mask, nic] = r.args.join('::').split('/');
    if (!addr) return { ok: false, reason: 'IPv6addr needs an address', instead: 'write IPv6addr::ADDRESS/PREFIX/NIC' };
    const params: Array<[string, string]> = [['ipv6addr', addr]];
    if (mask) params.push(['cidr_netmask', mask]);
    if (nic) params.push(['nic', nic]);
    return ocf('IPv6addr', params, [MONITOR_IP], `ip6_${addr}`);
  }
  if (r.script === 'drbddisk') {
    return { ok: false, reason: 'drbddisk (DRBD primary/secondary) is a promotable clone in Pacemaker, not a group member', instead: 'configure ocf:linbit:drbd as a promotable clone with colocation and order constraints on this group (see the DRBD user guide, "Pacemaker")' };
  }
  const wrapper = WRAPPERS[r.script];
  if (wrapper) {
    if (r.args.length < wrapper.required || r.args.length > wrapper.params.length) {
      return { ok: false, reason: `${r.script} takes ${wrapper.required}-${wrapper.params.length} arguments (${wrapper.params.join('::')}), got ${r.args.length}`, instead: `write ${r.script}::${wrapper.params.join('::')}` };
    }
    return ocf(r.script, r.args.map((v, i) => [wrapper.params[i], v] as [string, string]), [MONITOR_SERVICE], wrapper.id(r.args));
  }
  if (r.args.length > 0) {
    return { ok: false, reason: `an init script called with arguments (${r.args.join(' ')}): LSB resources in Pacemaker take none`, instead: NO_ARGS_HINT };
  }
  return { ok: true, primitive: { class: 'lsb', provider: null, type: r.script, params: [], ops: [MONITOR_SERVICE] }, idBase: r.script };
}

function mapGroup(g: ResourceGroup, ids: Ids): { group: Group | null; problems: Problem[] } {
  const mapped = g.resources.map((r) => ({ r, m: mapResource(r) }));
  const line = `${g.node} ${g.resources.map((r) => r.text).join(' ')}`;
  const problems = mapped.flatMap(({ r, m }) => (m.ok ? [] : [{ line: r.line, text: r.text, group: line, reason: m.reason, instead: m.instead }]));
  // Half a group would start without what its other members need: leave the whole group out.
  if (problems.length) return { group: null, problems };
  const primitives = mapped.map(({ r, m }) => {
    const p = (m as Extract<Mapped, { ok: true }>);
    return { ...p.primitive, id: ids.take(p.idBase), description: `haresources:${r.line}: ${r.text}` };
  });
  const group: Group = { id: ids.take(`grp_${primitives[0].id}`), primitives, node: g.node, description: `haresources:${g.line}: ${line}` };
  return { group, problems: [] };
}

export function pacemakerModel(cfg: ClusterConfig): PacemakerModel {
  const ids = new Ids();
  const groups: Group[] = [];
  const problems: Problem[] = [];
  for (const g of cfg.resources) {
    const r = mapGroup(g, ids);
    if (r.group) groups.push(r.group);
    problems.push(...r.problems);
  }
  const notes: string[] = [];
  // auto_failback on: nothing holds a group away from its preferred node; off: staying beats the preference.
  const stickiness = cfg.autoFailback === 'off' ? 2 * LOCATION_SCORE : 0;
  if (cfg.autoFailback === 'legacy') notes.push('auto_failback legacy: exported as on (groups return to their preferred node); Pacemaker has no ip-request protocol');
  for (const p of cfg.pingNodes) notes.push(`ping ${p.address} (ha.cf:${p.line}): heartbeat's ping nodes only report reachability; in Pacemaker use an ocf:pacemaker:ping clone (host_list=${p.address}) and a location rule on its pingd attribute`);
  for (const p of cfg.pingGroups) notes.push(`ping_group ${p.name} (ha.cf:${p.line}): use an ocf:pacemaker:ping clone (host_list="${p.addresses.join(' ')}") and a location rule on its pingd attribute`);
  return {
    clusterName: cfg.clusterName,
    nodes: cfg.nodes.map((n, i) => ({ name: n.name, id: i + 1 })),
    properties: [
      // haresources clusters have no fencing (hbd refuses stonith): say so rather than let Pacemaker refuse to start resources.
      ['stonith-enabled', 'false'],
      // heartbeat's initdead: how long to wait for the other nodes at start-up.
      ['dc-deadtime', `${Math.ceil(cfg.timings.initdeadMs / 1000)}s`],
    ],
    stickiness,
    locationScore: LOCATION_SCORE,
    groups,
    problems,
    notes,
  };
}

export function locationId(g: Group): string {
  return `loc_${g.id}`;
}
