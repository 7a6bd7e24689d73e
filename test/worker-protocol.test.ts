// Messages crossing between the main thread and the TypeScript packet core's thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';

import { bin, list, str, struct } from '../lib/wire/message';
import type { Message } from '../lib/wire/types';
import { packMessage, reviveMessage } from '../lib/transport/worker-protocol';

test('a packed message survives a structured clone field for field, as Buffers, carrying only its own bytes', () => {
  const m: Message = [str('t', 'status'), bin('srcuuid', Buffer.alloc(16, 0xab)), struct('sub', [str('a', 'x'), list('l', ['p', 'qq'])]), str('empty', '')];
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(packMessage(m));
    const got = reviveMessage(receiveMessageOnPort(port2)!.message as Message);
    assert.deepEqual(got, m);
    const leaves = [got[0]!.value, got[1]!.value] as Buffer[];
    assert.ok(leaves.every((b) => Buffer.isBuffer(b)));
    // t=status (6) + 16 + x (1) + p, qq (3) + '' (0): one ArrayBuffer of 26 bytes, not Node's 8 KB pool.
    assert.equal(leaves[0]!.buffer.byteLength, 26);
  } finally {
    port1.close();
  }
});
