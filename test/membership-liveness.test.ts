// The membership + liveness pair as the transports drive it: every status goes through
// Liveness.status() first, whose events and verdict decide what Membership sees. With lost,
// duplicated and reordered statuses (the lost ones arriving late, as heartbeat retransmits them),
// sequence tracking must end complete, ACK what it completed, and keep the newest status's content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Membership, type MembershipAction } from '../lib/membership/membership';
import { loadNative } from '../lib/native';
import { Liveness, type LivenessConfig, type StatusInput, type StatusOutcome } from '../lib/transport/liveness';
import type { TransportEvent } from '../lib/transport/types';
import { statusMessage } from '../lib/wire/builders';
import { get, hex, str } from '../lib/wire/message';

const GEN = 7;
const stOf = (seq: number) => (seq % 3 === 0 ? 'up' : 'active');

type Tracker = { status(now: number, s: StatusInput): StatusOutcome };
type MakeTracker = (cfg: LivenessConfig, start: number) => Tracker;

/** n1's view of n2's statuses `arrivals` (seq, link), one per ms; returns membership and what it sent. */
function run(make: MakeTracker, arrivals: readonly { seq: number; link: string }[]) {
  const live = make({ localNode: 'n1', nodes: ['n1', 'n2'], keepaliveMs: 10, deadtimeMs: 10_000, warntimeMs: 5_000, initdeadMs: 20_000 }, 0);
  const m = new Membership({ localNode: 'n1', nodes: ['n1', 'n2'], maxRexmitDelayMs: 250, keepaliveMs: 10, deadtimeMs: 10_000, startDeadtimeBump: false }, 0, () => 0.3); // ACK trigger 3
  const out: MembershipAction[] = [...m.start(0)];
  let now = 0;
  for (const a of arrivals) {
    now++;
    const message = [...statusMessage({ status: stOf(a.seq), deadtimeMs: 10_000, flowControl: true }), str('src', 'n2'), str('seq', hex(a.seq)), str('hg', hex(GEN))];
    const r = live.status(now, { node: 'n2', link: a.link, generation: GEN, seq: a.seq, status: stOf(a.seq), dtMs: 10_000 });
    const time = { mono: now, wall: now };
    for (const e of r.events) out.push(...m.onEvent({ ...e, ...time } as TransportEvent, now));
    if (r.accepted) out.push(...m.onEvent({ ...time, type: 'status', node: 'n2', link: a.link, message, seq: a.seq, generation: GEN }, now));
    if (m.nextTimer() <= now) out.push(...m.onTimer(now));
  }
  return { m, out };
}

const acks = (out: readonly MembershipAction[]) =>
  out.flatMap((a) => (a.type === 'send' && get(a.message, 't') === 'NS_ackmsg' ? [parseInt(get(a.message, 'ackseq') ?? '', 16)] : []));

function pairSuite(name: string, make: MakeTracker): void {
  test(`${name}: a status lost on one medium and retransmitted later completes the sequence and releases the ACK`, () => {
    const order = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 6].map((seq) => ({ seq, link: 'eth0' }));
    const { m, out } = run(make, order);
    const n2 = m.snapshot().nodes[1]!;
    assert.deepEqual([n2.missing, n2.lastSeq, n2.status], [0, 14, stOf(14)]);
    assert.deepEqual(acks(out), [3, 13], 'the ACK of 13 waits for 6, then goes out');
  });

  test(`${name}: property: lost (late), duplicated and reordered statuses on two media end complete, acknowledged, with the newest content`, () => {
    const arrivalsArb = fc.integer({ min: 12, max: 80 }).chain((n) =>
      fc
        .tuple(
          // per seq: arrival position jitter (reordering), whether it comes only at the end (lost, then
          // retransmitted), and how many extra copies arrive (another medium, a replay)
          fc.array(fc.record({ jitter: fc.integer({ min: 0, max: 4 }), late: fc.integer({ min: 0, max: 9 }).map((v) => v === 0), copies: fc.integer({ min: 0, max: 2 }), link: fc.constantFrom('eth0', 'eth1') }), { minLength: n, maxLength: n }),
          fc.infiniteStream(fc.integer({ min: 0, max: 1_000_000 })),
        )
        .map(([per, rnd]) => {
          const it = rnd[Symbol.iterator]();
          const on: { key: number; seq: number; link: string }[] = [];
          const late: { key: number; seq: number; link: string }[] = [];
          per.forEach((p, i) => {
            const seq = i + 1;
            // The last seq arrives in time: its content is the newest one.
            const dest = p.late && seq !== n ? late : on;
            dest.push({ key: seq + (seq === n ? 100 : p.jitter), seq, link: p.link });
            for (let c = 0; c < p.copies; c++) dest.push({ key: seq + p.jitter + (it.next().value as number) / 1_000_000, seq, link: p.link === 'eth0' ? 'eth1' : 'eth0' });
          });
          late.forEach((l) => (l.key = (it.next().value as number) / 1_000_000));
          return { n, arrivals: [...on.sort((a, b) => a.key - b.key), ...late.sort((a, b) => a.key - b.key)] };
        }),
    );
    fc.assert(
      fc.property(arrivalsArb, ({ n, arrivals }) => {
        const { m, out } = run(make, arrivals);
        const n2 = m.snapshot().nodes[1]!;
        assert.equal(n2.missing, 0, 'every lost status was recovered');
        assert.equal(n2.lastSeq, n);
        assert.equal(n2.status, stOf(n), 'the newest status\'s content, never an older one\'s');
        const expected = n - ((n - 3 + 10) % 10);
        assert.equal(Math.max(...acks(out)), expected, 'the highest ACK covers everything complete');
        assert.deepEqual(out.filter((a) => a.type === 'log' && a.level === 'WARN' && a.text.startsWith('Late heartbeat')), []);
      }),
      { numRuns: 300, seed: 20261202 },
    );
  });
}

pairSuite('ts', (c, start) => new Liveness(c, start));
const nativeLoad = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
const nativeBinding = nativeLoad.binding;
if (nativeBinding) pairSuite('native', (c, start) => new nativeBinding.LivenessTracker(c, start));
else test('native: membership + liveness pair', { skip: nativeLoad.reason }, () => {});
