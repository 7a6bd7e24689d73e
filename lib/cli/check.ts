// `hbd check`: validate ha.cf, authkeys and haresources and show what hbd understood.
import { Command } from 'commander';

import { formatDiagnostic, type Diagnostic } from '../config/diagnostics';
import type { ResourceRunner } from '../config/host';
import { loadConfig, type LoadResult } from '../config/load';
import type { Resolved } from '../config/resolved';
import type { Medium } from '../config/types';
import { formatMetricsAddress } from '../metrics/address';
import { METRICS_PATH } from '../metrics/server';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, withConfigDir, withNode } from './options';

interface CheckOptions {
  configDir: string;
  node?: string;
  json?: boolean;
  otherHost?: boolean;
}

export function register(program: Command): void {
  const cmd = new Command('check')
    .description('check the configuration (ha.cf, authkeys, haresources) and show what hbd makes of it')
    .argument('[dir]', 'the configuration directory (same as -c DIR)')
    .option('--json', 'print one JSON document {valid, errors, warnings, notes, resolved}')
    .option('--other-host', 'the files are for another machine: missing interfaces and resource scripts are warnings')
    .addHelpText(
      'after',
      `
Every problem of all three files is listed as FILE:LINE: severity: message, with a hint.
The checks against this host (interfaces, resource scripts, systemd units) are the ones
\`hbd start\` makes, so a configuration valid here starts here; --other-host makes them
warnings. The summary says what start does with each resource: built-in, which script
or which systemd unit runs, or not found.

Exit status: 0 valid (warnings allowed); 1 the configuration has errors;
2 usage error, or the configuration directory or a file cannot be read.`,
    )
    .action((dir: string | undefined, opts: CheckOptions, command: Command) => {
      if (dir !== undefined) {
        if (command.getOptionValueSource('configDir') === 'cli' && dir !== opts.configDir) {
          command.error(`hbd check: two configuration directories given (${dir} and -c ${opts.configDir}): give one`, { exitCode: EXIT_USAGE });
        }
        opts.configDir = dir;
      }
      process.exitCode = runCheck(opts, (s) => process.stdout.write(s));
    });
  program.addCommand(withNode(withConfigDir(cmd)));
}

function runCheck(opts: CheckOptions, out: (s: string) => void): number {
  const result = loadConfig(opts.configDir, { node: opts.node, hostChecks: opts.otherHost ? 'warn' : 'error' });
  const code = result.unreadable ? EXIT_USAGE : result.config ? EXIT_OK : EXIT_FAILURE;
  out(opts.json ? jsonReport(result) : textReport(result, opts.otherHost === true));
  return code;
}

function bySeverity(ds: readonly Diagnostic[], s: Diagnostic['severity']): Diagnostic[] {
  return ds.filter((d) => d.severity === s);
}

function jsonReport(r: LoadResult): string {
  const doc = {
    valid: r.config !== null,
    errors: bySeverity(r.diagnostics, 'error'),
    warnings: bySeverity(r.diagnostics, 'warning'),
    notes: bySeverity(r.diagnostics, 'note'),
    resolved: r.resolved,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function textReport(r: LoadResult, otherHost: boolean): string {
  const lines = r.diagnostics.map(formatDiagnostic);
  const counts = [plural(bySeverity(r.diagnostics, 'error').length, 'error'), plural(bySeverity(r.diagnostics, 'warning').length, 'warning'), plural(bySeverity(r.diagnostics, 'note').length, 'note')].join(', ');
  if (lines.length) lines.push('');
  const where = otherHost ? ' (host checks as warnings: --other-host)' : r.config ? '; this host passes the checks `hbd start` makes' : '';
  lines.push(`${r.resolved.configDir}: ${r.config ? 'configuration is valid' : 'configuration is NOT valid'} (${counts})${where}`);
  // localNode is only unknown when the directory itself could not be read: nothing to show.
  if (r.resolved.localNode) lines.push(...describe(r.resolved));
  return `${lines.join('\n')}\n`;
}

function describeMedium(m: Medium, udpPort: number | null): string {
  switch (m.type) {
    case 'bcast':
      return `bcast ${m.iface} (udp port ${udpPort ?? '?'})`;
    case 'mcast':
      return `mcast ${m.iface} group ${m.group} port ${m.port} ttl ${m.ttl} loop ${m.loop ? 1 : 0}`;
    case 'ucast':
      return `ucast ${m.iface} to ${m.peer} (udp port ${udpPort ?? '?'})`;
  }
}

/** The resolved settings, one aligned `label: value` line each. */
function describe(v: Resolved): string[] {
  const rows: Array<[string, string]> = [];
  if (v.localNode) rows.push(['this node', `${v.localNode.name} (from ${v.localNode.source})`]);
  rows.push(['nodes', v.nodes.join(', ') || '(none)']);
  if (v.pingNodes.length) rows.push(['ping nodes', v.pingNodes.join(', ')]);
  for (const g of v.pingGroups) rows.push(['ping group', `${g.name}: ${g.addresses.join(', ')}`]);
  if (v.media.length === 0) rows.push(['media', '(none)']);
  for (const m of v.media) rows.push(['medium', `${describeMedium(m, v.udpPort)}  [ha.cf:${m.line}]`]);
  if (v.timings) {
    const label = { keepalive: 'keepalive', deadtime: 'deadtime', warntime: 'warntime', initdead: 'initdead', deadping: 'deadping', stallLimit: 'hbd_stall_limit' } as const;
    for (const [name, t] of Object.entries(v.timings) as Array<[keyof typeof label, { ms: number; source: string }]>) {
      rows.push([label[name], `${t.ms}ms${t.source === 'set' ? '' : ` (${t.source})`}`]);
    }
  }
  rows.push(['auth', v.auth ? `${v.auth.method}, signing with index ${v.auth.index} (accepting ${v.auth.accepted.join(', ')})` : '(not usable)']);
  if (v.wire) rows.push(['wire format', `${v.wire.format} (msgfmt ${v.wire.msgfmt})`]);
  if (v.autoFailback) rows.push(['auto_failback', v.autoFailback]);
  if (v.metrics) rows.push(['metrics', `http://${formatMetricsAddress(v.metrics)}${METRICS_PATH} (hbd_metrics)`]);
  if (v.resourceGroups.length === 0) rows.push(['resources', '(none)']);
  const width = Math.max(...rows.map(([l]) => l.length), 'resource group'.length) + 1;
  const out = rows.map(([l, text]) => `  ${`${l}:`.padEnd(width + 1)}${text}`);
  for (const g of v.resourceGroups) {
    out.push(`  ${'resource group:'.padEnd(width + 1)}${g.node}: ${g.resources.join(' ')}  [haresources:${g.line}]`);
    const textWidth = Math.max(...g.resources.map((t) => t.length));
    g.resources.forEach((t, i) => out.push(`    ${t.padEnd(textWidth)}  ${describeRunner(g.runners[i])}`));
  }
  return out;
}

/** What `hbd start` on this host does with a resource (the same lookup as its host check). */
function describeRunner(run: ResourceRunner): string {
  switch (run.kind) {
    case 'builtin':
      return `built-in: hbd runs ${run.name} itself (no script)`;
    case 'script':
      return `runs ${run.path} start|stop|status`;
    case 'systemd':
      return `runs systemctl start|stop|is-active ${run.unit} (${run.path})`;
    case 'missing':
      return `NOT FOUND on this host (looked for ${run.searched.join(', ')}): hbd start refuses it`;
  }
}
