// The TypeScript transport (its packet core in a worker thread) end to end on the loopback interface,
// without a network lab: the transport runs `ucast lo 127.0.0.2` and a plain dgram socket bound to 127.0.0.2 plays the peer
// (it receives what the transport sends and sends it signed packets of its own). Waits are bounded;
// nothing asserts how long anything took.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { MediumError } from '../lib/transport/media-ts';
import { raiseAutogroup } from '../lib/transport/thread-priority';
import { createUdpTransport } from '../lib/transport/udp';
import type { Transport, TransportEvent, TransportOptions } from '../lib/transport/types';
import { addControlFields, statusMessage } from '../lib/wire/builders';
import { decode, encode } from '../lib/wire/codec';
import { get, getBuffer, hex, str } from '../lib/wire/message';
import type { AuthKeys, Message } from '../lib/wire/types';
import { blockEventLoop } from './lab/env';

const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('loopback-secret') }] };
const WRONG: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('not-the-secret') }] };
const N1 = Buffer.alloc(16, 0x11);
const N2 = Buffer.alloc(16, 0x22);
const WAIT_MS = 5_000;
/** Beats that never come during a test: every packet seen is one the test caused. */
const QUIET = 600_000;

interface Waiter<T> {
  readonly match: (x: T) => boolean;
  readonly resolve: (x: T) => void;
}

/** Things arriving over time, and a bounded wait for the next one that matches. */
class Stream<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<Waiter<T>>();

  push(x: T): void {
    this.items.push(x);
    for (const w of this.waiters) if (w.match(x)) w.resolve(x);
  }

  async next(what: string, match: (x: T) => boolean, from = 0, timeoutMs = WAIT_MS): Promise<T> {
    const seen = this.items.slice(from).find(match);
    if (seen !== undefined) return seen;
    let timer: NodeJS.Timeout | undefined;
    let w: Waiter<T> | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        w = { match, resolve };
        this.waiters.add(w);
        timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${this.items.length} items`)), timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      if (w) this.waiters.delete(w);
    }
  }
}

interface Rig {
  readonly transport: Transport;
  readonly events: Stream<TransportEvent>;
  /** Raw datagrams the transport sent to its ucast peer. */
  readonly packets: Stream<Buffer>;
  /** Sends as node `src` (default n2), signed with `keys` (default the shared key). */
  peerSend(fields: Message, o?: { src?: string; uuid?: Buffer; seq?: number; generation?: number; keys?: AuthKeys }): void;
  peerSendRaw(bytes: Buffer): void;
  readonly peerSource: string;
  close(): Promise<void>;
}

async function rig(over: Partial<TransportOptions> = {}, beforeStart: (t: Transport) => void = () => undefined): Promise<Rig> {
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    peer.once('error', reject);
    peer.bind(0, '127.0.0.2', () => resolve());
  });
  const port = peer.address().port;
  const packets = new Stream<Buffer>();
  peer.on('message', (b) => packets.push(b));
  const opts: TransportOptions = {
    localNode: 'n1',
    nodes: ['n1', 'n2'],
    media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }],
    udpPort: port,
    keepaliveMs: QUIET,
    deadtimeMs: 2 * QUIET,
    warntimeMs: QUIET,
    initdeadMs: 2 * QUIET,
    stallLimitMs: 10_000,
    authKeys: KEYS,
    wireFormat: 'netstring+auth',
    uuid: N1,
    generation: 7,
    firstSeq: 1,
    ttl: 3,
    realtime: false,
    rtprio: null,
    ...over,
  };
  const transport = createUdpTransport(opts);
  const events = new Stream<TransportEvent>();
  try {
    beforeStart(transport);
    await transport.start((e) => events.push(e));
  } catch (e) {
    peer.close();
    throw e;
  }
  let peerSeq = 0;
  return {
    transport,
    events,
    packets,
    peerSource: `127.0.0.2:${port}`,
    peerSend(fields, o = {}) {
      const seq = o.seq ?? ++peerSeq;
      const ctx = { node: o.src ?? 'n2', uuid: o.uuid ?? N2, seq, generation: o.generation ?? 4, nowSec: Math.floor(Date.now() / 1000), loadavg: 'n/a', ttl: 3 };
      peer.send(encode(addControlFields(fields, ctx), 'netstring+auth', o.keys ?? KEYS), port, '127.0.0.1');
    },
    peerSendRaw(bytes) {
      peer.send(bytes, port, '127.0.0.1');
    },
    async close() {
      await transport.stop();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    },
  };
}

/** Runs fn with a fresh rig and always closes it. */
async function withRig(over: Partial<TransportOptions>, fn: (r: Rig) => Promise<void>): Promise<void> {
  const r = await rig(over);
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

const decoded = (b: Buffer) => {
  const d = decode(b, KEYS);
  assert.equal(d.auth.verdict, 'ok');
  return d.message;
};
const names = (m: Message) => m.map((f) => f.name);
const status = (dtMs: number, st = 'active') => statusMessage({ status: st, deadtimeMs: dtMs, flowControl: false });

test('start sends st=init (heartbeat\'s first status) with dt, protocol=1 (flow control starts on, as in heartbeat), the control fields in order and a verifying signature', () =>
  withRig({}, async (r) => {
    const m = decoded(await r.packets.next('first status', () => true));
    assert.deepEqual(names(m), ['t', 'st', 'dt', 'protocol', 'src', 'srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth']);
    assert.equal(get(m, 'protocol'), '1');
    assert.equal(get(m, 't'), 'status');
    assert.equal(get(m, 'st'), 'init');
    assert.equal(get(m, 'dt'), hex(2 * QUIET));
    assert.equal(get(m, 'src'), 'n1');
    assert.deepEqual(getBuffer(m, 'srcuuid'), N1);
    assert.equal(get(m, 'seq'), '1');
    assert.equal(get(m, 'hg'), '7');
    assert.equal(get(m, 'ttl'), '3');
    assert.ok(Math.abs(parseInt(get(m, 'ts')!, 16) - Date.now() / 1000) < 60);
  }));

test('status changes go out at once: st, the dt bump, and no protocol field once flow control is off', () =>
  withRig({}, async (r) => {
    await r.packets.next('first status', () => true);
    r.transport.setFlowControl(false);
    r.transport.setStatus('active');
    const active = decoded(await r.packets.next('status after setStatus', () => true, 1));
    assert.equal(get(active, 'st'), 'active');
    assert.equal(get(active, 'protocol'), undefined);
    assert.equal(get(active, 'seq'), '2');
    r.transport.setDeadtimeBump(2000);
    assert.equal(get(decoded(await r.packets.next('status after the bump', () => true, 2)), 'dt'), hex(2 * QUIET + 2000));
    r.transport.setDeadtimeBump(2000); // unchanged: nothing to announce
    r.transport.setDeadtimeBump(0);
    assert.equal(get(decoded(await r.packets.next('status after the bump ends', () => true, 3)), 'dt'), hex(2 * QUIET));
    assert.equal(r.packets.items.length, 4);
  }));

test('a deadtime bump set before start is in the first status (heartbeat: st=init with dt + 2000)', async () => {
  const r = await rig({}, (t) => t.setDeadtimeBump(2000));
  try {
    const first = decoded(await r.packets.next('first status', () => true));
    assert.deepEqual([get(first, 'st'), get(first, 'dt')], ['init', hex(2 * QUIET + 2000)]);
  } finally {
    await r.close();
  }
});

test('the beat follows keepalive on its own schedule', () =>
  withRig({ keepaliveMs: 20, deadtimeMs: 2 * QUIET }, async (r) => {
    const fifth = await r.packets.next('fifth status', (b) => get(decoded(b), 'seq') === '5');
    assert.equal(get(decoded(fifth), 't'), 'status');
    const seqs = r.packets.items.slice(0, 5).map((b) => get(decoded(b), 'seq'));
    assert.deepEqual(seqs, ['1', '2', '3', '4', '5']);
    const sts = r.packets.items.slice(0, 5).map((b) => get(decoded(b), 'st'));
    assert.deepEqual(sts, ['init', 'up', 'up', 'up', 'up'], 'st=init once, then the status set (up by default)');
  }));

test('a message too long for a UDP datagram is refused before it takes a seq', () =>
  withRig({}, async (r) => {
    const first = r.transport.send([str('t', 'ping')])!;
    assert.throws(() => r.transport.send([str('t', 'ping'), str('x', 'a'.repeat(70_000))]), /more than the 65507 a UDP datagram can carry/);
    assert.equal(r.transport.send([str('t', 'ping')]), first + 1);
  }));

test('send shares the seq counter with status, NS_ types get none, dest gets the learned destuuid', () =>
  withRig({}, async (r) => {
    await r.packets.next('first status', () => true);
    assert.equal(r.transport.send([str('t', 'ping'), str('dest', 'n2')]), 2);
    const before = decoded(await r.packets.next('ping', () => true, 1));
    assert.equal(get(before, 'seq'), '2');
    assert.equal(getBuffer(before, 'destuuid'), undefined, 'n2 not heard yet');
    r.peerSend(status(1000));
    await r.events.next('status from n2', (e) => e.type === 'status');
    assert.equal(r.transport.send([str('t', 'NS_ackmsg'), str('dest', 'n2'), str('ackseq', '1')]), null);
    const ack = decoded(await r.packets.next('ack', () => true, 2));
    assert.equal(get(ack, 'seq'), undefined);
    assert.deepEqual(getBuffer(ack, 'destuuid'), N2);
    assert.equal(r.transport.send([str('t', 'ping')]), 3);
    assert.throws(() => r.transport.send([str('x', 'y')]), /needs a t field/);
  }));

test('retransmit re-sends identical bytes, throttles a repeat, and refuses seqs outside the history', () =>
  withRig({}, async (r) => {
    await r.packets.next('first status', () => true);
    const seq = r.transport.send([str('t', 'resource'), str('info', 'x')])!;
    const original = await r.packets.next('resource', () => true, 1);
    assert.equal(r.transport.retransmit(seq), 'sent');
    const again = await r.packets.next('retransmission', () => true, 2);
    assert.ok(again.equals(original), 'the very same bytes');
    assert.equal(r.transport.retransmit(seq), 'throttled', 'asked again within max_rexmit_delay − 10 ms');
    assert.equal(r.transport.retransmit(seq + 1), 'too-high');
    assert.equal(r.transport.retransmit(0), 'too-low');
  }));

test('a peer status brings the peer and its link up; messages are delivered with forUs', () =>
  withRig({}, async (r) => {
    r.peerSend(status(1000));
    const up = await r.events.next('peer-up', (e) => e.type === 'peer-up');
    assert.deepEqual({ ...up, mono: 0, wall: 0 }, { type: 'peer-up', node: 'n2', link: 'lo', status: 'active', generation: 4, restarted: false, returned: false, mono: 0, wall: 0 });
    await r.events.next('link-up', (e) => e.type === 'link-up' && e.node === 'n2' && e.link === 'lo');
    const st = await r.events.next('status event', (e) => e.type === 'status');
    assert.ok(st.type === 'status' && st.seq === 1 && st.generation === 4 && get(st.message, 'st') === 'active');
    r.peerSend([str('t', 'hello'), str('dest', 'n1')]);
    r.peerSend([str('t', 'hello'), str('dest', 'n3')]);
    r.peerSend([str('t', 'NS_ackmsg'), str('dest', 'n1')]);
    await r.events.next('third message', (e) => e.type === 'message' && e.seq === null);
    const msgs = r.events.items.filter((e) => e.type === 'message');
    assert.deepEqual(
      msgs.map((e) => e.type === 'message' && [e.node, e.link, e.seq, e.forUs]),
      [
        ['n2', 'lo', 2, true],
        ['n2', 'lo', 3, false],
        ['n2', 'lo', null, true],
      ],
    );
    // The same status seq again (a second medium's copy) is not a new status.
    const count = r.events.items.filter((e) => e.type === 'status').length;
    r.peerSend(status(1000), { seq: 1 });
    r.peerSend(status(1000), { seq: 5 });
    await r.events.next('status seq 5', (e) => e.type === 'status' && e.seq === 5);
    assert.equal(r.events.items.filter((e) => e.type === 'status').length, count + 1);
  }));

test('auth-fail for a wrong key, an unknown node, an unsigned packet and garbage, naming link and source, one report per second with the count', () =>
  withRig({}, async (r) => {
    const kinds: [string, () => void, string | null, string][] = [
      ['wrong key', () => r.peerSend(status(1000), { keys: WRONG }), 'n2', 'bad signature (key 1, sha1)'],
      ['unknown node', () => r.peerSend(status(1000), { src: 'n9' }), 'n9', 'unknown node'],
      ['unsigned', () => r.peerSendRaw(Buffer.from('###\n9:(0)t=ping,%%%\n')), null, 'unsigned packet'],
      ['garbage', () => r.peerSendRaw(Buffer.from('hello')), null, 'bad-magic at byte 0: packet starts with neither ">>>\\n" nor "###\\n"'],
    ];
    for (const [what, send, node, reason] of kinds) {
      const from = r.events.items.length;
      send();
      send();
      send();
      const e = await r.events.next(`auth-fail for ${what}`, (x) => x.type === 'auth-fail', from);
      assert.deepEqual(e.type === 'auth-fail' && [e.link, e.source, e.node, e.reason, e.count], ['lo', r.peerSource, node, reason, 3], what);
    }
    assert.equal(r.events.items.filter((e) => e.type === 'auth-fail').length, 4, 'one report per window');
    assert.equal(r.events.items.filter((e) => e.type === 'peer-up').length, 0);
  }));

test('a capture of the previous generation replayed in a loop: every copy refused and counted as a replay, naming the current generation even after another restart', () =>
  withRig({}, async (r) => {
    const ctx = { node: 'n2', uuid: N2, seq: 1, generation: 4, nowSec: Math.floor(Date.now() / 1000), loadavg: 'n/a', ttl: 3 };
    const capture = encode(addControlFields(status(1000), ctx), 'netstring+auth', KEYS);
    const replays = async (copies: number, reason: string) => {
      const from = r.events.items.length;
      for (let i = 0; i < copies; i++) r.peerSendRaw(capture);
      const e = await r.events.next('auth-fail for the replays', (x) => x.type === 'auth-fail', from);
      assert.deepEqual(e.type === 'auth-fail' && [e.node, e.reason, e.count], ['n2', reason, copies]);
    };
    r.peerSend(status(1000), { generation: 5, seq: 1 });
    await r.events.next('peer-up', (e) => e.type === 'peer-up');
    await replays(3, 'replayed packet of an older generation [gen = 4, curgen = 5]');
    r.peerSend(status(1000), { generation: 6, seq: 1 });
    await r.events.next('peer-restart', (e) => e.type === 'peer-restart');
    await replays(2, 'replayed packet of an older generation [gen = 4, curgen = 6]');
    assert.deepEqual(r.events.items.filter((e) => (e.type === 'status' || e.type === 'message') && e.generation === 4), [], 'no copy was passed on');
  }));

test('a silent peer is declared dead at the deadtime it advertised, once comm is up', () =>
  withRig({ keepaliveMs: 50, deadtimeMs: 400, warntimeMs: 200, initdeadMs: 400 }, async (r) => {
    r.transport.setCommUp();
    r.peerSend(status(300));
    const st = await r.events.next('status', (e) => e.type === 'status');
    const dead = await r.events.next('peer-dead', (e) => e.type === 'peer-dead');
    assert.ok(dead.type === 'peer-dead' && dead.node === 'n2' && dead.timeoutMs === 300);
    assert.ok(dead.mono - st.mono >= 300, `dead after ${dead.mono - st.mono} ms, before its deadline`);
    await r.events.next('link-dead', (e) => e.type === 'link-dead' && e.node === 'n2' && e.link === 'lo');
  }));

/** The seqs of the statuses among `packets`. */
const statusSeqs = (packets: readonly Buffer[]) =>
  packets
    .map(decoded)
    .filter((m) => get(m, 't') === 'status')
    .map((m) => parseInt(get(m, 'seq')!, 16));

test('a blocked main event loop delays neither beats nor deaths: the packet core runs on its own thread', () =>
  withRig({ keepaliveMs: 20, deadtimeMs: 200, warntimeMs: 100, initdeadMs: 200 }, async (r) => {
    r.transport.setCommUp();
    r.peerSend(status(200));
    await r.events.next('status', (e) => e.type === 'status');
    const before = r.packets.items.length;
    // 300 ms at keepalive 20 ms: about 15 beats go out meanwhile, and n2 (silent: its sender is on this
    // blocked thread too) passes its 200 ms deadline.
    blockEventLoop(300);
    // The next poll phase reads what queued on the peer's socket during the block (and at most a beat
    // more): this code runs in one, so the first setImmediate comes before it, the second after.
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
    const during = statusSeqs(r.packets.items.slice(before));
    assert.ok(during.length >= 8, `only ${during.length} statuses were sent while the main loop was blocked 300 ms (keepalive 20 ms)`);
    const dead = await r.events.next('peer-dead', (e) => e.type === 'peer-dead');
    assert.equal(dead.type === 'peer-dead' && dead.node, 'n2');
    assert.deepEqual(r.events.items.filter((e) => e.type === 'stall-stop'), [], 'within the stall limit');
  }));

test('the stall rule: no check-in for stallLimitMs stops the beat for good and reports stall-stop once the main loop is back', () =>
  // keepalive 100 ms: a late timer of the core's own (over 50 ms, which restarts the limit as in the
  // native engine) is rare even on a busy machine.
  withRig({ keepaliveMs: 100, deadtimeMs: 1000, warntimeMs: 500, initdeadMs: 1000, stallLimitMs: 500 }, async (r) => {
    await r.packets.next('first status', () => true);
    const before = r.packets.items.length;
    blockEventLoop(1_500);
    const stop = await r.events.next('stall-stop', (e) => e.type === 'stall-stop');
    assert.ok(stop.type === 'stall-stop' && stop.silentMs > 500, `silentMs ${stop.type === 'stall-stop' && stop.silentMs}`);
    // Beats went on until the limit, then stopped, and stay stopped with the main loop running again.
    const beats = statusSeqs(r.packets.items.slice(before)).length;
    assert.ok(beats >= 2, `${beats} statuses in a 1500 ms block with a 500 ms stall limit (keepalive 100 ms)`);
    const after = r.packets.items.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    r.transport.setStatus('active');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(r.packets.items.length, after, 'no status after the stall stop, not even for a status change');
    assert.equal(r.transport.send([str('t', 'ping')]) !== null, true, 'other messages still go out (the daemon sends none: it stops)');
  }));

test('start fails with the medium, the interface and the fix; stop is idempotent; no use after stop', async () => {
  await assert.rejects(rig({ media: [{ kind: 'bcast', iface: 'nosuch9' }] }), /bcast nosuch9: interface nosuch9 does not exist \(interfaces: .*lo.*\); correct the interface name in ha\.cf/);
  const blocker = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', () => resolve()));
  const taken = blocker.address().port;
  await assert.rejects(
    rig({ udpPort: taken }),
    (e: unknown) => e instanceof MediumError && e.syscall === 'bind' && e.code === 'EADDRINUSE' && e.message.startsWith(`ucast lo 127.0.0.2: bind 127.0.0.1:${taken}: EADDRINUSE`),
  );
  blocker.close();
  const r = await rig();
  await assert.rejects(r.transport.start(() => undefined), /start\(\) called twice/);
  await r.close();
  await r.transport.stop();
  assert.throws(() => r.transport.send([str('t', 'x')]), /send\(\) while stopped/);
  r.transport.setStatus('active'); // recorded, nothing sent
  assert.throws(() => r.transport.retransmit(1), /retransmit\(\) while stopped/);
});

/**
 * Runs a transport whose worker file is `workerSource` in a child process (an uncaught exception is
 * the expected outcome: the test runner must not see it) and returns what became of the process.
 */
function runWithWorker(workerSource: string): { status: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-tsworker-'));
  try {
    const workerFile = path.join(dir, 'worker.js');
    fs.writeFileSync(workerFile, workerSource);
    const script = `
      const { createUdpTransport } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'transport', 'udp.js'))});
      const t = createUdpTransport({
        localNode: 'n1', nodes: ['n1', 'n2'], media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }], udpPort: 9,
        keepaliveMs: 1000, deadtimeMs: 2000, warntimeMs: 1000, initdeadMs: 2000, stallLimitMs: 10000,
        authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('k') }] }, wireFormat: 'netstring+auth',
        uuid: Buffer.alloc(16, 1), generation: 1, firstSeq: 1, ttl: 3, realtime: false, rtprio: null,
      }, ${JSON.stringify(workerFile)});
      t.start(() => undefined).then(
        () => { console.log('started'); setTimeout(() => console.log('still running'), 5000); },
        (e) => { console.log('start failed: ' + e.message); },
      );`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a packet-core thread that dies stops the process with an error saying so, not a silent end of beats', () => {
  const r = runWithWorker(`
    const { parentPort } = require('node:worker_threads');
    parentPort.postMessage({ type: 'started' });
    setTimeout(() => { throw new Error('boom in the core'); }, 100);`);
  assert.equal(r.stdout, 'started\n', r.stderr);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /transport: the TypeScript packet core's worker thread failed: boom in the core; heartbeats stopped/);
});

test('a packet-core thread that dies while starting fails start() with an error saying so', () => {
  const r = runWithWorker("throw new Error('cannot load the core');");
  assert.equal(r.stdout, "start failed: transport: the TypeScript packet core's worker thread failed: cannot load the core; heartbeats stopped\n", r.stderr);
  assert.equal(r.status, 0);
});

/** The nice value of each thread of this process (field 19 of /proc/self/task/TID/stat). */
function threadNices(): number[] {
  return fs.readdirSync('/proc/self/task').map((tid) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
}

/** This process's autogroup nice (sched(7)), or null without autogroup scheduling. */
function autogroupNice(): number | null {
  try {
    if (fs.readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'latin1').trim() !== '1') return null;
    return Number(/ nice (-?\d+)/.exec(fs.readFileSync('/proc/self/autogroup', 'latin1'))![1]);
  } catch {
    return null;
  }
}

test("realtime on: the packet core thread alone runs at nice -20 and the process's autogroup too, or warnings name the refusals", async () => {
  const autogroup = autogroupNice();
  try {
    await withRig({ realtime: true }, async (r) => {
      await r.packets.next('first status', () => true);
      const warnings = r.events.items.filter((e) => e.type === 'warning');
      if (process.getuid?.() === 0) {
        assert.deepEqual(warnings, []);
        assert.deepEqual(threadNices().filter((n) => n !== 0), [-20], 'one thread reniced, the main thread untouched');
        if (autogroup !== null) assert.equal(autogroupNice(), -20, 'the autogroup raised');
      } else {
        const w = warnings[0];
        assert.ok(w?.type === 'warning' && w.syscall === 'setpriority' && /needs CAP_SYS_NICE/.test(w.message), JSON.stringify(w));
        if (autogroup !== null) assert.ok(warnings.some((x) => x.type === 'warning' && x.syscall === 'write' && /autogroup.*needs CAP_SYS_NICE/.test(x.message)), JSON.stringify(warnings));
      }
    });
  } finally {
    // The autogroup belongs to this test process, not to the transport: put it back for the tests after.
    if (autogroup !== null && autogroupNice() !== autogroup) fs.writeFileSync('/proc/self/autogroup', String(autogroup));
  }
});

test('raiseAutogroup: nothing to raise with autogroups off or in the root task group (empty file, whose write the kernel refuses); a refusal names its file and errno', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-autogroup-'));
  try {
    const files = { enabled: path.join(dir, 'enabled'), autogroup: path.join(dir, 'autogroup') };
    fs.writeFileSync(files.enabled, '1\n');
    fs.writeFileSync(files.autogroup, ''); // what a process of PID 1's session reads
    assert.equal(raiseAutogroup(files), null);
    assert.equal(fs.readFileSync(files.autogroup, 'latin1'), '', 'no write was tried');
    fs.writeFileSync(files.enabled, '0\n');
    fs.writeFileSync(files.autogroup, '/autogroup-7 nice 0\n');
    assert.equal(raiseAutogroup(files), null);
    assert.equal(fs.readFileSync(files.autogroup, 'latin1'), '/autogroup-7 nice 0\n', 'autogroups off: untouched');
    fs.writeFileSync(files.enabled, '1\n');
    assert.equal(raiseAutogroup(files), null);
    assert.equal(fs.readFileSync(files.autogroup, 'latin1'), '-20');
    const gone = { ...files, autogroup: path.join(dir, 'no-such-dir', 'autogroup') };
    assert.equal(raiseAutogroup(gone), null, 'no autogroup file: a kernel without them');
    // A file that reads as something and refuses every write, root or not (EINVAL, or EACCES at open).
    const refused = raiseAutogroup({ ...files, autogroup: '/proc/self/stat' });
    assert.ok(refused && refused.syscall === 'write' && /^(EINVAL|EACCES)$/.test(refused.errno), JSON.stringify(refused));
    assert.ok(refused.message.includes(`(/proc/self/stat: ${refused.errno}; `), refused.message);
    assert.equal(/needs CAP_SYS_NICE/.test(refused.message), refused.errno === 'EACCES', 'only a permission error blames the capability');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
