// Generates test/vectors/wire-vectors.json: `node dist/test/vectors/build-vectors.js`.
// Sources: spec §6.2 token vectors, spec Appendix A golden packets (rebuilt from the builders
// and checked against the values the spec prints), every packet type of the three real
// heartbeat captures in test/vectors/captures (copies of /work/shared/fixtures), synthetic
// packets for the field types heartbeat's haresources mode never sends, and malformed
// datagrams with the DecodeErrorCode each must produce. The generator refuses to write the
// file if any spec value is not reproduced or any expectation does not hold.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { readCapture } from '../../lib/pcap/reader';
import { authToken } from '../../lib/wire/auth';
import { addControlFields, statusMessage } from '../../lib/wire/builders';
import { decode, encode } from '../../lib/wire/codec';
import { DecodeError } from '../../lib/wire/errors';
import { lenStr } from '../../lib/wire/lenstr';
import { MAXMSG, NESTED_NEWLINE_SYMS } from '../../lib/wire/limits';
import { bin, get, list, str, struct } from '../../lib/wire/message';
import type { AuthKeys, AuthMethod, DecodeErrorCode, Message, WireFormat } from '../../lib/wire/types';
import { CAPTURE_DIR, fromAuthKeys, toJsonFields, VECTOR_FILE, type MalformedVector, type PacketVector, type TokenVector, type VectorFile } from './vector-file';

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const keyset = (sendIndex: number, ...keys: [number, AuthMethod, string][]): AuthKeys => ({
  sendIndex,
  keys: keys.map(([index, method, key]) => ({ index, method, key: Buffer.from(key, 'utf8') })),
});

// ---- tokens ---------------------------------------------------------------------------

function tokenVectors(): TokenVector[] {
  const out: TokenVector[] = [];
  const add = (method: AuthMethod, key: string, data: Buffer, expected?: string): void => {
    const token = authToken(method, Buffer.from(key, 'utf8'), data);
    if (expected !== undefined) assert.equal(token, expected, `spec §6.2 ${method} over ${JSON.stringify(data.toString('latin1'))}`);
    out.push({ method, key, data_hex: data.toString('hex'), token });
  };
  // Spec §6.2, key `secret` (crc ignores the key; heartbeat's crc takes none).
  const spec: [string, string, string, string][] = [
    ['', 'ffffffff', '5c8db03f04cec0f43bcb060023914190', '25af6174a0fcecc4d346680a72b7ce644b9a88e8'],
    ['abc', 'd3e8c673', 'd9bf7c3a63eae7031c4e6d7c9b78ba93', '694abd10842d161ddbc54df8a0d57cf64d0dbcc9'],
    ['t=status\nst=active\n', 'b7e1ed97', '0b8613f5699fe06384fb2e94291b385a', '07f984b16bbabff2152a828d70f0cd018933e7d8'],
  ];
  for (const [d, crc, md5, sha1] of spec) {
    add('crc', '', latin1(d), crc);
    add('md5', 'secret', latin1(d), md5);
    add('sha1', 'secret', latin1(d), sha1);
    add('sha256', 'secret', latin1(d));
  }
  // Beyond the spec table: keys longer than the 64-byte HMAC block, bytes >= 0x80, an
  // empty key, and a crc whose %lx text is shorter than 8 digits (no zero padding).
  const long = 'k'.repeat(65) + '#x';
  const high = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37 + 128) & 0xff));
  for (const m of ['md5', 'sha1', 'sha256'] as const) {
    add(m, long, high);
    add(m, '', latin1('abc'));
    add(m, 'ключ', high.subarray(0, 3));
  }
  add('crc', '', high);
  let n = 0;
  while (authToken('crc', Buffer.alloc(0), latin1(String(n))).length >= 8) n++;
  add('crc', '', latin1(String(n)));
  return out;
}

// ---- packets ----------------------------------------------------------------------------

function wrongKeys(k: AuthKeys, kind: 'key' | 'index'): AuthKeys {
  const send = k.keys.find((x) => x.index === k.sendIndex)!;
  if (kind === 'index') {
    const other = (send.index + 1) % 16;
    return keyset(other, [other, send.method, 'another-index-key']);
  }
  // crc has no key: "a different key" is then an HMAC key at the same index.
  return keyset(send.index, [send.index, send.method === 'crc' ? 'md5' : send.method, 'wrong-key']);
}

function packetVector(name: string, source: string, packet: Buffer, keys: AuthKeys, wrong: 'key' | 'index' = 'key'): PacketVector {
  const r = decode(packet, keys);
  assert.equal(r.auth.verdict, 'ok', `${name}: must verify with its keys`);
  const reencodeAs: WireFormat = r.format === 'classic' ? 'classic' : get(r.message, 'auth') !== undefined ? 'netstring+auth' : 'netstring';
  assert.ok(encode(r.message, reencodeAs, keys).equals(packet), `${name}: must re-encode byte for byte`);
  const wk = wrongKeys(keys, wrong);
  const w = decode(packet, wk);
  assert.notEqual(w.auth.verdict, 'ok', `${name}: must fail with the wrong keys`);
  return {
    name,
    source,
    authkeys: fromAuthKeys(keys),
    wrong_authkeys: fromAuthKeys(wk),
    packet_hex: packet.toString('hex'),
    format: r.format,
    reencode_as: reencodeAs,
    fields: toJsonFields(r.message),
    auth: r.auth.verdict,
    auth_wrong_key: w.auth.verdict,
  };
}

const ALICE_UUID = Buffer.from('6a9e2f573f0b4c5e9b3a2d1f0e4c8a71', 'hex');
const APPENDIX_CTX = { node: 'alice', uuid: ALICE_UUID, seq: 0x2a, generation: 3, nowSec: 0x5f5e1000, loadavg: '0.00 0.01 0.05 1/123 4567', ttl: 3 };

/** The netstring sha1 packet exactly as spec Appendix A dumps it. */
const APPENDIX_SHA1_NETSTRING_HEX =
  '2323230a31313a283029743d73746174' +
  '75732c31323a28302973743d61637469' +
  '76652c31303a28302964743d37353330' +
  '2c31333a28302970726f746f636f6c3d' +
  '312c31323a2830297372633d616c6963' +
  '652c32373a283129737263757569643d' +
  '6a9e2f573f0b4c5e9b3a2d1f0e4c8a71' +
  '2c393a2830297365713d32612c373a28' +
  '302968673d332c31343a28302974733d' +
  '35663565313030302c33313a2830296c' +
  '643d302e303020302e303120302e3035' +
  '20312f31323320343536372c383a2830' +
  '2974746c3d332c35303a283029617574' +
  '683d3120336132343935636564373438' +
  '62616538623439653738303636383263' +
  '3339343666383232656634612c252525' +
  '0a34323a312034326235323335616436' +
  '39613561623739663362356533653563' +
  '33653234346231616531653436612c';

function appendixPackets(): PacketVector[] {
  const msg = addControlFields(statusMessage({ status: 'active', deadtimeMs: 30000, flowControl: true }), APPENDIX_CTX);
  const rows: { keys: AuthKeys; inner: string; classicLen: number; trailer: string; netLen: number }[] = [
    { keys: keyset(1, [1, 'sha1', 's3cret']), inner: '1 3a2495ced748bae8b49e7806682c3946f822ef4a', classicLen: 200, trailer: '42:1 42b5235ad69a5ab79f3b5e3e5c3e244b1ae1e46a,', netLen: 303 },
    { keys: keyset(2, [2, 'md5', 's3cret']), inner: '2 18823993d4dcefd47e838d92a8f718f9', classicLen: 192, trailer: '34:2 0cfe14a517a877b1d117b49b279dea0c,', netLen: 287 },
    { keys: keyset(3, [3, 'crc', '']), inner: '3 2c2581ce', classicLen: 168, trailer: '10:3 b9e6a544,', netLen: 239 },
  ];
  const out: PacketVector[] = [];
  for (const row of rows) {
    const method = row.keys.keys[0]!.method;
    const classic = encode(msg, 'classic', row.keys);
    const net = encode(msg, 'netstring+auth', row.keys);
    assert.equal(classic.length, row.classicLen, `Appendix A ${method} classic length`);
    assert.ok(classic.toString('latin1').includes(`\nauth=${row.inner}\n<<<\n\0`), `Appendix A ${method} inner auth`);
    assert.equal(net.length, row.netLen, `Appendix A ${method} netstring length`);
    assert.ok(net.toString('latin1').endsWith(`%%%\n${row.trailer}`), `Appendix A ${method} trailer`);
    if (method === 'sha1') assert.equal(net.toString('hex'), APPENDIX_SHA1_NETSTRING_HEX, 'Appendix A sha1 netstring hex dump');
    out.push(packetVector(`appendix-a-${method}-classic`, 'spec Appendix A (classic, glue <= 1.0.9)', classic, row.keys));
    out.push(packetVector(`appendix-a-${method}-netstring`, 'spec Appendix A (netstring + inner auth, glue >= 1.0.10)', net, row.keys, method === 'crc' ? 'index' : 'key'));
  }
  return out;
}

const FIXTURE_KEYS: Record<string, AuthKeys> = {
  'real-hb-sha1.pcap': keyset(1, [1, 'sha1', 'anc-lab-sha1-secret-2025']),
  'real-hb-crc.pcap': keyset(1, [1, 'crc', '']),
  'real-hb-sha1-restart-dt-bump.pcap': keyset(1, [1, 'sha1', 'anc-lab-sha1-secret-2025']),
};

/**
 * Every packet of the two small captures; of the 1190-packet restart capture every packet
 * that is not a routine status/ack, every `dt` change, and every fifth packet besides.
 */
function capturePackets(): PacketVector[] {
  const out: PacketVector[] = [];
  for (const [file, keys] of Object.entries(FIXTURE_KEYS)) {
    const cap = readCapture(fs.readFileSync(path.join(CAPTURE_DIR, file)));
    const all = file !== 'real-hb-sha1-restart-dt-bump.pcap';
    let lastDt: string | undefined;
    cap.datagrams.forEach((d, i) => {
      const m = decode(d.payload, null).message;
      const t = get(m, 't');
      const dt = get(m, 'dt');
      const dtChange = dt !== undefined && dt !== lastDt;
      if (dt !== undefined) lastDt = dt;
      if (!(all || i % 5 === 0 || dtChange || (t !== 'status' && t !== 'NS_ackmsg'))) return;
      const base = file.replace(/\.pcap$/, '');
      out.push(packetVector(`${base}#${d.frame}-${t}`, `${file} frame ${d.frame} (${d.src.address}:${d.src.port} -> ${d.dst.address}:${d.dst.port})`, d.payload, keys, i % 2 ? 'index' : 'key'));
    });
  }
  return out;
}

/** Field types 2-4, newline mapping and the nesting limit, which haresources mode never sends. */
function syntheticPackets(): PacketVector[] {
  const nested = (levels: number): Message => (levels === 0 ? [str('leaf', 'x')] : [str('level', String(levels)), struct('s', nested(levels - 1))]);
  const typed: Message = [
    str('t', 'cib-update'),
    str('info', 'multi\nline'),
    str('empty', ''),
    str('eq', 'a=b=c'),
    bin('blob', Buffer.from([0, 1, 2, 0x13, 0x0a, 0xff])),
    bin('nothing', Buffer.alloc(0)),
    list('nodes', ['alice', 'bob', 'carol dave']),
    struct('cib', [str('a', '1'), str('text', 'two\nlines'), struct('inner', [str('b', '2'), list('l', ['x'])]), bin('u', ALICE_UUID)]),
    { name: '_compressed_payload', type: 4, value: Buffer.from('789c4b4c4a0600024d0127', 'hex') },
    str('src', 'alice'),
  ];
  const out: PacketVector[] = [];
  const variants: [string, WireFormat, AuthKeys][] = [
    ['classic-sha1', 'classic', keyset(1, [1, 'sha1', 'cluster key'])],
    ['netstring-auth-md5', 'netstring+auth', keyset(2, [2, 'md5', 'cluster key'], [7, 'sha1', 'old key'])],
    ['netstring-sha256', 'netstring', keyset(15, [15, 'sha256', 'sha256 key'])],
    ['classic-index0-crc', 'classic', keyset(0, [0, 'crc', ''])],
  ];
  for (const [label, format, keys] of variants) {
    out.push(packetVector(`synthetic-all-types-${label}`, 'synthetic: every wire field type', encode(typed, format, keys), keys));
  }
  const deep = nested(16);
  out.push(packetVector('synthetic-max-depth-netstring', 'synthetic: 16 nested structs (MAXDEPTH)', encode(deep, 'netstring', keyset(1, [1, 'sha1', 'k'])), keyset(1, [1, 'sha1', 'k'])));
  out.push(packetVector('synthetic-max-depth-classic', 'synthetic: 16 nested structs (MAXDEPTH)', encode(deep, 'classic', keyset(1, [1, 'sha1', 'k'])), keyset(1, [1, 'sha1', 'k']), 'index'));
  return out;
}

// ---- malformed --------------------------------------------------------------------------

/** A netstring body: `###\n` + fields + `%%%\n` from raw "(d)name=value" strings. */
function ns(...fields: (string | Buffer)[]): Buffer {
  return Buffer.concat([latin1('###\n'), ...fields.map((f) => lenStr(typeof f === 'string' ? latin1(f) : f)), latin1('%%%\n')]);
}

function deepNetstring(levels: number): Buffer {
  return levels === 0 ? ns() : ns(Buffer.concat([latin1('(2)s='), deepNetstring(levels - 1)]));
}

/** A classic message whose struct nesting reaches `levels` (the innermost struct is a stub). */
function deepClassic(levels: number, depth = 0): Buffer {
  const inner = levels === 1 ? latin1('>>>') : Buffer.from(deepClassic(levels - 1, depth + 1));
  const sym = NESTED_NEWLINE_SYMS[depth] ?? 0x12;
  const text = Buffer.from(inner).map((c) => (c === 0x0a ? sym : c));
  return Buffer.concat([latin1('>>>\n(2)s='), Buffer.from(text), latin1('\n<<<\n')]);
}

function malformedVectors(): MalformedVector[] {
  const sha1 = encode(addControlFields(statusMessage({ status: 'active', deadtimeMs: 30000, flowControl: true }), APPENDIX_CTX), 'netstring+auth', keyset(1, [1, 'sha1', 's3cret']));
  const body = sha1.subarray(0, sha1.indexOf('%%%\n') + 4);
  const c = (s: string): Buffer => latin1(s);
  const cases: [string, Buffer, DecodeErrorCode][] = [
    ['empty datagram', Buffer.alloc(0), 'empty'],
    ['over MAXMSG (256 KiB + 1)', Buffer.concat([c('>>>\nt=status\n<<<\n'), Buffer.alloc(MAXMSG + 1 - 17, 0x61)]), 'too-large'],
    ['exactly MAXMSG, no end marker', Buffer.concat([c('>>>\nx='), Buffer.alloc(MAXMSG - 6, 0x61)]), 'truncated'],
    ['not a heartbeat packet', c('hello world\n'), 'bad-magic'],
    ['three bytes of classic magic', c('>>>'), 'bad-magic'],
    ['netstring magic without newline', c('###'), 'bad-magic'],
    ['heartbeat W5 abort packet', c('###\n5:abcde,%%%\n'), 'bad-type'],
    ['netstring type digit 5 (in-memory only)', ns('(5)a=b'), 'bad-type'],
    ['netstring type digit 6', ns('(6)a=b'), 'bad-type'],
    ['netstring type digit 7', ns('(7)a=b'), 'bad-type'],
    ['netstring type digit 8', ns('(8)a=b'), 'bad-type'],
    ['netstring type digit 9', ns('(9)a=b'), 'bad-type'],
    ['netstring type not a digit', ns('(x)a=b'), 'bad-type'],
    ['netstring field shorter than (d)', ns('(0'), 'bad-type'],
    ['classic type digit 6', c('>>>\n(6)a=b\n<<<\n\0'), 'bad-type'],
    ['classic type digit 9', c('>>>\n(9)a=b\n<<<\n\0'), 'bad-type'],
    ['classic type (0) is rejected', c('>>>\n(0)a=b\n<<<\n\0'), 'bad-type'],
    ['classic type (5) is rejected', c('>>>\n(5)a=b\n<<<\n\0'), 'bad-type'],
    ['classic type prefix without )', c('>>>\n(1x=QQ==\n<<<\n\0'), 'bad-type'],
    ['netstring only the start marker', c('###\n'), 'truncated'],
    ['netstring truncated inside a field', sha1.subarray(0, 10), 'truncated'],
    ['netstring truncated after a length', c('###\n11'), 'truncated'],
    ['netstring truncated after the colon', c('###\n11:'), 'truncated'],
    ['netstring truncated before %%%', sha1.subarray(0, body.length - 4), 'truncated'],
    ['netstring truncated inside %%%', sha1.subarray(0, body.length - 2), 'truncated'],
    ['netstring length overruns the datagram', c('###\n200:(0)t=status,%%%\n'), 'truncated'],
    ['netstring huge length', c('###\n99999999999:(0)t=x,%%%\n'), 'bad-netstring'],
    ['netstring length over MAXMSG', c('###\n262145:(0)t=x,%%%\n'), 'bad-netstring'],
    ['netstring length not decimal', c('###\nab:(0)t=x,%%%\n'), 'bad-netstring'],
    ['netstring length without colon', c('###\n11;(0)t=status,%%%\n'), 'bad-netstring'],
    ['netstring field without comma', c('###\n10:(0)t=status%%%\n'), 'bad-netstring'],
    ['netstring field without =', ns('(0)tstatus'), 'bad-field'],
    ['netstring empty field name', ns('(0)=status'), 'bad-field'],
    ['classic missing <<<', c('>>>\nt=status\nst=active\n'), 'truncated'],
    ['classic missing <<< before NUL', c('>>>\nt=status\n\0'), 'truncated'],
    ['classic last line without newline', c('>>>\nt=status'), 'truncated'],
    ['classic line without =', c('>>>\nt=status\nfoo\n<<<\n\0'), 'bad-field'],
    ['classic empty field name', c('>>>\n=status\n<<<\n\0'), 'bad-field'],
    ['classic empty name after type', c('>>>\n(1)=QQ==\n<<<\n\0'), 'bad-field'],
    ['classic NUL inside a line', c('>>>\nt=sta\0tus\n<<<\n\0'), 'bad-field'],
    ['classic bytes after <<< and NUL', c('>>>\nt=status\n<<<\n\0\0'), 'bad-field'],
    ['classic text after <<<', c('>>>\nt=status\n<<<\nx=y\n'), 'bad-field'],
    ['classic base64 missing padding', c('>>>\n(1)srcuuid=ap4vVz8LTF6bOi0fDkyKcQ=\n<<<\n\0'), 'bad-base64'],
    ['classic base64 non-canonical bits', c('>>>\n(1)x=QR==\n<<<\n\0'), 'bad-base64'],
    ['classic base64 bad character', c('>>>\n(1)x=ap4v*z8L\n<<<\n\0'), 'bad-base64'],
    ['classic compressed field bad base64', c('>>>\n(4)z=!!!!\n<<<\n\0'), 'bad-base64'],
    ['netstring trailer without space', Buffer.concat([body, c('9:1deadbeef,')]), 'bad-trailer'],
    ['netstring trailer index not a number', Buffer.concat([body, c('10:x deadbeef,')]), 'bad-trailer'],
    ['netstring trailer truncated', sha1.subarray(0, sha1.length - 5), 'bad-trailer'],
    ['netstring trailer length not decimal', Buffer.concat([body, c('x:1 ab,')]), 'bad-trailer'],
    ['netstring bytes after the trailer', Buffer.concat([sha1, c('\0')]), 'bad-trailer'],
    ['classic auth field not "<n> <token>"', c('>>>\nt=status\nauth=garbage\n<<<\n\0'), 'bad-trailer'],
    ['netstring structs 17 deep', deepNetstring(17), 'too-deep'],
    ['classic structs 17 deep', deepClassic(17), 'too-deep'],
    ['netstring struct value is not a message', ns('(2)s=hello'), 'bad-field'],
    ['netstring stray bytes after nested %%%', ns(Buffer.concat([latin1('(2)s='), ns('(0)a=b'), latin1('x')])), 'bad-field'],
    ['classic struct value is not a message', c('>>>\n(2)s=hello\n<<<\n\0'), 'bad-field'],
    ['netstring empty list', ns('(3)l='), 'bad-netstring'],
    ['netstring empty list item', ns('(3)l=0:,'), 'bad-netstring'],
    ['classic list item overruns', c('>>>\n(3)l=5:ab,\n<<<\n\0'), 'bad-netstring'],
  ];
  return cases.map(([name, packet, code]) => {
    try {
      decode(packet, null);
    } catch (e) {
      assert.ok(e instanceof DecodeError, `${name}: threw ${String(e)}`);
      assert.equal(e.code, code, `${name}: ${e.message}`);
      return { name, packet_hex: packet.toString('hex'), code };
    }
    assert.fail(`${name}: decoded without error`);
  });
}

function main(): void {
  const file: VectorFile = {
    tokens: tokenVectors(),
    packets: [...appendixPackets(), ...syntheticPackets(), ...capturePackets()],
    malformed: malformedVectors(),
  };
  const types = new Set(file.packets.map((p) => get(decode(Buffer.from(p.packet_hex, 'hex'), null).message, 't') ?? '(none)'));
  // One vector per line: readable diffs, and the 256 KiB malformed packets stay on their own lines.
  const section = (key: keyof VectorFile): string => `  ${JSON.stringify(key)}: [\n${file[key].map((v) => `    ${JSON.stringify(v)}`).join(',\n')}\n  ]`;
  fs.writeFileSync(VECTOR_FILE, `{\n${(['tokens', 'packets', 'malformed'] as const).map(section).join(',\n')}\n}\n`);
  process.stdout.write(`${VECTOR_FILE}: ${file.tokens.length} tokens, ${file.packets.length} packets (t = ${[...types].sort().join(', ')}), ${file.malformed.length} malformed\n`);
}

main();
