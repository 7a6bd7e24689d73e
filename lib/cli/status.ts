// `hbd status [--json]`: what the running daemon knows — nodes, links, groups, transport, counters.
import { Command, InvalidArgumentError } from 'commander';

import { call, ControlClientError } from '../control/client';
import type { Counters, NodeReport, ProcessReport, StatusAnswer } from '../control/types';
import { talk, processIo, type Io } from './control';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, withRunDir } from './options';

interface StatusOptions {
  runDir: string;
  json?: boolean;
  watch?: boolean;
  interval?: number;
  count?: number;
}

/** Home the cursor and clear the screen (ANSI), so each refresh replaces the last one. */
export const CLEAR_SCREEN = '\x1b[H\x1b[2J';

function positiveNumber(what: string, integer: boolean): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`${what} must be a positive ${integer ? 'whole number' : 'number'}, got ${text}`);
    return n;
  };
}

export function register(program: Command): void {
  const cmd = new Command('status')
    .description('show the running daemon: nodes, links, resource groups, transport, counters, its own memory and CPU')
    .option('--json', 'print the daemon\'s status report as one JSON document')
    .option('-w, --watch', 'refresh the view on the terminal every second until Ctrl-C')
    .option('--interval <seconds>', 'with --watch: seconds between refreshes', positiveNumber('--interval', false), 1)
    .option('--count <n>', 'with --watch: stop after N refreshes', positiveNumber('--count', true))
    .addHelpText('after', '\nExit status: 0 the daemon answered (--watch: at the last refresh); 1 it is not running (or refused).')
    .action(async (opts: StatusOptions, command: Command) => {
      if (opts.watch && opts.json) command.error('hbd status: --watch shows the terminal view; --json is for one report (run it in a loop instead)', { exitCode: EXIT_USAGE });
      for (const o of ['interval', 'count'] as const) {
        if (!opts.watch && command.getOptionValueSource(o) === 'cli') command.error(`hbd status: --${o} goes with --watch`, { exitCode: EXIT_USAGE });
      }
      process.exitCode = opts.watch ? await watchStatus(opts, processIo, untilSigint()) : await runStatus(opts, processIo);
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

/** Resolves on Ctrl-C (the listener goes away with `done`). */
function untilSigint(): { stopped: Promise<void>; done: () => void } {
  let done = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    done = () => process.off('SIGINT', resolve);
  });
  return { stopped, done };
}

/**
 * `status --watch`: redraw the status every interval until `stop.stopped` (Ctrl-C) or `count`
 * refreshes. A daemon that goes away is shown as such and watched for until it returns.
 */
export async function watchStatus(opts: StatusOptions, io: Io, stop: { stopped: Promise<void>; done: () => void }): Promise<number> {
  const intervalMs = (opts.interval ?? 1) * 1000;
  let interrupted = false;
  void stop.stopped.then(() => (interrupted = true));
  let code = EXIT_OK;
  try {
    for (let n = 1; !interrupted; n++) {
      let frame: string;
      try {
        frame = formatStatus(await call<StatusAnswer>(opts.runDir, { cmd: 'status' }), Date.now());
        code = EXIT_OK;
      } catch (e) {
        if (!(e instanceof ControlClientError)) throw e;
        frame = `hbd status: ${e.message}\n`;
        code = EXIT_FAILURE;
      }
      const footer = `\n(every ${intervalMs / 1000} s, ${new Date().toISOString()}; Ctrl-C to quit)\n`;
      io.out(CLEAR_SCREEN + frame + footer);
      if (opts.count !== undefined && n >= opts.count) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stop.stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, intervalMs)))]);
      clearTimeout(timer);
    }
  } finally {
    stop.done();
  }
  return code;
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

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function processText(p: ProcessReport): string[] {
  const size = p.heapSpaces.reduce((a, h) => a + h.sizeBytes, 0);
  const used = p.heapSpaces.reduce((a, h) => a + h.usedBytes, 0);
  return [
    `  rss ${mb(p.rssBytes)}; JavaScript heap ${mb(used)} live of ${mb(size)} committed; external ${mb(p.externalBytes)}`,
    `  cpu ${p.cpuSeconds.toFixed(1)} s; threads ${p.threads}; open descriptors ${p.openFds}`,
  ];
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
  lines.push('', 'process:', ...processText(s.process));
  return `${lines.join('\n')}\n`;
}
