// The shared vector file (test/vectors/wire-vectors.json) against the TypeScript codec.
// The C++ codec runs the same file; regenerate it with `node dist/test/vectors/build-vectors.js`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { authToken } from '../lib/wire/auth';
import { decode, encode } from '../lib/wire/codec';
import { DecodeError } from '../lib/wire/errors';
import { fromJsonFields, loadVectors, toAuthKeys } from './vectors/vector-file';

const vectors = loadVectors();

test('the vector file covers what the codecs promise', () => {
  assert.ok(vectors.malformed.length >= 25, `${vectors.malformed.length} malformed vectors`);
  const sources = new Set(vectors.packets.map((p) => p.source.split(' ')[0]));
  for (const s of ['spec', 'real-hb-sha1.pcap', 'real-hb-crc.pcap', 'real-hb-sha1-restart-dt-bump.pcap', 'synthetic:']) assert.ok(sources.has(s), `no vector from ${s}`);
  const restart = vectors.packets.filter((p) => p.source.startsWith('real-hb-sha1-restart-dt-bump.pcap'));
  assert.ok(restart.length >= 200, `${restart.length} packets of the restart capture`);
  const codes = new Set(vectors.malformed.map((m) => m.code));
  for (const c of ['empty', 'bad-magic', 'bad-field', 'bad-type', 'bad-netstring', 'bad-base64', 'bad-trailer', 'truncated', 'too-large', 'too-deep']) assert.ok(codes.has(c as never), `no malformed vector with code ${c}`);
  const types = new Set(vectors.packets.flatMap((p) => p.fields.map((f) => f.type)));
  assert.deepEqual([...types].sort(), [0, 1, 2, 3, 4]);
});

test('token vectors', () => {
  for (const v of vectors.tokens) {
    assert.equal(authToken(v.method, Buffer.from(v.key, 'utf8'), Buffer.from(v.data_hex, 'hex')), v.token, `${v.method} key=${v.key} data=${v.data_hex}`);
  }
});

test('every packet decodes to its fields and verdict, fails with the wrong key, and re-encodes byte for byte', () => {
  for (const v of vectors.packets) {
    const packet = Buffer.from(v.packet_hex, 'hex');
    const keys = toAuthKeys(v.authkeys);
    const r = decode(packet, keys);
    assert.equal(r.format, v.format, v.name);
    assert.deepEqual(r.message, fromJsonFields(v.fields), v.name);
    assert.equal(r.auth.verdict, v.auth, v.name);
    assert.equal(decode(packet, toAuthKeys(v.wrong_authkeys)).auth.verdict, v.auth_wrong_key, `${v.name} with the wrong keys`);
    assert.equal(decode(packet, null).auth.verdict, 'unverified', `${v.name} without keys`);
    assert.equal(encode(r.message, v.reencode_as, keys).toString('hex'), v.packet_hex, `${v.name} re-encoded as ${v.reencode_as}`);
  }
});

test('every malformed packet fails with exactly its code', () => {
  for (const v of vectors.malformed) {
    const packet = Buffer.from(v.packet_hex, 'hex');
    assert.throws(
      () => decode(packet, null),
      (e: unknown) => e instanceof DecodeError && e.code === v.code && e.offset >= 0 && e.offset <= packet.length,
      `${v.name}: expected ${v.code}`,
    );
  }
});
