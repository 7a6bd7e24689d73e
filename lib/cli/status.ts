// `hbd status [--json]`: what the running daemon knows — nodes, links, groups, transport, counters.
import { Command } from 'commander';

import { call } from '../control/client';
import type { Counters, NodeReport, StatusAnswer } from '../control/types';
import { talk, processIo, type Io } from './control';
import { EXIT_OK, withRunDir } from './options';

interface StatusOptions {
  runDir: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = new Command('status')
    .description('show the running daemon: nodes, links, resource groups, transport, counters')
    .option('--json', 'print the daemon\'s status report as one JSON document')
    .addHelpText('after', '\nExit status: 0 the daemon answered; 1 it is not running (or refused).')
    .action(async (opts: StatusOptions) => {
      process.exitCode = await runStatus(opts, processIo);
    });
  program.addCommand(withRunDir(cmd));
}

export function runStatus(opts: StatusOptions, io: Io): Promise<number> {
  return talk('hbd status', async () => {
    const s = await call<StatusAnswer>(opts.runDir, { cmd: 'status' });
    io.out(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s, Date.now()));
    return EXIT_OK;
  }, io.err);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "3d 4h", "5m 2s", "812ms": how long ago, for people. */
export function ago(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  const units: Array<[number, string]> = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];
  const parts: string[] = [];
  let rest = s;
  for (const [n, u] of units) {
    if (rest >= n || (parts.length === 0 && n === 1)) {
      parts.push(`${Math.floor(rest / n)}${u}`);
      rest %= n;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

function nodeLine(n: NodeReport, local: string, now: number): string {
  const since = n.since === null ? 'since start' : `since ${iso(n.since)} (${ago(now - n.since)} ago)`;
  return `  ${n.name} ${n.status} ${since}${n.type === 'ping' ? ' [ping node]' : ''}${n.name === local ? ' [this node]' : ''}`;
}

function countersText(c: Counters): string[] {
  const lines = [
    `  packets in ${c.packetsIn}, out ${c.packetsOut}; authentication failures ${c.authFailures}`,
    `  late heartbeats ${c.lateHeartbeats}; largest gap between heartbeats ${c.largestGapMs} ms`,
    `  takeovers ${c.takeovers.length}`,
  ];
  for (const t of c.takeovers) lines.push(`    ${iso(t.at)} ${t.from === null ? 'on request' : `from ${t.from}`}: ${t.durationMs} ms`);
  return lines;
}

export function formatStatus(s: StatusAnswer, now: number): string {
  const lines = [
    `hbd ${s.version} on ${s.localNode}: pid ${s.pid}, running since ${iso(s.startedAt)} (${ago(now - s.startedAt)})`,
    `transport: ${s.transport.kind} (${s.transport.reason})`,
    `communication: ${s.comm}; auto_failback ${s.autoFailback}; this node holds ${s.heldResources} resources`,
    '',
    'nodes:',
  ];
  for (const n of s.nodes) {
    lines.push(nodeLine(n, s.localNode, now));
    for (const l of n.links) lines.push(`    link ${l.name} ${l.status}`);
  }
  lines.push('', s.groups.length ? 'resource groups:' : 'resource groups: (none)');
  for (const g of s.groups) {
    lines.push(`  ${g.key}: ${g.state}; holder ${g.holder ?? 'none'}; preferred node ${g.node}`);
    const w = Math.max(...g.resources.map((r) => r.text.length));
    for (const r of g.resources) lines.push(`    ${r.text.padEnd(w)}  ${r.state}`);
  }
  lines.push('', 'counters:', ...countersText(s.counters));
  lines.push(`  control requests ${s.control.requests}, bad ${s.control.badRequests}, refused connections ${s.control.refusedConnections}`);
  return `${lines.join('\n')}\n`;
}
