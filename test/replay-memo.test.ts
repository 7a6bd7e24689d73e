// lib/transport/replay-memo.ts: remembers refusals by exact bytes, bounded in entries and size.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { REPLAY_MEMO_ENTRIES, REPLAY_MEMO_MAX_BYTES, ReplayMemo } from '../lib/transport/replay-memo';

const refusal = (i: number) => ({ reason: `replay ${i}`, node: 'n2' });
const datagram = (i: number) => Buffer.from(`###\ncapture ${i}`);

test('the same bytes again get the same refusal; other bytes, even one differing byte, get none', () => {
  const m = new ReplayMemo();
  assert.equal(m.get(datagram(1)), undefined);
  m.add(datagram(1), refusal(1));
  assert.deepEqual(m.get(Buffer.from(datagram(1))), refusal(1));
  const flipped = Buffer.from(datagram(1));
  flipped[flipped.length - 1] ^= 1;
  assert.equal(m.get(flipped), undefined);
  m.clear();
  assert.equal(m.get(datagram(1)), undefined);
});

test(`bounded: the oldest of more than ${REPLAY_MEMO_ENTRIES} captures goes first; datagrams over ${REPLAY_MEMO_MAX_BYTES} bytes are not remembered`, () => {
  const m = new ReplayMemo();
  for (let i = 0; i <= REPLAY_MEMO_ENTRIES; i++) m.add(datagram(i), refusal(i));
  assert.equal(m.get(datagram(0)), undefined);
  assert.deepEqual(m.get(datagram(1)), refusal(1));
  assert.deepEqual(m.get(datagram(REPLAY_MEMO_ENTRIES)), refusal(REPLAY_MEMO_ENTRIES));
  const big = Buffer.alloc(REPLAY_MEMO_MAX_BYTES + 1, 0x41);
  m.add(big, refusal(-1));
  assert.equal(m.get(big), undefined);
});
