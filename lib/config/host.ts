// Checks against this machine rather than the files: do the interfaces exist, what runs each
// resource, can syslog be reached. `hbd check` and `hbd start` both call checkHost, so they agree;
// check may downgrade the host problems to warnings when the files are meant for another machine.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { Severity, Sink } from './diagnostics';
import { BUILTIN_SCRIPTS, SYSTEMD_RESOURCE } from './haresources';
import { parseBuiltinArgs } from './resource-args';
import { closest } from './suggest';
import type { HaCf, Resource, ResourceGroup } from './types';

export const INIT_DIR = '/etc/init.d';
export const SYSLOG_SOCKET = '/dev/log';
/** Where systemd looks for unit files, most specific first (systemd.unit(5)). */
export const SYSTEMD_UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

/** Resources hbd runs itself instead of a script: the address agents, IPv6addr included. */
/** Built-ins that run in hbd itself (systemd::UNIT is built in too, but names a unit on the host). */
export const BUILTIN_RESOURCES: readonly string[] = BUILTIN_SCRIPTS.filter((s) => s !== SYSTEMD_RESOURCE);

export interface HostProbe {
  interfaceExists(name: string): boolean;
  /** Path of the executable resource script `name` in <configDir>/resource.d or /etc/init.d, or null. */
  resourceScript(name: string, configDir: string): string | null;
  /** Path of the unit file of `unit` (NAME.service when no suffix is given), or null. */
  systemdUnit(unit: string): string | null;
  /** Whether the syslog socket exists (where `logger` writes). */
  syslogSocket(): boolean;
}

/** What `hbd start` will do with one resource of haresources on this host. */
export type ResourceRunner =
  | { readonly kind: 'builtin'; readonly name: string }
  | { readonly kind: 'script'; readonly path: string }
  | { readonly kind: 'systemd'; readonly unit: string; readonly path: string }
  | { readonly kind: 'missing'; readonly searched: readonly string[] };

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function unitName(unit: string): string {
  return /\.[a-z]+$/.test(unit) ? unit : `${unit}.service`;
}

/** The real machine: /sys/class/net lists interfaces without addresses too. */
export const systemProbe: HostProbe = {
  interfaceExists(name) {
    const base = name.split(':')[0];
    return base in os.networkInterfaces() || fs.existsSync(path.join('/sys/class/net', base));
  },
  resourceScript(name, configDir) {
    return scriptDirs(configDir).map((d) => path.join(d, name)).find(isExecutableFile) ?? null;
  },
  systemdUnit(unit) {
    return SYSTEMD_UNIT_DIRS.map((d) => path.join(d, unitName(unit))).find((f) => fs.existsSync(f)) ?? null;
  },
  syslogSocket() {
    return fs.existsSync(SYSLOG_SOCKET);
  },
};

/** The interface an IPaddr/IPaddr2/IPv6addr resource names, if any. */
function resourceNic(r: Resource): string | null {
  if (r.ipaddr) return r.ipaddr.nic;
  if (r.script !== 'IPv6addr') return null;
  const a = parseBuiltinArgs('IPv6addr', r.args);
  return a.ok && a.value.type === 'IPv6addr' ? a.value.spec.nic : null;
}

/** heartbeat's ResourceManager search order. */
function scriptDirs(configDir: string): string[] {
  return [path.join(configDir, 'resource.d'), INIT_DIR];
}

export function resourceRunner(r: Resource, configDir: string, probe: HostProbe): ResourceRunner {
  if (BUILTIN_RESOURCES.includes(r.script)) return { kind: 'builtin', name: r.script };
  if (r.script === SYSTEMD_RESOURCE && r.args.length === 1) {
    const unit = unitName(r.args[0]);
    const file = probe.systemdUnit(unit);
    return file === null ? { kind: 'missing', searched: SYSTEMD_UNIT_DIRS.map((d) => path.join(d, unit)) } : { kind: 'systemd', unit, path: file };
  }
  const file = probe.resourceScript(r.script, configDir);
  return file === null ? { kind: 'missing', searched: scriptDirs(configDir).map((d) => path.join(d, r.script)) } : { kind: 'script', path: file };
}

/**
 * The one host check. `severity` is what a problem that stops `hbd start` is: 'error' for start
 * and for `hbd check` on this host, 'warning' for `hbd check --other-host`.
 */
export function checkHost(
  haCf: HaCf,
  groups: readonly ResourceGroup[],
  /** resourceRunner() of every resource, parallel to `groups`. */
  runners: ReadonlyArray<readonly ResourceRunner[]>,
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
  if (haCf.logging.facility !== null && !probe.syslogSocket()) {
    haCfSink.warning(
      null,
      `logfacility ${haCf.logging.facility}: ${SYSLOG_SOCKET} does not exist on this host, so nothing reaches syslog`,
      haCf.logging.logfile
        ? `start a syslog daemon (rsyslog, or systemd-journald's socket), or remove logfacility (logfile ${haCf.logging.logfile} gets every message anyway)`
        : 'start a syslog daemon (rsyslog, or systemd-journald\'s socket), or log to a file instead: logfile /var/log/ha-log',
    );
  }
  groups.forEach((g, gi) => g.resources.forEach((r, ri) => checkResource(r, runners[gi][ri], probe, severity, haresourcesSink)));
}

function checkResource(r: Resource, run: ResourceRunner, probe: HostProbe, severity: Exclude<Severity, 'note'>, haresourcesSink: Sink): void {
  const nic = resourceNic(r);
  if (nic && !probe.interfaceExists(nic)) {
    haresourcesSink.add({ severity, line: r.line, message: `resource [${r.text}]: interface ${nic} does not exist on this host`, hint: 'check the name with `ip link`' });
  }
  if (run.kind !== 'missing') return;
  if (r.script === SYSTEMD_RESOURCE) {
    haresourcesSink.add({ severity, line: r.line, message: `resource [${r.text}]: systemd unit ${unitName(r.args[0])} not found: no ${run.searched.join(' or ')}`, hint: 'install the service, or check the unit name with `systemctl list-unit-files`' });
  } else {
    haresourcesSink.add({
      severity,
      line: r.line,
      message: `resource script ${r.script} not found: no executable ${run.searched.join(' or ')}`,
      hint: closest(r.script, BUILTIN_SCRIPTS)
        ? `did you mean the built-in ${closest(r.script, BUILTIN_SCRIPTS)}? (built-ins: ${BUILTIN_SCRIPTS.join(', ')})`
        : `install the service, put an executable script taking start|stop|status in resource.d, or use a built-in: ${BUILTIN_SCRIPTS.join(', ')}`,
    });
  }
}
