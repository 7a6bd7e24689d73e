// lib/wire/preauth.ts against the codec it short-cuts: every packet it refuses unparsed, decode()
// refuses too, and every packet it passes verifies (the shared vectors, real captures included, and
// genuine packets cut, bit-flipped and extended at random).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { decode, encode } from '../lib/wire/codec';
import { str } from '../lib/wire/message';
import { preAuth } from '../lib/wire/preauth';
import type { AuthKeys, AuthMethod, WireFormat } from '../lib/wire/types';
import { loadVectors, toAuthKeys } from './vectors/vector-file';

const vectors = loadVectors();

/** What decode() says of a packet: its verdict, or the code of the DecodeError it throws. */
function decoded(p: Buffer, keys: AuthKeys): string {
  try {
    return decode(p, keys).auth.verdict;
  } catch (e) {
    return `throws ${(e as { code?: string }).code ?? (e as Error).message}`;
  }
}

/** The contract: 'fail' only where decode() refuses; 'ok' where decode() verifies (or finds the signed body malformed). */
function agrees(p: Buffer, keys: AuthKeys): void {
  const pre = preAuth(p, keys);
  const d = decoded(p, keys);
  if (pre === 'classic') assert.equal(p.subarray(0, 4).toString('latin1'), '>>>\n');
  else if (pre === 'fail') assert.notEqual(d, 'ok', `preAuth refused a packet decode() verifies: ${p.toString('hex')}`);
  else assert.ok(d === 'ok' || d.startsWith('throws'), `preAuth passed a packet decode() judges ${d}: ${p.toString('hex')}`);
}

const keysOf = (method: AuthMethod, index = 1, key = 'cluster-key'): AuthKeys => ({ sendIndex: index, keys: [{ index, method, key: Buffer.from(key) }] });
const status = [str('t', 'status'), str('st', 'active'), str('src', 'n2'), str('seq', '1f'), str('hg', '2'), str('ts', '5f5e1000')];

test('the shared vectors: genuine netstring packets pass with their key index, wrong keys and malformed ones fail', () => {
  let passed = 0;
  for (const v of vectors.packets) {
    const p = Buffer.from(v.packet_hex, 'hex');
    const keys = toAuthKeys(v.authkeys);
    agrees(p, keys);
    agrees(p, toAuthKeys(v.wrong_authkeys));
    const pre = preAuth(p, keys);
    if (p.subarray(0, 4).toString('latin1') === '>>>\n') {
      assert.equal(pre, 'classic');
    } else if (decoded(p, keys) === 'ok') {
      const auth = decode(p, keys).auth;
      assert.deepEqual(pre, auth, `${v.source}: a genuine packet refused`);
      passed++;
    }
  }
  assert.ok(passed >= 100, `only ${passed} genuine netstring vectors`);
  for (const v of vectors.malformed) {
    const p = Buffer.from(v.packet_hex, 'hex');
    const keys = keysOf('sha1');
    agrees(p, keys);
  }
});

test('each method and format: genuine passes, a wrong key, an unknown index and a cut packet fail, classic is left to decode()', () => {
  for (const method of ['crc', 'md5', 'sha1', 'sha256'] as const) {
    for (const format of ['netstring', 'netstring+auth', 'classic'] as WireFormat[]) {
      const keys = keysOf(method, 7);
      const p = encode(status, format, keys);
      if (format === 'classic') {
        assert.equal(preAuth(p, keys), 'classic');
        continue;
      }
      assert.deepEqual(preAuth(p, keys), { verdict: 'ok', index: 7, method }, `${method} ${format}`);
      if (method !== 'crc') assert.equal(preAuth(p, keysOf(method, 7, 'another key')), 'fail', `${method} ${format}: wrong key`);
      assert.equal(preAuth(p, keysOf(method, 8)), 'fail', `${method} ${format}: index not in authkeys`);
      assert.equal(preAuth(p.subarray(0, p.length - 1), keys), 'fail', `${method} ${format}: cut`);
    }
  }
  // Key rotation: the index the packet names picks the key (codec Q2).
  const two: AuthKeys = { sendIndex: 1, keys: [...keysOf('sha1', 1, 'old').keys, ...keysOf('sha256', 12, 'new').keys] };
  assert.deepEqual(preAuth(encode(status, 'netstring', { ...two, sendIndex: 12 }), two), { verdict: 'ok', index: 12, method: 'sha256' });
  for (const junk of ['', '#', '###', 'hello, this is not heartbeat', '###\n%%%\n', '###\n%%%\n3:1 x,']) assert.equal(preAuth(Buffer.from(junk, 'latin1'), two), 'fail', JSON.stringify(junk));
});

test('property: genuine packets cut, flipped or extended at random are refused exactly when decode() refuses them', () => {
  const keys = keysOf('sha1', 3);
  const genuine = [encode(status, 'netstring', keys), encode(status, 'netstring+auth', keys), encode([str('t', 'x'), str('src', 'n1'), str('v', '%%%\n')], 'netstring', keys)];
  fc.assert(
    fc.property(
      fc.constantFrom(...genuine),
      fc.oneof(
        fc.nat().map((n) => (p: Buffer) => p.subarray(0, n % p.length)),
        fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, x]) => (p: Buffer) => {
          const q = Buffer.from(p);
          q[i % q.length] ^= x;
          return q;
        }),
        fc.uint8Array({ minLength: 1, maxLength: 8 }).map((tail) => (p: Buffer) => Buffer.concat([p, tail])),
        fc.uint8Array({ maxLength: 64 }).map((bytes) => () => Buffer.from(bytes)),
      ),
      (p, mutate) => agrees(mutate(p), keys),
    ),
    { numRuns: 3000 },
  );
});
