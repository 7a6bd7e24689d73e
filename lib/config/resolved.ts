// What hbd understood from the files, as plain JSON-able data for `hbd check` — built even when
// there are errors, from whatever parts could be read. Never contains key material.
import type { MetricsAddress } from '../metrics/address';
import type { AuthKeys, AuthMethod, WireFormat } from '../wire/types';
import type { ResourceRunner } from './host';
import type { LocalNode } from './nodename';
import { TIMING_NAMES, type AutoFailback, type HaCf, type Medium, type ResourceGroup, type TimingName, type TimingSource } from './types';

export interface Resolved {
  readonly configDir: string;
  readonly localNode: LocalNode | null;
  readonly nodes: readonly string[];
  readonly pingNodes: readonly string[];
  readonly pingGroups: ReadonlyArray<{ readonly name: string; readonly addresses: readonly string[] }>;
  readonly media: readonly Medium[];
  readonly udpPort: number | null;
  readonly timings: { readonly [K in TimingName]: { readonly ms: number; readonly source: TimingSource } } | null;
  readonly auth: { readonly method: AuthMethod; readonly index: number; readonly accepted: readonly number[] } | null;
  readonly wire: { readonly msgfmt: string; readonly format: WireFormat } | null;
  readonly autoFailback: AutoFailback | null;
  /** hbd_metrics: where `hbd start` serves Prometheus metrics (null: off). */
  readonly metrics: MetricsAddress | null;
  /** `runners[i]`: what `hbd start` on this host does with `resources[i]`. */
  readonly resourceGroups: ReadonlyArray<{ readonly node: string; readonly key: string; readonly line: number; readonly resources: readonly string[]; readonly runners: readonly ResourceRunner[] }>;
}

export interface ResolvedParts {
  readonly configDir: string;
  readonly localNode: LocalNode | null;
  readonly haCf: HaCf | null;
  readonly authKeys: AuthKeys | null;
  readonly groups: readonly ResourceGroup[];
  /** Parallel to `groups`: resourceRunner() of each resource. */
  readonly runners: ReadonlyArray<readonly ResourceRunner[]>;
}

const TIMING_FIELD: Readonly<Record<TimingName, keyof Omit<HaCf['timings'], 'source'>>> = {
  keepalive: 'keepaliveMs',
  deadtime: 'deadtimeMs',
  warntime: 'warntimeMs',
  initdead: 'initdeadMs',
  deadping: 'deadpingMs',
  stallLimit: 'stallLimitMs',
};

export function resolvedView(p: ResolvedParts): Resolved {
  const h = p.haCf;
  const send = p.authKeys?.keys.find((k) => k.index === p.authKeys!.sendIndex);
  return {
    configDir: p.configDir,
    localNode: p.localNode,
    nodes: h?.nodes.map((n) => n.name) ?? [],
    pingNodes: h?.pingNodes.map((n) => n.address) ?? [],
    pingGroups: h?.pingGroups.map(({ name, addresses }) => ({ name, addresses })) ?? [],
    media: h?.media ?? [],
    udpPort: h?.udpPort ?? null,
    timings: h ? (Object.fromEntries(TIMING_NAMES.map((n) => [n, { ms: h.timings[TIMING_FIELD[n]], source: h.timings.source[n] }])) as Resolved['timings']) : null,
    auth: send ? { method: send.method, index: send.index, accepted: p.authKeys!.keys.map((k) => k.index) } : null,
    wire: h ? { msgfmt: h.msgfmt, format: h.wireFormat } : null,
    autoFailback: h?.autoFailback ?? null,
    metrics: h?.metrics ?? null,
    resourceGroups: p.groups.map((g, i) => ({ node: g.node, key: g.key, line: g.line, resources: g.resources.map((r) => r.text), runners: p.runners[i] })),
  };
}
