// The test side of transport-driver: starts a driver in a lab node, streams its event lines over a
// unix socket (no log polling), sends it commands, and waits — always bounded — for lines.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { Lab } from '../lab/lab';
import type { LabProcess } from '../lab/process';
import type { DriverConfig } from './transport-driver';

/** One line printed by a driver: a TransportEvent (Buffers as hex) or one of its own replies. */
export interface DriverLine {
  readonly type: string;
  readonly [key: string]: unknown;
}

const DRIVER = path.resolve(__dirname, 'transport-driver.js');

interface Waiter {
  readonly match: (l: DriverLine) => boolean;
  readonly resolve: (l: DriverLine) => void;
}

/**
 * The statuses of a status-advance (the native engine holds back unchanged in-order statuses and
 * reports them in runs) as one status line each, at its arrival time and marked `held`: the tests
 * judge when the transport heard each status, whichever way it reported it.
 */
function expandRun(line: DriverLine): DriverLine[] {
  if (line.type !== 'status-advance') return [line];
  const monos = line.monos as number[];
  return monos.map((mono, k) => ({ type: 'status', node: line.node, generation: line.generation, seq: (line.fromSeq as number) + k, mono, held: true }));
}

export class DriverHandle {
  readonly lines: DriverLine[] = [];
  private readonly waiters = new Set<Waiter>();
  private conn: net.Socket | null = null;
  private closed = false;

  constructor(
    readonly name: string,
    readonly process: LabProcess,
  ) {}

  /** @internal the driver's connection to our socket */
  attach(conn: net.Socket): void {
    this.conn = conn;
    readline.createInterface({ input: conn }).on('line', (text) => {
      let line: DriverLine;
      try {
        line = JSON.parse(text) as DriverLine;
      } catch {
        line = { type: 'unparsable', text };
      }
      for (const l of expandRun(line)) {
        this.lines.push(l);
        for (const w of this.waiters) if (w.match(l)) w.resolve(l);
      }
    });
    conn.on('error', () => undefined); // the driver was killed: its lines so far are what we have
    conn.on('close', () => {
      this.closed = true;
    });
  }

  /** Sends one command line (see transport-driver.ts). */
  command(cmd: object): void {
    if (!this.conn || this.closed) throw new Error(`${this.name}: driver is not connected`);
    this.conn.write(JSON.stringify(cmd) + '\n');
  }

  /** Lines of one type (optionally filtered), in arrival order. */
  all(type: string, match: (l: DriverLine) => boolean = () => true): DriverLine[] {
    return this.lines.filter((l) => l.type === type && match(l));
  }

  /**
   * The first line from index `from` on that matches, waiting at most timeoutMs; rejects with the
   * driver's last lines and its stderr when none comes or the driver exits first.
   */
  async waitFor(what: string, match: (l: DriverLine) => boolean, timeoutMs: number, from = 0): Promise<DriverLine> {
    const seen = this.lines.slice(from).find(match);
    if (seen) return seen;
    let waiter: Waiter | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<DriverLine>((resolve, reject) => {
        waiter = { match, resolve };
        this.waiters.add(waiter);
        timer = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.diagnostics()}`)), timeoutMs);
        void this.process.exited.then((x) => setTimeout(() => reject(new Error(`${this.name}: exited (code ${x.code}, signal ${x.signal}) before ${what}\n${this.diagnostics()}`)), 50));
      });
    } finally {
      clearTimeout(timer);
      if (waiter) this.waiters.delete(waiter);
    }
  }

  /** Waits for a line of `type` whose fields include `fields`. */
  waitForEvent(type: string, fields: Record<string, unknown>, timeoutMs: number, from = 0): Promise<DriverLine> {
    const match = (l: DriverLine) => l.type === type && Object.entries(fields).every(([k, v]) => l[k] === v);
    return this.waitFor(`${type} ${JSON.stringify(fields)}`, match, timeoutMs, from);
  }

  close(): void {
    this.conn?.destroy();
  }

  private diagnostics(): string {
    const tail = this.lines.slice(-12).map((l) => '  ' + JSON.stringify(l).slice(0, 300));
    let stderr = '';
    try {
      stderr = this.process.stderrPath ? fs.readFileSync(this.process.stderrPath, 'utf8').trim().slice(-1500) : '';
    } catch {
      // not written yet
    }
    return `last lines:\n${tail.join('\n') || '  (none)'}${stderr ? `\nstderr:\n${stderr}` : ''}`;
  }
}

/** The drivers of one test: started in lab nodes, all disconnected (so they stop) by closeAll(). */
export class Drivers {
  private readonly handles: DriverHandle[] = [];
  private readonly servers: net.Server[] = [];
  private count = 0;

  constructor(private readonly lab: Lab) {}

  /** Starts a driver for `cfg` in lab node `index` and waits (bounded) until its transport runs. */
  async start(index: number, cfg: Omit<DriverConfig, 'control'>, timeoutMs = 15_000): Promise<DriverHandle> {
    const node = this.lab.node(index);
    const n = ++this.count;
    const socketPath = path.join(node.dirs.run, `driver-${n}.sock`);
    const configPath = path.join(node.dirs.config, `driver-${n}.json`);
    fs.writeFileSync(configPath, JSON.stringify({ ...cfg, control: socketPath }, null, 1));
    const server = net.createServer();
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const proc = await node.spawn([process.execPath, DRIVER, configPath], { name: `driver-${cfg.kind}` });
    const h = new DriverHandle(`${node.name} driver #${n} (${cfg.kind})`, proc);
    this.handles.push(h);
    const conn = await within(Promise.race([connected, proc.exited.then(() => null)]), timeoutMs);
    if (!conn) throw new Error(`${h.name}: never connected to ${socketPath}; stderr: ${readTail(proc.stderrPath)}`);
    server.close();
    h.attach(conn);
    const first = await h.waitFor('started', (l) => l.type === 'started' || l.type === 'start-error', timeoutMs);
    if (first.type === 'start-error') throw new Error(`${h.name}: start failed: ${String(first.message)}`);
    return h;
  }

  /** Disconnects every driver (each then stops itself) and closes the sockets. */
  closeAll(): void {
    for (const h of this.handles) h.close();
    for (const s of this.servers) s.close();
  }
}

/** p's value, or null once ms have passed (the timer never outlives the wait). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function readTail(file: string | null): string {
  try {
    return file ? fs.readFileSync(file, 'utf8').trim().slice(-1500) || '(empty)' : '(discarded)';
  } catch {
    return '(unreadable)';
  }
}
