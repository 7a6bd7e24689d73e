import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import fc from 'fast-check';

import { readCapture } from '../lib/pcap/reader';
import { authToken } from '../lib/wire/auth';
import { decode, encode } from '../lib/wire/codec';
import { DecodeError, EncodeError } from '../lib/wire/errors';
import { lenStr } from '../lib/wire/lenstr';
import { MAXMSG } from '../lib/wire/limits';
import { bin, get, list, str, struct } from '../lib/wire/message';
import type { AuthKeys, Field, Message, WireFormat } from '../lib/wire/types';
import { CAPTURE_DIR, loadVectors } from './vectors/vector-file';

const K1: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('one') }] };
const FORMATS: WireFormat[] = ['classic', 'netstring+auth', 'netstring'];
const STATUS: Message = [str('t', 'status'), str('st', 'active'), str('src', 'alice')];

// ---- random messages --------------------------------------------------------------------

const nameArb = fc
  .array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-.:/ \xe9\xff()'), { minLength: 1, maxLength: 10 })
  .map((cs) => cs.join(''))
  .filter((n) => !n.startsWith('(') && n !== 'auth');

/** Bytes any format can carry in a string (classic forbids NUL, 0x13 and the nested-newline stand-ins). */
const CLASSIC_SAFE = [...Array(256).keys()].filter((c) => c !== 0 && (c < 0x0f || c > 0x1f));
const bytesArb = (classic: boolean, opts: { minLength?: number; maxLength?: number; newline?: boolean } = {}): fc.Arbitrary<Buffer> =>
  (classic ? fc.array(fc.constantFrom(...CLASSIC_SAFE.filter((c) => opts.newline !== false || c !== 0x0a)), { minLength: opts.minLength ?? 0, maxLength: opts.maxLength ?? 40 }) : fc.array(fc.integer({ min: 0, max: 255 }), { minLength: opts.minLength ?? 0, maxLength: opts.maxLength ?? 40 })).map((a) => Buffer.from(a));

function messageArb(classic: boolean): fc.Arbitrary<Message> {
  const leaf = fc.oneof<fc.Arbitrary<Field>[]>(
    fc.record({ name: nameArb, type: fc.constant(0 as const), value: bytesArb(classic) }),
    fc.record({ name: nameArb, type: fc.constant(1 as const), value: bytesArb(false) }),
    fc.record({ name: nameArb, type: fc.constant(4 as const), value: bytesArb(false) }),
    fc.record({ name: nameArb, type: fc.constant(3 as const), value: fc.array(bytesArb(classic, { minLength: 1, newline: false }), { minLength: 1, maxLength: 4 }) }),
  ).map((f) => ({ ...f }) as Field); // plain objects: fc.record's null prototype would fail deepEqual
  const { msg } = fc.letrec<{ msg: Message; field: Field }>((tie) => ({
    field: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.record({ name: nameArb, type: fc.constant(2 as const), value: tie('msg') }).map((f) => ({ ...f }) as Field)),
    msg: fc.array(tie('field'), { maxLength: 6 }),
  }));
  return msg;
}

const keysArb: fc.Arbitrary<AuthKeys> = fc
  .record({ index: fc.integer({ min: 0, max: 15 }), method: fc.constantFrom('crc' as const, 'md5' as const, 'sha1' as const, 'sha256' as const), key: bytesArb(false, { maxLength: 80 }) })
  .map((k) => ({ sendIndex: k.index, keys: [{ ...k, key: k.method === 'crc' ? Buffer.alloc(0) : k.key }] }));

test('decode(encode(m)) = m for random messages of every field type, in every format', () => {
  for (const format of FORMATS) {
    fc.assert(
      // netstring+auth signs the classic text too, so its messages must be classic-safe.
      fc.property(messageArb(format !== 'netstring'), keysArb, (m, keys) => {
        const r = decode(encode(m, format, keys), keys);
        assert.equal(r.format, format === 'classic' ? 'classic' : 'netstring');
        assert.equal(r.auth.verdict, 'ok');
        if (format === 'netstring') {
          assert.deepEqual(r.message, m);
        } else {
          // The inner auth field is appended last (modify-or-append on a message without one).
          assert.deepEqual(r.message.slice(0, -1), m);
          assert.equal(r.message.at(-1)!.name, 'auth');
        }
      }),
      { numRuns: 300 },
    );
  }
});

// ---- mutations ------------------------------------------------------------------------

const samplePackets: Buffer[] = (() => {
  const v = loadVectors().packets;
  return v.filter((_, i) => i % 7 === 0).map((p) => Buffer.from(p.packet_hex, 'hex'));
})();

type Mutation = { kind: 'flip'; at: number; byte: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: number[] } | { kind: 'delete'; at: number; len: number };

function mutate(p: Buffer, m: Mutation): Buffer {
  const at = p.length ? m.at % (p.length + 1) : 0;
  switch (m.kind) {
    case 'flip': {
      const q = Buffer.from(p);
      if (q.length) q[at % q.length] = m.byte;
      return q;
    }
    case 'truncate':
      return p.subarray(0, at);
    case 'insert':
      return Buffer.concat([p.subarray(0, at), Buffer.from(m.bytes), p.subarray(at)]);
    case 'delete':
      return Buffer.concat([p.subarray(0, at), p.subarray(at + m.len)]);
  }
}

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.constantFrom(0, 0x0a, 0x13, 0x14, 0x28, 0x29, 0x2c, 0x3a, 0x3d, 0x25, 0x23, 0x3c, 0x3e, 0x39, 0x30, 0x35, 0xff) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
);

test('mutated, truncated and extended packets give a DecodeError or a valid result, nothing else', () => {
  const keys: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('anc-lab-sha1-secret-2025') }] };
  fc.assert(
    fc.property(fc.constantFrom(...samplePackets), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (p, ms) => {
      const q = ms.reduce(mutate, p);
      try {
        const r = decode(q, keys);
        assert.ok(['ok', 'bad-signature', 'unknown-key-index', 'unsigned'].includes(r.auth.verdict));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        assert.ok(e.offset >= 0 && e.offset <= Math.max(q.length, MAXMSG), e.message);
      }
    }),
    { numRuns: 3000 },
  );
});

test('random bytes behind either magic give a DecodeError or a valid result', () => {
  fc.assert(
    fc.property(fc.constantFrom('>>>\n', '###\n', ''), fc.uint8Array({ maxLength: 200 }), (head, body) => {
      try {
        decode(Buffer.concat([Buffer.from(head), body]), K1);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
});

// ---- verdicts ---------------------------------------------------------------------------

test('no signature is "unsigned", in both encodings, with or without keys', () => {
  const classic = Buffer.from('>>>\nt=status\n<<<\n\0', 'latin1');
  const net = Buffer.from('###\n11:(0)t=status,%%%\n', 'latin1');
  for (const p of [classic, net]) {
    assert.equal(decode(p, K1).auth.verdict, 'unsigned');
    assert.equal(decode(p, null).auth.verdict, 'unsigned');
  }
});

test('a classic packet needs no trailing NUL and may have blank lines (heartbeat skips them)', () => {
  const p = encode(STATUS, 'classic', K1);
  assert.equal(decode(p.subarray(0, p.length - 1), K1).auth.verdict, 'ok');
  const blank = Buffer.from(p.toString('latin1').replace('st=active\n', 'st=active\n\n\n'), 'latin1');
  assert.deepEqual(decode(blank, K1).message, decode(p, K1).message);
  assert.equal(decode(blank, K1).auth.verdict, 'ok');
});

test('an index missing from authkeys is "unknown-key-index"; a wrong key is "bad-signature" naming the index', () => {
  const p = encode(STATUS, 'netstring+auth', { sendIndex: 4, keys: [{ index: 4, method: 'md5', key: Buffer.from('k') }] });
  assert.deepEqual(decode(p, K1).auth, { verdict: 'unknown-key-index', index: 4 });
  assert.deepEqual(decode(p, { sendIndex: 4, keys: [{ index: 4, method: 'md5', key: Buffer.from('x') }] }).auth, { verdict: 'bad-signature', index: 4, method: 'md5' });
  assert.deepEqual(decode(p, null).auth, { verdict: 'unverified' });
});

test('Q2 fixed: a netstring trailer is checked with the key of the index it names, not our send key', () => {
  const rotated: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('old') }, { index: 2, method: 'sha1', key: Buffer.from('new') }] };
  const fromPeer = encode(STATUS, 'netstring', { sendIndex: 2, keys: [{ index: 2, method: 'sha1', key: Buffer.from('new') }] });
  assert.deepEqual(decode(fromPeer, rotated).auth, { verdict: 'ok', index: 2, method: 'sha1' });
  // What heartbeat 3.0.6 computes (index 2's method with our outgoing key) does not match.
  const body = fromPeer.subarray(0, fromPeer.indexOf('%%%\n') + 4);
  assert.notEqual(authToken('sha1', Buffer.from('old'), body), fromPeer.toString('latin1').split(' ').at(-1)!.slice(0, -1));
});

test('classic verification uses the LAST auth field over the text of all other fields', () => {
  const p = encode(STATUS, 'classic', K1).toString('latin1');
  const lines = p.split('\n');
  const auth = lines.find((l) => l.startsWith('auth='))!;
  // A bogus earlier auth field is skipped in the signed text and ignored as the signature.
  const twoAuth = Buffer.from(p.replace('t=status\n', `t=status\nauth=1 0000\n`), 'latin1');
  assert.equal(decode(twoAuth, K1).auth.verdict, 'ok');
  // A bogus LAST auth field is the signature that counts.
  const lastBad = Buffer.from(p.replace(`${auth}\n`, `${auth}\nauth=1 0000\n`), 'latin1');
  assert.equal(decode(lastBad, K1).auth.verdict, 'bad-signature');
});

test('netstring+auth carries an inner auth field that nobody verifies but the trailer covers', () => {
  const p = encode(STATUS, 'netstring+auth', K1);
  const r = decode(p, K1);
  assert.match(get(r.message, 'auth')!, /^1 [0-9a-f]{40}$/);
  const tampered = Buffer.from(p.toString('latin1').replace(/auth=1 ./, 'auth=1 Z'), 'latin1');
  assert.equal(decode(tampered, K1).auth.verdict, 'bad-signature');
});

test('an existing auth field is replaced in place when re-signing', () => {
  const m: Message = [str('t', 'x'), str('auth', '9 stale'), str('y', 'z')];
  const r = decode(encode(m, 'classic', K1), K1);
  assert.deepEqual(r.message.map((f) => f.name), ['t', 'auth', 'y']);
  assert.equal(r.auth.verdict, 'ok');
});

// ---- encode errors ------------------------------------------------------------------------

test('encode refuses what the format cannot carry, naming the field', () => {
  const bad: [Message, WireFormat, RegExp][] = [
    [[str('t', 'a\0b')], 'classic', /field t: .*byte 0x00/],
    [[str('t', 'a\x13b')], 'classic', /field t: .*byte 0x13/],
    [[struct('s', [str('x', 'a\x14b')])], 'classic', /field s\.x: .*byte 0x14 at depth 1/],
    [[str('', 'x')], 'netstring', /name is empty/],
    [[str('a=b', 'x')], 'netstring', /cannot contain '='/],
    [[str('(1)x', 'x')], 'classic', /cannot start with '\('/],
    [[str('a\nb', 'x')], 'classic', /byte 0x0a/],
    [[str('\u0100', 'x')], 'netstring', /above U\+00FF/],
    [[list('l', [])], 'netstring', /empty list/],
    [[list('l', ['a', ''])], 'classic', /empty list item/],
    [[list('l', ['a\nb'])], 'classic', /byte 0x0a/],
    [[bin('big', Buffer.alloc(MAXMSG))], 'netstring', /over MAXMSG/],
  ];
  for (const [m, f, re] of bad) assert.throws(() => encode(m, f, K1), (e: unknown) => e instanceof EncodeError && re.test(e.message), `${re}`);
  let deep: Message = [str('leaf', 'x')];
  for (let i = 0; i < 17; i++) deep = [struct('s', deep)];
  assert.throws(() => encode(deep, 'netstring', K1), /nest at most 16/);
  assert.throws(() => encode(STATUS, 'netstring', { sendIndex: 3, keys: K1.keys }), /no key for the send index 3/);
});

test('netstring lengths are decimal byte counts of "(d)name=value"', () => {
  assert.equal(lenStr(Buffer.from('(0)t=status')).toString(), '11:(0)t=status,');
  const p = encode([bin('u', Buffer.alloc(16, 0xab))], 'netstring', K1);
  assert.ok(p.includes(Buffer.concat([Buffer.from('###\n21:(1)u='), Buffer.alloc(16, 0xab), Buffer.from(',%%%\n')])));
});

test('every packet of the three real captures verifies and re-encodes byte for byte', () => {
  const sha1: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('anc-lab-sha1-secret-2025') }] };
  const crc: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'crc', key: Buffer.alloc(0) }] };
  let n = 0;
  for (const [file, keys] of [['real-hb-sha1.pcap', sha1], ['real-hb-crc.pcap', crc], ['real-hb-sha1-restart-dt-bump.pcap', sha1]] as const) {
    for (const d of readCapture(fs.readFileSync(path.join(CAPTURE_DIR, file))).datagrams) {
      const r = decode(d.payload, keys);
      assert.equal(r.auth.verdict, 'ok', `${file}#${d.frame}`);
      assert.ok(encode(r.message, 'netstring+auth', keys).equals(d.payload), `${file}#${d.frame}`);
      n++;
    }
  }
  assert.equal(n, 10 + 11 + 1190);
});
