// The control socket: <run-dir>/hbd.sock, a Unix stream socket only root can open (mode 0600 in
// a root-owned run directory). One JSON request per line, one JSON answer per line. Anything a
// client sends is validated; a bad request gets an error answer, is counted, and its logging is
// rate-limited — it never takes the daemon down.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { describeErrno } from '../errors';
import type { Level } from '../log/levels';
import { SCOPES, SOCKET_NAME, type ControlErrorCode, type ControlHandler, type ControlRequest, type ControlResponse, type ControlStats, type Scope } from './types';

export interface ControlServerOptions {
  readonly runDir: string;
  readonly handler: ControlHandler;
  readonly log: (level: Level, text: string) => void;
  /** Longest request line, bytes. */
  readonly maxRequestBytes?: number;
  /** A connection idle this long is answered `timeout` and closed. */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  /** Requests one connection may have waiting for their answers. */
  readonly maxQueuedRequests?: number;
  /** One log line per this interval for bad requests; the rest are counted. */
  readonly logIntervalMs?: number;
  readonly now?: () => number;
  /** The pid `hbd stop` waits for (the daemon's own; tests give another process). */
  readonly pid?: number;
}

const DEFAULTS = { maxRequestBytes: 4096, idleTimeoutMs: 5000, maxConnections: 8, maxQueuedRequests: 16, logIntervalMs: 60_000, pid: process.pid };

export class RequestError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function isScope(v: unknown): v is Scope {
  return typeof v === 'string' && (SCOPES as readonly string[]).includes(v);
}

const COMMANDS = ['status', 'standby', 'takeover', 'stop', 'reload'] as const;

/** Strict: a JSON object with a known `cmd`, `scope` exactly where it belongs, nothing else. */
export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new RequestError('bad-request', `not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new RequestError('bad-request', 'a request is a JSON object such as {"cmd":"status"}');
  const o = v as Record<string, unknown>;
  const cmd = o.cmd;
  if (typeof cmd !== 'string' || !(COMMANDS as readonly string[]).includes(cmd)) {
    throw new RequestError('bad-request', `unknown cmd ${JSON.stringify(cmd ?? null)}: expected one of ${COMMANDS.join(', ')}`);
  }
  const allowed = cmd === 'standby' || cmd === 'takeover' ? ['cmd', 'scope'] : ['cmd'];
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length) throw new RequestError('bad-request', `unexpected field(s) ${extra.join(', ')} for ${cmd}`);
  if (cmd === 'standby' || cmd === 'takeover') {
    if (!isScope(o.scope)) throw new RequestError('bad-request', `${cmd}: scope must be one of ${SCOPES.join(', ')}, got ${JSON.stringify(o.scope ?? null)}`);
    return { cmd, scope: o.scope };
  }
  return { cmd } as ControlRequest;
}

/** Logs the first event of each interval and how many were left out before it. */
class RateLimitedLog {
  private windowStart = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly emit: (text: string) => void,
  ) {}

  note(text: string): void {
    const t = this.now();
    if (t - this.windowStart < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.windowStart = t;
    this.emit(this.suppressed ? `${text} (${this.suppressed} more since the last report)` : text);
    this.suppressed = 0;
  }
}

export class ControlServer {
  readonly socketPath: string;
  private readonly server: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly opts: Required<Omit<ControlServerOptions, 'runDir' | 'handler' | 'log'>>;
  private readonly badLog: RateLimitedLog;
  private counts = { requests: 0, badRequests: 0, refusedConnections: 0 };
  private closed = false;

  private constructor(private readonly o: ControlServerOptions) {
    this.socketPath = path.join(o.runDir, SOCKET_NAME);
    this.opts = { ...DEFAULTS, now: Date.now, ...stripUndefined(o) };
    this.badLog = new RateLimitedLog(this.opts.logIntervalMs, this.opts.now, (t) => o.log('WARN', t));
    this.server = net.createServer((s) => this.accept(s));
  }

  /** Creates <runDir>/hbd.sock (replacing a stale socket file) and listens on it. */
  static async listen(o: ControlServerOptions): Promise<ControlServer> {
    const s = new ControlServer(o);
    removeStaleSocket(s.socketPath);
    // The umask makes the socket 0600 from its first moment (bind happens inside listen());
    // the chmod is the same rule said twice, for filesystems that ignore the umask on sockets.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        s.server.once('error', reject);
        s.server.listen(s.socketPath, () => {
          s.server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw new Error(`cannot create the control socket: ${describeErrno(e, 'bind', s.socketPath)}`);
    } finally {
      process.umask(old);
    }
    fs.chmodSync(s.socketPath, 0o600);
    s.server.on('error', (e) => o.log('ERROR', `control socket ${s.socketPath}: ${e.message}`));
    return s;
  }

  stats(): ControlStats {
    return { ...this.counts };
  }

  /** Stops accepting, drops open connections, removes the socket file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private accept(sock: net.Socket): void {
    const open = this.conns.size;
    this.conns.add(sock);
    sock.on('close', () => this.conns.delete(sock));
    // A client that hangs up early must not raise an unhandled error.
    sock.on('error', () => undefined);
    if (open >= this.opts.maxConnections) {
      this.counts.refusedConnections++;
      this.badLog.note(`control socket: refused a connection: ${open} already open`);
      sock.end(encodeResponse(failure('busy', `too many control connections (${this.opts.maxConnections}); try again`)));
      // Read and drop what the client sends, so that its end of the connection is seen.
      sock.resume();
      return;
    }
    sock.setTimeout(this.opts.idleTimeoutMs, () => this.reject(sock, 'timeout', `no complete request within ${this.opts.idleTimeoutMs} ms`));
    let buf = Buffer.alloc(0);
    let queue = Promise.resolve();
    let queued = 0;
    sock.on('data', (chunk: Buffer) => {
      if (sock.writableEnded) return;
      buf = Buffer.concat([buf, chunk]);
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a)) {
        const line = buf.subarray(0, nl).toString('utf8');
        buf = buf.subarray(nl + 1);
        // A client that sends requests without reading the answers is cut off, not buffered for.
        if (++queued > this.opts.maxQueuedRequests) {
          buf = Buffer.alloc(0);
          this.reject(sock, 'busy', `more than ${this.opts.maxQueuedRequests} requests waiting on one connection`);
          return;
        }
        queue = queue
          .then(() => this.serve(sock, line))
          .catch((e: unknown) => this.o.log('ERROR', `control socket: ${(e as Error).stack ?? String(e)}`))
          .finally(() => queued--);
      }
      if (buf.length > this.opts.maxRequestBytes) {
        buf = Buffer.alloc(0);
        this.reject(sock, 'too-large', `request longer than ${this.opts.maxRequestBytes} bytes`);
      }
    });
  }

  /** Answers an error; a malformed line leaves the connection open, a flood or a stall closes it. */
  private reject(sock: net.Socket, code: ControlErrorCode, message: string): void {
    this.counts.badRequests++;
    this.badLog.note(`control socket: bad request (${code}): ${message}`);
    if (code === 'bad-request') sock.write(encodeResponse(failure(code, message)));
    else sock.end(encodeResponse(failure(code, message)));
  }

  private async serve(sock: net.Socket, line: string): Promise<void> {
    if (sock.destroyed || sock.writableEnded) return;
    let req: ControlRequest;
    try {
      req = parseRequest(line);
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      this.reject(sock, e.code, e.message);
      return;
    }
    this.counts.requests++;
    let answer: string;
    try {
      // Encoding inside the try: a report that cannot be serialised is the handler's bug, not a crash.
      answer = encodeResponse({ ok: true, result: await this.dispatch(req) });
    } catch (e) {
      this.o.log('ERROR', `control socket: ${req.cmd} failed: ${(e as Error).stack ?? String(e)}`);
      if (!sock.destroyed) sock.write(encodeResponse(failure('internal', `${req.cmd} failed: ${(e as Error).message}`)));
      return;
    }
    if (sock.destroyed) return;
    if (req.cmd === 'stop') {
      // Answer first: stopping closes this socket.
      sock.end(answer, () => this.o.handler.stop());
      return;
    }
    sock.write(answer);
  }

  private async dispatch(req: ControlRequest): Promise<unknown> {
    const h = this.o.handler;
    switch (req.cmd) {
      case 'status':
        return { ...h.status(), control: this.stats() };
      case 'standby':
        return h.standby(req.scope);
      case 'takeover':
        return h.takeover(req.scope);
      case 'stop':
        return { pid: this.opts.pid };
      case 'reload':
        return h.reload();
    }
  }
}

function failure(code: ControlErrorCode, message: string): ControlResponse {
  return { ok: false, error: { code, message } };
}

export function encodeResponse(r: ControlResponse): string {
  return `${JSON.stringify(r)}\n`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A socket file left by a daemon that died is replaced; anything else at that path is not ours. */
function removeStaleSocket(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`cannot create the control socket: ${describeErrno(e, 'lstat', file)}`);
  }
  if (!st.isSocket()) throw new Error(`cannot create the control socket: ${file} exists and is not a socket; remove it`);
  fs.rmSync(file, { force: true });
}
