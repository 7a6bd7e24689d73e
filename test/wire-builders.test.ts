import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as b from '../lib/wire/builders';
import { decode, encode } from '../lib/wire/codec';
import { bin, get, getBuffer, getDec, getHex, modifyOrAppend, parseUuid, str, uuidText } from '../lib/wire/message';
import type { AuthKeys, Message } from '../lib/wire/types';
import { loadVectors } from './vectors/vector-file';

const ALICE = parseUuid('6a9e2f57-3f0b-4c5e-9b3a-2d1f0e4c8a71')!;
const BOB = parseUuid('00112233-4455-6677-8899-aabbccddeeff')!;
const CTX = { node: 'alice', uuid: ALICE, seq: 0x2a, generation: 3, nowSec: 0x5f5e1000, loadavg: '0.00 0.01 0.05 1/123 4567', ttl: 3 };
const keys = (index: number, method: 'sha1' | 'md5' | 'crc', key: string): AuthKeys => ({ sendIndex: index, keys: [{ index, method, key: Buffer.from(key) }] });
const names = (m: Message): string[] => m.map((f) => (f.type === 0 ? f.name : `(${f.type})${f.name}`));

const appendixStatus = (): Message => b.addControlFields(b.statusMessage({ status: 'active', deadtimeMs: 30000, flowControl: true }), CTX);

test('spec §5.1: the classic sha1 status packet, byte for byte', () => {
  const expected =
    '>>>\nt=status\nst=active\ndt=7530\nprotocol=1\nsrc=alice\n(1)srcuuid=ap4vVz8LTF6bOi0fDkyKcQ==\nseq=2a\nhg=3\nts=5f5e1000\n' +
    'ld=0.00 0.01 0.05 1/123 4567\nttl=3\nauth=1 3a2495ced748bae8b49e7806682c3946f822ef4a\n<<<\n\0';
  assert.equal(encode(appendixStatus(), 'classic', keys(1, 'sha1', 's3cret')).toString('latin1'), expected);
});

test('Appendix A: all six golden packets from the builders equal the vector file', () => {
  const byName = new Map(loadVectors().packets.map((p) => [p.name, p.packet_hex]));
  const rows: [string, AuthKeys, string, string][] = [
    ['sha1', keys(1, 'sha1', 's3cret'), '1 3a2495ced748bae8b49e7806682c3946f822ef4a', '42:1 42b5235ad69a5ab79f3b5e3e5c3e244b1ae1e46a,'],
    ['md5', keys(2, 'md5', 's3cret'), '2 18823993d4dcefd47e838d92a8f718f9', '34:2 0cfe14a517a877b1d117b49b279dea0c,'],
    ['crc', keys(3, 'crc', ''), '3 2c2581ce', '10:3 b9e6a544,'],
  ];
  for (const [method, k, inner, trailer] of rows) {
    const classic = encode(appendixStatus(), 'classic', k);
    const net = encode(appendixStatus(), 'netstring+auth', k);
    assert.equal(get(decode(classic, k).message, 'auth'), inner, method);
    assert.ok(net.toString('latin1').endsWith(`%%%\n${trailer}`), method);
    assert.equal(classic.toString('hex'), byName.get(`appendix-a-${method}-classic`), `${method} classic`);
    assert.equal(net.toString('hex'), byName.get(`appendix-a-${method}-netstring`), `${method} netstring`);
  }
});

test('Appendix A: the classic auth input is the 143-byte NOHEAD text', () => {
  const net = encode(appendixStatus(), 'classic', keys(1, 'sha1', 's3cret')).toString('latin1');
  const text = net.slice(4, net.indexOf('auth='));
  assert.equal(text.length, 143);
  assert.equal(text, 't=status\nst=active\ndt=7530\nprotocol=1\nsrc=alice\n(1)srcuuid=ap4vVz8LTF6bOi0fDkyKcQ==\nseq=2a\nhg=3\nts=5f5e1000\nld=0.00 0.01 0.05 1/123 4567\nttl=3\n');
});

test('Appendix A: a newline in a string is sent as 0x13 and signed in that form', () => {
  const k = keys(1, 'sha1', 's3cret');
  const pkt = encode([str('t', 'x'), str('info', 'multi\nline')], 'classic', k);
  assert.ok(pkt.includes(Buffer.from('info=multi\x13line\n', 'latin1')));
  assert.equal(get(decode(pkt, k).message, 'info'), 'multi\nline');
  assert.equal(decode(pkt, k).auth.verdict, 'ok');
});

test('status: protocol=1 only with flow control; dt is hex ms', () => {
  assert.deepEqual(names(b.statusMessage({ status: 'up', deadtimeMs: 10000, flowControl: false })), ['t', 'st', 'dt']);
  assert.equal(get(b.statusMessage({ status: 'up', deadtimeMs: 10000, flowControl: false }), 'dt'), '2710');
});

test('NS_ messages get no seq and no ld, and the spec §5.2 field order', () => {
  const m = b.addControlFields(b.rexmitMessage('bob', 1234, 1234), { ...CTX, seq: undefined, destUuid: BOB });
  assert.deepEqual(names(m), ['t', 'dest', 'firstseq', 'lastseq', '(1)destuuid', 'src', '(1)srcuuid', 'hg', 'ts', 'ttl']);
  assert.equal(get(m, 'firstseq'), '1234');
  assert.equal(get(m, 'lastseq'), '1234');
  assert.ok(getBuffer(m, 'destuuid')!.equals(BOB));
  const ack = b.addControlFields(b.ackMessage('bob', 0xd3b), { ...CTX, destUuid: BOB });
  assert.deepEqual(names(ack), ['t', 'dest', 'ackseq', '(1)destuuid', 'src', '(1)srcuuid', 'hg', 'ts', 'ttl']);
  assert.equal(getHex(ack, 'ackseq'), 0xd3b);
  const nak = b.addControlFields(b.nakRexmitMessage('bob', 0x10, 'seqno not found'), CTX);
  assert.deepEqual(names(nak), ['t', 'firstseq', 'dest', 'info', 'src', '(1)srcuuid', 'hg', 'ts', 'ttl']);
  assert.equal(get(nak, 'firstseq'), '10');
});

test('NS_ messages keep an existing src; sequenced messages get theirs replaced in place', () => {
  const ns = b.addControlFields([str('t', 'NS_ackmsg'), str('src', 'relay'), str('dest', 'bob'), str('ackseq', '1')], CTX);
  assert.equal(get(ns, 'src'), 'relay');
  const seq = b.addControlFields([str('t', 'resource'), str('src', 'old'), str('rsc_hold', 'all')], CTX);
  assert.deepEqual(names(seq), ['t', 'src', 'rsc_hold', '(1)srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl']);
  assert.equal(get(seq, 'src'), 'alice');
});

test('a sequenced message without a seq is a RangeError, a short UUID too', () => {
  assert.throws(() => b.addControlFields(b.startingMessage(), { ...CTX, seq: undefined }), /t=starting needs a sequence number/);
  assert.throws(() => b.addControlFields(b.startingMessage(), { ...CTX, uuid: Buffer.alloc(4) }), /16 bytes/);
});

test('the message catalogue: field order of every builder (spec §5)', () => {
  const cases: [Message, string[], Record<string, string>][] = [
    [b.reqnodesMessage('bob'), ['t', 'dest'], { t: 'reqnodes' }],
    [b.repnodesMessage('bob', ['alice', 'bob'], []), ['dest', 't', 'nodelist', 'delnodelist'], { nodelist: 'alice bob ', delnodelist: ' ' }],
    [b.repnodesMessage('bob', ['alice'], ['carol', 'dave']), ['dest', 't', 'nodelist', 'delnodelist'], { delnodelist: 'carol dave ' }],
    [b.startingMessage(), ['t'], { t: 'starting' }],
    [b.resourceMessage({ rscHold: 'none', stable: false, info: 'shutdown' }), ['t', 'rsc_hold', 'rtype', 'isstable', 'info'], { rtype: 'full', isstable: '0' }],
    [b.resourceMessage({ rscHold: 'all', stable: true }), ['t', 'rsc_hold', 'rtype', 'isstable'], { isstable: '1' }],
    [b.resourceScriptMessage('foreign', 'mach_down'), ['t', 'rsc_hold', 'info'], { t: 'resource', info: 'mach_down' }],
    [b.askResourcesMessage('local', 'me'), ['t', 'rsc_hold', 'info'], { t: 'ask_resources' }],
    [b.ipRequestMessage('10.0.0.1'), ['t', 'ipaddr'], { t: 'ip-request' }],
    [b.ipRequestRespMessage('bob', '10.0.0.1', true), ['t', 'dest', 'ipaddr', 'weown', 'ok'], { weown: 'yes', ok: 'OK' }],
    [b.takeoverMessage('failback'), ['t', 'rsc_hold'], { t: 'hb_takeover', rsc_hold: 'failback' }],
    [b.shutdoneMessage(), ['t', 'st'], { t: 'shutdone', st: 'dead' }],
  ];
  for (const [m, order, values] of cases) {
    assert.deepEqual(names(m), order);
    for (const [k, v] of Object.entries(values)) assert.equal(get(m, k), v, `${get(m, 't')} ${k}`);
  }
});

test('real capture packets are rebuilt exactly by builders + control fields', () => {
  // n1's shutdone and resource(shutdown) from the restart capture, rebuilt from their values.
  const byName = new Map(loadVectors().packets.map((p) => [p.name, p]));
  const k: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('anc-lab-sha1-secret-2025') }] };
  let checked = 0;
  for (const v of byName.values()) {
    if (!v.source.startsWith('real-hb-sha1-restart')) continue;
    const m = decode(Buffer.from(v.packet_hex, 'hex'), k).message;
    const t = get(m, 't');
    const base =
      t === 'shutdone' ? b.shutdoneMessage()
      : t === 'starting' ? b.startingMessage()
      : t === 'NS_ackmsg' ? b.ackMessage(get(m, 'dest')!, getHex(m, 'ackseq')!)
      : t === 'status' ? b.statusMessage({ status: get(m, 'st')!, deadtimeMs: getHex(m, 'dt')!, flowControl: get(m, 'protocol') === '1' })
      : t === 'reqnodes' ? b.reqnodesMessage(get(m, 'dest')!)
      : null;
    if (base === null) continue;
    const ctx = { node: get(m, 'src')!, uuid: getBuffer(m, 'srcuuid')!, seq: getHex(m, 'seq') ?? undefined, generation: getHex(m, 'hg')!, nowSec: getHex(m, 'ts')!, loadavg: get(m, 'ld') ?? '', ttl: getDec(m, 'ttl')!, destUuid: getBuffer(m, 'destuuid') };
    assert.equal(encode(b.addControlFields(base, ctx), 'netstring+auth', k).toString('hex'), v.packet_hex, v.name);
    checked++;
  }
  assert.ok(checked >= 200, `${checked} packets rebuilt`);
});

test('message helpers', () => {
  const m = modifyOrAppend([str('a', '1'), str('b', '2')], str('a', '3'));
  assert.deepEqual(names(m), ['a', 'b']);
  assert.equal(get(m, 'a'), '3');
  assert.equal(get([bin('u', ALICE)], 'u'), undefined, 'get reads strings only');
  assert.equal(uuidText(ALICE), '6a9e2f57-3f0b-4c5e-9b3a-2d1f0e4c8a71');
  assert.equal(parseUuid('not-a-uuid'), null);
  assert.equal(getHex([str('x', 'zz')], 'x'), null);
  assert.equal(getDec([str('x', '-12')], 'x'), -12);
});
