// Checks against this machine rather than the files: do the interfaces exist, are the resource
// scripts there. A config may be checked on another machine, so these can be warnings.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { Severity, Sink } from './diagnostics';
import { BUILTIN_SCRIPTS } from './haresources';
import { closest } from './suggest';
import { parseBuiltinArgs } from './resource-args';
import type { HaCf, Resource, ResourceGroup } from './types';

export const INIT_DIR = '/etc/init.d';

export interface HostProbe {
  interfaceExists(name: string): boolean;
  /** Path of the executable resource script `name` in <configDir>/resource.d or /etc/init.d, or null. */
  resourceScript(name: string, configDir: string): string | null;
}

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The real machine: /sys/class/net lists interfaces without addresses too. */
export const systemProbe: HostProbe = {
  interfaceExists(name) {
    const base = name.split(':')[0];
    return base in os.networkInterfaces() || fs.existsSync(path.join('/sys/class/net', base));
  },
  resourceScript(name, configDir) {
    return [path.join(configDir, 'resource.d'), INIT_DIR].map((d) => path.join(d, name)).find(isExecutableFile) ?? null;
  },
};

/** The interface an IPaddr/IPaddr2/IPv6addr resource names, if any. */
function resourceNic(r: Resource): string | null {
  if (r.ipaddr) return r.ipaddr.nic;
  if (r.script !== 'IPv6addr') return null;
  const a = parseBuiltinArgs('IPv6addr', r.args);
  return a.ok && a.value.type === 'IPv6addr' ? a.value.spec.nic : null;
}

export function checkHost(
  haCf: HaCf,
  groups: readonly ResourceGroup[],
  configDir: string,
  probe: HostProbe,
  severity: Exclude<Severity, 'note'>,
  haCfSink: Sink,
  haresourcesSink: Sink,
): void {
  const seen = new Set<string>();
  for (const m of haCf.media) {
    if (seen.has(m.iface)) continue;
    seen.add(m.iface);
    if (!probe.interfaceExists(m.iface)) {
      haCfSink.add({ severity, line: m.line, message: `interface ${m.iface} does not exist on this host`, hint: 'check the name with `ip link`' });
    }
  }
  for (const r of groups.flatMap((g) => g.resources)) {
    const nic = resourceNic(r);
    if (nic && !probe.interfaceExists(nic)) {
      haresourcesSink.add({ severity, line: r.line, message: `resource [${r.text}]: interface ${nic} does not exist on this host`, hint: 'check the name with `ip link`' });
    }
    if (!BUILTIN_SCRIPTS.includes(r.script) && probe.resourceScript(r.script, configDir) === null) {
      haresourcesSink.add({
        severity,
        line: r.line,
        message: `resource script ${r.script} not found: no executable ${path.join(configDir, 'resource.d', r.script)} or ${path.join(INIT_DIR, r.script)}`,
        hint: closest(r.script, BUILTIN_SCRIPTS)
          ? `did you mean the built-in ${closest(r.script, BUILTIN_SCRIPTS)}? (built-ins: ${BUILTIN_SCRIPTS.join(', ')})`
          : `install the service, put an executable script taking start|stop|status in resource.d, or use a built-in: ${BUILTIN_SCRIPTS.join(', ')}`,
      });
    }
  }
}
