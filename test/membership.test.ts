// The membership state machine driven like the daemon drives it: transport events and timer
// ticks on a fake monotonic clock, a scripted random source, no sockets and no sleeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Membership, type MembershipAction, type MembershipConfig } from '../lib/membership/membership';
import type { TransportEvent } from '../lib/transport/types';
import { ackMessage, nakRexmitMessage, repnodesMessage, reqnodesMessage, rexmitMessage, shutdoneMessage, statusMessage } from '../lib/wire/builders';
import { get, hex, str } from '../lib/wire/message';
import type { Field, Message } from '../lib/wire/types';

const base = { localNode: 'n1', maxRexmitDelayMs: 250, keepaliveMs: 10, deadtimeMs: 50 };
const two: MembershipConfig = { ...base, nodes: ['n1', 'n2'] };
const three: MembershipConfig = { ...base, nodes: ['n1', 'n2', 'n3'] };

/** Always the same value: ack_trigger = floor(v * 10), first rexmit delay = 50 + round(v * 200). */
const fixed = (v: number) => () => v;

const at = (mono: number) => ({ mono, wall: 1_700_000_000_000 + mono });

type Ev = TransportEvent;

function statusEv(node: string, seq: number, mono: number, o: { gen?: number; st?: string; protocol?: boolean; link?: string } = {}): Ev {
  const gen = o.gen ?? 7;
  const message: Message = [
    ...statusMessage({ status: o.st ?? 'active', deadtimeMs: 50, flowControl: o.protocol ?? true }),
    str('src', node),
    str('seq', hex(seq)),
    str('hg', hex(gen)),
  ];
  return { ...at(mono), type: 'status', node, link: o.link ?? 'eth0', message, seq, generation: gen };
}

/**
 * A sequenced cluster message: `body` (default `t` and `fields`) plus the sender's control fields;
 * `forUs` as the transport computes it from dest/destuuid.
 */
function msgEv(node: string, seq: number, mono: number, o: { t?: string; gen?: number; forUs?: boolean; fields?: Field[]; body?: Message } = {}): Ev {
  const gen = o.gen ?? 7;
  const body = o.body ?? [str('t', o.t ?? 'resource'), ...(o.fields ?? [])];
  const message: Message = [...body, str('src', node), str('seq', hex(seq)), str('hg', hex(gen))];
  return { ...at(mono), type: 'message', node, link: 'eth0', message, seq, generation: gen, forUs: o.forUs ?? true };
}

/** An NS_ message (no seq) as built by the sender before its control fields. */
function nsEv(node: string, message: Message, mono: number, forUs = true): Ev {
  return { ...at(mono), type: 'message', node, link: 'eth0', message: [...message, str('src', node), str('hg', hex(7))], seq: null, generation: 7, forUs };
}

const peerUp = (node: string, mono: number, extra: Partial<{ status: string; restarted: boolean; returned: boolean; generation: number }> = {}): Ev => ({
  ...at(mono),
  type: 'peer-up',
  node,
  link: 'eth0',
  status: 'active',
  generation: 7,
  restarted: false,
  returned: false,
  ...extra,
});

const peerDead = (node: string, mono: number): Ev => ({ ...at(mono), type: 'peer-dead', node, silentMs: 50, timeoutMs: 50 });

const logs = (actions: readonly MembershipAction[]) => actions.flatMap((a) => (a.type === 'log' ? [`${a.level}: ${a.text}`] : []));

/** Sent messages as their originator fields, e.g. "t=NS_rexmit dest=n2 firstseq=42 lastseq=42". */
const sends = (actions: readonly MembershipAction[]) =>
  actions.flatMap((a) => (a.type === 'send' ? [a.message.map((f) => `${f.name}=${f.type === 0 ? f.value.toString('latin1') : '?'}`).join(' ')] : []));

const delivered = (actions: readonly MembershipAction[]) => actions.flatMap((a) => (a.type === 'deliver' ? [`${a.from}:${get(a.message, 'seq')}`] : []));

const ofType = <T extends MembershipAction['type']>(actions: readonly MembershipAction[], type: T) =>
  actions.filter((a): a is Extract<MembershipAction, { type: T }> => a.type === type);

/** A started node n1 whose peers already sent one status each (comm state depends on the test). */
function started(cfg: MembershipConfig, random = fixed(0.5)): Membership {
  const m = new Membership(cfg, 0, random);
  m.start(0);
  return m;
}

// --- start, status and node table ------------------------------------------------------------

test('start: flow control on, status up, deadtime bumped by 2000 ms for the first 5 s', () => {
  const m = new Membership(two, 100, fixed(0.5));
  assert.deepEqual(m.start(100), [
    { type: 'flow-control', on: true },
    { type: 'deadtime-bump', extraMs: 2000 },
    { type: 'set-status', status: 'up' },
    { type: 'log', level: 'info', text: "Local status now set to: 'up'" },
  ]);
  assert.equal(m.nextTimer(), 5100);
  assert.deepEqual(m.onTimer(5099), []);
  assert.deepEqual(m.onTimer(5100), [{ type: 'deadtime-bump', extraMs: 0 }]);
  assert.equal(m.nextTimer(), Infinity);
  assert.throws(() => m.start(200), /called twice/);
});

test('bad configuration is refused with the place and the fix', () => {
  assert.throws(() => new Membership({ ...two, localNode: 'n9' }, 0, fixed(0)), /local node "n9" is not among the configured nodes \(n1, n2\); add "node n9" to ha\.cf/);
  assert.throws(() => new Membership({ ...two, nodes: ['n1', 'n2', 'n1'] }, 0, fixed(0)), /names a node twice/);
  assert.throws(() => new Membership({ ...two, maxRexmitDelayMs: 0 }, 0, fixed(0)), /max_rexmit_delay must be a positive integer/);
});

test('node table follows peer-up, link, status and death events with heartbeat\'s texts, in heartbeat\'s order', () => {
  const m = started(two);
  // What the transport reports for one packet: peer-up, link-up, then the status itself.
  const first = statusEv('n2', 1, 10, { st: 'up', protocol: false });
  const up = [...m.onEvent(peerUp('n2', 10, { status: 'up' }), 10), ...m.onEvent({ ...at(10), type: 'link-up', node: 'n2', link: 'eth0' }, 10), ...m.onEvent(first, 10)];
  assert.deepEqual(logs(up).filter((l) => !l.includes('flow control') && !l.includes('Comm_now_up') && !l.includes('Local status')), ['info: Link n2:eth0 up.', 'info: Status update for node n2: status up']);
  assert.deepEqual(ofType(up, 'node-status'), [{ type: 'node-status', node: 'n2', status: 'up', previous: 'init', message: first.type === 'status' ? first.message : null }]);
  assert.deepEqual(ofType(up, 'link-status'), [{ type: 'link-status', node: 'n2', link: 'eth0', status: 'up' }]);
  assert.deepEqual(logs(m.onEvent(statusEv('n2', 2, 20, { st: 'active' }), 20)), ['info: Status update for node n2: status active']);
  const dead = [...m.onEvent(peerDead('n2', 70), 70), ...m.onEvent({ ...at(70), type: 'link-dead', node: 'n2', link: 'eth0' }, 70)];
  assert.deepEqual(logs(dead), ['WARN: node n2: is dead', 'info: Link n2:eth0 dead.']);
  assert.deepEqual(ofType(dead, 'node-status'), [{ type: 'node-status', node: 'n2', status: 'dead', previous: 'active', message: null }]);
  const snap = m.snapshot();
  assert.deepEqual(snap.nodes[1], { name: 'n2', type: 'normal', local: false, status: 'dead', links: [{ name: 'eth0', status: 'dead' }], generation: 7, lastSeq: null, missing: 0, ackSeq: 0 });
  assert.equal(snap.nodes[0]?.local, true);
});

test('the local node\'s own links are logged and shown', () => {
  const m = started(two);
  assert.deepEqual(logs(m.onEvent({ ...at(1), type: 'link-up', node: 'n1', link: 'eth0' }, 1)), ['info: Link n1:eth0 up.']);
  assert.deepEqual(m.snapshot().nodes[0], { name: 'n1', type: 'normal', local: true, status: 'up', links: [{ name: 'eth0', status: 'up' }], generation: null, lastSeq: null, missing: 0, ackSeq: 0 });
});

test('late heartbeats warn with the measured interval; beyond deadtime it is CRIT', () => {
  const m = started(two);
  assert.deepEqual(logs(m.onEvent({ ...at(40), type: 'peer-late', node: 'n2', link: 'eth0', gapMs: 30.4 }, 40)), ['WARN: Late heartbeat: Node n2: interval 30 ms']);
  assert.deepEqual(logs(m.onEvent({ ...at(90), type: 'peer-late', node: 'n2', link: 'eth0', gapMs: 51 }, 90)), ['CRIT: Late heartbeat: Node n2: interval 51 ms (> deadtime)']);
});

test('restart, healed partition, replay, authentication failures, unknown nodes and own stalls', () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 1, 1), 1);
  const restart = m.onEvent({ ...at(2), type: 'peer-restart', node: 'n2', oldGeneration: 7, generation: 8 }, 2);
  assert.deepEqual(logs(restart), ['info: Heartbeat restart on node n2']);
  assert.deepEqual(ofType(restart, 'peer-restart'), [{ type: 'peer-restart', node: 'n2', oldGeneration: 7, generation: 8 }]);
  assert.equal(m.snapshot().nodes[1]?.generation, 8);
  m.onEvent(peerDead('n2', 60), 60);
  const healed = m.onEvent(peerUp('n2', 70, { returned: true, generation: 8 }), 70);
  assert.deepEqual(logs(healed), ['CRIT: Cluster node n2 returning after partition.', 'WARN: Deadtime value may be too small.']);
  assert.deepEqual(ofType(healed, 'partition-healed'), [{ type: 'partition-healed', node: 'n2' }]);
  assert.deepEqual(logs(m.onEvent({ ...at(71), type: 'replay', node: 'n2', generation: 2, currentGeneration: 3 }, 71)), [
    'ERROR: should_drop_message: attempted replay attack [n2]? [gen = 2, curgen = 3]',
  ]);
  assert.deepEqual(logs(m.onEvent({ ...at(72), type: 'auth-fail', link: 'eth0', source: '198.18.0.2:694', reason: 'bad-signature (sha1, index 1)', node: 'n2', count: 1 }, 72)), [
    'WARN: string2msg_ll: node [n2] failed authentication',
    'debug: hbd: packet from 198.18.0.2:694 on eth0 dropped: bad-signature (sha1, index 1)',
  ]);
  assert.deepEqual(logs(m.onEvent({ ...at(73), type: 'auth-fail', link: 'eth0', source: '198.18.0.9:694', reason: 'node not in ha.cf', node: 'carol', count: 1 }, 73))[0], 'ERROR: process_status_message: bad node [carol] in message');
  assert.deepEqual(logs(m.onEvent(statusEv('carol', 1, 74), 74)), ['ERROR: process_status_message: bad node [carol] in message']);
  const stall = logs(m.onEvent({ ...at(75), type: 'own-stall', lateMs: 412.2 }, 75));
  assert.equal(stall.length, 1);
  assert.match(stall[0] ?? '', /^WARN: hbd: this node itself ran 412 ms late/);
});

test('a status with a missing or unexpected st is reported, not applied', () => {
  const m = started(two);
  const noSt = statusEv('n2', 1, 1);
  const stripped = { ...noSt, message: noSt.type === 'status' ? noSt.message.filter((f) => f.name !== 'st') : [] } as Ev;
  assert.deepEqual(logs(m.onEvent(stripped, 1)), ['ERROR: HBDoMsg_T_STATUS: status update without st field']);
  assert.match(logs(m.onEvent(statusEv('n2', 2, 2, { st: 'dead' }), 2))[0] ?? '', /st="dead" ignored/);
  assert.equal(m.snapshot().nodes[1]?.status, 'init');
});

test("a starting heartbeat's first st=init status is taken as heartbeat takes it", () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 1, 1, { st: 'up' }), 1);
  assert.deepEqual(logs(m.onEvent(statusEv('n2', 2, 2, { st: 'init' }), 2)), ['info: Status update for node n2: status init']);
  assert.equal(m.snapshot().nodes[1]?.status, 'init');
});

// --- sequence numbers, gaps and retransmission requests -------------------------------------

test('in-order messages are delivered once; duplicates and messages for others are not', () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 40, 1, { protocol: false }), 1);
  assert.deepEqual(delivered(m.onEvent(msgEv('n2', 41, 2), 2)), ['n2:29']);
  assert.deepEqual(m.onEvent(msgEv('n2', 41, 3), 3), []);
  assert.deepEqual(m.onEvent(msgEv('n2', 42, 4, { forUs: false }), 4), []);
  // 42 was not for us but advanced the sequence: 43 is in order, no gap.
  assert.deepEqual(m.onEvent(msgEv('n2', 43, 5), 5).map((a) => a.type), ['deliver']);
  assert.equal(m.snapshot().nodes[1]?.lastSeq, 43);
  // reqnodes/repnodes and statuses never reach the resource layer.
  assert.deepEqual(delivered(m.onEvent(msgEv('n2', 44, 6, { t: 'status' }), 6)), []);
});

test('a gap is logged, late arrivals are accepted, rexmit requests repeat until they arrive', () => {
  const m = started(two); // random 0.5: first request after 50 + round(0.5 * 200) = 150 ms
  m.onEvent(statusEv('n2', 41, 1000, { protocol: false }), 1000);
  const gap = m.onEvent(msgEv('n2', 45, 1000), 1000);
  assert.deepEqual(logs(gap), ['WARN: 3 lost packet(s) for [n2] [41:45]']);
  assert.deepEqual(delivered(gap), ['n2:2d']);
  assert.equal(m.snapshot().nodes[1]?.missing, 3);
  assert.equal(m.nextTimer(), 1150);
  assert.deepEqual(m.onTimer(1149), []);
  assert.deepEqual(sends(m.onTimer(1150)), [
    't=NS_rexmit dest=n2 firstseq=42 lastseq=42',
    't=NS_rexmit dest=n2 firstseq=43 lastseq=43',
    't=NS_rexmit dest=n2 firstseq=44 lastseq=44',
  ]);
  assert.deepEqual(m.onTimer(1150), []);
  assert.equal(m.nextTimer(), 1400);
  assert.deepEqual(delivered(m.onEvent(msgEv('n2', 43, 1200), 1200)), ['n2:2b']);
  assert.deepEqual(m.onEvent(msgEv('n2', 43, 1201), 1201), []); // recovered once, then an old duplicate
  assert.deepEqual(sends(m.onTimer(1400)), ['t=NS_rexmit dest=n2 firstseq=42 lastseq=42', 't=NS_rexmit dest=n2 firstseq=44 lastseq=44']);
  m.onEvent(msgEv('n2', 42, 1500), 1500);
  const last = m.onEvent(msgEv('n2', 44, 1501), 1501);
  assert.deepEqual(logs(last), ['info: No pkts missing from n2!']);
  assert.equal(m.nextTimer(), 5000); // only the start-up deadtime bump is left
});

test('first rexmit delay is random in [50, max], or [0, max] when max < 100', () => {
  for (const [max, v, delay] of [
    [250, 0, 50],
    [250, 0.999, 250],
    [80, 0, 0],
    [80, 0.999, 80],
  ] as const) {
    const m = started({ ...two, maxRexmitDelayMs: max }, fixed(v));
    m.onEvent(statusEv('n2', 1, 1000, { protocol: false }), 1000);
    m.onEvent(statusEv('n2', 3, 1000, { protocol: false }), 1000);
    assert.equal(m.nextTimer(), 1000 + delay, `max ${max}, random ${v}`);
    m.onTimer(1000 + delay);
    assert.equal(m.nextTimer(), 1000 + delay + max, 'then every max_rexmit_delay');
  }
});

test('no rexmit requests to a peer that is not alive; its death forgets the missing seqs', () => {
  const m = started(two);
  m.onEvent(msgEv('n2', 1, 1000), 1000); // status still init: heard, but not up
  m.onEvent(msgEv('n2', 3, 1000), 1000);
  assert.deepEqual(m.onTimer(1150), []);
  assert.equal(m.snapshot().nodes[1]?.missing, 1, 'still missing, just not asked for');
  m.onEvent(peerUp('n2', 1200), 1200);
  m.onEvent(msgEv('n2', 6, 1200), 1200);
  assert.equal(m.nextTimer(), 1350);
  m.onEvent(peerDead('n2', 1300), 1300);
  assert.equal(m.snapshot().nodes[1]?.missing, 0);
  assert.deepEqual(m.onTimer(1350), []);
});

test('NS_nak_rexmit for us is logged as irretrievable and the seq is no longer asked for', () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 16, 1000, { protocol: false }), 1000);
  m.onEvent(msgEv('n2', 20, 1000), 1000); // 17, 18, 19 missing
  const nak = m.onEvent(nsEv('n2', nakRexmitMessage('n1', 18, 'seqno too low'), 1010), 1010);
  assert.deepEqual(logs(nak), ['ERROR: Irretrievably lost packet: node n2 seq 18']);
  // A NAK meant for another node is not logged but still ends our wait for that seq.
  assert.deepEqual(logs(m.onEvent(nsEv('n2', nakRexmitMessage('n3', 17, 'seqno not found'), 1011, false), 1011)), []);
  assert.deepEqual(sends(m.onTimer(1150)), ['t=NS_rexmit dest=n2 firstseq=19 lastseq=19']);
  assert.deepEqual(logs(m.onEvent(nsEv('n2', nakRexmitMessage('n1', 19, 'seqno not found'), 1200), 1200)), [
    'ERROR: Irretrievably lost packet: node n2 seq 19',
    'info: No pkts missing from n2!',
  ]);
  assert.deepEqual(logs(m.onEvent(nsEv('n2', [str('t', 'NS_nak_rexmit'), str('firstseq', 'zz')], 1201), 1201)), ['ERROR: should_drop_message: bad nak seq number']);
});

test('more than 250 lost at once resets tracking; up to 500 missing seqs are remembered', () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 1, 1000, { protocol: false }), 1000);
  const big = m.onEvent(msgEv('n2', 253, 1000), 1000);
  assert.deepEqual(logs(big), ['WARN: 251 lost packet(s) for [n2] [1:253]', 'ERROR: lost a lot of packets!']);
  assert.deepEqual(delivered(big), ['n2:fd']);
  assert.equal(m.snapshot().nodes[1]?.missing, 0);
  assert.equal(m.nextTimer(), 5000);
  assert.deepEqual(logs(m.onEvent(msgEv('n2', 504, 1001), 1001)), ['WARN: 250 lost packet(s) for [n2] [253:504]']);
  m.onEvent(msgEv('n2', 755, 1002), 1002);
  m.onEvent(msgEv('n2', 1006, 1003), 1003);
  const snap = m.snapshot().nodes[1];
  assert.equal(snap?.missing, 500, 'the lowest missing seqs make room for newer ones');
  // The evicted seqs are no longer waited for: a late copy is an old duplicate.
  assert.deepEqual(m.onEvent(msgEv('n2', 254, 1004), 1004), []);
  assert.deepEqual(delivered(m.onEvent(msgEv('n2', 1005, 1005), 1005)), ['n2:3ed']);
});

test('messages of an older generation than the tracked one are dropped', () => {
  const m = started(two);
  m.onEvent(msgEv('n2', 5, 1, { gen: 8 }), 1);
  assert.deepEqual(m.onEvent(msgEv('n2', 6, 2, { gen: 7 }), 2), []);
});

// --- replay protection (spec §13 W4) ----------------------------------------------------------

test('after a peer\'s death its old messages are never delivered again; a restart starts afresh', () => {
  const m = started(two);
  m.onEvent(peerUp('n2', 1), 1);
  assert.deepEqual(delivered([...m.onEvent(msgEv('n2', 5, 2), 2), ...m.onEvent(msgEv('n2', 6, 3), 3)]), ['n2:5', 'n2:6']);
  m.onEvent(peerDead('n2', 60), 60);
  assert.deepEqual(m.onEvent(msgEv('n2', 6, 61), 61), [], 'replayed after death: heartbeat would deliver it again');
  assert.deepEqual(m.onEvent(msgEv('n2', 5, 62), 62), []);
  // New traffic of the same generation resumes without a gap report (heartbeat's reset).
  const resumed = m.onEvent(msgEv('n2', 30, 63), 63);
  assert.deepEqual(delivered(resumed), ['n2:1e']);
  assert.deepEqual(logs(resumed), []);
  m.onEvent({ ...at(70), type: 'peer-restart', node: 'n2', oldGeneration: 7, generation: 9 }, 70);
  assert.deepEqual(delivered(m.onEvent(msgEv('n2', 1, 71, { gen: 9 }), 71)), ['n2:1']);
});

// --- serving retransmission requests ----------------------------------------------------------

test('NS_rexmit to us: one retransmit per seq, skipping what the requester acknowledged, at most 50', () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 1, 1), 1);
  assert.deepEqual(m.onEvent(nsEv('n2', rexmitMessage('n1', 10, 12), 2), 2), [
    { type: 'retransmit', seq: 10, to: 'n2' },
    { type: 'retransmit', seq: 11, to: 'n2' },
    { type: 'retransmit', seq: 12, to: 'n2' },
  ]);
  m.onEvent(nsEv('n2', ackMessage('n1', 16), 3), 3);
  assert.deepEqual(sends([{ type: 'send', message: ackMessage('n1', 16) }]), ['t=NS_ackmsg dest=n1 ackseq=10']);
  assert.equal(m.snapshot().nodes[1]?.ackSeq, 16);
  assert.deepEqual(ofType(m.onEvent(nsEv('n2', rexmitMessage('n1', 10, 17), 4), 4), 'retransmit'), [{ type: 'retransmit', seq: 17, to: 'n2' }]);
  const flood = ofType(m.onEvent(nsEv('n2', rexmitMessage('n1', 1, 1_000_000), 5), 5), 'retransmit');
  assert.equal(flood.length, 50);
  assert.deepEqual([flood[0]?.seq, flood[49]?.seq], [17, 66]);
  assert.deepEqual(m.onEvent(nsEv('n2', rexmitMessage('n3', 10, 12), 6, false), 6), [], 'not for us');
  assert.deepEqual(logs(m.onEvent(nsEv('n2', [str('t', 'NS_rexmit'), str('dest', 'n1'), str('firstseq', '9'), str('lastseq', '3')], 7), 7)), [
    'ERROR: Invalid rexmit seqnos [firstseq=9 lastseq=3] from n2',
  ]);
});

test('retransmit results: NAK when too low or not found, warning when too high, nothing otherwise', () => {
  const m = started(two);
  assert.deepEqual(m.onRetransmitResult(12, 'n2', 'too-low', 1), [
    { type: 'log', level: 'ERROR', text: 'Cannot rexmit pkt 12 for n2: seqno too low' },
    { type: 'send', message: nakRexmitMessage('n2', 12, 'seqno too low') },
  ]);
  assert.deepEqual(sends(m.onRetransmitResult(12, 'n2', 'not-found', 1)), ['t=NS_nak_rexmit firstseq=c dest=n2 info=seqno not found']);
  assert.deepEqual(logs(m.onRetransmitResult(12, 'n2', 'too-high', 1, 10)), ['WARN: Rexmit of seq 12 requested. 10 is max.']);
  assert.deepEqual(logs(m.onRetransmitResult(12, 'n2', 'too-high', 1)), ['WARN: Rexmit of seq 12 requested, beyond the highest seq sent.']);
  assert.deepEqual(m.onRetransmitResult(12, 'n2', 'throttled', 1), []);
  assert.deepEqual(m.onRetransmitResult(12, 'n2', 'sent', 1), []);
});

// --- flow control and ACKs ----------------------------------------------------------------------

test('ACKs: every in-order seq at the peer\'s trigger offset, none while a packet is missing', () => {
  const m = started(two, fixed(0.3)); // ack_trigger 3
  const acks: string[] = [];
  for (let s = 1; s <= 25; s++) acks.push(...sends(m.onEvent(statusEv('n2', s, s), s)).filter((t) => t.startsWith('t=NS_ackmsg')));
  assert.deepEqual(acks, ['t=NS_ackmsg dest=n2 ackseq=3', 't=NS_ackmsg dest=n2 ackseq=d', 't=NS_ackmsg dest=n2 ackseq=17']);
  m.onEvent(statusEv('n2', 27, 27), 27); // 26 missing
  assert.deepEqual(sends(m.onEvent(statusEv('n2', 33, 33), 33)), [], '33 is at the offset but 26.. are missing');
  m.onEvent(nsEv('n2', nakRexmitMessage('n1', 28, 'seqno not found'), 34), 34);
  m.onEvent(statusEv('n2', 29, 35), 35);
  m.onEvent(statusEv('n2', 30, 36), 36);
  m.onEvent(statusEv('n2', 31, 37), 37);
  // Recovering 26, the first missing, completes 1..31; its ACK offset there is 23, already acked.
  assert.deepEqual(sends(m.onEvent(statusEv('n2', 26, 38), 38)), []);
  // Recovering 32 completes 1..33: ACK 33.
  assert.deepEqual(sends(m.onEvent(statusEv('n2', 32, 39), 39)), ['t=NS_ackmsg dest=n2 ackseq=21']);
});

test('a status run (the native engine\'s status-advance) sequences like its statuses, with one ACK for the highest seq due', () => {
  const run = (from: number, count: number, mono: number, generation = 7): Ev => ({ ...at(mono), type: 'status-advance', node: 'n2', generation, fromSeq: from, monos: Array.from({ length: count }, (_, i) => mono - count + 1 + i) });
  const one = started(two, fixed(0.3)); // ack_trigger 3
  const each: string[] = [];
  for (let s = 1; s <= 25; s++) each.push(...sends(one.onEvent(statusEv('n2', s, s), s)).filter((t) => t.startsWith('t=NS_ackmsg')));
  const m = started(two, fixed(0.3));
  m.onEvent(statusEv('n2', 1, 1), 1);
  const acks = sends(m.onEvent(run(2, 24, 25), 25)).filter((t) => t.startsWith('t=NS_ackmsg'));
  assert.deepEqual(each, ['t=NS_ackmsg dest=n2 ackseq=3', 't=NS_ackmsg dest=n2 ackseq=d', 't=NS_ackmsg dest=n2 ackseq=17']);
  assert.deepEqual(acks, ['t=NS_ackmsg dest=n2 ackseq=17'], 'the highest due seq of the run only');
  const peer = (x: Membership) => x.snapshot().nodes.find((n) => n.name === 'n2');
  assert.deepEqual(peer(m), peer(one));
  // A run that starts beyond the next seq is a gap: the missing seqs are asked for as usual.
  const gap = m.onEvent(run(28, 3, 30), 30);
  assert.ok(gap.some((a) => a.type === 'log' && a.text === '2 lost packet(s) for [n2] [25:28]'), JSON.stringify(gap));
  assert.equal(peer(m)?.missing, 2);
  // The run's seqs count as applied statuses: a retransmitted older status changes nothing.
  const late = m.onEvent(statusEv('n2', 26, 31, { st: 'up' }), 31);
  assert.ok(!late.some((a) => a.type === 'node-status'), JSON.stringify(late));
  assert.equal(peer(m)?.status, 'active');
  // A run of an older generation is ignored.
  assert.deepEqual(m.onEvent(run(40, 2, 40, 6), 40).filter((a) => a.type !== 'log'), []);
  assert.equal(peer(m)?.lastSeq, 30);
});

test('ACK triggers are drawn per peer; ACKs to us raise that peer\'s ack level', () => {
  const draws = [0.1, 0.75];
  const m = started(three, () => draws.shift() ?? 0.5); // n2 → 1, n3 → 7
  assert.deepEqual(sends(m.onEvent(statusEv('n2', 1, 1), 1)), ['t=NS_ackmsg dest=n2 ackseq=1']);
  assert.deepEqual(sends(m.onEvent(statusEv('n3', 7, 1), 1)), ['t=NS_ackmsg dest=n3 ackseq=7', 't=reqnodes dest=n2']);
  m.onEvent(nsEv('n3', ackMessage('n1', 0x20), 2), 2);
  m.onEvent(nsEv('n3', ackMessage('n1', 0x10), 3), 3); // late ACK: never lowers the level
  m.onEvent(nsEv('n3', ackMessage('n2', 0x40), 4, false), 4); // for n2, not us
  assert.equal(m.snapshot().nodes[2]?.ackSeq, 0x20);
});

test('a status without protocol (older heartbeat) turns flow control off for good', () => {
  const m = started(three);
  m.onEvent(statusEv('n2', 4, 1), 1);
  const off = m.onEvent(statusEv('n3', 5, 2, { protocol: false }), 2);
  assert.deepEqual(off.slice(0, 2), [
    { type: 'log', level: 'info', text: 'flow control disabled due to different version heartbeat' },
    { type: 'flow-control', on: false },
  ]);
  assert.equal(m.snapshot().flowControl, false);
  assert.deepEqual(ofType(m.onEvent(statusEv('n3', 6, 3, { protocol: false }), 3), 'flow-control'), []);
  // No more ACKs (n2's trigger is 5), and ACKs from peers are ignored.
  assert.deepEqual(sends(m.onEvent(statusEv('n2', 5, 4), 4)), []);
  m.onEvent(nsEv('n2', ackMessage('n1', 3), 5), 5);
  assert.equal(m.snapshot().nodes[1]?.ackSeq, 0);
});

// --- comm-up handshake ------------------------------------------------------------------------

const commUpActions: MembershipAction[] = [
  { type: 'log', level: 'info', text: 'Comm_now_up(): updating status to active' },
  { type: 'set-status', status: 'active' },
  { type: 'log', level: 'info', text: "Local status now set to: 'active'" },
  { type: 'comm-up' },
];

test('reqnodes/repnodes with a flow-control peer: ask every second until it answers', () => {
  const m = started(two);
  const first = m.onEvent(statusEv('n2', 1, 100), 100);
  assert.deepEqual(sends(first), ['t=reqnodes dest=n2']);
  assert.equal(m.snapshot().comm, 'links-up');
  assert.equal(m.nextTimer(), 1100);
  assert.deepEqual(sends(m.onTimer(1100)), ['t=reqnodes dest=n2']);
  assert.equal(m.nextTimer(), 2100);
  // What heartbeat's HBDoMsg_T_REQNODES answers.
  const reply = msgEv('n2', 2, 1500, { body: repnodesMessage('n1', ['n1', 'n2'], []) });
  assert.deepEqual(m.onEvent(reply, 1500), commUpActions);
  assert.equal(m.snapshot().comm, 'up');
  assert.equal(m.snapshot().nodes[0]?.status, 'active');
  assert.deepEqual(m.onTimer(2100), []);
  assert.equal(m.nextTimer(), 5000);
});

test('with a real heartbeat peer without protocol=1, comm comes up at once', () => {
  const m = started(two);
  const ev = statusEv('n2', 1, 100, { protocol: false });
  const a = m.onEvent(ev, 100);
  assert.deepEqual(a, [
    { type: 'log', level: 'info', text: 'flow control disabled due to different version heartbeat' },
    { type: 'flow-control', on: false },
    { type: 'log', level: 'info', text: 'Status update for node n2: status active' },
    { type: 'node-status', node: 'n2', status: 'active', previous: 'init', message: ev.type === 'status' ? ev.message : null },
    ...commUpActions,
  ]);
});

test('a peer losing flow control while we wait for repnodes releases comm at once', () => {
  const m = started(three);
  m.onEvent(statusEv('n2', 1, 1), 1);
  assert.deepEqual(sends(m.onEvent(statusEv('n3', 1, 2), 2)), ['t=reqnodes dest=n2']);
  assert.deepEqual(ofType(m.onEvent(statusEv('n3', 2, 3, { protocol: false }), 3), 'comm-up'), [{ type: 'comm-up' }]);
  assert.equal(m.nextTimer(), 5000);
});

test('reqnodes to us is answered with repnodes: dest first, every node and a space, no deleted nodes', () => {
  const m = started(three);
  const a = m.onEvent(msgEv('n2', 1, 1, { body: reqnodesMessage('n1') }), 1);
  assert.deepEqual(sends(a), ['dest=n2 t=repnodes nodelist=n1 n2 n3  delnodelist= ']);
  assert.deepEqual(ofType(a, 'send')[0]?.message, repnodesMessage('n2', ['n1', 'n2', 'n3'], []));
  assert.deepEqual(delivered(a), []);
});

test('three nodes: comm waits for every node to be heard or dead, then asks the first live peer', () => {
  const m = started(three);
  assert.deepEqual(sends(m.onEvent(statusEv('n3', 1, 10), 10)), []);
  assert.equal(m.snapshot().comm, 'init');
  // n2 never speaks and dies at initdead: comm is up as far as links go; n3 is asked.
  assert.deepEqual(sends(m.onEvent(peerDead('n2', 120), 120)), ['t=reqnodes dest=n3']);
  m.onEvent(peerDead('n3', 500), 500);
  assert.deepEqual(m.onTimer(1120), commUpActions, 'no live peer left to ask');
});

test('three nodes: the reqnodes repeat moves on when the asked peer dies', () => {
  const m = started(three);
  m.onEvent(statusEv('n2', 1, 10), 10);
  assert.deepEqual(sends(m.onEvent(statusEv('n3', 1, 10), 10)), ['t=reqnodes dest=n2']);
  m.onEvent(peerDead('n2', 500), 500);
  assert.deepEqual(sends(m.onTimer(1010)), ['t=reqnodes dest=n3']);
  const reply = msgEv('n3', 2, 1100, { body: repnodesMessage('n1', ['n1', 'n2', 'n3', 'carol'], []) });
  const a = m.onEvent(reply, 1100);
  assert.deepEqual(logs(a)[0], 'WARN: hbd: repnodes from n3 lists carol, not in ha.cf here; hbd does not add nodes dynamically (autojoin is not supported): add them to ha.cf on every node');
  assert.deepEqual(a.slice(1), commUpActions);
  assert.deepEqual(m.snapshot().nodes.map((n) => n.name), ['n1', 'n2', 'n3']);
});

test('a repnodes that leaves out a configured node is reported; an unsolicited one changes nothing', () => {
  const m = started(three);
  const early = m.onEvent(msgEv('n2', 1, 1, { body: repnodesMessage('n1', ['n1', 'n2'], []) }), 1);
  assert.deepEqual(logs(early), ['WARN: hbd: repnodes from n2 does not list n3, configured in ha.cf here; hbd keeps its ha.cf node list']);
  assert.equal(m.snapshot().comm, 'init');
});

test('a single-node cluster is up as soon as it starts', () => {
  const m = new Membership({ ...base, nodes: ['n1'] }, 0, fixed(0.5));
  assert.deepEqual(m.start(0).slice(4), commUpActions);
});

test('the reqnodes message goes to the first live peer in ha.cf order', () => {
  const m = started({ ...base, nodes: ['n3', 'n1', 'n2'] });
  m.onEvent(statusEv('n2', 1, 1), 1);
  const a = m.onEvent(statusEv('n3', 1, 2), 2);
  assert.deepEqual(ofType(a, 'send').map((s) => s.message), [reqnodesMessage('n3')]);
});

// --- property: at-most-once, in-order delivery -------------------------------------------------

/** Feeds `arrivals` of n2's stream (`deathBefore`: n2 dies and comes back before that arrival). */
function feed(arrivals: readonly { seq: number; forUs: boolean; deathBefore: boolean }[]) {
  const m = started(two, fixed(0.42));
  m.onEvent(peerUp('n2', 0), 0);
  const out: { index: number; seq: number }[] = [];
  arrivals.forEach((a, index) => {
    if (a.deathBefore) {
      m.onEvent(peerDead('n2', index), index);
      m.onEvent(peerUp('n2', index), index);
    }
    const actions = m.onEvent(msgEv('n2', a.seq, index, { forUs: a.forUs }), index);
    if (m.nextTimer() <= index) m.onTimer(index);
    for (const d of ofType(actions, 'deliver')) out.push({ index, seq: parseInt(get(d.message, 'seq') ?? '', 16) });
  });
  return out;
}

test('property: without deaths, every message from the first arrival on is delivered exactly once, in arrival order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 200 }), (seqs) => {
      const got = feed(seqs.map((seq) => ({ seq, forUs: true, deathBefore: false })));
      const first = seqs[0] as number;
      const expected = [...new Set(seqs)].filter((s) => s >= first);
      assert.deepEqual(
        got.map((g) => g.seq),
        expected,
      );
    }),
    { numRuns: 300, seed: 20251125 },
  );
});

test('property: with drops, duplicates, reordering, huge gaps and deaths, nothing is delivered twice and news is never lost', () => {
  // Mostly a dense stream (so duplicates and late arrivals are common), sometimes a far jump.
  const seq = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 40 }), weight: 8 }, { arbitrary: fc.integer({ min: 1, max: 1200 }), weight: 1 });
  const arrival = fc.record({ seq, forUs: fc.boolean(), deathBefore: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) });
  fc.assert(
    fc.property(fc.array(arrival, { minLength: 1, maxLength: 200 }), (arrivals) => {
      const got = feed(arrivals);
      const seqs = got.map((g) => g.seq);
      assert.equal(new Set(seqs).size, seqs.length, 'delivered at most once');
      const indices = got.map((g) => g.index);
      assert.deepEqual(indices, [...new Set(indices)].sort((a, b) => a - b), 'at most one delivery per arrival, in arrival order');
      let max = 0;
      arrivals.forEach((a, i) => {
        const delivered = indices.includes(i);
        if (!a.forUs) assert.equal(delivered, false, 'not for us: never delivered');
        else if (a.seq > max) assert.equal(delivered, true, `seq ${a.seq} beyond everything seen must be delivered`);
        max = Math.max(max, a.seq);
      });
    }),
    { numRuns: 300, seed: 20251126 },
  );
});

// --- ping nodes (spec §7.8) ------------------------------------------------------------------

const pinged: MembershipConfig = { ...two, pingNodes: ['198.18.0.9', 'routers'] };

test('ping nodes: status ping while echoes come back, dead after deadping, with heartbeat\'s texts', () => {
  const m = started(pinged);
  const up = [...m.onEvent(peerUp('198.18.0.9', 10, { status: 'ping', generation: 0 }), 10), ...m.onEvent({ ...at(10), type: 'link-up', node: '198.18.0.9', link: '198.18.0.9' }, 10)];
  assert.deepEqual(logs(up), ['info: Status update for node 198.18.0.9: status ping', 'info: Link 198.18.0.9:198.18.0.9 up.']);
  assert.deepEqual(ofType(up, 'node-status'), [{ type: 'node-status', node: '198.18.0.9', status: 'ping', previous: 'init', message: null }]);
  const group = m.onEvent({ ...at(11), type: 'peer-up', node: 'routers', link: '198.18.0.7', status: 'ping', generation: 0, restarted: false, returned: false }, 11);
  assert.deepEqual(logs(group), ['info: Status update for node routers: status ping']);
  const dead = [...m.onEvent(peerDead('198.18.0.9', 90), 90), ...m.onEvent({ ...at(90), type: 'link-dead', node: '198.18.0.9', link: '198.18.0.9' }, 90)];
  assert.deepEqual(logs(dead), ['WARN: node 198.18.0.9: is dead', 'info: Link 198.18.0.9:198.18.0.9 dead.']);
  assert.deepEqual(ofType(dead, 'node-status'), [{ type: 'node-status', node: '198.18.0.9', status: 'dead', previous: 'ping', message: null }]);
  assert.deepEqual(
    m.snapshot().nodes.map((n) => `${n.name} ${n.type} ${n.status} ${n.links.map((l) => `${l.name}:${l.status}`).join(',')}`),
    ['n1 normal up ', 'n2 normal init ', '198.18.0.9 ping dead 198.18.0.9:dead', 'routers ping ping '],
  );
  // A failed echo names the ping node as a known node that failed authentication.
  const bad = m.onEvent({ ...at(95), type: 'auth-fail', link: '198.18.0.9', source: '198.18.0.9', reason: 'echo reply: bad signature (key 1, sha1)', node: '198.18.0.9', count: 1 }, 95);
  assert.deepEqual(logs(bad)[0], 'WARN: string2msg_ll: node [198.18.0.9] failed authentication');
});

test('ping nodes: comm-up waits for them to answer or die, as heartbeat\'s check_comm_isup does', () => {
  const m = new Membership({ ...base, nodes: ['n1'], pingNodes: ['198.18.0.9', 'routers'] }, 0, fixed(0.5));
  assert.deepEqual(ofType(m.start(0), 'comm-up'), []);
  assert.deepEqual(ofType(m.onEvent(peerUp('198.18.0.9', 5, { status: 'ping', generation: 0 }), 5), 'comm-up'), []);
  assert.equal(m.snapshot().comm, 'init');
  // No normal peer to ask for the node list: comm is up at once, without reqnodes.
  const a = m.onEvent(peerDead('routers', 60), 60);
  assert.deepEqual(sends(a), []);
  assert.deepEqual(a.slice(-4), commUpActions);
});

test('ping nodes: a name that is also a node is refused', () => {
  assert.throws(() => new Membership({ ...two, pingNodes: ['n2'] }, 0, fixed(0)), /ping node "n2" is also a node or another ping node; every node, ping and ping_group name must be unique/);
  assert.throws(() => new Membership({ ...two, pingNodes: ['gw', 'gw'] }, 0, fixed(0)), /ping node "gw" is also a node or another ping node/);
});

// --- lost, duplicated and reordered statuses (issue 7 item 1) ---------------------------------

test('a lost status is asked for and recovered like any seq; its late copy changes nothing else', () => {
  const m = started(two, fixed(0.5)); // ack trigger 5
  for (let s = 1; s <= 3; s++) m.onEvent(statusEv('n2', s, s), s);
  const gap = m.onEvent(statusEv('n2', 5, 5, { st: 'active' }), 5);
  assert.deepEqual(logs(gap).filter((l) => l.includes('lost')), ['WARN: 1 lost packet(s) for [n2] [3:5]']);
  assert.deepEqual(sends(m.onTimer(155)), ['t=NS_rexmit dest=n2 firstseq=4 lastseq=4']);
  // heartbeat retransmits 4; the transport passes the older status on for sequence tracking.
  const back = m.onEvent(statusEv('n2', 4, 160, { st: 'up' }), 160);
  assert.deepEqual(logs(back), ['info: No pkts missing from n2!']);
  assert.deepEqual(sends(back), ['t=NS_ackmsg dest=n2 ackseq=5'], 'the ACK the gap held back');
  assert.equal(m.snapshot().nodes[1]?.status, 'active', 'the older status\'s st=up is not applied');
  assert.deepEqual(ofType(back, 'node-status'), []);
  assert.deepEqual(sends(m.onTimer(500)).filter((t) => t.includes('NS_rexmit')), [], 'no more rexmit requests');
  // A duplicate of a status already tracked is dropped.
  assert.deepEqual(m.onEvent(statusEv('n2', 4, 170, { st: 'up' }), 170), []);
});

test('statuses reordered across two media: both sequenced, the newer content wins', () => {
  const m = started(two, fixed(0.5));
  m.onEvent(statusEv('n2', 1, 1, { st: 'up' }), 1);
  m.onEvent(statusEv('n2', 3, 2, { st: 'active', link: 'eth1' }), 2);
  const late = m.onEvent(statusEv('n2', 2, 3, { st: 'up' }), 3);
  assert.deepEqual(logs(late), ['info: No pkts missing from n2!']);
  assert.equal(m.snapshot().nodes[1]?.status, 'active');
  assert.equal(m.snapshot().nodes[1]?.missing, 0);
});

// --- ACKs checked (item 2) ----------------------------------------------------------------------

test('an ACK beyond our highest seq is refused and logged (rate-limited): it cannot silence retransmissions', () => {
  let highest = 20;
  const m = started({ ...two, highestSeq: () => highest });
  m.onEvent(statusEv('n2', 1, 1), 1);
  const bad = m.onEvent(nsEv('n2', ackMessage('n1', 0x30), 2), 2);
  assert.deepEqual(logs(bad), ['ERROR: HBDoMsg_T_ACK: corrupted ackseq current hiseq = 20 ackseq =48 in this message']);
  assert.equal(m.snapshot().nodes[1]?.ackSeq, 0);
  assert.deepEqual(ofType(m.onEvent(nsEv('n2', rexmitMessage('n1', 10, 11), 3), 3), 'retransmit').map((r) => r.seq), [10, 11], 'still served');
  assert.deepEqual(logs(m.onEvent(nsEv('n2', ackMessage('n1', 0x31), 4), 4)), [], 'the next complaint waits');
  assert.deepEqual(logs(m.onEvent(nsEv('n2', ackMessage('n1', 0x32), 10_002), 10_002)), ['ERROR: HBDoMsg_T_ACK: corrupted ackseq current hiseq = 20 ackseq =50 in this message (hbd: 1 more from n2 not logged)']);
  m.onEvent(nsEv('n2', ackMessage('n1', 0x14), 10_003), 10_003);
  assert.equal(m.snapshot().nodes[1]?.ackSeq, 20, 'an ACK within what we sent is taken');
  highest = 100;
  assert.deepEqual(logs(m.onRetransmitResult(120, 'n2', 'too-high', 10_004)), ['WARN: Rexmit of seq 120 requested. 100 is max.']);
});

// --- restart bookkeeping (item 3) ---------------------------------------------------------------

test('only a status starts a new generation: a newer-generation message before it is dropped', () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 9, 1), 1);
  assert.deepEqual(m.onEvent(msgEv('n2', 2, 2, { gen: 8 }), 2).filter((a) => a.type !== 'log'), []);
  m.onEvent(statusEv('n2', 3, 3, { gen: 8, st: 'init' }), 3);
  assert.deepEqual(delivered(m.onEvent(msgEv('n2', 4, 4, { gen: 8 }), 4)), ['n2:4']);
  assert.equal(m.snapshot().nodes[1]?.generation, 8);
});

test('start without the start-up bump (native engine): no deadtime-bump, no timer', () => {
  const m = new Membership({ ...two, startDeadtimeBump: false }, 0, fixed(0.5));
  assert.deepEqual(ofType(m.start(0), 'deadtime-bump'), []);
  assert.equal(m.nextTimer(), Infinity);
});

test('deadtime bumps stack: the largest in force is advertised; the start-up pop does not cancel a +30 s bump', () => {
  const m = started(two); // start-up bump 2000 until 5000
  assert.deepEqual(m.bumpDeadtime('restart', 30_000, 1000), [{ type: 'deadtime-bump', extraMs: 30_000 }]);
  assert.deepEqual(m.onTimer(5000), [], 'the start-up bump ends under the larger one');
  assert.equal(m.nextTimer(), Infinity);
  assert.deepEqual(m.bumpDeadtime('other', 1000, 6000), []);
  assert.deepEqual(m.clearDeadtime('restart', 7000), [{ type: 'deadtime-bump', extraMs: 1000 }]);
  assert.deepEqual(m.clearDeadtime('other', 7000), [{ type: 'deadtime-bump', extraMs: 0 }]);
  assert.deepEqual(m.clearDeadtime('never-set', 7000), []);
  assert.throws(() => m.bumpDeadtime('x', -1, 0), /extraMs must be a finite number ≥ 0/);
});

test('repnodes answers keep what heartbeat peers added with hb_addnode and their deleted list', () => {
  const m = started(three);
  m.onEvent(msgEv('n2', 1, 1, { t: 'addnode', fields: [str('nodelist', 'carol dave')] }), 1);
  assert.match(logs(m.onEvent(msgEv('n2', 2, 2, { t: 'delnode', fields: [str('nodelist', 'dave')] }), 2))[0] ?? '', /^WARN: hbd: delnode dave from n2: hbd keeps its ha\.cf node list/);
  assert.deepEqual(sends(m.onEvent(msgEv('n2', 3, 3, { body: reqnodesMessage('n1') }), 3)), ['dest=n2 t=repnodes nodelist=n1 n2 n3 carol  delnodelist=dave ']);
  // A repnodes we asked for passes its lists on, as heartbeat takes them.
  m.onEvent(statusEv('n2', 4, 4), 4);
  m.onEvent(statusEv('n3', 1, 4), 4);
  m.onEvent(msgEv('n2', 5, 5, { body: repnodesMessage('n1', ['n1', 'n2', 'n3', 'carol', 'erin'], ['zed']) }), 5);
  assert.deepEqual(sends(m.onEvent(msgEv('n3', 2, 6, { body: reqnodesMessage('n1') }), 6)), ['dest=n3 t=repnodes nodelist=n1 n2 n3 carol erin  delnodelist=zed ']);
});

// --- a peer's shutdone (item 8) ---------------------------------------------------------------

test("a peer's shutdone: logged as heartbeat does, delivered, the node gone at once and not timed out later", () => {
  const m = started(two);
  m.onEvent(statusEv('n2', 1, 1, { st: 'active' }), 1);
  const notice = msgEv('n2', 2, 2, { body: shutdoneMessage() });
  const a = m.onEvent(notice, 2);
  assert.deepEqual(logs(a), ["info: Received shutdown notice from 'n2'."]);
  assert.deepEqual(a.filter((x) => x.type !== 'log'), [
    { type: 'deliver', from: 'n2', message: notice.type === 'message' ? notice.message : [], own: false, comm: 'links-up' },
    { type: 'node-status', node: 'n2', status: 'dead', previous: 'active', message: notice.type === 'message' ? notice.message : [] },
    { type: 'mark-dead', node: 'n2' },
  ]);
  assert.equal(m.liveNodes(), 1);
  // Its last beats before it exits change nothing.
  assert.deepEqual(logs(m.onEvent(statusEv('n2', 3, 3, { st: 'active' }), 3)), []);
  assert.equal(m.snapshot().nodes[1]?.status, 'dead');
  // It restarts: a new generation, and it is back.
  m.onEvent({ ...at(100), type: 'peer-restart', node: 'n2', oldGeneration: 7, generation: 8 }, 100);
  assert.deepEqual(logs(m.onEvent(statusEv('n2', 1, 100, { gen: 8, st: 'init' }), 100)), ['info: Status update for node n2: status init']);
  assert.deepEqual(logs(m.onEvent(statusEv('n2', 2, 101, { gen: 8, st: 'up' }), 101)), ['info: Status update for node n2: status up']);
  assert.equal(m.liveNodes(), 2);
});

// --- contract A: own messages, live nodes, heard since death -----------------------------------

test('our own sequenced messages for us or everyone are delivered as own, in the comm state of the moment', () => {
  const m = started(two);
  const res: Message = [str('t', 'resource'), str('rsc_hold', 'all')];
  assert.deepEqual(m.sent(res, 5), [{ type: 'deliver', from: 'n1', message: res, own: true, comm: 'init' }]);
  assert.deepEqual(m.sent(shutdoneMessage(), 6).map((a) => a.type), ['deliver']);
  assert.deepEqual(m.sent([str('t', 'ip-request-resp'), str('dest', 'n1')], 7).length, 1);
  assert.deepEqual(m.sent([str('t', 'ip-request-resp'), str('dest', 'n2')], 8), [], 'for another node');
  assert.deepEqual(m.sent(ackMessage('n2', 3), null), []);
  assert.deepEqual(m.sent(reqnodesMessage('n2'), 9), [], 'membership bookkeeping');
});

test('liveNodes counts normal nodes up or active, us included; heardSinceDeath follows packets and deaths', () => {
  const m = started({ ...three, pingNodes: ['198.18.0.9'] });
  assert.equal(m.liveNodes(), 1);
  assert.equal(m.heardSinceDeath('n2'), false);
  m.onEvent(statusEv('n2', 1, 1, { st: 'up' }), 1);
  m.onEvent(peerUp('198.18.0.9', 1, { status: 'ping', generation: 0 }), 1);
  assert.equal(m.liveNodes(), 2, 'ping nodes do not count');
  assert.equal(m.heardSinceDeath('n2'), true);
  m.onEvent(peerDead('n2', 60), 60);
  assert.equal(m.heardSinceDeath('n2'), false);
  assert.equal(m.liveNodes(), 1);
  assert.equal(m.heardSinceDeath('n1'), true);
  assert.throws(() => m.heardSinceDeath('carol'), /"carol" is not a configured node/);
});
