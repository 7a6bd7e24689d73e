// The command side of the control socket: one request, one answer, with errors an operator can act on.
import * as net from 'node:net';
import * as path from 'node:path';

import { describeErrno } from '../errors';
import { SOCKET_NAME, type ControlRequest, type ControlResponse } from './types';

export type ClientErrorKind = 'not-running' | 'permission' | 'timeout' | 'protocol' | 'io';

export class ControlClientError extends Error {
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function socketPath(runDir: string): string {
  return path.join(runDir, SOCKET_NAME);
}

const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

function connectError(e: NodeJS.ErrnoException, file: string): ControlClientError {
  switch (e.code) {
    case 'ENOENT':
      return new ControlClientError('not-running', `hbd is not running (no ${file})`);
    case 'ECONNREFUSED':
      return new ControlClientError('not-running', `hbd is not running (${file} is left over from a daemon that is gone)`);
    case 'EACCES':
    case 'EPERM':
      return new ControlClientError('permission', `permission denied on ${file} (${describeErrno(e, 'connect')}): run this as root`);
    default:
      return new ControlClientError('io', `cannot reach hbd: ${describeErrno(e, 'connect', file)}`);
  }
}

/** Sends one request to the daemon of `runDir` and returns its answer. */
export function request(runDir: string, req: ControlRequest, timeoutMs = 10_000): Promise<ControlResponse> {
  const file = socketPath(runDir);
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(file);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: ControlClientError | null, answer?: ControlResponse) => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    sock.setTimeout(timeoutMs, () => finish(new ControlClientError('timeout', `hbd did not answer ${req.cmd} within ${timeoutMs / 1000} s (${file})`)));
    let connected = false;
    sock.on('connect', () => {
      connected = true;
      sock.write(`${JSON.stringify(req)}\n`);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(!connected ? connectError(e, file) : new ControlClientError('io', `lost the connection to hbd: ${describeErrno(e, 'read', file)}`)));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > MAX_ANSWER_BYTES) finish(new ControlClientError('protocol', `hbd's answer is longer than ${MAX_ANSWER_BYTES} bytes`));
        return;
      }
      try {
        finish(null, parseResponse(buf.subarray(0, nl).toString('utf8')));
      } catch (e) {
        finish(e as ControlClientError);
      }
    });
    sock.on('end', () => finish(new ControlClientError('protocol', `hbd closed the connection without answering ${req.cmd}`)));
  });
}

function parseResponse(line: string): ControlResponse {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlClientError('protocol', `hbd's answer is not JSON: ${line.slice(0, 80)}`);
  }
  const o = v as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  if (o?.ok === true && 'result' in o) return o as ControlResponse;
  if (o?.ok === false && typeof o.error?.code === 'string' && typeof o.error.message === 'string') return o as ControlResponse;
  throw new ControlClientError('protocol', `unexpected answer from hbd: ${line.slice(0, 80)}`);
}

/** The result of a successful answer, or a ControlClientError carrying the daemon's error. */
export async function call<T>(runDir: string, req: ControlRequest, timeoutMs?: number): Promise<T> {
  const r = await request(runDir, req, timeoutMs);
  if (!r.ok) throw new ControlClientError('protocol', `hbd refused ${req.cmd}: ${r.error.message} (${r.error.code})`);
  return r.result as T;
}
