// One entry point for the whole configuration directory: reads ha.cf, authkeys and haresources,
// collects every problem of all three in one pass, and returns a deep-frozen ClusterConfig only
// when there is no error.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeErrno } from '../errors';
import { readAuthkeys } from './authkeys';
import { Sink, hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics';
import { parseHaCf } from './hacf';
import { parseHaresources } from './haresources';
import { checkHost, resourceRunner, systemProbe, type HostProbe } from './host';
import { checkLocalNode, localNodeName } from './nodename';
import { resolvedView, type Resolved } from './resolved';
import { readConfigFile } from './source';
import type { ClusterConfig, ConfigFiles, HaCf, ResourceGroup } from './types';

export interface LoadOptions {
  /** `--node NAME`: overrides nodeinfo and `uname -n`. */
  readonly node?: string;
  /**
   * Missing interfaces / resource scripts on this host: 'error' (what `hbd start` refuses; also
   * `hbd check` by default, so the two agree) or 'warn' (`hbd check --other-host`).
   */
  readonly hostChecks: 'warn' | 'error';
  readonly host?: HostProbe;
  /** `uname -n`; tests replace it. */
  readonly hostname?: () => string;
}

export interface LoadResult {
  readonly config: ClusterConfig | null;
  /** Sorted: errors, then warnings, then notes. */
  readonly diagnostics: Diagnostic[];
  readonly resolved: Resolved;
  /** The directory or a required file could not be read at all (`hbd check` exits 2). */
  readonly unreadable: boolean;
}

export function configFiles(dir: string): ConfigFiles {
  return { haCf: path.join(dir, 'ha.cf'), authkeys: path.join(dir, 'authkeys'), haresources: path.join(dir, 'haresources') };
}

interface Part<T> {
  readonly value: T;
  readonly diagnostics: readonly Diagnostic[];
  readonly unreadable: boolean;
}

function loadHaCf(file: string): Part<HaCf | null> {
  const read = readConfigFile(file);
  if (read.ok) {
    const { haCf, diagnostics } = parseHaCf(read.bytes.toString('utf8'), file);
    return { value: haCf, diagnostics, unreadable: false };
  }
  const sink = new Sink(file);
  sink.error(null, `cannot read ha.cf: ${read.message}`, read.code === 'ENOENT' ? 'heartbeat ships an annotated sample (/usr/share/doc/heartbeat/ha.cf): copy it here and customise it' : undefined);
  return { value: null, diagnostics: sink.diagnostics, unreadable: true };
}

/** A missing haresources is allowed: a cluster without resource groups. */
function loadHaresources(file: string, nodes: readonly string[] | null): Part<ResourceGroup[]> {
  const read = readConfigFile(file);
  if (read.ok) {
    const { groups, diagnostics } = parseHaresources(read.bytes.toString('utf8'), file, nodes);
    return { value: groups, diagnostics, unreadable: false };
  }
  const sink = new Sink(file);
  if (read.code === 'ENOENT') {
    // A well-known tutorial says `vim /etc/ha.d/haresource`: say so rather than run without resources.
    const typo = path.join(path.dirname(file), 'haresource');
    if (fs.existsSync(typo)) {
      sink.warning(null, `no haresources file, but ${typo} exists: neither heartbeat nor hbd reads that name, so this cluster has no resource groups`, `rename it: mv ${typo} ${file}`);
    } else {
      sink.note(null, 'no haresources file: this cluster has no resource groups', 'create it to have hbd manage resources, one group per line: NODE RESOURCE…');
    }
    return { value: [], diagnostics: sink.diagnostics, unreadable: false };
  }
  sink.error(null, `cannot read haresources: ${read.message}`);
  return { value: [], diagnostics: sink.diagnostics, unreadable: true };
}

export function loadConfig(dir: string, opts: LoadOptions): LoadResult {
  const configDir = path.resolve(dir);
  const files = configFiles(configDir);
  const dirSink = new Sink(configDir);
  const useDir = 'give the directory holding ha.cf, authkeys and haresources with -c DIR';
  try {
    if (!fs.statSync(configDir).isDirectory()) dirSink.error(null, 'not a directory', useDir);
  } catch (e) {
    dirSink.error(null, `cannot read the configuration directory: ${describeErrno(e, 'stat', configDir)}`, useDir);
  }
  if (dirSink.diagnostics.length) {
    return { config: null, diagnostics: dirSink.diagnostics, resolved: resolvedView({ configDir, localNode: null, haCf: null, authKeys: null, groups: [], runners: [] }), unreadable: true };
  }

  const haCf = loadHaCf(files.haCf);
  const auth = readAuthkeys(files.authkeys);
  const haresources = loadHaresources(files.haresources, haCf.value ? haCf.value.nodes.map((n) => n.name) : null);

  // Checks that join the files with each other and with this host.
  const haCfChecks = new Sink(files.haCf);
  const haresourcesChecks = new Sink(files.haresources);
  const nodeinfoSink = new Sink(path.join(configDir, 'nodeinfo'));
  const probe = opts.host ?? systemProbe;
  const runners = haresources.value.map((g) => g.resources.map((r) => resourceRunner(r, configDir, probe)));
  const localNode = localNodeName(configDir, opts.node, nodeinfoSink, opts.hostname);
  if (haCf.value) {
    checkLocalNode(localNode, haCf.value.nodes, configDir, haCfChecks);
    checkHost(haCf.value, haresources.value, runners, probe, opts.hostChecks === 'error' ? 'error' : 'warning', haCfChecks, haresourcesChecks);
  }

  const diagnostics = sortDiagnostics([
    ...haCf.diagnostics,
    ...haCfChecks.diagnostics,
    ...auth.diagnostics,
    ...haresources.diagnostics,
    ...haresourcesChecks.diagnostics,
    ...nodeinfoSink.diagnostics,
  ]);
  const unreadable = haCf.unreadable || auth.unreadable || haresources.unreadable;
  const config: ClusterConfig | null =
    haCf.value && auth.keys && !unreadable && !hasErrors(diagnostics)
      ? deepFreeze({ ...haCf.value, configDir, files, localNode: localNode.name, localNodeSource: localNode.source, authKeys: auth.keys, resources: haresources.value })
      : null;
  const resolved = resolvedView({ configDir, localNode, haCf: haCf.value, authKeys: auth.keys, groups: haresources.value, runners });
  return { config, diagnostics, resolved, unreadable };
}

/** Freezes every nested object and array; Buffers (key bytes) cannot be frozen and are skipped. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
