// SIGHUP / `hbd reload`: re-read the configuration directory, and either hand back the new
// configuration with what changed, or the diagnostics that make it invalid — in which case the
// daemon keeps the configuration it runs on.
import { isDeepStrictEqual } from 'node:util';

import type { ReloadResult } from '../control/types';
import { hasErrors } from './diagnostics';
import { loadConfig, type LoadOptions } from './load';
import type { ClusterConfig } from './types';

export type ConfigField = Exclude<keyof ClusterConfig, 'configDir' | 'files'>;

/** How each setting is named to an operator (ha.cf directives, or the file). */
const LABEL: Readonly<Record<ConfigField, string>> = {
  nodes: 'node',
  pingNodes: 'ping',
  pingGroups: 'ping_group',
  media: 'media (bcast/mcast/ucast)',
  udpPort: 'udpport',
  timings: 'timings (keepalive, deadtime, warntime, initdead, deadping, hbd_stall_limit)',
  msgfmt: 'msgfmt',
  wireFormat: 'msgfmt',
  autoFailback: 'auto_failback',
  logging: 'logging (logfile, debugfile, logfacility, debug)',
  realtime: 'realtime',
  rtprio: 'rtprio',
  hbgenMethod: 'hbgenmethod',
  uuidFrom: 'uuidfrom',
  hopfudge: 'hopfudge',
  maxRexmitDelayMs: 'max_rexmit_delay',
  clusterName: 'cluster',
  env: 'env',
  metrics: 'hbd_metrics',
  localNode: 'this node\'s name',
  localNodeSource: 'this node\'s name',
  authKeys: 'authkeys',
  resources: 'haresources',
};

export interface ConfigReload {
  /** For the control socket (plain JSON). */
  readonly result: ReloadResult;
  /** The configuration to run on from now: the new one, or null to keep the current one. */
  readonly config: ClusterConfig | null;
}

/**
 * Loads `current.configDir` again with the checks `hbd start` makes. `live` lists the settings
 * the daemon can apply while running; other changes are reported as needing a restart.
 */
export function reloadConfig(current: ClusterConfig, live: ReadonlySet<ConfigField>, opts: Omit<LoadOptions, 'hostChecks'> = {}): ConfigReload {
  // A name given with --node at start stays: the files do not say it.
  const node = opts.node ?? (current.localNodeSource === '--node' ? current.localNode : undefined);
  const r = loadConfig(current.configDir, { ...opts, node, hostChecks: 'error' });
  if (!r.config || hasErrors(r.diagnostics)) return { result: { ok: false, diagnostics: r.diagnostics }, config: null };
  const next = r.config;
  const changed = (Object.keys(LABEL) as ConfigField[]).filter((f) => !isDeepStrictEqual(withoutLines(current[f]), withoutLines(next[f])));
  const names = (fs: ConfigField[]) => [...new Set(fs.map((f) => LABEL[f]))];
  return {
    result: {
      ok: true,
      applied: names(changed.filter((f) => live.has(f))),
      restartNeeded: names(changed.filter((f) => !live.has(f))),
      diagnostics: r.diagnostics.filter((d) => d.severity !== 'note'),
    },
    config: next,
  };
}

/** Settings compared without the line numbers they carry: moving a directive changes nothing. */
function withoutLines(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLines);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'line').map(([k, x]) => [k, withoutLines(x)]));
}
