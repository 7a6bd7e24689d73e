// The control socket server against a fake handler: validation, limits, permissions, stale sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

import fc from 'fast-check';

import { request } from '../lib/control/client';
import { ControlServer, parseRequest, RequestError, type ControlServerOptions } from '../lib/control/server';
import type { ControlResponse } from '../lib/control/types';
import { FakeHandler } from './support/fake-control';

interface Env {
  dir: string;
  handler: FakeHandler;
  server: ControlServer;
  logs: string[];
}

async function withServer(fn: (e: Env) => Promise<void>, over: Partial<ControlServerOptions> = {}): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-control-'));
  const handler = new FakeHandler();
  const logs: string[] = [];
  const server = await ControlServer.listen({ runDir: dir, handler, log: (l, t) => logs.push(`${l}: ${t}`), ...over });
  try {
    await fn({ dir, handler, server, logs });
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Sends raw bytes, returns every answer line until the server closes or `lines` arrived. */
function raw(sock: string, data: string | Buffer, lines = 1, endAfterWrite = false): Promise<ControlResponse[]> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    let buf = '';
    const got: ControlResponse[] = [];
    c.on('connect', () => (endAfterWrite ? c.end(data) : c.write(data)));
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        got.push(JSON.parse(buf.slice(0, nl)) as ControlResponse);
        buf = buf.slice(nl + 1);
      }
      if (got.length >= lines) {
        c.destroy();
        resolve(got);
      }
    });
    c.on('close', () => resolve(got));
    c.on('error', reject);
  });
}

const errorCode = (r: ControlResponse | undefined) => (r && !r.ok ? r.error.code : null);

test('parseRequest accepts exactly the five commands, scope only where it belongs', () => {
  assert.deepEqual(parseRequest('{"cmd":"status"}'), { cmd: 'status' });
  assert.deepEqual(parseRequest('{"cmd":"standby","scope":"foreign"}'), { cmd: 'standby', scope: 'foreign' });
  for (const bad of ['', 'status', '[]', 'null', '{"cmd":"STATUS"}', '{"cmd":"standby"}', '{"cmd":"standby","scope":"failback"}', '{"cmd":"status","scope":"all"}', '{"cmd":"stop","x":1}', '{"cmd":["stop"]}', '{"cmd":"__proto__"}']) {
    assert.throws(() => parseRequest(bad), RequestError, bad);
  }
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        const r = parseRequest(s);
        return ['status', 'standby', 'takeover', 'stop', 'reload'].includes(r.cmd);
      } catch (e) {
        return e instanceof RequestError;
      }
    }),
  );
});

test('status, standby, takeover and reload reach the handler; status carries the server counters', async () => {
  await withServer(async ({ dir, handler }) => {
    const s = await request(dir, { cmd: 'status' });
    assert.ok(s.ok);
    assert.equal((s.result as { localNode: string }).localNode, 'node1');
    assert.deepEqual((s.result as { control: unknown }).control, { requests: 1, badRequests: 0, refusedConnections: 0 });
    assert.deepEqual(await request(dir, { cmd: 'standby', scope: 'local' }), { ok: true, result: handler.action });
    assert.deepEqual(await request(dir, { cmd: 'takeover', scope: 'all' }), { ok: true, result: handler.action });
    assert.deepEqual(await request(dir, { cmd: 'reload' }), { ok: true, result: handler.reloadResult });
    assert.deepEqual(handler.calls, ['status', 'standby local', 'takeover all', 'reload']);
  });
});

test('the socket is mode 0600 in the run directory', async () => {
  await withServer(async ({ dir, server }) => {
    assert.equal(server.socketPath, path.join(dir, 'hbd.sock'));
    const st = fs.statSync(server.socketPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });
});

test('malformed requests get JSON errors, are counted and logged rate-limited; the server keeps serving', async () => {
  let now = 0;
  await withServer(
    async ({ dir, server, handler, logs }) => {
      const answers = await raw(server.socketPath, 'hello\n{"cmd":"standby","scope":"everything"}\n{"cmd":"status"}\n', 3);
      assert.equal(errorCode(answers[0]), 'bad-request');
      assert.match(!answers[1].ok ? answers[1].error.message : '', /scope must be one of all, local, foreign, got "everything"/);
      assert.ok(answers[2].ok, 'a bad line does not poison the connection');
      assert.deepEqual(server.stats(), { requests: 1, badRequests: 2, refusedConnections: 0 });
      assert.equal(logs.length, 1, 'the second bad request within the interval is only counted');
      now = 61_000;
      await raw(server.socketPath, '\x00\xff\n');
      assert.equal(logs.length, 2);
      assert.match(logs[1], /^WARN: control socket: bad request \(bad-request\): not JSON: .* \(1 more since the last report\)$/);
      assert.deepEqual(handler.calls, ['status']);
      assert.ok((await request(dir, { cmd: 'status' })).ok);
    },
    { now: () => now },
  );
});

test('an oversized request is refused without buffering it all', async () => {
  await withServer(
    async ({ server }) => {
      const [a] = await raw(server.socketPath, Buffer.alloc(10_000, 0x41));
      assert.equal(errorCode(a), 'too-large');
      assert.equal(server.stats().badRequests, 1);
    },
    { maxRequestBytes: 1024 },
  );
});

test('an idle connection times out with an error answer', async () => {
  await withServer(
    async ({ server }) => {
      const [a] = await raw(server.socketPath, '{"cmd":');
      assert.equal(errorCode(a), 'timeout');
    },
    { idleTimeoutMs: 100 },
  );
});

test('a request without a newline at EOF is not run; an abrupt hang-up does not disturb the server', async () => {
  await withServer(async ({ dir, server, handler }) => {
    assert.deepEqual(await raw(server.socketPath, '{"cmd":"stop"}', 1, true), []);
    const c = net.createConnection(server.socketPath);
    await new Promise((r) => c.on('connect', r));
    c.write('{"cmd":"status"}\n');
    c.destroy();
    assert.ok((await request(dir, { cmd: 'status' })).ok);
    assert.ok(!handler.calls.includes('stop'));
  });
});

test('connections beyond the limit are answered busy and counted', async () => {
  await withServer(
    async ({ server }) => {
      const first = net.createConnection(server.socketPath);
      await new Promise((r) => first.on('connect', r));
      await new Promise((r) => setTimeout(r, 20));
      const [a] = await raw(server.socketPath, '{"cmd":"status"}\n');
      assert.equal(errorCode(a), 'busy');
      assert.equal(server.stats().refusedConnections, 1);
      first.destroy();
    },
    { maxConnections: 1 },
  );
});

test('a handler that throws gives an internal error and is logged; the daemon goes on', async () => {
  await withServer(async ({ dir, handler, logs }) => {
    handler.throwOn = 'status';
    const r = await request(dir, { cmd: 'status' });
    assert.deepEqual(r, { ok: false, error: { code: 'internal', message: 'status failed: boom' } });
    assert.match(logs[0], /^ERROR: control socket: status failed: Error: boom/);
    handler.throwOn = null;
    assert.ok((await request(dir, { cmd: 'status' })).ok);
  });
});

test('a client that queues requests without reading the answers is cut off', async () => {
  await withServer(
    async ({ dir, server }) => {
      const answers = await raw(server.socketPath, '{"cmd":"status"}\n'.repeat(10), 10);
      assert.ok(answers.length <= 5, `${answers.length} answers`);
      assert.equal(errorCode(answers[answers.length - 1]), 'busy');
      assert.ok((await request(dir, { cmd: 'status' })).ok);
    },
    { maxQueuedRequests: 3 },
  );
});

test('a report that cannot be encoded is an internal error, not a crash', async () => {
  await withServer(async ({ dir, handler }) => {
    handler.report = { ...handler.report, pid: 1n as unknown as number };
    const r = await request(dir, { cmd: 'status' });
    assert.equal(errorCode(r), 'internal');
    assert.match(!r.ok ? r.error.message : '', /^status failed: Do not know how to serialize a BigInt/);
  });
});

test('stop answers first, then calls the handler', async () => {
  await withServer(
    async ({ dir, handler }) => {
      let answeredBeforeStop = false;
      handler.onStop = () => {
        answeredBeforeStop = true;
      };
      const r = await request(dir, { cmd: 'stop' });
      assert.deepEqual(r, { ok: true, result: { pid: 777 } });
      await new Promise((res) => setTimeout(res, 50));
      assert.ok(answeredBeforeStop);
      assert.deepEqual(handler.calls, ['stop']);
    },
    { pid: 777 },
  );
});

test('a stale socket file is replaced; anything else at the path is refused; close removes the socket', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-control-'));
  try {
    const sock = path.join(dir, 'hbd.sock');
    // A socket bound by a process that is gone: connect() gets ECONNREFUSED.
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(sock)})`]);
    await assert.rejects(request(dir, { cmd: 'status' }), /hbd is not running \(.*hbd\.sock is left over from a daemon that is gone\)/);
    const s = await ControlServer.listen({ runDir: dir, handler: new FakeHandler(), log: () => undefined });
    assert.ok((await request(dir, { cmd: 'status' })).ok);
    await s.close();
    assert.ok(!fs.existsSync(sock));
    fs.writeFileSync(sock, 'not a socket');
    await assert.rejects(ControlServer.listen({ runDir: dir, handler: new FakeHandler(), log: () => undefined }), /hbd\.sock exists and is not a socket; remove it/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the client says when hbd is not running, naming the socket', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-control-'));
  try {
    await assert.rejects(request(dir, { cmd: 'status' }), { kind: 'not-running', message: `hbd is not running (no ${dir}/hbd.sock)` });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
