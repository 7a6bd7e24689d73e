// The C++ codec (native/codec*.cc through lib/wire/native-codec.ts) against the shared vector
// file, the spec §6.2 tokens, and its own argument and encode-error contract.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { DecodeError, EncodeError } from '../lib/wire/errors';
import { packKeys } from '../lib/wire/native-pack';
import type { AuthKeys, AuthMethod, Field, Message } from '../lib/wire/types';
import { nativeForTests } from './support/native-codec';
import { fromJsonFields, loadVectors, toAuthKeys } from './vectors/vector-file';

const native = nativeForTests();
const skip = native.skip;
const codec = native.codec!;
const vectors = loadVectors();

const K1: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('s3cret') }] };
const s = (name: string, value: string): Field => ({ name, type: 0, value: Buffer.from(value, 'latin1') });

test('spec §6.2 token table (key "secret") through the native authToken', { skip }, () => {
  const table: [string, Record<Exclude<AuthMethod, 'sha256'>, string>][] = [
    ['', { crc: 'ffffffff', md5: '5c8db03f04cec0f43bcb060023914190', sha1: '25af6174a0fcecc4d346680a72b7ce644b9a88e8' }],
    ['abc', { crc: 'd3e8c673', md5: 'd9bf7c3a63eae7031c4e6d7c9b78ba93', sha1: '694abd10842d161ddbc54df8a0d57cf64d0dbcc9' }],
    ['t=status\nst=active\n', { crc: 'b7e1ed97', md5: '0b8613f5699fe06384fb2e94291b385a', sha1: '07f984b16bbabff2152a828d70f0cd018933e7d8' }],
  ];
  for (const [data, tokens] of table) {
    for (const [method, token] of Object.entries(tokens)) {
      assert.equal(native.binding!.authToken(method as AuthMethod, Buffer.from('secret'), Buffer.from(data)), token, `${method} over ${JSON.stringify(data)}`);
    }
  }
});

test('token vectors of the shared file', { skip }, () => {
  for (const v of vectors.tokens) {
    assert.equal(native.binding!.authToken(v.method, Buffer.from(v.key, 'utf8'), Buffer.from(v.data_hex, 'hex')), v.token, `${v.method} key=${v.key} data=${v.data_hex}`);
  }
});

test('every vector packet: fields, verdicts with the right, wrong and no keys, byte-identical re-encode', { skip }, () => {
  assert.ok(vectors.packets.length > 0);
  for (const v of vectors.packets) {
    const packet = Buffer.from(v.packet_hex, 'hex');
    const keys = toAuthKeys(v.authkeys);
    const r = codec.decode(packet, keys);
    assert.equal(r.format, v.format, v.name);
    assert.deepEqual(r.message, fromJsonFields(v.fields), v.name);
    assert.equal(r.auth.verdict, v.auth, v.name);
    if (r.auth.verdict === 'ok') {
      const key = keys.keys.find((k) => k.index === (r.auth as { index: number }).index);
      assert.equal(key?.method, r.auth.method, `${v.name}: verdict names the method of its index`);
    }
    assert.equal(codec.decode(packet, toAuthKeys(v.wrong_authkeys)).auth.verdict, v.auth_wrong_key, `${v.name} with the wrong keys`);
    assert.equal(codec.decode(packet, null).auth.verdict, 'unverified', `${v.name} without keys`);
    assert.equal(codec.encode(r.message, v.reencode_as, keys).toString('hex'), v.packet_hex, `${v.name} re-encoded as ${v.reencode_as}`);
  }
});

test('every malformed vector fails with exactly its code, with and without keys', { skip }, () => {
  assert.ok(vectors.malformed.length > 0);
  for (const v of vectors.malformed) {
    const packet = Buffer.from(v.packet_hex, 'hex');
    for (const keys of [null, K1]) {
      assert.throws(
        () => codec.decode(packet, keys),
        (e: unknown) => e instanceof DecodeError && e.code === v.code && e.offset >= 0 && e.offset <= Math.max(packet.length, 256 * 1024) && e.message.startsWith(`${v.code} at byte ${e.offset}: `),
        `${v.name}: expected ${v.code}`,
      );
    }
  }
});

test('decoded values are copies: changing the packet afterwards changes nothing', { skip }, () => {
  const packet = codec.encode([s('t', 'status'), { name: 'u', type: 1, value: Buffer.alloc(16, 7) }, { name: 'l', type: 3, value: [Buffer.from('x')] }], 'netstring', K1);
  const before = codec.decode(packet, K1);
  packet.fill(0x41);
  assert.deepEqual(before.message, [s('t', 'status'), { name: 'u', type: 1, value: Buffer.alloc(16, 7) }, { name: 'l', type: 3, value: [Buffer.from('x')] }]);
});

test('messages and results larger than the reusable result buffer', { skip }, () => {
  const big: Message = [s('t', 'bulk'), { name: 'payload', type: 1, value: Buffer.alloc(100_000, 0x5a) }, { name: 'l', type: 3, value: [Buffer.alloc(20_000, 0x31)] }];
  for (const format of ['netstring', 'classic'] as const) {
    const packet = codec.encode(big, format, K1);
    assert.ok(packet.length > 100_000);
    const r = codec.decode(packet, K1);
    assert.equal(r.auth.verdict, 'ok');
    assert.deepEqual(r.message.filter((f) => f.name !== 'auth'), big);
  }
});

test('names keep every latin1 byte in both directions', { skip }, () => {
  const m: Message = [s('n\xe9\xff', 'v'), { name: 'st\x7f', type: 2, value: [s('\x80x', 'y')] }];
  for (const format of ['netstring', 'classic'] as const) {
    const r = codec.decode(codec.encode(m, format, K1), K1);
    assert.equal(r.auth.verdict, 'ok');
    assert.deepEqual(r.message.filter((f) => f.name !== 'auth'), m);
  }
});

test('a message the format cannot carry is an EncodeError naming the field path', { skip }, () => {
  const cases: [Message, 'classic' | 'netstring', RegExp, string][] = [
    [[s('(x', 'v')], 'classic', /cannot start with '\('/, '(x'],
    [[{ name: 'outer', type: 2, value: [s('a', 'b\x00c')] }], 'classic', /cannot contain byte 0x00 at depth 1/, 'outer.a'],
    [[s('a=b', 'v')], 'netstring', /cannot contain '='/, 'a=b'],
    [[s('', 'v')], 'netstring', /field name is empty/, ''],
    [[{ name: 'l', type: 3, value: [] }], 'netstring', /empty list/, 'l'],
    [[s('\u0100', 'v')], 'netstring', /above U\+00FF/, '\u0100'],
    [[{ name: 'o', type: 2, value: [s('\u2603', 'v')] }], 'classic', /above U\+00FF/, 'o.\u2603'],
  ];
  for (const [m, format, detail, path] of cases) {
    assert.throws(() => codec.encode(m, format, K1), (e: unknown) => e instanceof EncodeError && e.path === path && detail.test(e.message), `${format} ${JSON.stringify(path)}`);
  }
  assert.throws(() => codec.encode([s('t', 'x')], 'netstring', { sendIndex: 2, keys: K1.keys }), (e: unknown) => e instanceof EncodeError && /no key for the send index 2/.test(e.message));
  assert.throws(() => codec.encode([s('t', 'x'.repeat(300 * 1024))], 'netstring', K1), (e: unknown) => e instanceof EncodeError && /over MAXMSG/.test(e.message));
});

test('structs nest 16 levels and no deeper; a cyclic struct is refused, not followed', { skip }, () => {
  const nest = (levels: number): Message => (levels === 0 ? [s('leaf', 'x')] : [{ name: `d${levels}`, type: 2, value: nest(levels - 1) }]);
  for (const format of ['netstring', 'classic'] as const) {
    assert.equal(codec.decode(codec.encode(nest(16), format, K1), K1).auth.verdict, 'ok');
    assert.throws(() => codec.encode(nest(17), format, K1), (e: unknown) => e instanceof EncodeError && /nest at most 16 levels/.test(e.message));
  }
  const cyclic: Field[] = [];
  cyclic.push({ name: 'self', type: 2, value: cyclic });
  assert.throws(() => codec.encode(cyclic, 'netstring', K1), (e: unknown) => e instanceof EncodeError && e.path === Array(17).fill('self').join('.'));
});

test('the addon refuses malformed packed input (lib/wire/native-pack.ts bugs) with a TypeError', { skip }, () => {
  const keys = packKeys(K1, false)!;
  const b = native.binding!;
  const out = Buffer.alloc(64);
  assert.throws(() => b.encodePacked(Buffer.from([1, 0, 0, 0]), 'netstring', keys, out), /message \(packed\) is malformed: a field count runs past the end at byte 4/);
  assert.throws(() => b.encodePacked(Buffer.from([1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0]), 'netstring', keys, out), /message \(packed\) is malformed: a field type above 4/);
  assert.throws(() => b.encodePacked(Buffer.from([0, 0, 0, 0, 0]), 'netstring', keys, out), /message \(packed\) is malformed: bytes after the message/);
  assert.throws(() => b.decodePacked(Buffer.from('###\n%%%\n'), Buffer.from([1]), out), /keys \(packed\) is malformed/);
  assert.throws(() => b.decodePacked(Buffer.from('###\n%%%\n'), Buffer.from([1, 1, 1, 7, 0, 0, 0, 0]), out), /keys \(packed\) is malformed: an auth method above 3/);
});

test('JS arguments are checked with TypeErrors that name the argument', { skip }, () => {
  const good = Buffer.from('###\n%%%\n');
  const cases: [() => unknown, RegExp][] = [
    [() => codec.decode('###\n' as unknown as Buffer, null), /packet must be a Buffer/],
    [() => codec.decode(good, undefined as unknown as null), /keys must be an AuthKeys object/],
    [() => codec.decode(good, { sendIndex: 1.5, keys: [] }), /keys\.sendIndex must be an integer 0-15/],
    [() => codec.decode(good, { sendIndex: 1, keys: [{ index: 16, method: 'md5', key: Buffer.alloc(1) }] }), /keys\.keys\[0\]\.index must be an integer 0-15/],
    [() => codec.decode(good, { sendIndex: 1, keys: [{ index: 1, method: 'rot13' as AuthMethod, key: Buffer.alloc(1) }] }), /keys\.keys\[0\]\.method must be one of crc, md5, sha1, sha256/],
    [() => codec.decode(good, { sendIndex: 1, keys: [{ index: 1, method: 'md5', key: 'k' as unknown as Buffer }] }), /keys\.keys\[0\]\.key must be a Buffer/],
    [() => codec.encode({} as unknown as Message, 'netstring', K1), /message must be an array of fields/],
    [() => codec.encode([null as unknown as Field], 'netstring', K1), /message\[0\] must be a field object/],
    [() => codec.encode([{ name: 1 } as unknown as Field], 'netstring', K1), /message\[0\]\.name must be a string/],
    [() => codec.encode([{ name: 'a', type: 5, value: Buffer.alloc(0) } as unknown as Field], 'netstring', K1), /message\[0\]\.type must be 0, 1, 2, 3 or 4/],
    [() => codec.encode([{ name: 'a', type: 2, value: [s('b', 'c'), { name: 'd', type: 0, value: 'e' } as unknown as Field] }], 'netstring', K1), /message\[0\]\.value\[1\]\.value must be a Buffer/],
    [() => codec.encode([{ name: 'a', type: 3, value: [Buffer.from('x'), 'y'] } as unknown as Field], 'netstring', K1), /message\[0\]\.value\[1\] must be a Buffer/],
    [() => codec.encode([s('a', 'b')], 'xml' as never, K1), /format must be one of 'netstring\+auth', 'netstring', 'classic'/],
    [() => codec.encode([s('a', 'b')], 'netstring', null as unknown as AuthKeys), /keys must be an AuthKeys object \{sendIndex, keys\}$/],
  ];
  for (const [call, message] of cases) assert.throws(call, (e: unknown) => e instanceof TypeError && message.test(e.message), String(message));
});
