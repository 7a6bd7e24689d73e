// The TypeScript transport's pure parts: retransmit history, beat schedule, interface addressing,
// received-packet checks and option validation. No sockets, no clocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as os from 'node:os';

import { delayUntil, monoNowMs, nextSlot } from '../lib/transport/clock';
import { SendHistory } from '../lib/transport/history';
import { isForUs, readControl, verdictReason } from '../lib/transport/inbound';
import { broadcastAddress, interfaceBroadcast, interfaceIPv4, MediumError, mediumText, type Interfaces } from '../lib/transport/media-ts';
import type { Medium, TransportOptions } from '../lib/transport/types';
import { checkTransportOptions, createUdpTransport } from '../lib/transport/udp';
import { bin, str } from '../lib/wire/message';

const b = (s: string) => Buffer.from(s);

test('history: re-sends stored bytes, then throttles that seq for max_rexmit_delay − 10 ms', () => {
  const h = new SendHistory(1, 250);
  h.add(1, b('one'));
  h.add(2, b('two'));
  assert.deepEqual(h.take(2, 1000), { result: 'sent', bytes: b('two') });
  assert.deepEqual(h.take(2, 1239), { result: 'throttled' });
  assert.deepEqual(h.take(1, 1239), { result: 'sent', bytes: b('one') }, 'throttling is per seq');
  assert.deepEqual(h.take(2, 1240), { result: 'sent', bytes: b('two') });
});

test('history: too-high above the last seq sent, too-low at or below the last evicted one', () => {
  const h = new SendHistory(5, 250, 3);
  assert.equal(h.take(5, 0).result, 'too-high', 'nothing sent yet');
  assert.equal(h.take(4, 0).result, 'too-low', 'before the first seq of this process');
  for (let seq = 5; seq <= 9; seq++) h.add(seq, b(`p${seq}`));
  // Ring of 3: 5 and 6 evicted, 7..9 kept.
  assert.equal(h.take(6, 0).result, 'too-low');
  assert.equal(h.take(10, 0).result, 'too-high');
  assert.deepEqual(h.take(7, 0), { result: 'sent', bytes: b('p7') });
  assert.deepEqual(h.take(9, 0), { result: 'sent', bytes: b('p9') });
});

test('history: a gap in the seqs sent is not-found, and 500 slots by default', () => {
  const h = new SendHistory(1);
  h.add(1, b('a'));
  h.add(3, b('c'));
  assert.equal(h.take(2, 0).result, 'not-found');
  const full = new SendHistory(1);
  for (let seq = 1; seq <= 501; seq++) full.add(seq, b(String(seq)));
  assert.equal(full.take(1, 0).result, 'too-low');
  assert.equal(full.take(2, 0).result, 'sent');
});

test('schedule: slots are t0 + k·period; a late wake-up skips missed slots instead of bursting', () => {
  assert.equal(nextSlot(1000, 100, 1000), 1100);
  assert.equal(nextSlot(1000, 100, 1099.9), 1100);
  assert.equal(nextSlot(1000, 100, 1100), 1200, 'strictly after now');
  assert.equal(nextSlot(1000, 100, 1100.4), 1200, 'a little late: the next slot keeps the phase');
  assert.equal(nextSlot(1000, 100, 1750), 1800, 'stalled through 6 slots: resume on the grid');
  assert.equal(nextSlot(1000, 100, 900), 1100, 'never before the first slot');
  assert.throws(() => nextSlot(0, 0, 5), /period must be > 0/);
});

test('clock: timer delays round up so a deadline is never served early; mono is monotonic', () => {
  assert.equal(delayUntil(100.2, 100), 1);
  assert.equal(delayUntil(100, 100), 0);
  assert.equal(delayUntil(90, 100), 0);
  // Far deadlines saturate (Node would fire a longer setTimeout after 1 ms); NaN is "now".
  assert.equal(delayUntil(1e15, 0), 2 ** 31 - 1);
  assert.equal(delayUntil(Infinity, 0), 2 ** 31 - 1);
  assert.equal(delayUntil(NaN, 0), 0);
  const a = monoNowMs();
  const c = monoNowMs();
  assert.ok(c >= a);
});

test('broadcast address from address and netmask', () => {
  assert.equal(broadcastAddress('198.18.0.1', '255.255.255.0'), '198.18.0.255');
  assert.equal(broadcastAddress('10.1.2.3', '255.255.240.0'), '10.1.15.255');
  assert.equal(broadcastAddress('192.168.7.9', '255.255.255.252'), '192.168.7.11');
  assert.equal(broadcastAddress('10.0.0.1', '255.0.0.0'), '10.255.255.255');
});

const info = (address: string, netmask: string, family: 'IPv4' | 'IPv6' = 'IPv4'): os.NetworkInterfaceInfo =>
  ({ address, netmask, family, mac: '00:00:00:00:00:00', internal: false, cidr: null, scopeid: 0 }) as os.NetworkInterfaceInfo;

const ifs: Interfaces = {
  eth0: [info('fe80::1', 'ffff:ffff:ffff:ffff::', 'IPv6'), info('198.18.0.1', '255.255.255.0')],
  eth1: [info('fe80::2', 'ffff:ffff:ffff:ffff::', 'IPv6')],
  tun0: [info('10.9.9.9', '255.255.255.255')],
};

test('interface addressing: first IPv4 address, and errors that name the medium, the interface and the fix', () => {
  const bcast: Medium = { kind: 'bcast', iface: 'eth0' };
  assert.deepEqual(interfaceIPv4(bcast, ifs), { address: '198.18.0.1', netmask: '255.255.255.0' });
  assert.equal(interfaceBroadcast(bcast, interfaceIPv4(bcast, ifs)), '198.18.0.255');

  const noV4: Medium = { kind: 'mcast', iface: 'eth1', group: '239.0.0.1', port: 694, ttl: 1, loop: false };
  assert.throws(
    () => interfaceIPv4(noV4, ifs),
    (e: unknown) => e instanceof MediumError && e.medium === 'mcast eth1 239.0.0.1 694 1 0' && /^mcast eth1 239\.0\.0\.1 694 1 0: interface eth1 has no IPv4 address; give it one \(ip addr add .* dev eth1\)/.test(e.message),
  );
  assert.throws(() => interfaceIPv4({ kind: 'ucast', iface: 'eht0', peer: '10.0.0.2' }, ifs), /ucast eht0 10\.0\.0\.2: interface eht0 does not exist \(interfaces: eth0, eth1, tun0\); correct the interface name/);
  const p2p: Medium = { kind: 'bcast', iface: 'tun0' };
  assert.throws(() => interfaceBroadcast(p2p, interfaceIPv4(p2p, ifs)), /bcast tun0: interface tun0 \(10\.9\.9\.9\/32\) has no broadcast address; use ucast/);
});

test('mediumText renders the ha.cf directive', () => {
  assert.equal(mediumText({ kind: 'bcast', iface: 'eth0' }), 'bcast eth0');
  assert.equal(mediumText({ kind: 'ucast', iface: 'eth0', peer: 'nodeb' }), 'ucast eth0 nodeb');
  assert.equal(mediumText({ kind: 'mcast', iface: 'eth1', group: '225.0.0.1', port: 694, ttl: 1, loop: true }), 'mcast eth1 225.0.0.1 694 1 1');
});

const ctl = (...extra: [string, string][]) => [str('t', 'status'), str('src', 'n2'), str('seq', '2a'), str('hg', '3'), str('ts', '5f5e1000'), ...extra.map(([n, v]) => str(n, v))];

test('readControl: src, type, hex seq and generation; NS_ types carry no seq', () => {
  assert.deepEqual(readControl(ctl()), { src: 'n2', type: 'status', seq: 42, generation: 3 });
  assert.deepEqual(readControl([str('t', 'NS_ackmsg'), str('src', 'n2'), str('hg', 'a'), str('ts', '1')]), { src: 'n2', type: 'NS_ackmsg', seq: null, generation: 10 });
  assert.deepEqual(readControl([str('t', 'x'), str('src', 'n2'), str('seq', '1'), str('ts', '1')]), { src: 'n2', type: 'x', seq: 1, generation: 0 }, 'missing hg reads as 0, as heartbeat');
});

test('readControl: the drops heartbeat makes, with a reason', () => {
  assert.deepEqual(readControl([str('t', 'status'), str('ts', '1'), str('seq', '1')]), { error: 'no src field' });
  assert.deepEqual(readControl([str('src', 'n2'), str('ts', '1'), str('seq', '1')]), { error: 'no t field' });
  assert.match((readControl([str('t', 'x'), str('src', 'n2'), str('ts', '0'), str('seq', '1')]) as { error: string }).error, /ts "0" is not non-zero hex/);
  assert.match((readControl([str('t', 'x'), str('src', 'n2'), str('ts', '1')]) as { error: string }).error, /t=x needs a positive hex seq, got null/);
  assert.match((readControl([str('t', 'x'), str('src', 'n2'), str('ts', '1'), str('seq', '0')]) as { error: string }).error, /positive hex seq, got "0"/);
  assert.match((readControl([str('t', 'x'), str('src', 'n2'), str('ts', '1'), str('seq', '1'), str('hg', 'zz')]) as { error: string }).error, /hg "zz" is not hex/);
});

test('isForUs: destuuid decides when present, else dest, else broadcast', () => {
  const me = Buffer.alloc(16, 7);
  const other = Buffer.alloc(16, 9);
  assert.equal(isForUs([str('t', 'x')], 'n1', me), true);
  assert.equal(isForUs([str('dest', 'n1')], 'n1', me), true);
  assert.equal(isForUs([str('dest', 'n2')], 'n1', me), false);
  assert.equal(isForUs([str('dest', 'n2'), bin('destuuid', me)], 'n1', me), true, 'uuid wins over a stale name');
  assert.equal(isForUs([str('dest', 'n1'), bin('destuuid', other)], 'n1', me), false);
  assert.equal(isForUs([str('dest', 'n1'), bin('destuuid', Buffer.alloc(16))], 'n1', me), true, 'a null uuid is ignored');
});

test('verdictReason names each failed verdict', () => {
  assert.equal(verdictReason({ verdict: 'bad-signature', index: 1, method: 'sha1' }), 'bad signature (key 1, sha1)');
  assert.equal(verdictReason({ verdict: 'unknown-key-index', index: 3 }), 'key index 3 is not in authkeys');
  assert.equal(verdictReason({ verdict: 'unsigned' }), 'unsigned packet');
});

const baseOptions: TransportOptions = {
  localNode: 'n1',
  nodes: ['n1', 'n2'],
  media: [],
  udpPort: 694,
  keepaliveMs: 100,
  deadtimeMs: 1000,
  warntimeMs: 500,
  initdeadMs: 2000,
  stallLimitMs: 5000,
  authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: b('k') }] },
  wireFormat: 'netstring+auth',
  uuid: Buffer.alloc(16, 1),
  generation: 1,
  firstSeq: 1,
  ttl: 3,
  realtime: false,
  rtprio: null,
};

test('checkTransportOptions names the option a transport cannot run with', () => {
  assert.doesNotThrow(() => checkTransportOptions(baseOptions));
  assert.throws(() => checkTransportOptions({ ...baseOptions, keepaliveMs: 0 }), /keepaliveMs must be a positive number of ms, got 0/);
  assert.throws(() => checkTransportOptions({ ...baseOptions, nodes: ['n2'] }), /nodes must be a list containing the local node n1/);
  assert.throws(() => checkTransportOptions({ ...baseOptions, uuid: Buffer.alloc(4) }), /uuid must be 16 bytes/);
  assert.throws(() => checkTransportOptions({ ...baseOptions, authKeys: { sendIndex: 2, keys: baseOptions.authKeys.keys } }), /authKeys.sendIndex must be an index present/);
  assert.throws(() => checkTransportOptions({ ...baseOptions, udpPort: 70000 }), /udpPort must be a port/);
  assert.throws(() => checkTransportOptions({ ...baseOptions, maxRexmitDelayMs: 0 }), /maxRexmitDelayMs must be a positive integer/);
});

test('setAuthKeys refuses keys that cannot sign, and takes those that can', () => {
  const t = createUdpTransport(baseOptions);
  assert.throws(() => t.setAuthKeys({ sendIndex: 3, keys: baseOptions.authKeys.keys }), /keys\.sendIndex must be an index present in keys\.keys, got 3/);
  assert.doesNotThrow(() => t.setAuthKeys({ sendIndex: 3, keys: [{ index: 3, method: 'sha1', key: Buffer.from('new') }] }));
});
