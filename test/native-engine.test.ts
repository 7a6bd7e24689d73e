// The native engine (native/engine*.cc through lib/transport/native.ts): its option checks, its
// lifecycle, and — in the network-namespace lab — what only a thread of its own can do: beat and
// judge while JavaScript is blocked, stop beating when JavaScript stays wedged, and follow an
// interface that is deleted and re-created. The shared behaviour of both transports is in
// test/transport-conformance.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNative, type NativeBinding } from '../lib/native';
import { createNativeTransport } from '../lib/transport/native';
import type { StallCause, TransportEvent, TransportOptions } from '../lib/transport/types';
import { classifyStall } from '../lib/transport/stall-cause';
import { encode } from '../lib/wire/codec';
import { str } from '../lib/wire/message';
import { labSkipReason } from './lab/env';
import { type Lab, withLab } from './lab/lab';
import type { LabProcess } from './lab/process';
import type { EnginePeerConfig } from './support/engine-peer';
import type { DriverConfig } from './support/transport-driver';
import { twoNodeConfig } from './support/two-node-config';

const load = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
const binding = load.binding as NativeBinding | null;
const nativeSkip: string | false = binding ? false : (load.reason ?? 'native addon not loaded');

/** Options that start anywhere: ucast on lo to ourselves, on a port of our own. */
function loOptions(over: Partial<TransportOptions> = {}): TransportOptions {
  return {
    localNode: 'n1',
    nodes: ['n1', 'n2'],
    media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.1' }],
    udpPort: 20000 + (process.pid % 20000),
    keepaliveMs: 20,
    deadtimeMs: 200,
    warntimeMs: 100,
    initdeadMs: 400,
    stallLimitMs: 5000,
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('engine-test') }] },
    wireFormat: 'netstring+auth',
    uuid: Buffer.alloc(16, 1),
    generation: 7,
    firstSeq: 1,
    ttl: 3,
    realtime: false,
    rtprio: null,
    ...over,
  };
}

/** Waits (bounded) until `pred` holds for the events collected so far. */
async function until<T>(events: T[], pred: (es: T[]) => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred(events)) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms; events: ${JSON.stringify(events.slice(-8))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('native engine options', { skip: nativeSkip }, () => {
  const Engine = binding?.Engine;
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['missing localNode', { localNode: undefined }, /Engine options\.localNode must be a non-empty string \(got undefined\)/],
    ['localNode not in nodes', { localNode: 'n9' }, /localNode "n9" must be one of nodes/],
    ['a non-string node', { nodes: ['n1', 2] }, /Engine options\.nodes\[1\] must be a non-empty string \(got 2\)/],
    ['zero keepalive', { keepaliveMs: 0 }, /Engine options\.keepaliveMs must be a number from 1 to 86400000 \(got 0\)/],
    ['NaN deadtime', { deadtimeMs: NaN }, /Engine options\.deadtimeMs must be a number/],
    ['no media', { media: [] }, /Engine options\.media must be a non-empty array/],
    ['unknown medium kind', { media: [{ kind: 'serial', iface: 'ttyS0' }] }, /media\[0\]\.kind must be 'bcast', 'mcast' or 'ucast' \(got "serial"\)/],
    ['interface name too long', { media: [{ kind: 'bcast', iface: 'a-very-long-interface' }] }, /media\[0\]\.iface "a-very-long-interface" is not a valid interface name/],
    ['unicast group', { media: [{ kind: 'mcast', iface: 'eth0', group: '10.0.0.1', port: 694, ttl: 1, loop: false }] }, /media\[0\]\.group must be an IPv4 multicast address/],
    ['mcast ttl out of range', { media: [{ kind: 'mcast', iface: 'eth0', group: '239.0.0.1', port: 694, ttl: 300, loop: false }] }, /media\[0\]\.ttl must be an integer from 0 to 255 \(got 300\)/],
    ['ucast without peer', { media: [{ kind: 'ucast', iface: 'eth0' }] }, /media\[0\]\.peer must be a non-empty string/],
    ['port 0', { udpPort: 0 }, /Engine options\.udpPort must be an integer from 1 to 65535 \(got 0\)/],
    ['short uuid', { uuid: Buffer.alloc(15) }, /Engine options\.uuid must be a Buffer of 16 bytes \(got a Buffer of 15 bytes\)/],
    ['fractional firstSeq', { firstSeq: 1.5 }, /Engine options\.firstSeq must be an integer from 1/],
    ['send key missing', { authKeys: { sendIndex: 2, keys: [{ index: 1, method: 'crc', key: Buffer.alloc(0) }] } }, /authKeys\.sendIndex 2 has no key in authKeys\.keys/],
    ['unknown auth method', { authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'rot13', key: Buffer.alloc(0) }] } }, /method must be one of crc, md5, sha1, sha256/],
    ['unknown wire format', { wireFormat: 'xml' }, /format must be one of/],
    ['rtprio out of range', { rtprio: 100 }, /Engine options\.rtprio must be an integer from 1 to 99 \(got 100\)/],
    ['realtime not a boolean', { realtime: 'yes' }, /Engine options\.realtime must be true or false \(got "yes"\)/],
  ];
  for (const [what, over, message] of bad) {
    test(`rejected with a TypeError naming the option: ${what}`, () => {
      assert.throws(() => new Engine!({ ...loOptions(), ...over } as unknown as TransportOptions, () => undefined), (e: Error) => e instanceof TypeError && message.test(e.message));
    });
  }

  test('options must be an object and onEvents a function', () => {
    assert.throws(() => new Engine!(null as unknown as TransportOptions, () => undefined), /Engine options must be an object \(got null\)/);
    assert.throws(() => new Engine!(loOptions(), 'x' as unknown as () => void), /Engine: onEvents must be a function \(got "x"\)/);
  });

  test('setAuthKeys checks the keys as the constructor does, before or after start', () => {
    const e = new Engine!(loOptions(), () => undefined);
    assert.throws(() => e.setAuthKeys({ sendIndex: 2, keys: [{ index: 1, method: 'sha1', key: Buffer.from('k') }] }), (x: Error) => x instanceof TypeError && /Engine\.setAuthKeys: sendIndex 2 has no key in keys/.test(x.message));
    assert.throws(() => e.setAuthKeys({ sendIndex: 1, keys: [{ index: 1, method: 'rot13' as never, key: Buffer.from('k') }] }), /method must be one of crc, md5, sha1, sha256/);
    assert.throws(() => e.setAuthKeys(null as never), /keys must be an AuthKeys object/);
    e.setAuthKeys({ sendIndex: 2, keys: [{ index: 2, method: 'sha1', key: Buffer.from('new') }] });
  });

  test('the C++ liveness twin checks its config too', () => {
    assert.throws(() => new binding!.LivenessTracker({ localNode: 'n1', nodes: ['n1'], keepaliveMs: -1, deadtimeMs: 1, warntimeMs: 1, initdeadMs: 1 }, 0), /LivenessTracker config\.keepaliveMs must be a number from 1/);
  });
});

describe('native engine lifecycle', { skip: nativeSkip }, () => {
  test('a medium on a missing interface fails start() with ENODEV, naming the medium', async () => {
    const t = createNativeTransport(loOptions({ media: [{ kind: 'bcast', iface: 'hbdnoif0' }] }), binding!);
    await assert.rejects(t.start(() => undefined), (e: NodeJS.ErrnoException & { medium?: string }) => {
      assert.equal(e.code, 'ENODEV');
      assert.equal(e.medium, 'bcast hbdnoif0');
      assert.equal(e.syscall, 'if_nametoindex');
      assert.match(e.message, /bcast hbdnoif0: interface hbdnoif0: if_nametoindex failed: No such device \(ENODEV\)/);
      return true;
    });
  });

  test('starts and stops repeatedly without leaking threads or descriptors', async () => {
    const count = (dir: string) => fs.readdirSync(dir).length;
    const run = async () => {
      const t = createNativeTransport(loOptions(), binding!);
      await t.start(() => undefined);
      t.send([{ name: 't', type: 0, value: Buffer.from('hbd-test') }]);
      await t.stop();
    };
    await run(); // the first run loads lazily initialised parts of libc and OpenSSL
    const fds = count('/proc/self/fd');
    const threads = count('/proc/self/task');
    for (let i = 0; i < 30; i++) await run();
    assert.equal(count('/proc/self/fd'), fds, 'open descriptors');
    assert.equal(count('/proc/self/task'), threads, 'threads');
  });

  test('beats at once, hears itself, hands out seqs and serves the retransmit history', async () => {
    const events: TransportEvent[] = [];
    const t = createNativeTransport(loOptions({ firstSeq: 100 }), binding!);
    await t.start((e) => events.push(e));
    try {
      // ucast to our own address: our packets come back and bring our own link up (once).
      await until(events, (es) => es.some((e) => e.type === 'link-up'), 'own link-up');
      assert.deepEqual(
        events.filter((e) => e.type === 'link-up').map((e) => ({ ...e, mono: 0, wall: 0 })),
        [{ type: 'link-up', node: 'n1', link: 'lo', mono: 0, wall: 0 }],
      );
      const seq = t.send([{ name: 't', type: 0, value: Buffer.from('hbd-test') }]);
      assert.ok(seq !== null && seq > 100, `a seq after the first status's (got ${seq})`);
      assert.equal(t.send([{ name: 't', type: 0, value: Buffer.from('NS_ackmsg') }]), null, 'NS_ types have no seq');
      assert.equal(t.retransmit(seq), 'sent');
      assert.equal(t.retransmit(seq), 'throttled');
      assert.equal(t.retransmit(99), 'too-low');
      assert.equal(t.retransmit(seq + 1000), 'too-high');
      assert.throws(() => t.send([{ name: 'x', type: 0, value: Buffer.from('1') }]), /a cluster message needs a t field/);
      const mono = binding!.monoNow();
      for (const e of events) assert.ok(e.mono <= mono && Math.abs(e.wall - Date.now()) < 60_000, 'events carry the engine clocks');
    } finally {
      await t.stop();
    }
    assert.throws(() => t.send([{ name: 't', type: 0, value: Buffer.from('late') }]), /not running \(it was stopped\)/);
  });

  test('a message too long for a UDP datagram is refused before it takes a seq', async () => {
    // A beat would take a seq in between: none comes within the test.
    const t = createNativeTransport(loOptions({ udpPort: loOptions().udpPort + 3, keepaliveMs: 60_000 }), binding!);
    await t.start(() => undefined);
    await new Promise((r) => setTimeout(r, 100)); // the first status (at start) has its seq
    try {
      const first = t.send([{ name: 't', type: 0, value: Buffer.from('hbd-test') }])!;
      assert.throws(() => t.send([{ name: 't', type: 0, value: Buffer.from('hbd-big') }, { name: 'x', type: 0, value: Buffer.alloc(70_000, 0x61) }]), /more than the 65507 a UDP datagram can carry/);
      assert.equal(t.send([{ name: 't', type: 0, value: Buffer.from('hbd-test') }]), first + 1, 'no seq was used by the refused message');
    } finally {
      await t.stop();
    }
  });

  test('a peer advertising a deadtime of 2^52 ms: the engine keeps beating (time conversions saturate)', async () => {
    const port = loOptions().udpPort + 4;
    const peer = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => peer.bind(port, '127.0.0.2', resolve));
    let beats = 0;
    peer.on('message', () => beats++);
    const events: TransportEvent[] = [];
    const opts = loOptions({ udpPort: port, media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }] });
    const t = createNativeTransport(opts, binding!);
    await t.start((e) => events.push(e));
    try {
      t.setCommUp();
      const status = [str('t', 'status'), str('st', 'up'), str('dt', 'fffffffffffff'), str('src', 'n2'), str('seq', '1'), str('hg', '1'), str('ts', Math.floor(Date.now() / 1000).toString(16))];
      peer.send(encode(status, 'netstring+auth', opts.authKeys), port, '127.0.0.1');
      await until(events, (es) => es.some((e) => e.type === 'peer-up' && e.node === 'n2'), 'peer-up n2');
      const before = beats;
      await new Promise((r) => setTimeout(r, 15 * opts.keepaliveMs));
      assert.ok(beats - before >= 5, `${beats - before} statuses in ${15 * opts.keepaliveMs} ms after the huge deadtime`);
    } finally {
      await t.stop();
      peer.close();
    }
  });

  test('JavaScript blocked while packets pour in: a bounded queue (drops counted in a warning), delivered in chunks', { timeout: 60_000 }, async () => {
    const port = loOptions().udpPort + 5;
    const opts = loOptions({ udpPort: port, keepaliveMs: 1000, media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }] });
    // 20,000 genuine messages of n2, each its own seq: nothing an engine may drop as a duplicate.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-queue-')), 'packets');
    const ts = Math.floor(Date.now() / 1000).toString(16);
    const packets = Array.from({ length: 20_000 }, (_, k) => encode([str('t', 'hbd-load'), str('src', 'n2'), str('seq', (k + 1).toString(16)), str('hg', '1'), str('ts', ts)], 'netstring+auth', opts.authKeys));
    fs.writeFileSync(file, packets.map((p) => p.toString('hex')).join('\n'));
    const sizes: number[] = [];
    const events: TransportEvent[] = [];
    const engine = new binding!.Engine(opts, (batch) => {
      sizes.push(batch.length);
      events.push(...batch);
    });
    engine.start();
    const checkIn = setInterval(() => engine.checkIn(), 20);
    try {
      const sender = `
        const s = require('node:dgram').createSocket('udp4');
        const packets = require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8').split('\\n').map((h) => Buffer.from(h, 'hex'));
        s.bind(0, '127.0.0.2', async () => {
          for (let i = 0; i < packets.length; i++) {
            s.send(packets[i], ${port}, '127.0.0.1');
            if (i % 200 === 199) await new Promise((r) => setImmediate(r));
          }
          s.close();
        });`;
      const child = cp.spawn(process.execPath, ['-e', sender], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r));
      // Our JavaScript wedged (below the stall limit) while the engine reads everything.
      const end = Date.now() + 2500;
      while (Date.now() < end);
      await exited;
      await until(events, (es) => es.some((e) => e.type === 'warning'), 'the drop warning');
      // The queue drains chunk by chunk: until nothing more comes for 300 ms.
      for (let seen = -1, i = 0; seen !== events.length && i < 50; i++) {
        seen = events.length;
        await new Promise((r) => setTimeout(r, 300));
      }
      const warning = events.find((e) => e.type === 'warning')!;
      assert.ok(warning.type === 'warning' && warning.syscall === 'event queue' && warning.errno === 'ENOBUFS', JSON.stringify(warning));
      assert.match(warning.type === 'warning' ? warning.message : '', /^\d+ status, message and auth-fail events dropped: JavaScript fell more than 8192 events behind the engine/);
      const messages = events.filter((e) => e.type === 'message').length;
      assert.ok(messages >= 8000 && messages < 20_000, `${messages} message events delivered`);
      assert.ok(Math.max(...sizes) <= 257, `batches of at most 256 events (and the warning): got ${Math.max(...sizes)}`);
    } finally {
      clearInterval(checkIn);
      engine.stop();
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  test('rejecting bad packets allocates nothing per packet on the engine thread, which reads no /proc file while it beats', { timeout: 60_000 }, async (t) => {
    // An LD_PRELOAD shim counts the mallocs of the thread named hbd-engine (test/support/malloc-count.c).
    if (/libasan/.test(process.env.LD_PRELOAD ?? '')) return t.skip('ASan owns malloc here (npm run test:sanitize): the malloc counter cannot be preloaded too');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-alloc-'));
    try {
      const shim = path.join(dir, 'malloc-count.so');
      const cc = cp.spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', shim, path.resolve(__dirname, '..', '..', 'test', 'support', 'malloc-count.c'), '-lpthread', '-ldl'], { encoding: 'utf8' });
      if (cc.status !== 0) return t.skip(`cannot build the malloc counter: ${(cc.stderr || String(cc.error)).trim().split('\n')[0]}`);
      const opts = loOptions({ udpPort: loOptions().udpPort + 6, keepaliveMs: 1000, stallLimitMs: 60_000, media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }] });
      const wrong = { sendIndex: 1, keys: [{ index: 1, method: 'sha1' as const, key: Buffer.from('wrong') }] };
      const ts = Math.floor(Date.now() / 1000).toString(16);
      const bad = [Buffer.from('hello'), Buffer.from('###\n9:(0)t=ping,%%%\n'), encode([str('t', 'status'), str('src', 'n2'), str('seq', '5'), str('hg', '1'), str('ts', ts)], 'netstring+auth', wrong)];
      const script = `
        const fs = require('node:fs');
        const { loadNative } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'native.js'))});
        const { createNativeTransport } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'transport', 'native.js'))});
        const opts = { ...${JSON.stringify({ ...opts, uuid: undefined, authKeys: undefined })}, uuid: Buffer.alloc(16, 1), authKeys: ${JSON.stringify({ sendIndex: 1, keys: [{ index: 1, method: 'sha1' }] })} };
        opts.authKeys.keys[0].key = Buffer.from('engine-test');
        const bad = ${JSON.stringify(bad.map((b) => b.toString('hex')))}.map((h) => Buffer.from(h, 'hex'));
        const count = () => fs.readFileSync(process.env.HBD_MALLOC_COUNT_FILE, 'utf8').trim().split(' ').map(Number);
        const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
        (async () => {
          const t = createNativeTransport(opts, loadNative().binding);
          let failed = 0;
          await t.start((e) => { if (e.type === 'auth-fail') failed += e.count; });
          const s = require('node:dgram').createSocket('udp4');
          await new Promise((r) => s.bind(0, '127.0.0.2', r));
          const burst = async (n) => { for (let i = 0; i < n; i++) { s.send(bad[i % bad.length], ${opts.udpPort}, '127.0.0.1'); if (i % 100 === 99) await new Promise((r) => setImmediate(r)); } };
          await burst(300); // warm-up: the first window of each kind describes its packet
          await sleep(1500);
          const [allocs, procOpens] = count();
          await burst(30000);
          await sleep(2500); // and beats on: the load average (ld) is refreshed every second
          const [allocs2, procOpens2] = count();
          console.log(JSON.stringify({ allocs: allocs2 - allocs, procOpens: procOpens2 - procOpens, failed }));
          process.exit(0);
        })();`;
      const r = cp.spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 40_000, env: { ...process.env, LD_PRELOAD: shim, HBD_MALLOC_COUNT_FILE: path.join(dir, 'count') } });
      assert.equal(r.status, 0, r.stderr.slice(-1500));
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { allocs: number; procOpens: number; failed: number };
      t.diagnostic(`${out.allocs} engine-thread allocations while it refused ${out.failed} packets and beat for 4 s`);
      assert.ok(out.failed >= 10_000, `only ${out.failed} refused packets counted`);
      assert.ok(out.allocs < out.failed / 50, `${out.allocs} allocations for ${out.failed} refused packets`);
      // (Its one /proc file, its own schedstat for the cause of a late wake-up, it opens once at start.)
      assert.equal(out.procOpens, 0, 'files under /proc opened by the engine thread while it beat (the status ld field must come from the JavaScript thread)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('authentication before parsing accepts what the codec accepts: every method, short, empty and over-long keys', { timeout: 60_000 }, async () => {
    const port = loOptions().udpPort + 7;
    const peer = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => peer.bind(port, '127.0.0.2', resolve));
    try {
      for (const method of ['crc', 'md5', 'sha1', 'sha256'] as const) {
        for (const key of [Buffer.alloc(0), Buffer.from('k3y'), Buffer.alloc(100, 0x5a)]) {
          if (method === 'crc' && key.length > 0) continue;
          const keys = { sendIndex: 7, keys: [{ index: 7, method, key }] };
          const events: TransportEvent[] = [];
          const t = createNativeTransport(loOptions({ udpPort: port, authKeys: keys, media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }] }), binding!);
          await t.start((e) => events.push(e));
          try {
            const ts = Math.floor(Date.now() / 1000).toString(16);
            // Each with new content: the engine holds back unchanged in-order statuses (reported in runs).
            const status = (seq: number) => [str('t', 'status'), str('st', seq === 3 ? 'active' : 'up'), str('src', 'n2'), str('seq', seq.toString(16)), str('hg', '1'), str('ts', ts)];
            const other = { sendIndex: 7, keys: [{ index: 7, method, key: Buffer.concat([key, Buffer.from('x')]) }] };
            if (method !== 'crc') peer.send(encode(status(1), 'netstring+auth', other), port, '127.0.0.1');
            peer.send(encode(status(2), 'netstring+auth', keys), port, '127.0.0.1');
            peer.send(encode(status(3), 'classic', keys), port, '127.0.0.1');
            const what = `${method} with a ${key.length}-byte key`;
            await until(events, (es) => es.some((e) => e.type === 'status' && e.node === 'n2' && e.seq === 3), `${what}: the classic status`);
            assert.ok(events.some((e) => e.type === 'status' && e.node === 'n2' && e.seq === 2), `${what}: the netstring status`);
            if (method !== 'crc') {
              await until(events, (es) => es.some((e) => e.type === 'auth-fail'), `${what}: the forged one refused`);
              const fail = events.find((e) => e.type === 'auth-fail');
              assert.ok(fail?.type === 'auth-fail' && fail.reason === `bad signature (key 7, ${method})` && fail.node === 'n2', `${what}: ${JSON.stringify(fail)}`);
            }
          } finally {
            await t.stop();
          }
        }
      }
    } finally {
      peer.close();
    }
  });

  test('unchanged in-order statuses reach JavaScript in runs; changes, gaps, retransmissions and messages at once, in order', { timeout: 30_000 }, async () => {
    const port = loOptions().udpPort + 8;
    const peer = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => peer.bind(port, '127.0.0.2', resolve));
    const keys = loOptions().authKeys;
    const events: TransportEvent[] = [];
    const t = createNativeTransport(loOptions({ udpPort: port, deadtimeMs: 10_000, warntimeMs: 8000, initdeadMs: 20_000, media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }] }), binding!);
    await t.start((e) => events.push(e));
    try {
      const ts = Math.floor(Date.now() / 1000).toString(16);
      const send = async (fields: ReturnType<typeof str>[]) => {
        peer.send(encode([...fields, str('src', 'n2'), str('hg', '1'), str('ts', ts)], 'netstring+auth', keys), port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 5));
      };
      const status = (seq: number, st: string, protocol = true) => send([str('t', 'status'), str('st', st), ...(protocol ? [str('protocol', '1')] : []), str('seq', seq.toString(16))]);
      await status(1, 'up');
      for (const seq of [2, 3, 4]) await status(seq, 'up');
      await status(5, 'active'); // changed: passes, after the run of 2…4
      await status(7, 'active'); // a gap
      await status(6, 'active'); // the retransmission
      await status(8, 'active'); // held
      await send([str('t', 'ip-request'), str('seq', '9')]); // a message: the run of 8 first
      await status(10, 'active'); // next after the message: held
      await status(11, 'active', false); // no protocol field any more: passes
      await status(12, 'active', false);
      const mine = () => events.filter((e) => 'node' in e && e.node === 'n2' && (e.type === 'status' || e.type === 'status-advance' || e.type === 'message'));
      await until(events, () => mine().some((e) => e.type === 'status-advance' && e.fromSeq === 12), 'the run of 12');
      const seen = mine().map((e) => (e.type === 'status-advance' ? `run ${e.fromSeq}+${e.monos.length}` : e.type === 'status' || e.type === 'message' ? `${e.type} ${e.seq}` : e.type));
      assert.deepEqual(seen, ['status 1', 'run 2+3', 'status 5', 'status 7', 'status 6', 'run 8+1', 'message 9', 'run 10+1', 'status 11', 'run 12+1']);
      const run = mine().find((e) => e.type === 'status-advance');
      assert.ok(run?.type === 'status-advance' && run.generation === 1 && run.monos.every((m, i) => i === 0 || m >= run.monos[i - 1]!));
    } finally {
      await t.stop();
      peer.close();
    }
  });

  test('realtime on: SCHED_FIFO and locked memory, or a warning naming the errno; the process survives GC and exit', () => {
    // In a child: a V8 that trips over locked memory aborts, and only an exit status shows it.
    const script = `
      const { loadNative } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'native.js'))});
      const { createNativeTransport } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'transport', 'native.js'))});
      const opts = ${JSON.stringify({ ...loOptions({ realtime: true, udpPort: loOptions().udpPort + 1 }), uuid: undefined, authKeys: undefined })};
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.message));
      const t = createNativeTransport({ ...opts, uuid: Buffer.alloc(16, 2), authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'crc', key: Buffer.alloc(0) }] } }, loadNative().binding);
      t.start(() => {}).then(() => {
        let junk = [];
        const end = Date.now() + 500;
        while (Date.now() < end) { junk.push(new Array(5000).fill({ x: Math.random() })); if (junk.length > 100) junk = []; }
        junk = null;
        global.gc();
        setTimeout(() => {
          const status = require('fs').readFileSync('/proc/self/status', 'utf8');
          console.log(JSON.stringify({ warnings, locked: /VmLck:\\s+(\\d+)/.exec(status)[1] }));
          t.stop().then(() => process.exit(0));
        }, 100);
      });`;
    const r = cp.spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `child exited ${r.status} (signal ${r.signal}): ${r.stderr.slice(-2000)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { warnings: string[]; locked: string };
    for (const w of out.warnings) assert.match(w, /\((E[A-Z]+)\)/, 'a refusal names its errno');
    if (out.warnings.length === 0) assert.ok(Number(out.locked) > 0, 'memory locked when nothing was refused');
  });
});

/** A child node process running `body` with `t`, a started native transport on lo (keepalive 1 ms: busy). */
function childScript(body: string, port: number): string {
  const opts = { ...loOptions({ keepaliveMs: 1, udpPort: port }), uuid: undefined, authKeys: undefined };
  return `
    const { loadNative } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'native.js'))});
    const { createNativeTransport } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'transport', 'native.js'))});
    const opts = { ...${JSON.stringify(opts)}, uuid: Buffer.alloc(16, 3), authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('k') }] } };
    const t = createNativeTransport(opts, loadNative().binding);
    setInterval(() => { for (let i = 0; i < 20; i++) t.send([{ name: 't', type: 0, value: Buffer.from('busy') }]); }, 1);
    ${body}`;
}

function runChild(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const c = cp.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code, signal) => resolve({ code, signal, stderr, stdout }));
  });
}

describe('native engine: process and Worker exits', { skip: nativeSkip }, () => {
  const base = 21000 + (process.pid % 9000) * 4;

  test('process.exit() and an uncaught exception while the engine sends and receives: a clean exit every time', { timeout: 60_000 }, async () => {
    const runs = Array.from({ length: 15 }, (_, i) =>
      runChild(['-e', childScript(`t.start(() => {}).then(() => setTimeout(() => { ${i % 3 === 2 ? "throw new Error('deliberate')" : 'process.exit(0)'} }, 20 + (${i} % 5) * 7));`, base + (i % 4))]),
    );
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      const want = i % 3 === 2 ? 1 : 0;
      assert.deepEqual({ code: r.code, signal: r.signal }, { code: want, signal: null }, `run ${i}: ${r.stderr.slice(-800)}`);
    });
  });

  test('terminating a Worker that owns a running engine leaves the process alive', { timeout: 60_000 }, async () => {
    const worker = childScript(`let n = 0; t.start(() => { n++; const end = Date.now() + 15; while (Date.now() < end); }).then(() => require('node:worker_threads').parentPort.postMessage('up'));`, base);
    const main = `
      const { Worker } = require('node:worker_threads');
      let left = 6;
      const one = () => {
        const w = new Worker(${JSON.stringify(worker)}, { eval: true });
        w.on('message', () => setTimeout(() => w.terminate().then(() => (--left > 0 ? one() : console.log('all terminated'))), 10 + left * 5));
      };
      one();`;
    const r = await runChild(['-e', main]);
    assert.deepEqual({ code: r.code, signal: r.signal }, { code: 0, signal: null }, r.stderr.slice(-1500));
    assert.match(r.stdout, /all terminated/);
  });

  test("an exception thrown by the event handler surfaces as an uncaught exception, not a deprecation warning", { timeout: 30_000 }, async () => {
    const r = await runChild(['-e', childScript(`t.start((e) => { if (e.type === 'link-up') throw new Error('handler boom'); }); setTimeout(() => process.exit(5), 3000);`, base + 1)]);
    assert.equal(r.code, 1, `exit ${r.code} ${r.signal}: ${r.stderr.slice(-800)}`);
    assert.match(r.stderr, /Error: handler boom/);
    assert.doesNotMatch(r.stderr, /DEP0168|Uncaught N-API callback exception/);
  });
});

describe('native transport relay', () => {
  test('a handler that throws still gets the rest of the batch (a peer-dead included); the error is rethrown from a later tick', async () => {
    let relay: ((events: TransportEvent[]) => void) | null = null;
    const fake = {
      Engine: class {
        constructor(_o: TransportOptions, onEvents: (events: TransportEvent[]) => void) {
          relay = onEvents;
        }
        start(): void {}
        stop(): void {}
        checkIn(): void {}
      },
    } as unknown as NativeBinding;
    const t = createNativeTransport(loOptions(), fake);
    const seen: string[] = [];
    await t.start((e) => {
      seen.push(e.type);
      if (e.type === 'link-up') throw new Error('first');
    });
    // The test runner owns uncaught exceptions: catch the rethrow where it is scheduled.
    const ticks: (() => void)[] = [];
    const nextTick = process.nextTick;
    process.nextTick = ((fn: () => void) => void ticks.push(fn)) as typeof process.nextTick;
    const at = { mono: 1, wall: 1 };
    try {
      relay!([
        { ...at, type: 'link-up', node: 'n2', link: 'lo' },
        { ...at, type: 'peer-dead', node: 'n2', silentMs: 200, timeoutMs: 200 },
      ]);
    } finally {
      process.nextTick = nextTick;
    }
    assert.deepEqual(seen, ['link-up', 'peer-dead']);
    assert.equal(ticks.length, 1);
    assert.throws(ticks[0]!, /^Error: first$/);
    await t.stop();
  });
});

// ---- in the lab ---------------------------------------------------------------------------------

const KEEPALIVE = 100;
const DEADTIME = 1000;
const WAIT = 10_000;
/** Only generous bounds on when a death is declared: this is not a benchmark. */
const DEATH_SLACK_MS = 1000;
const PEER = path.resolve(__dirname, 'support', 'engine-peer.js');

type PeerConfig = Omit<DriverConfig, 'control'> & EnginePeerConfig;

function peerConfig(i: number, over: Partial<PeerConfig> = {}): PeerConfig {
  return { ...twoNodeConfig(i, { keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME, secret: 'engine-lab' }), stallLimitMs: 10 * DEADTIME, ...over };
}

/** One line an engine-peer printed: an EngineEvent with Buffers as hex, or one of its own markers. */
interface Line {
  readonly type: string;
  readonly mono: number;
  readonly [k: string]: unknown;
}

interface Peer {
  readonly proc: LabProcess;
  lines(): Line[];
  /** Waits for a line from index `from` on that satisfies pred. */
  waitFor(what: string, pred: (l: Line) => boolean, ms: number, from?: number): Promise<void>;
}

async function startPeer(lab: Lab, i: number, cfg: PeerConfig): Promise<Peer> {
  const node = lab.node(i);
  const file = path.join(node.dirs.config, `engine-peer-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  const proc = await node.spawn([process.execPath, PEER, file], { name: 'engine-peer' });
  // Only complete lines: the peer may be half-way through writing the last one. The statuses of a
  // status-advance (held back by the engine's status filter) become one status line each, at its
  // arrival time: what these tests judge is when the engine heard each status.
  const lines = () =>
    fs
      .readFileSync(proc.stdoutPath!, 'utf8')
      .split('\n')
      .slice(0, -1)
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Line)
      .flatMap((l): Line[] => (l.type !== 'status-advance' ? [l] : (l.monos as number[]).map((mono, k) => ({ type: 'status', node: l.node, generation: l.generation, seq: (l.fromSeq as number) + k, mono, held: true }))));
  const peer: Peer = {
    proc,
    lines,
    waitFor: async (what, pred, ms, from = 0) => {
      await proc.waitFor(() => lines().slice(from).some(pred), ms).catch((e: Error) => {
        throw new Error(`n${i}: no ${what}: ${e.message}`);
      });
    },
  };
  await peer.waitFor('start', (l) => l.type === 'started', WAIT);
  return peer;
}

const of = (type: string, node?: string) => (l: Line) => l.type === type && (node === undefined || l.node === node);

/** A lab node's UDP sockets (its namespace's /proc/net/udp): local port and the kernel's drop count. */
async function udpSockets(lab: Lab, i: number): Promise<{ port: number; drops: number }[]> {
  const text = (await lab.node(i).exec(['cat', '/proc/net/udp'])).stdout;
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const f = l.trim().split(/\s+/);
      return { port: parseInt(f[1]!.split(':')[1]!, 16), drops: Number(f.at(-1)) };
    });
}

// Sends one UDP datagram from a raw socket, whatever source port: argv dst, source port, dst port,
// hex payload. The kernel fills in the IP header (the node's own address as source); checksum 0
// is "none" in IPv4.
const RAW_UDP_SEND = String.raw`
import socket, struct, sys
payload = bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack('!HHHH', int(sys.argv[2]), int(sys.argv[3]), 8 + len(payload), 0) + payload, (sys.argv[1], 0))
`;

describe('native engine in the netns lab', { skip: labSkipReason() ?? nativeSkip }, () => {
  test('two engines see each other; a JS loop blocked for 3 × deadtime is no death; SIGKILL is, at deadtime', { timeout: 60_000 }, (t) =>
    withLab({ nodes: 2 }, async (lab) => {
      const a = await startPeer(lab, 1, peerConfig(1, { blockMs: 3 * DEADTIME, probe: [['t', 'hbd-probe'], ['dest', 'n2']] }));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);

      // What n1 puts on the wire, as n2 decoded it: spec §5.1 and §4, in heartbeat's order. The
      // peer prints the status line just after the peer-up line (it goes active in between):
      // waited for, not assumed already written.
      await b.waitFor('a status of n1', of('status', 'n1'), WAIT);
      const status = b.lines().find(of('status', 'n1'))!;
      const fields = status.message as { name: string; value: string }[];
      const text = (name: string) => Buffer.from(fields.find((f) => f.name === name)!.value, 'hex').toString('latin1');
      assert.deepEqual(fields.map((f) => f.name), ['t', 'st', 'dt', 'protocol', 'src', 'srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth']);
      assert.equal(text('dt'), DEADTIME.toString(16));
      assert.equal(text('protocol'), '1', 'flow control is on until the daemon turns it off');
      assert.equal(fields.find((f) => f.name === 'srcuuid')!.value, peerConfig(1).uuid);
      assert.equal(text('hg'), '1');
      assert.equal(text('ttl'), '3');
      assert.match(text('ld'), /^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/);
      // A message to n2 sent after n1 heard n2: destuuid from the srcuuid n1 learned, then the control fields.
      await b.waitFor('the probe', of('message', 'n1'), WAIT);
      const probe = b.lines().find(of('message', 'n1'))!;
      const probeFields = probe.message as { name: string; value: string }[];
      assert.deepEqual(probeFields.map((f) => f.name), ['t', 'dest', 'destuuid', 'src', 'srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth']);
      assert.equal(probeFields.find((f) => f.name === 'destuuid')!.value, peerConfig(2).uuid);
      assert.equal(probe.forUs, true);
      await a.waitFor('sent', of('sent'), WAIT);  // printed after send() returned: maybe after n2 printed the probe
      assert.equal(probe.seq, a.lines().find(of('sent'))!.seq);

      assert.ok(a.proc.kill('SIGUSR1'));
      await a.waitFor('block-end', of('block-end'), 3 * DEADTIME + WAIT);
      const start = a.lines().find(of('block-start'))!.mono;
      const end = a.lines().find(of('block-end'))!.mono;
      // Events flow again after the block; give b a few beats to have judged n1 meanwhile.
      const heard = a.lines().length;
      await a.waitFor('a status after the block', of('status', 'n2'), WAIT, heard);
      const during = (p: Peer, node: string) => p.lines().filter((l) => of('status', node)(l) && l.mono > start && l.mono < end).length;
      const expected = Math.floor((end - start) / KEEPALIVE / 2);
      assert.ok(during(a, 'n2') >= expected, `n1's engine judged ${during(a, 'n2')} statuses of n2 while its JS was blocked (expected ≥ ${expected})`);
      assert.ok(during(b, 'n1') >= expected, `n1's engine kept beating while its JS was blocked: n2 got ${during(b, 'n1')} (expected ≥ ${expected})`);
      assert.deepEqual(a.lines().filter(of('peer-dead')), [], 'no false death on the blocked node');
      assert.deepEqual(b.lines().filter(of('peer-dead')), [], 'no false death of the blocked node');
      assert.deepEqual(a.lines().filter(of('stall-stop')), [], 'the block stayed under stallLimitMs');

      assert.ok(b.proc.kill('SIGKILL'));
      await a.waitFor('peer-dead n2', of('peer-dead', 'n2'), DEADTIME + WAIT);
      const lines = a.lines();
      const dead = lines.find(of('peer-dead', 'n2'))!;
      const last = lines.slice(0, lines.indexOf(dead)).filter(of('status', 'n2')).at(-1)!;
      const after = dead.mono - last.mono;
      t.diagnostic(`n2 declared dead ${after.toFixed(1)} ms after its last status (deadtime ${DEADTIME} ms)`);
      assert.ok(after >= DEADTIME - 0.01 && after <= DEADTIME + DEATH_SLACK_MS, `declared dead ${after.toFixed(1)} ms after the last status`);
    }));

  test('our own broadcasts come back and the kernel drops them (a socket filter); the peer is still heard', { timeout: 60_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const a = await startPeer(lab, 1, peerConfig(1));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      const receiving = async () => (await udpSockets(lab, 1)).filter((s) => s.port === 694);
      const before = await receiving();
      assert.equal(before.length, 1, `n1 has one receive socket on port 694: ${JSON.stringify(before)}`);
      const from = a.lines().length;
      await new Promise((r) => setTimeout(r, 10 * KEEPALIVE));
      const dropped = (await receiving())[0]!.drops - before[0]!.drops;
      // n1 beat about 10 times meanwhile; every copy came back and was dropped (nothing else is).
      assert.ok(dropped >= 5, `n1's receive socket dropped ${dropped} datagrams in ${10 * KEEPALIVE} ms (its own broadcasts: expected ≥ 5)`);
      const heard = a.lines().slice(from).filter(of('status', 'n2')).length;
      assert.ok(heard >= 5, `n1 heard ${heard} statuses of n2 meanwhile (expected ≥ 5)`);
      assert.deepEqual(a.lines().filter((l) => l.type === 'warning' && l.syscall === 'setsockopt(SO_ATTACH_FILTER)'), [], 'the filter attached');
    }));

  test("a packet of ours replayed from a peer's address and port (ucast: ours never come back) does not make the kernel drop that peer", { timeout: 60_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const ucast = (peer: number): Partial<PeerConfig> => ({ media: [{ kind: 'ucast', iface: 'eth0', peer: lab.node(peer).address() }] });
      const a = await startPeer(lab, 1, peerConfig(1, ucast(2)));
      const b = await startPeer(lab, 2, peerConfig(2, ucast(1)));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      // n2's engine beats from one ephemeral port (its send socket), the only UDP socket of n2's
      // namespace besides its receive socket on 694: the replay comes from there.
      const sending = (await udpSockets(lab, 2)).filter((s) => s.port !== 694);
      assert.equal(sending.length, 1, `n2 has one send socket: ${JSON.stringify(sending)}`);
      // A genuine packet of n1 (the cluster key), as anyone on the segment could have captured it.
      const keys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1' as const, key: Buffer.from('engine-lab') }] };
      const replay = encode([str('t', 'status'), str('st', 'active'), str('src', 'n1'), str('seq', '1'), str('hg', '1'), str('ts', Math.floor(Date.now() / 1000).toString(16))], 'netstring+auth', keys);
      const sent = await lab.node(2).exec(['python3', '-c', RAW_UDP_SEND, lab.node(1).address(), String(sending[0]!.port), '694', replay.toString('hex')]);
      assert.equal(sent.code, 0, `raw send: ${sent.stderr}`);
      const from = a.lines().length;
      await new Promise((r) => setTimeout(r, 3 * DEADTIME));
      assert.deepEqual(a.lines().filter(of('peer-dead')), [], 'n2 stays alive for n1');
      const heard = a.lines().slice(from).filter(of('status', 'n2')).length;
      const expected = Math.floor((3 * DEADTIME) / KEEPALIVE / 2);
      assert.ok(heard >= expected, `n1 heard ${heard} statuses of n2 after the replay (expected ≥ ${expected})`);
    }));

  test('JS wedged past stallLimitMs: the engine stops beating and says why; the peer declares it dead', { timeout: 60_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const stallLimitMs = DEADTIME / 2;
      const a = await startPeer(lab, 1, peerConfig(1, { stallLimitMs, blockMs: 3 * DEADTIME }));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      assert.ok(a.proc.kill('SIGUSR1'));
      await b.waitFor('peer-dead n1', of('peer-dead', 'n1'), 3 * DEADTIME + WAIT);
      await a.waitFor('stall-stop', of('stall-stop'), 3 * DEADTIME + WAIT);
      const stop = a.lines().find(of('stall-stop'))!;
      assert.ok((stop.silentMs as number) > stallLimitMs, `stall-stop after ${String(stop.silentMs)} ms of silence`);
      assert.match(fs.readFileSync(a.proc.stderrPath!, 'utf8'), /JavaScript has not checked in for \d+ ms \(limit 500 ms\).*heartbeats stopped/);
      // It stays silent: a zombie must not come back on its own.
      const deadAt = b.lines().length;
      await new Promise((r) => setTimeout(r, 5 * KEEPALIVE));
      assert.deepEqual(b.lines().slice(deadAt).filter(of('status', 'n1')), [], 'no status from n1 after its stall-stop');
    }));

  test('the whole process frozen for 3 × deadtime: own-stall, the queued beats count at their arrival, no death blamed on the peer', { timeout: 60_000 }, (t) =>
    /libasan/.test(process.env.LD_PRELOAD ?? '')
      ? t.skip('a timing test: under ASan (npm run test:sanitize) the instrumented engine is too slow for its bounds')
      : withLab({ nodes: 2 }, async (lab) => {
      const a = await startPeer(lab, 1, peerConfig(1));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      const mark = a.lines().length;
      assert.ok(a.proc.kill('SIGSTOP'));
      // n2 rightly declares the frozen n1 dead meanwhile: that is what freezing looks like from outside.
      await b.waitFor('peer-dead n1', of('peer-dead', 'n1'), 3 * DEADTIME + WAIT);
      await new Promise((r) => setTimeout(r, 2 * DEADTIME));
      const resumedAt = binding!.monoNow();
      assert.ok(a.proc.kill('SIGCONT'));
      await a.waitFor('own-stall', of('own-stall'), WAIT, mark);
      await a.waitFor('a status after the stall', (l) => of('status', 'n2')(l) && l.mono > resumedAt, WAIT, mark);
      const lines = a.lines().slice(mark);
      const stall = lines.find(of('own-stall'))!;
      assert.ok((stall.lateMs as number) >= 2 * DEADTIME, `own-stall reports ${String(stall.lateMs)} ms late`);
      // Stopped, the thread neither ran nor waited for a CPU: its counters say so.
      const cause = stall.cause as StallCause;
      assert.equal(classifyStall(stall.lateMs as number, cause), 'machine', `cause ${JSON.stringify(cause)}`);
      assert.ok(cause.cpu >= 0 && cause.busyMs < DEADTIME, `cause ${JSON.stringify(cause)}`);
      assert.deepEqual(lines.filter(of('peer-dead')), [], 'n1 does not blame n2 for its own stall');
      // The beats queued while frozen carry their kernel arrival times, spread over the freeze.
      const stallStart = resumedAt - 3 * DEADTIME;
      const queued = lines.filter((l) => of('status', 'n2')(l) && l.mono > stallStart + DEADTIME && l.mono < resumedAt - DEADTIME);
      assert.ok(queued.length >= 5, `statuses stamped inside the freeze: ${queued.length}`);
      t.diagnostic(`own-stall ${(stall.lateMs as number).toFixed(0)} ms late; ${queued.length} queued statuses stamped in the freeze's middle ${(resumedAt - stallStart - 2 * DEADTIME).toFixed(0)} ms`);
    }));

  test("the engine thread's CPU taken for 3 × deadtime: the beat sentinel on the other CPU beats for it, the peer declares no death", { timeout: 60_000 }, (t) => {
    if (/libasan/.test(process.env.LD_PRELOAD ?? '')) return t.skip('a timing test: under ASan (npm run test:sanitize) the instrumented engine is too slow for its bounds');
    if (os.availableParallelism() < 2) return t.skip('the beat sentinel needs a second CPU');
    // A short deadtime turns the sentinel on (engine_sentinel.cc): the engine thread runs on CPU 0,
    // the sentinel on the last CPU. A SCHED_FIFO 90 busy loop pinned to CPU 0 then takes the engine
    // thread's CPU as a hypervisor would; n2 is moved to the last CPU first, so that it goes on judging.
    const fast = { keepaliveMs: 5, deadtimeMs: 30 };
    const hogMs = 3 * fast.deadtimeMs;
    return withLab({ nodes: 2 }, async (lab) => {
      const a = await startPeer(lab, 1, { ...peerConfig(1), ...fast, stallLimitMs: 5000, realtime: true });
      const b = await startPeer(lab, 2, { ...peerConfig(2), ...fast, stallLimitMs: 5000, realtime: true });
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      const last = os.availableParallelism() - 1;
      const moved = cp.spawnSync('taskset', ['-a', '-p', '-c', String(last), String(b.proc.pid)], { encoding: 'utf8' });
      assert.equal(moved.status, 0, `taskset: ${moved.stderr}`);
      const markA = a.lines().length;
      const markB = b.lines().length;
      const hog = cp.spawnSync('python3', ['-c', `import os, time\nos.sched_setaffinity(0, {0})\nos.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(90))\nend = time.monotonic() + ${hogMs / 1000}\nwhile time.monotonic() < end: pass`], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(hog.status, 0, `the CPU hog: ${hog.stderr}`);
      await a.waitFor('own-stall', of('own-stall'), WAIT, markA);
      await new Promise((r) => setTimeout(r, 2 * fast.deadtimeMs));
      const stalls = a.lines().slice(markA).filter(of('own-stall'));
      const stall = stalls.reduce((x, y) => ((y.lateMs as number) > (x.lateMs as number) ? y : x));
      const cause = stall.cause as StallCause;
      assert.ok((stall.lateMs as number) >= hogMs / 2, `own-stalls ${JSON.stringify(stalls)}`);
      assert.equal(classifyStall(stall.lateMs as number, cause), 'cpu-wait', `cause ${JSON.stringify(cause)}`);
      assert.ok(cause.sentinelBeats >= hogMs / fast.keepaliveMs / 2, `the sentinel sent ${cause.sentinelBeats} statuses in ${String(stall.lateMs)} ms`);
      assert.deepEqual(b.lines().slice(markB).filter(of('peer-dead')), [], 'n2 heard n1 throughout');
      t.diagnostic(`engine thread ${(stall.lateMs as number).toFixed(1)} ms off its CPU; the sentinel sent ${cause.sentinelBeats} statuses meanwhile`);
    });
  });

  test('an interface deleted and re-created: media-error, media-reopened with the new ifindex, beats again', { timeout: 60_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const a = await startPeer(lab, 1, peerConfig(1));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      const before = await lab.node(1).ifindex(0);
      await lab.removeInterface(1, 0);
      await a.waitFor('media-error', of('media-error'), WAIT);
      const err = a.lines().find(of('media-error'))!;
      assert.equal(err.link, 'eth0');
      assert.equal(err.errno, 'ENODEV');
      await lab.recreateInterface(1, 0);
      const now = await lab.node(1).ifindex(0);
      assert.notEqual(now, before, 'the kernel gave the new interface a new index');
      await a.waitFor('media-reopened', of('media-reopened'), WAIT);
      assert.equal(a.lines().find(of('media-reopened'))!.ifindex, now);
      // Both directions work again on the reopened sockets.
      const fromA = a.lines().length;
      const fromB = b.lines().length;
      await a.waitFor('a status from n2 after the reopen', of('status', 'n2'), WAIT, fromA);
      await b.waitFor('a status from n1 after the reopen', of('status', 'n1'), WAIT, fromB);
    }));
  test('a reopen that fails (the port taken meanwhile) is retried until it works', { timeout: 60_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const a = await startPeer(lab, 1, peerConfig(1));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      await lab.removeInterface(1, 0);
      await a.waitFor('media-error', of('media-error'), WAIT);
      // With n1's receive socket closed, another program takes UDP port 694 (no SO_REUSEADDR).
      const blocker = await lab.node(1).spawn(['python3', '-c', "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',694))\nprint('bound',flush=True)\ntime.sleep(60)"], { name: 'port-blocker' });
      try {
        await blocker.waitFor(/bound/, WAIT);
        await lab.recreateInterface(1, 0);
        await a.waitFor('the reopen failing with EADDRINUSE', (l) => l.type === 'media-error' && l.errno === 'EADDRINUSE', WAIT);
        // No netlink event announces the port coming free: only a retry notices.
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await blocker.stop();
      }
      await a.waitFor('media-reopened', of('media-reopened'), WAIT);
      const fromB = b.lines().length;
      await b.waitFor('a status from n1 after the reopen', of('status', 'n1'), WAIT, fromB);
    }));
});
