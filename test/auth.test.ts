import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';

import fc from 'fast-check';

import { loadNative } from '../lib/native';
import { AUTH_METHODS, authToken, heartbeatCrc, tokenEquals } from '../lib/wire/auth';
import type { AuthMethod } from '../lib/wire/types';

// Spec §6.2, key "secret" (crc takes no key).
const SPEC: [string, string, string, string][] = [
  ['', 'ffffffff', '5c8db03f04cec0f43bcb060023914190', '25af6174a0fcecc4d346680a72b7ce644b9a88e8'],
  ['abc', 'd3e8c673', 'd9bf7c3a63eae7031c4e6d7c9b78ba93', '694abd10842d161ddbc54df8a0d57cf64d0dbcc9'],
  ['t=status\nst=active\n', 'b7e1ed97', '0b8613f5699fe06384fb2e94291b385a', '07f984b16bbabff2152a828d70f0cd018933e7d8'],
];

type TokenFn = (method: AuthMethod, key: Buffer, data: Buffer) => string;

function checkSpecVectors(token: TokenFn): void {
  const secret = Buffer.from('secret');
  for (const [d, crc, md5, sha1] of SPEC) {
    const data = Buffer.from(d, 'latin1');
    assert.equal(token('crc', Buffer.alloc(0), data), crc, `crc(${JSON.stringify(d)})`);
    assert.equal(token('crc', secret, data), crc, 'crc ignores the key');
    assert.equal(token('md5', secret, data), md5, `md5(${JSON.stringify(d)})`);
    assert.equal(token('sha1', secret, data), sha1, `sha1(${JSON.stringify(d)})`);
    assert.equal(token('sha256', secret, data), crypto.createHmac('sha256', secret).update(data).digest('hex'));
  }
}

test('TypeScript tokens reproduce spec §6.2', () => {
  checkSpecVectors(authToken);
});

test('crc is printed %lx: no zero padding', () => {
  // Find an input whose CRC has a leading zero nibble and check the text is shorter.
  let n = 0;
  while (heartbeatCrc(Buffer.from(String(n))) >= 0x10000000) n++;
  const t = authToken('crc', Buffer.alloc(0), Buffer.from(String(n)));
  assert.ok(t.length < 8 && !t.startsWith('0'), t);
  assert.equal(parseInt(t, 16), heartbeatCrc(Buffer.from(String(n))));
});

test('HMAC keys longer than the block are hashed first, as in RFC 2104', () => {
  const long = Buffer.alloc(100, 0x6b);
  for (const m of ['md5', 'sha1', 'sha256'] as const) {
    assert.equal(authToken(m, long, Buffer.from('x')), authToken(m, crypto.createHash(m).update(long).digest(), Buffer.from('x')));
  }
});

test('an unknown method is a TypeError naming the choices', () => {
  assert.throws(() => authToken('sha512' as AuthMethod, Buffer.alloc(0), Buffer.alloc(0)), /crc, md5, sha1, sha256/);
});

test('tokenEquals compares exactly, including case and length', () => {
  assert.equal(tokenEquals('abc', 'abc'), true);
  assert.equal(tokenEquals('abc', 'ABC'), false);
  assert.equal(tokenEquals('abc', 'abcd'), false);
  assert.equal(tokenEquals('', ''), true);
});

const native = loadNative().binding;
const skipNative = native === null ? `native addon not available (${loadNative().reason}); run \`npx node-gyp rebuild\` to test it` : false;

test('native authToken reproduces spec §6.2', { skip: skipNative }, () => {
  checkSpecVectors((m, k, d) => native!.authToken(m, k, d));
});

test('native and TypeScript tokens agree on random inputs', { skip: skipNative }, () => {
  fc.assert(
    fc.property(fc.constantFrom(...AUTH_METHODS), fc.uint8Array({ maxLength: 150 }), fc.uint8Array({ maxLength: 600 }), (m, key, data) => {
      const k = Buffer.from(key);
      const d = Buffer.from(data);
      assert.equal(native!.authToken(m, k, d), authToken(m, k, d));
    }),
    { numRuns: 500 },
  );
});
