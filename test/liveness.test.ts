// One suite for both liveness trackers: the TS reference and (when the addon exposes it) the
// native engine's C++ twin. Driven with a fake monotonic clock: no sleeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import fc from 'fast-check';

import { loadNative } from '../lib/native';
import { Liveness, type LivenessConfig, type StatusInput, type StatusOutcome } from '../lib/transport/liveness';
import type { LivenessEvent } from '../lib/transport/types';

export interface Tracker {
  status(now: number, s: StatusInput): StatusOutcome;
  packet(now: number, node: string, link: string, generation: number, seq?: number): StatusOutcome;
  ping(now: number, node: string, link: string): StatusOutcome;
  isPeer(node: string): boolean;
  isPingNode(node: string): boolean;
  state(node: string): string | undefined;
  tick(now: number): LivenessEvent[];
  nextDeadline(): number;
  setCommUp(): void;
  stalled(now: number, lateMs: number): LivenessEvent[];
  markDead(node: string): void;
}

export type TrackerFactory = (cfg: LivenessConfig, start: number) => Tracker;

const cfg: LivenessConfig = { localNode: 'n1', nodes: ['n1', 'n2', 'n3'], keepaliveMs: 10, deadtimeMs: 50, warntimeMs: 25, initdeadMs: 120 };

const pair: LivenessConfig = { ...cfg, nodes: ['n1', 'n2'] };

/** n1 and n2, a `ping 198.18.0.9` and a `ping_group routers 198.18.0.7 198.18.0.8`. */
const pinging: LivenessConfig = { ...pair, pingNodes: ['198.18.0.9', 'routers'], deadpingMs: 80 };

const st = (node: string, seq: number, extra: Partial<StatusInput> = {}): StatusInput => ({ node, link: 'eth0', generation: 5, seq, status: 'active', dtMs: 50, ...extra });

const types = (events: LivenessEvent[]) => events.map((e) => e.type);

export function livenessSuite(name: string, make: TrackerFactory): void {
  test(`${name}: first status brings the peer and its link up`, () => {
    const t = make(cfg, 0);
    const r = t.status(3, st('n2', 1));
    assert.equal(r.accepted, true);
    assert.deepEqual(r.events, [
      { type: 'peer-up', node: 'n2', link: 'eth0', status: 'active', generation: 5, restarted: false, returned: false },
      { type: 'link-up', node: 'n2', link: 'eth0' },
    ]);
  });

  test(`${name}: a peer is declared dead exactly at its advertised deadtime after comm-up`, () => {
    const t = make(cfg, 0);
    t.status(1, st('n2', 1, { dtMs: 70 }));
    t.status(1, st('n3', 1));
    t.setCommUp();
    t.status(10, st('n2', 2, { dtMs: 70 }));
    t.status(10, st('n3', 2));
    assert.equal(t.nextDeadline(), 60);
    assert.deepEqual(t.tick(59.999), []);
    assert.deepEqual(t.tick(60), [
      { type: 'peer-dead', node: 'n3', silentMs: 50, timeoutMs: 50 },
      { type: 'link-dead', node: 'n3', link: 'eth0' },
    ]);
    assert.equal(t.nextDeadline(), 80);
    assert.deepEqual(types(t.tick(80)), ['peer-dead', 'link-dead']);
    assert.equal(t.nextDeadline(), Infinity);
  });

  test(`${name}: before comm-up, unheard peers die after initdead`, () => {
    const t = make(cfg, 100);
    assert.equal(t.nextDeadline(), 220);
    assert.deepEqual(t.tick(219), []);
    assert.deepEqual(t.tick(220), [
      { type: 'peer-dead', node: 'n2', silentMs: 120, timeoutMs: 120 },
      { type: 'peer-dead', node: 'n3', silentMs: 120, timeoutMs: 120 },
    ]);
  });

  test(`${name}: late heartbeat is reported with the measured gap`, () => {
    const t = make(cfg, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    const r = t.status(30, st('n2', 2));
    assert.deepEqual(r.events, [{ type: 'peer-late', node: 'n2', link: 'eth0', gapMs: 30 }]);
    assert.deepEqual(t.status(40, st('n2', 3)).events, []);
  });

  test(`${name}: duplicates from a second medium prove that link but not the node`, () => {
    const t = make(pair, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    const dup = t.status(1, st('n2', 1, { link: 'eth1' }));
    assert.equal(dup.accepted, false);
    assert.deepEqual(dup.events, [{ type: 'link-up', node: 'n2', link: 'eth1' }]);
    // Only eth1 keeps hearing n2: eth0 dies, the node lives.
    t.status(20, st('n2', 2, { link: 'eth1' }));
    t.status(40, st('n2', 3, { link: 'eth1' }));
    assert.deepEqual(t.tick(50), [{ type: 'link-dead', node: 'n2', link: 'eth0' }]);
    assert.equal(t.nextDeadline(), 90);
  });

  test(`${name}: replays are refused, also after the peer was declared dead`, () => {
    const t = make(pair, 0);
    t.setCommUp();
    t.status(0, st('n2', 7));
    assert.deepEqual(types(t.tick(50)), ['peer-dead', 'link-dead']);
    // A captured older packet of the same generation must not bring it back (heartbeat would). It is
    // passed on only for sequence tracking (which has seen it and drops it).
    const replay = t.status(60, st('n2', 6));
    assert.deepEqual(replay, { accepted: true, events: [] });
    assert.equal(t.state('n2'), 'dead');
    assert.equal(t.nextDeadline(), Infinity);
    assert.deepEqual(t.status(60, st('n2', 7)), { accepted: false, events: [] }, 'the last status again: a duplicate');
    const older = t.status(61, st('n2', 99, { generation: 4 }));
    assert.deepEqual(older.events, [{ type: 'replay', node: 'n2', generation: 4, currentGeneration: 5 }]);
    // The genuine node returning after a partition: same generation, newer seq.
    const back = t.status(70, st('n2', 8));
    assert.equal(back.accepted, true);
    assert.deepEqual(back.events[0], { type: 'peer-up', node: 'n2', link: 'eth0', status: 'active', generation: 5, restarted: false, returned: true });
  });

  test(`${name}: a restart (higher generation) resets the sequence`, () => {
    const t = make(pair, 0);
    t.status(0, st('n2', 500));
    const r = t.status(5, st('n2', 1, { generation: 6, status: 'up' }));
    assert.equal(r.accepted, true);
    assert.deepEqual(r.events, [{ type: 'peer-restart', node: 'n2', oldGeneration: 5, generation: 6 }]);
    t.setCommUp();
    assert.deepEqual(types(t.tick(55)), ['peer-dead', 'link-dead']);
    const again = t.status(60, st('n2', 1, { generation: 7 }));
    assert.deepEqual(again.events[0], { type: 'peer-restart', node: 'n2', oldGeneration: 6, generation: 7 });
    assert.deepEqual(again.events[1], { type: 'peer-up', node: 'n2', link: 'eth0', status: 'active', generation: 7, restarted: true, returned: false });
  });

  test(`${name}: an older status (retransmitted, or overtaken on another medium) is passed on and changes nothing`, () => {
    const t = make(pair, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    t.status(10, st('n2', 3)); // 2 lost
    // heartbeat retransmits 2 on request: sequence tracking must see it, liveness must not.
    assert.deepEqual(t.status(30, st('n2', 2, { status: 'up', dtMs: 500 })), { accepted: true, events: [] });
    assert.deepEqual(t.status(31, st('n2', 2, { link: 'eth1' })), { accepted: false, events: [] }, 'its copy on another medium: seen already, no link-up from an old seq');
    assert.equal(t.nextDeadline(), 60, 'neither the last-heard time nor the dt moved');
    assert.deepEqual(t.tick(60), [
      { type: 'peer-dead', node: 'n2', silentMs: 50, timeoutMs: 50 },
      { type: 'link-dead', node: 'n2', link: 'eth0' },
    ]);
  });

  test(`${name}: the same status again is dropped; it refreshes only a link that had not carried it`, () => {
    const t = make(pair, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    t.status(0, st('n2', 1, { link: 'eth1' }));
    t.status(20, st('n2', 2));
    assert.deepEqual(t.status(21, st('n2', 2, { link: 'eth1' })), { accepted: false, events: [] });
    // Replayed copies of 2 on either link prove nothing: eth1 dies 50 ms after it carried 2.
    for (const at of [30, 40, 60]) {
      assert.deepEqual(t.status(at, st('n2', 2, { link: 'eth1' })), { accepted: false, events: [] });
      assert.deepEqual(t.status(at, st('n2', 2)), { accepted: false, events: [] });
    }
    assert.equal(t.nextDeadline(), 70);
    assert.deepEqual(t.tick(71), [
      { type: 'peer-dead', node: 'n2', silentMs: 51, timeoutMs: 50 },
      { type: 'link-dead', node: 'n2', link: 'eth0' },
      { type: 'link-dead', node: 'n2', link: 'eth1' },
    ]);
  });

  test(`${name}: an absurd advertised dt is clamped to an hour: no overflowed deadline, no flapping`, () => {
    for (const dtMs of [0xfffffffffff, 1.8e19, Number.MAX_VALUE]) {
      const t = make(pair, 0);
      t.setCommUp();
      t.status(10, st('n2', 1, { dtMs }));
      assert.equal(t.nextDeadline(), 10 + 3_600_000, `dt ${dtMs}`);
      assert.deepEqual(t.tick(20), []);
      assert.equal(t.state('n2'), 'up');
    }
    const t = make(pair, 0);
    t.setCommUp();
    t.status(10, st('n2', 1, { dtMs: -5 }));
    assert.equal(t.nextDeadline(), 60, 'a negative dt is ignored: the local deadtime stays');
  });

  test(`${name}: a restart resets the last-heard time: no late heartbeat across it`, () => {
    const t = make(pair, 0);
    t.status(0, st('n2', 900));
    const r = t.status(40, st('n2', 1, { generation: 6, status: 'up' }));
    assert.deepEqual(r.events, [{ type: 'peer-restart', node: 'n2', oldGeneration: 5, generation: 6 }]);
    assert.deepEqual(t.status(45, st('n2', 2, { generation: 6 })).events, []);
    assert.deepEqual(t.status(75, st('n2', 3, { generation: 6 })).events, [{ type: 'peer-late', node: 'n2', link: 'eth0', gapMs: 30 }]);
  });

  test(`${name}: only a status starts a new generation`, () => {
    const t = make(pair, 0);
    t.status(0, st('n2', 7));
    assert.deepEqual(t.packet(5, 'n2', 'eth0', 6), { accepted: true, events: [] }, 'no restart from a non-status packet');
    assert.deepEqual(t.status(6, st('n2', 8)), { accepted: true, events: [] }, 'generation 5 still current');
    const r = t.status(7, st('n2', 2, { generation: 6 }));
    assert.deepEqual(r.events, [{ type: 'peer-restart', node: 'n2', oldGeneration: 5, generation: 6 }]);
  });

  test(`${name}: a peer marked dead after its shutdown notice has no deadline and returns only by restarting`, () => {
    const t = make(pair, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    t.markDead('n2');
    assert.equal(t.state('n2'), 'dead');
    assert.equal(t.nextDeadline(), 50, 'only its link still times out');
    // Its last statuses before it exits are sequenced, but it stays gone.
    assert.deepEqual(t.status(10, st('n2', 2)), { accepted: true, events: [] });
    assert.deepEqual(t.tick(60), [{ type: 'link-dead', node: 'n2', link: 'eth0' }]);
    assert.equal(t.nextDeadline(), Infinity);
    const back = t.status(100, st('n2', 1, { generation: 6, status: 'up' }));
    assert.deepEqual(types(back.events), ['peer-restart', 'peer-up', 'link-up']);
    assert.equal(back.events[1]?.type === 'peer-up' && back.events[1].returned, false);
    assert.equal(t.nextDeadline(), 150);
    t.markDead('stranger');
    t.markDead('n1');
  });

  test(`${name}: non-status packets prove links only; own packets bring own links up once`, () => {
    const t = make(pair, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    assert.deepEqual(t.packet(10, 'n2', 'eth1', 5).events, [{ type: 'link-up', node: 'n2', link: 'eth1' }]);
    assert.deepEqual(types(t.tick(50)), ['peer-dead', 'link-dead']);
    assert.deepEqual(t.status(1, st('n1', 1)).events, [{ type: 'link-up', node: 'n1', link: 'eth0' }]);
    assert.deepEqual(t.status(2, st('n1', 2)).events, []);
    assert.deepEqual(t.packet(3, 'stranger', 'eth0', 1), { accepted: false, events: [] });
  });

  test(`${name}: a replayed copy of any sequenced packet is dropped, an unseen older one goes on once`, () => {
    const t = make(pair, 0);
    t.status(0, st('n2', 10));
    assert.equal(t.packet(1, 'n2', 'eth0', 5, 11).accepted, true, 'a new message');
    assert.equal(t.packet(2, 'n2', 'eth0', 5, 11).accepted, false, 'its replayed copy');
    assert.equal(t.status(3, st('n2', 12)).accepted, true);
    assert.equal(t.status(4, st('n2', 9)).accepted, true, 'an older status not seen yet: for sequence tracking');
    assert.equal(t.status(5, st('n2', 9)).accepted, false, 'the same older status again');
    assert.equal(t.status(6, st('n2', 10)).accepted, false, 'an older status seen already');
    assert.equal(t.packet(7, 'n2', 'eth0', 5, -1).accepted, true, 'unsequenced messages cannot be judged');
    assert.equal(t.status(8, st('n2', 600)).accepted, true);
    assert.equal(t.packet(9, 'n2', 'eth0', 5, 60).accepted, false, 'older than the window');
    assert.equal(t.status(10, st('n2', 1, { generation: 6 })).accepted, true, 'a restart starts a new window');
    assert.equal(t.packet(11, 'n2', 'eth0', 6, 2).accepted, true);
  });

  test(`${name}: after an own stall nobody dies until fresh packets could arrive`, () => {
    const t = make(cfg, 0);
    t.setCommUp();
    t.status(0, st('n2', 1));
    t.status(0, st('n3', 1));
    assert.deepEqual(t.stalled(200, 190), [{ type: 'own-stall', lateMs: 190 }]);
    assert.deepEqual(t.tick(200), []);
    assert.equal(t.nextDeadline(), 225); // 2 keepalives + the stall threshold
    t.status(201, st('n2', 2)); // queued packets drained after the stall
    assert.deepEqual(t.tick(225).map((e) => ('node' in e ? `${e.type}:${e.node}` : e.type)), ['peer-dead:n3', 'link-dead:n3']);
  });

  test(`${name}: an echo reply brings a ping node up with status ping, the answering address as its link`, () => {
    const t = make(pinging, 0);
    assert.equal(t.state('198.18.0.9'), 'init');
    const r = t.ping(3, '198.18.0.9', '198.18.0.9');
    assert.equal(r.accepted, true);
    assert.deepEqual(r.events, [
      { type: 'peer-up', node: '198.18.0.9', link: '198.18.0.9', status: 'ping', generation: 0, restarted: false, returned: false },
      { type: 'link-up', node: '198.18.0.9', link: '198.18.0.9' },
    ]);
    assert.equal(t.state('198.18.0.9'), 'up');
    assert.deepEqual([t.isPingNode('198.18.0.9'), t.isPeer('198.18.0.9'), t.isPingNode('n2'), t.isPeer('n2')], [true, false, false, true]);
  });

  test(`${name}: ping nodes die exactly at deadping, before comm-up too (never initdead, never a dt)`, () => {
    const t = make(pinging, 100);
    assert.equal(t.nextDeadline(), 180);
    assert.deepEqual(t.tick(179.999), []);
    assert.deepEqual(t.tick(180), [
      { type: 'peer-dead', node: '198.18.0.9', silentMs: 80, timeoutMs: 80 },
      { type: 'peer-dead', node: 'routers', silentMs: 80, timeoutMs: 80 },
    ]);
    t.status(200, st('n2', 1, { dtMs: 500 }));
    t.setCommUp();
    assert.equal(t.ping(200, '198.18.0.9', '198.18.0.9').events[0]?.type, 'peer-up');
    assert.equal(t.nextDeadline(), 280);
    assert.deepEqual(t.tick(280), [
      { type: 'peer-dead', node: '198.18.0.9', silentMs: 80, timeoutMs: 80 },
      { type: 'link-dead', node: '198.18.0.9', link: '198.18.0.9' },
    ]);
    assert.equal(t.nextDeadline(), 700, 'n2 keeps its advertised deadtime');
  });

  test(`${name}: every echo counts (NS_st has no generation or seq); ping and UDP names do not mix`, () => {
    const t = make(pinging, 0);
    t.ping(0, '198.18.0.9', '198.18.0.9');
    assert.deepEqual(t.ping(10, '198.18.0.9', '198.18.0.9'), { accepted: true, events: [] });
    assert.deepEqual(t.ping(10, '198.18.0.9', '198.18.0.9'), { accepted: true, events: [] }, 'the same echo again still counts');
    assert.deepEqual(t.ping(40, '198.18.0.9', '198.18.0.9').events, [{ type: 'peer-late', node: '198.18.0.9', link: '198.18.0.9', gapMs: 30 }]);
    // A UDP status or packet claiming a ping node's name, or an echo for a normal node, is refused.
    assert.deepEqual(t.status(50, st('198.18.0.9', 1)), { accepted: false, events: [] });
    assert.deepEqual(t.packet(50, '198.18.0.9', 'eth0', 5), { accepted: false, events: [] });
    assert.deepEqual(t.ping(50, 'n2', '198.18.0.2'), { accepted: false, events: [] });
    assert.deepEqual(t.ping(50, 'stranger', '198.18.0.66'), { accepted: false, events: [] });
    assert.deepEqual(t.tick(80), [{ type: 'peer-dead', node: 'routers', silentMs: 80, timeoutMs: 80 }]);
    assert.equal(t.nextDeadline(), 120);
    const due = t.tick(120).map((e) => ('node' in e ? `${e.type}:${e.node}` : e.type));
    assert.deepEqual(due, ['peer-dead:n2', 'peer-dead:198.18.0.9', 'link-dead:198.18.0.9'], 'n2 unheard until initdead, the ping node deadping after its last echo');
  });

  test(`${name}: a ping_group stays up while one address answers; the silent address's link dies`, () => {
    const t = make(pinging, 0);
    t.ping(0, 'routers', '198.18.0.7');
    assert.deepEqual(t.ping(1, 'routers', '198.18.0.8').events, [{ type: 'link-up', node: 'routers', link: '198.18.0.8' }]);
    t.ping(40, 'routers', '198.18.0.7');
    assert.deepEqual(t.tick(80), [{ type: 'peer-dead', node: '198.18.0.9', silentMs: 80, timeoutMs: 80 }]);
    t.ping(75, 'routers', '198.18.0.7');
    assert.deepEqual(t.tick(81), [{ type: 'link-dead', node: 'routers', link: '198.18.0.8' }]);
    assert.equal(t.state('routers'), 'up');
    assert.equal(t.nextDeadline(), 120, 'n2 at initdead');
  });
}

livenessSuite('ts', (c, start) => new Liveness(c, start));

// The engine's C++ twin, through the addon. Without the addon the suite is skipped and says why,
// unless HBD_REQUIRE_NATIVE=1 (CI), where loadNative throws and the file fails.
const nativeLoad = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
const nativeBinding = nativeLoad.binding;
if (nativeBinding) livenessSuite('native', (c, start) => new nativeBinding.LivenessTracker(c, start));
else test('native: liveness suite', { skip: nativeLoad.reason }, () => {});

/** One step of a random run: what both trackers are told, at a time advanced by `dt` ms. */
type Op =
  | { readonly op: 'status'; readonly dt: number; readonly s: StatusInput }
  | { readonly op: 'packet'; readonly dt: number; readonly node: string; readonly link: string; readonly generation: number; readonly seq: number }
  | { readonly op: 'ping'; readonly dt: number; readonly node: string; readonly link: string }
  | { readonly op: 'tick'; readonly dt: number }
  | { readonly op: 'stalled'; readonly dt: number; readonly lateMs: number }
  | { readonly op: 'commUp'; readonly dt: number }
  | { readonly op: 'markDead'; readonly dt: number; readonly node: string };

const dt = fc.integer({ min: 0, max: 40 });
const node = fc.constantFrom('n1', 'n2', 'n3', 'stranger', '198.18.0.9', 'routers');
const link = fc.constantFrom('eth0', 'eth1', '198.18.0.9', '198.18.0.7');
/** The random runs' configuration: normal peers and ping nodes, all timeouts distinct. */
const fuzzCfg: LivenessConfig = { ...cfg, pingNodes: ['198.18.0.9', 'routers'], deadpingMs: 60 };
const generation = fc.integer({ min: 4, max: 6 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('status' as const), dt, s: fc.record({ node, link, generation, seq: fc.integer({ min: 0, max: 8 }), status: fc.constantFrom('up', 'active'), dtMs: fc.constantFrom(0, 30, 50, 70, -1, 1e16) }) }),
  fc.record({ op: fc.constant('packet' as const), dt, node, link, generation, seq: fc.integer({ min: -1, max: 8 }) }),
  fc.record({ op: fc.constant('ping' as const), dt, node, link }),
  fc.record({ op: fc.constant('tick' as const), dt }),
  fc.record({ op: fc.constant('stalled' as const), dt, lateMs: fc.integer({ min: 5, max: 200 }) }),
  fc.record({ op: fc.constant('commUp' as const), dt }),
  fc.record({ op: fc.constant('markDead' as const), dt, node }),
);

function apply(t: Tracker, now: number, o: Op): unknown {
  switch (o.op) {
    case 'status':
      return t.status(now, o.s);
    case 'packet':
      return t.packet(now, o.node, o.link, o.generation, o.seq);
    case 'ping':
      return t.ping(now, o.node, o.link);
    case 'tick':
      return t.tick(now);
    case 'stalled':
      return t.stalled(now, o.lateMs);
    case 'commUp':
      return t.setCommUp();
    case 'markDead':
      return t.markDead(o.node);
  }
}

test('native: the C++ twin answers exactly as the TS reference on random runs', { skip: nativeBinding ? false : (nativeLoad.reason ?? true) }, () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const ts = new Liveness(fuzzCfg, 0);
      const cc = new nativeBinding!.LivenessTracker(fuzzCfg, 0);
      let now = 0;
      for (const [i, o] of ops.entries()) {
        now += o.dt;
        assert.deepEqual(apply(cc, now, o), apply(ts, now, o), `step ${i}: ${JSON.stringify(o)}`);
        assert.equal(cc.nextDeadline(), ts.nextDeadline(), `nextDeadline after step ${i}`);
        for (const n of [...fuzzCfg.nodes, ...fuzzCfg.pingNodes!, 'stranger']) assert.equal(cc.state(n), ts.state(n), `state of ${n} after step ${i}`);
      }
    }),
    { numRuns: 500 },
  );
});
