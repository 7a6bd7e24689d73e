// systemd's notify protocol: the watchdog settings from the environment, the addon's sdNotify, and
// the engine thread feeding the watchdog only while JavaScript checks in — against a fake
// NOTIFY_SOCKET (a unix datagram socket held by a small python3 helper).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { loadNative, type NativeBinding } from '../lib/native';
import { watchdogFromEnv } from '../lib/systemd';
import { createNativeTransport } from '../lib/transport/native';
import type { TransportOptions } from '../lib/transport/types';

test('watchdogFromEnv: NOTIFY_SOCKET and WATCHDOG_USEC for this PID, else none; a bad value is an error naming it', () => {
  assert.deepEqual(watchdogFromEnv({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '10000000' }, 42), { socket: '/run/systemd/notify', intervalMs: 10_000 });
  assert.deepEqual(watchdogFromEnv({ NOTIFY_SOCKET: '@sd', WATCHDOG_USEC: '500000', WATCHDOG_PID: '42' }, 42), { socket: '@sd', intervalMs: 500 });
  assert.equal(watchdogFromEnv({ NOTIFY_SOCKET: '@sd', WATCHDOG_USEC: '500000', WATCHDOG_PID: '7' }, 42), null, "another process's watchdog");
  assert.equal(watchdogFromEnv({ NOTIFY_SOCKET: '@sd' }, 42), null);
  assert.equal(watchdogFromEnv({ WATCHDOG_USEC: '500000' }, 42), null);
  assert.throws(() => watchdogFromEnv({ NOTIFY_SOCKET: '@sd', WATCHDOG_USEC: '5s' }, 42), /WATCHDOG_USEC="5s" must be a whole number of microseconds/);
});

const load = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
const binding = load.binding as NativeBinding | null;
function skipReason(): string | false {
  if (!binding) return load.reason ?? 'native addon not loaded';
  return cp.spawnSync('python3', ['--version']).status === 0 ? false : 'python3 (the fake notify socket) is missing';
}

interface FakeSocket {
  readonly address: string;
  /** [CLOCK_MONOTONIC ms, text] per datagram received so far. */
  readonly got: [number, string][];
  close(): void;
}

const SERVER = `
import socket, sys, time
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + addr[1:] if addr.startswith('@') else addr)
print('ready', flush=True)
while True:
    d = s.recv(4096)
    print('%.3f %s' % (time.monotonic() * 1000, d.decode('latin1').replace('\\n', '|')), flush=True)
`;

async function fakeNotifySocket(address: string): Promise<FakeSocket> {
  const p = cp.spawn('python3', ['-c', SERVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  const got: [number, string][] = [];
  const lines = readline.createInterface({ input: p.stdout });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fake notify socket did not start within 5 s')), 5000);
    lines.on('line', (l) => {
      if (l === 'ready') {
        clearTimeout(timer);
        resolve();
        return;
      }
      const space = l.indexOf(' ');
      got.push([Number(l.slice(0, space)), l.slice(space + 1)]);
    });
  });
  return { address, got, close: () => p.kill('SIGKILL') };
}

function options(over: Partial<TransportOptions>): TransportOptions {
  return {
    localNode: 'n1',
    nodes: ['n1', 'n2'],
    media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.1' }],
    udpPort: 40000 + (process.pid % 20000),
    keepaliveMs: 50,
    deadtimeMs: 500,
    warntimeMs: 250,
    initdeadMs: 1000,
    stallLimitMs: 5000,
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'crc', key: Buffer.alloc(0) }] },
    wireFormat: 'netstring+auth',
    uuid: Buffer.alloc(16, 5),
    generation: 1,
    firstSeq: 1,
    ttl: 3,
    realtime: false,
    rtprio: null,
    ...over,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('systemd notify, native', { skip: skipReason() }, () => {
  test('sdNotify sends to $NOTIFY_SOCKET (a path or an @abstract name); false without it; an Error naming errno when nobody listens', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-sd-'));
    const saved = process.env.NOTIFY_SOCKET;
    const sockets = [await fakeNotifySocket(path.join(dir, 'notify')), await fakeNotifySocket(`@hbd-test-${process.pid}`)];
    try {
      for (const s of sockets) {
        process.env.NOTIFY_SOCKET = s.address;
        assert.equal(binding!.sdNotify('READY=1'), true);
        assert.equal(binding!.sdNotify('STOPPING=1'), true);
        for (let i = 0; i < 100 && s.got.length < 2; i++) await sleep(20);
        assert.deepEqual(s.got.map(([, t]) => t), ['READY=1', 'STOPPING=1'], s.address);
      }
      delete process.env.NOTIFY_SOCKET;
      assert.equal(binding!.sdNotify('READY=1'), false);
      process.env.NOTIFY_SOCKET = path.join(dir, 'nobody');
      assert.throws(() => binding!.sdNotify('READY=1'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'sendto' && /sdNotify: systemd notify socket/.test(e.message));
      assert.throws(() => binding!.sdNotify(1 as unknown as string), /text must be a string/);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
      for (const s of sockets) s.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the engine thread sends WATCHDOG=1 every half interval while JavaScript checks in, and not while it is blocked', { timeout: 30_000 }, async () => {
    const sock = await fakeNotifySocket(`@hbd-wd-${process.pid}`);
    const intervalMs = 200;
    const t = createNativeTransport(options({ watchdog: { socket: sock.address, intervalMs } }), binding!);
    await t.start(() => undefined);
    try {
      await sleep(1000);
      const fed = sock.got.filter(([, text]) => text === 'WATCHDOG=1');
      assert.ok(fed.length >= 6 && fed.length <= 12, `${fed.length} WATCHDOG=1 in 1 s at interval ${intervalMs} ms`);
      // JavaScript wedged for 4 intervals (below the stall limit: the engine still beats).
      const blockFrom = binding!.monoNow();
      while (binding!.monoNow() < blockFrom + 4 * intervalMs);
      const blockTo = binding!.monoNow();
      await sleep(500);
      const inBlock = sock.got.filter(([at, text]) => text === 'WATCHDOG=1' && at > blockFrom + intervalMs + 20 && at < blockTo);
      assert.deepEqual(inBlock, [], 'no WATCHDOG=1 once JavaScript was silent for an interval');
      assert.ok(sock.got.some(([at]) => at > blockTo), 'fed again after the block');
    } finally {
      await t.stop();
      sock.close();
    }
  });

  test('a bad watchdog socket is refused at start, naming it', async () => {
    const t = createNativeTransport(options({ watchdog: { socket: 'relative/path', intervalMs: 1000 } }), binding!);
    await assert.rejects(t.start(() => undefined), /NOTIFY_SOCKET must be an absolute path or @abstract name/);
  });
});
