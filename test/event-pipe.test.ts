// The bounded event pipe between the TypeScript packet core's thread and the main thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CHUNK, EventPipe, MAX_PENDING } from '../lib/transport/event-pipe';
import type { TransportEvent } from '../lib/transport/types';

function rig() {
  const posted: TransportEvent[][] = [];
  const flushes: (() => void)[] = [];
  const pipe = new EventPipe(
    (events) => posted.push(events),
    (f) => flushes.push(f),
    () => ({ mono: 7, wall: 8 }),
  );
  const runFlushes = () => flushes.splice(0).forEach((f) => f());
  return { pipe, posted, runFlushes, flushes };
}

const at = { mono: 1, wall: 2 };
const status = (seq: number): TransportEvent => ({ ...at, type: 'status', node: 'n2', link: 'eth0', message: [], seq, generation: 1 });
const dead: TransportEvent = { ...at, type: 'peer-dead', node: 'n2', silentMs: 60, timeoutMs: 50 };

test('events of one burst leave as one chunk; the next waits for the ack', () => {
  const r = rig();
  r.pipe.push(status(1));
  r.pipe.push(status(2));
  assert.equal(r.flushes.length, 1, 'one flush scheduled per burst');
  r.runFlushes();
  assert.deepEqual(r.posted.map((c) => c.length), [2]);
  r.pipe.push(status(3));
  r.runFlushes();
  assert.equal(r.posted.length, 1, 'nothing leaves while a chunk is in flight');
  r.pipe.ack();
  r.runFlushes();
  assert.deepEqual(r.posted.map((c) => c.map((e) => e.type === 'status' && e.seq)), [[1, 2], [3]]);
});

test(`at most ${CHUNK} events a chunk; beyond ${MAX_PENDING} waiting, packet events are dropped and counted, deaths never`, () => {
  const r = rig();
  r.pipe.push(status(0));
  r.runFlushes(); // in flight: the main thread is wedged from here on
  for (let i = 1; i <= MAX_PENDING + 10; i++) r.pipe.push(status(i));
  r.pipe.push(dead);
  assert.equal(r.pipe.size, MAX_PENDING + 1);
  r.pipe.ack();
  r.runFlushes();
  const chunk = r.posted[1]!;
  assert.equal(chunk.length, CHUNK + 1);
  assert.deepEqual(chunk[0], { mono: 7, wall: 8, type: 'warning', syscall: 'event queue', errno: 'ENOBUFS', message: `10 status, message and auth-fail events dropped: JavaScript fell more than ${MAX_PENDING} events behind the transport` });
  while (r.pipe.size > 0) {
    r.pipe.ack();
    r.runFlushes();
  }
  assert.ok(r.posted.slice(1).every((c) => c.length <= CHUNK + 1));
  const delivered = r.posted.slice(1).flat().slice(1);
  assert.equal(delivered.length, MAX_PENDING + 1);
  assert.deepEqual(delivered.at(-1), dead, 'the death got in past the bound');
  assert.equal(r.pipe.size, 0);
});
