// The TypeScript packet core judges a death only after reading what waited in its socket's kernel
// queue when the deadline fired (UdpCore.drainThenJudge): under a flood the peer's status can sit
// behind hundreds of bad datagrams, and libuv reads 32 per wake. The core runs on this thread here
// (not in its worker), so that blocking this thread builds the backlog: a sender thread queues 150
// garbage datagrams and then the peer's fresh status while the deadline passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

import { monoNowMs } from '../lib/transport/clock';
import type { TransportEvent } from '../lib/transport/types';
import { UdpCore } from '../lib/transport/udp-core';
import { addControlFields, statusMessage } from '../lib/wire/builders';
import { encode } from '../lib/wire/codec';
import type { AuthKeys } from '../lib/wire/types';

const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('backlog-secret') }] };
// A long keepalive: its stall threshold (keepalive / 2 = 200 ms) leaves room for a busy machine.
const KEEPALIVE = 400;
const DEADTIME = 1200;
const GARBAGE = 150;

// Binds 127.0.0.2 (the core's ucast peer), says its port, sends the lists of packets it is given to
// 127.0.0.1 and raises the shared flag once the kernel took a whole list.
const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const flag = new Int32Array(workerData.flag);
const s = dgram.createSocket('udp4');
s.bind(0, '127.0.0.2', () => parentPort.postMessage(s.address().port));
parentPort.on('message', (m) => {
  if (m === 'close') return s.close();
  let left = m.packets.length;
  for (const p of m.packets) s.send(Buffer.from(p), m.port, '127.0.0.1', () => { if (--left === 0) { Atomics.store(flag, 0, 1); } });
});
`;

function status(seq: number): Buffer {
  const ctx = { node: 'n2', uuid: Buffer.alloc(16, 0x22), seq, generation: 3, nowSec: Math.floor(Date.now() / 1000), loadavg: 'n/a', ttl: 3 };
  return encode(addControlFields(statusMessage({ status: 'active', deadtimeMs: DEADTIME, flowControl: true }), ctx), 'netstring', KEYS);
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = monoNowMs() + ms;
  while (!ok()) {
    if (monoNowMs() > end) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a peer whose status waits in our receive backlog when its deadline fires is not declared dead', async () => {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const sender = new Worker(SENDER, { eval: true, workerData: { flag: flag.buffer } });
  const port = await new Promise<number>((resolve, reject) => (sender.once('message', resolve), sender.once('error', reject)));
  const events: TransportEvent[] = [];
  const core = new UdpCore(
    {
      localNode: 'n1',
      nodes: ['n1', 'n2'],
      media: [{ kind: 'ucast', iface: 'lo', peer: '127.0.0.2' }],
      udpPort: port,
      keepaliveMs: KEEPALIVE,
      deadtimeMs: DEADTIME,
      warntimeMs: DEADTIME / 2,
      initdeadMs: 2 * DEADTIME,
      stallLimitMs: 0,
      authKeys: KEYS,
      wireFormat: 'netstring',
      uuid: Buffer.alloc(16, 0x11),
      generation: 1,
      firstSeq: 1,
      ttl: 3,
      realtime: false,
      rtprio: null,
    },
    { lastCheckIn: () => monoNowMs(), seqGiven: () => undefined },
  );
  const send = (packets: Buffer[]) => {
    Atomics.store(flag, 0, 0);
    sender.postMessage({ port, packets });
  };
  try {
    await core.start((e) => events.push(e));
    core.setCommUp();
    send([status(1)]);
    await until("n2's peer-up", () => events.some((e) => e.type === 'peer-up'), 5_000);
    const deadline = events.find((e) => e.type === 'peer-up')!.mono + DEADTIME;
    await new Promise((r) => setTimeout(r, deadline - 150 - monoNowMs()));
    // This thread stops reading; the sender queues garbage, then n2's next status, on our socket.
    send([...Array.from({ length: GARBAGE }, (_, i) => Buffer.from(`garbage ${i}`)), status(2)]);
    // Blocked until the deadline has passed, but less than the stall threshold (keepalive / 2) beyond
    // it: the deadline timer fires late, yet not late enough to count as our own stall.
    const resume = deadline + 20;
    while (monoNowMs() < resume || (Atomics.load(flag, 0) === 0 && monoNowMs() < resume + 100));
    assert.equal(Atomics.load(flag, 0), 1, 'the sender queued its packets while this thread was blocked');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(events.filter((e) => e.type === 'own-stall'), [], 'no stall of our own: the case is the backlog alone');
    assert.ok(events.some((e) => e.type === 'status' && e.node === 'n2' && e.seq === 2), "n2's second status was read");
    assert.deepEqual(events.filter((e) => e.type === 'peer-dead'), [], 'n2 is not declared dead');
    const counted = () => events.reduce((n, e) => n + (e.type === 'auth-fail' ? e.count : 0), 0);
    await until('auth-fail summary of the garbage', () => counted() >= GARBAGE, 3_000); // a window closes after a second
    assert.equal(counted(), GARBAGE, 'every garbage datagram was counted');
  } finally {
    await core.stop();
    sender.postMessage('close');
    await sender.terminate();
  }
});
