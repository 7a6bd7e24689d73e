// The resource policy (lib/cluster/policy.ts) driven input by input on a fake clock: heartbeat's
// message field sets and log texts, every exchange of spec §8, and a real heartbeat 3.0.6 node's
// captured messages driving it through a restart and auto-failback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ResourcePolicy } from '../lib/cluster/policy';
import { HEARTBEAT_TIMINGS, policyConfigFrom, type PolicyAction, type PolicyConfig, type PolicyInput } from '../lib/cluster/types';
import type { ClusterConfig, Resource } from '../lib/config/types';
import { readCapture } from '../lib/pcap/reader';
import { decode } from '../lib/wire/codec';
import { get, str } from '../lib/wire/message';
import type { Message } from '../lib/wire/types';
import { PolicyNet, group, text, vip } from './support/policy-net';
import { CAPTURE_DIR } from './vectors/vector-file';

const A = group('198.18.0.10', 'alice');
const B = group('198.18.0.11', 'bob');

function config(o: Partial<PolicyConfig> = {}): PolicyConfig {
  return { localNode: 'alice', nodes: ['alice', 'bob'], groups: [A, B], autoFailback: 'on', timings: HEARTBEAT_TIMINGS, pid: 4242, restartHeld: null, ...o };
}

const msg = (...kv: [string, string][]): Message => kv.map(([k, v]) => str(k, v));

/** One policy with its own messages looped back the way membership does. */
class Solo {
  readonly p: ResourcePolicy;
  now = 0;
  readonly out: PolicyAction[] = [];
  private looped = 0;

  constructor(readonly cfg: PolicyConfig) {
    this.p = new ResourcePolicy(cfg, 0);
  }

  in(input: PolicyInput, at = this.now): PolicyAction[] {
    this.now = at;
    const a = this.p.onInput(input, at);
    this.out.push(...a);
    return a;
  }

  /** A message from `from` (a peer, comm up). */
  from(from: string, m: Message): PolicyAction[] {
    return this.in({ type: 'deliver', from, message: [...m, str('src', from)], own: false, comm: 'up' });
  }

  /** Delivers every own message sent so far and not yet looped back (repeatedly). */
  loop(): void {
    for (;;) {
      const sends = this.out.filter((a): a is Extract<PolicyAction, { type: 'send' }> => a.type === 'send');
      if (this.looped >= sends.length) return;
      const m = (sends[this.looped++] as { message: Message }).message;
      if (get(m, 'dest') !== undefined && get(m, 'dest') !== this.cfg.localNode) continue;
      this.in({ type: 'deliver', from: this.cfg.localNode, message: [...m, str('src', this.cfg.localNode)], own: true, comm: 'up' });
    }
  }

  /** Completes the pending group operations (successfully unless told otherwise), then loops. */
  finish(ok = true): void {
    for (let guard = 0; guard < 50; guard++) {
      const snap = this.p.snapshot();
      const busy = snap.groups.filter((g) => g.state === 'starting' || g.state === 'stopping');
      if (busy.length === 0) return this.loop();
      for (const g of busy) this.in({ type: 'group-result', key: g.key, op: g.state === 'starting' ? 'start' : 'stop', ok, detail: ok ? 'ok' : 'exit code 1' });
      this.loop();
    }
  }

  sends(): string[] {
    return this.out.filter((a) => a.type === 'send').map((a) => text((a as { message: Message }).message));
  }

  logs(): string[] {
    return this.out.filter((a) => a.type === 'log').map((a) => `${(a as { level: string }).level}: ${(a as { text: string }).text}`);
  }

  ops(): string[] {
    return this.out.filter((a) => a.type === 'start-group' || a.type === 'stop-group').map((a) => `${a.type === 'start-group' ? 'start' : 'stop'} ${(a as { key: string }).key} (${(a as { reason: string }).reason})`);
  }

  clear(): void {
    this.out.length = 0;
    this.looped = 0;
  }

  state(key: string): string | undefined {
    return this.p.snapshot().groups.find((g) => g.key === key)?.state;
  }
}

/** alice with bob up and active, comm up, both stable, each holding its own group. */
function settledAlice(mode: 'on' | 'off' | 'legacy' = 'on'): Solo {
  const s = new Solo(config({ autoFailback: mode }));
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' });
  s.loop();
  if (mode !== 'legacy') {
    s.from('bob', msg(['t', 'starting']));
    s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'local'], ['rtype', 'full'], ['isstable', '1']));
    s.loop();
  } else {
    s.from('bob', msg(['t', 'ip-request-resp'], ['dest', 'alice'], ['ipaddr', A.key], ['weown', 'no'], ['ok', 'OK']));
  }
  s.finish();
  s.clear();
  return s;
}

// --- configuration ---------------------------------------------------------------------------

test('configuration errors name the problem and the fix', () => {
  assert.throws(() => new ResourcePolicy(config({ groups: [A, { ...B, key: A.key }] }), 0), /names the group "198.18.0.10" twice/);
  assert.throws(() => new ResourcePolicy(config({ groups: [{ ...A, node: 'carol' }] }), 0), /prefers node "carol", which is not an ha.cf node/);
  assert.throws(() => new ResourcePolicy(config({ localNode: 'dave' }), 0), /add "node dave" to ha.cf/);
  assert.throws(() => new ResourcePolicy(config({ restartHeld: ['nope'] }), 0), /restart state names group "nope"/);
});

test('policyConfigFrom: only the leading address resources go into the takeover plan', () => {
  const res = (text: string, line: number): Resource => ({ script: text.includes('.') ? 'IPaddr' : text, args: [], text, line, ipaddr: text.includes('.') ? { ip: text, cidrNetmask: 24, nic: 'eth0', broadcast: null } : null });
  const cfg = {
    localNode: 'alice',
    nodes: [{ name: 'alice', line: 1 }, { name: 'bob', line: 2 }],
    autoFailback: 'off',
    resources: [
      { key: '198.18.0.10', node: 'alice', line: 1, resources: [res('198.18.0.10', 1), res('198.18.0.12', 1), res('apache', 1), res('198.18.0.13', 1)] },
      { key: 'drbddisk', node: 'bob', line: 2, resources: [res('drbddisk', 2), res('198.18.0.11', 2)] },
    ],
  } as unknown as ClusterConfig;
  const pc = policyConfigFrom(cfg, (r) => (r.ipaddr ? vip(r.ipaddr.ip) : null), { pid: 7 });
  assert.deepEqual(pc.groups.map((g) => g.vips.map((v) => v.address)), [['198.18.0.10', '198.18.0.12'], []]);
  assert.deepEqual(pc.groups[0]?.resources, ['198.18.0.10', '198.18.0.12', 'apache', '198.18.0.13']);
  assert.equal(pc.autoFailback, 'off');
  assert.equal(pc.restartHeld, null);
});

// --- start-up (spec §8.5) --------------------------------------------------------------------

test('auto_failback on, both start together (trace T1): starting, interim resource, 10 s RSCRCVD, self-granted groups', () => {
  const s = new Solo(config());
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' }, 50);
  s.loop();
  assert.deepEqual(s.sends(), ['t=starting']);
  s.from('bob', msg(['t', 'starting']));
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'none'], ['rtype', 'full'], ['isstable', '0']));
  assert.deepEqual(s.sends(), ['t=starting', 't=resource rsc_hold=none rtype=full isstable=0']);
  assert.equal(s.p.snapshot().phase, 'rscrcvd');
  assert.equal(s.p.nextTimer(), 50 + 10_000);
  s.in({ type: 'timer' }, 10_050);
  assert.deepEqual(s.sends().slice(2), [
    't=ip-request-resp dest=alice ipaddr=198.18.0.10 weown=yes ok=OK',
    't=resource rsc_hold=local rtype=full isstable=1 info=req_our_resources()',
    't=resource rsc_hold=local rtype=full isstable=1',
  ]);
  assert.deepEqual(s.ops(), []); // the group starts when our own grant comes back
  s.loop();
  assert.deepEqual(s.ops(), ['start 198.18.0.10 (acquire)']);
  assert.equal(s.p.snapshot().rscstatus, 'transition');
  s.finish();
  assert.equal(s.state(A.key), 'held-local');
  assert.ok(s.logs().includes('info: local resource transition completed.'));
  assert.ok(s.logs().includes('info: Initial resource acquisition complete (req_our_resources)'));
  assert.ok(s.logs().includes(`info: received ip-request-resp ${A.key} OK yes`));
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'local'], ['rtype', 'full'], ['isstable', '1']));
  assert.equal(s.p.snapshot().rscstatus, 'local');
  assert.equal(s.state(B.key), 'held-remote');
  assert.equal(s.p.snapshot().groups.find((g) => g.key === B.key)?.holder, 'bob');
});

test('a lone node: the peer is declared dead at initdead, everything is taken over (n_stnth, mach_down)', () => {
  const s = new Solo(config());
  s.in({ type: 'node-status', node: 'bob', status: 'dead', previous: 'init', message: null }, 30_000);
  assert.deepEqual(s.logs(), ['WARN: No STONITH device configured.', 'WARN: Shared disks are not protected.', 'info: Resources being acquired from bob.', `info: Taking over resource group ${B.key}`, 'info: Local Resource acquisition completed.']);
  s.in({ type: 'comm-up' });
  s.loop();
  s.finish();
  assert.deepEqual(s.sends(), [
    't=stonith node=bob result=n_stnth',
    't=ip-request-resp dest=alice ipaddr=198.18.0.10 weown=yes ok=OK',
    't=resource rsc_hold=all rtype=full isstable=1 info=req_our_resources()',
    't=starting',
    't=resource rsc_hold=foreign info=mach_down',
  ]);
  assert.deepEqual(s.ops().sort(), ['start 198.18.0.10 (acquire)', 'start 198.18.0.11 (takeover)']);
  assert.ok(s.logs().includes('info: mach_down takeover complete for node bob.'));
  assert.ok(s.logs().includes('info: mach_down takeover complete.'));
  s.in({ type: 'timer' }, s.p.nextTimer());
  assert.equal(s.p.snapshot().rscstatus, 'all');
});

test('a restarted node never grabs a group its peer holds: peer says all, we acquire nothing', () => {
  const s = new Solo(config({ autoFailback: 'off' }));
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' });
  s.loop();
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'all'], ['rtype', 'full'], ['isstable', '1']));
  s.loop();
  assert.ok(s.logs().includes('info: Local Resource acquisition completed. (none)'));
  assert.deepEqual(s.ops(), []);
  // heartbeat's interim isstable=0 (not stable yet when the peer's stability is noted), then 1.
  assert.deepEqual(s.sends(), ['t=starting', 't=resource rsc_hold=none rtype=full isstable=0', 't=resource rsc_hold=none rtype=full isstable=1']);
  assert.equal(s.state(A.key), 'held-remote');
  // Even a self-grant that crossed the peer's claim is not started.
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'all'], ['rtype', 'full'], ['isstable', '1']));
  s.in({ type: 'deliver', from: 'alice', message: msg(['t', 'ip-request-resp'], ['dest', 'alice'], ['ipaddr', A.key], ['weown', 'yes'], ['ok', 'OK'], ['src', 'alice']), own: true, comm: 'up' });
  assert.deepEqual(s.ops(), []);
});

test("a restarted node whose first packets from the peer were not a status still sees the peer's claim", () => {
  // Comm-up on the peer's reply alone: its next status beat comes only a keepalive later.
  const s = new Solo(config({ autoFailback: 'off' }));
  s.in({ type: 'comm-up' });
  s.loop();
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'all'], ['rtype', 'full'], ['isstable', '1']));
  s.loop();
  assert.ok(s.logs().includes('info: Local Resource acquisition completed. (none)'), s.logs().join('\n'));
  assert.deepEqual(s.ops(), []);
  assert.ok(!s.sends().some((m) => m.startsWith('t=ip-request-resp')), s.sends().join('\n'));
});

test('resource messages before comm-up are ignored, as heartbeat registers its handlers at comm-up', () => {
  const s = new Solo(config());
  assert.deepEqual(s.in({ type: 'deliver', from: 'bob', message: msg(['t', 'starting'], ['src', 'bob']), own: false, comm: 'links-up' }), []);
  assert.equal(s.p.snapshot().phase, 'init');
});

// --- takeover (spec §8.6) --------------------------------------------------------------------

test('takeover plan: the VIPs that would fall to us are in the engine before the peer dies', () => {
  const s = settledAlice();
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'active', message: null });
  // settledAlice cleared; the plan was set while settling: look at the full history instead.
  const s2 = new Solo(config());
  s2.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  const plan = s2.in({ type: 'comm-up' }).filter((a) => a.type === 'set-takeover-plan');
  assert.deepEqual(plan, [{ type: 'set-takeover-plan', node: 'bob', vips: [vip(B.key)] }]);
  // Peer death: the plan is withdrawn (it fired once) and the group is started by JS as well.
  const died = s.in({ type: 'node-status', node: 'bob', status: 'dead', previous: 'active', message: null });
  assert.ok(died.some((a) => a.type === 'set-takeover-plan' && a.node === 'bob' && a.vips === null));
  assert.ok(died.some((a) => a.type === 'start-group' && a.key === B.key && a.reason === 'takeover'));
  assert.ok(s.logs().includes('info: Resources being acquired from bob.'));
  // bob last said it held its local groups: STONITH would be needed; hbd has none.
  assert.ok(s.sends().includes('t=stonith node=bob result=n_stnth'));
});

test('a peer that held nothing and dies "gave up resources" (no STONITH needed)', () => {
  const s = new Solo(config());
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' });
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'none'], ['rtype', 'full'], ['isstable', '0']));
  s.in({ type: 'node-status', node: 'bob', status: 'dead', previous: 'active', message: null });
  assert.ok(s.logs().includes('info: Dead node bob gave up resources.'));
  assert.ok(s.sends().includes('t=stonith node=bob result=unneeded'));
  assert.ok(s.ops().includes(`start ${B.key} (takeover)`));
});

// --- graceful shutdown (spec §8.8) -----------------------------------------------------------

test('shutdown: resource none info=shutdown, every group stopped last first, shutdone, complete on our own shutdone', () => {
  const s = settledAlice();
  s.in({ type: 'shutdown', keepResources: false });
  assert.deepEqual(s.sends(), ['t=resource rsc_hold=none rtype=full isstable=0 info=shutdown']);
  assert.deepEqual(s.ops(), [`stop ${B.key} (shutdown)`]); // one at a time, reverse haresources order
  assert.ok(s.out.some((a) => a.type === 'set-takeover-plan' && a.vips === null));
  s.in({ type: 'group-result', key: B.key, op: 'stop', ok: true, detail: '' });
  assert.deepEqual(s.ops(), [`stop ${B.key} (shutdown)`, `stop ${A.key} (shutdown)`]);
  s.in({ type: 'group-result', key: A.key, op: 'stop', ok: true, detail: '' });
  assert.equal(s.sends().at(-1), 't=shutdone st=dead');
  assert.ok(!s.out.some((a) => a.type === 'shutdown-complete'));
  s.loop();
  assert.deepEqual(s.out.filter((a) => a.type === 'shutdown-complete'), [{ type: 'shutdown-complete', keepResources: false }]);
  assert.deepEqual(s.logs(), ['info: Heartbeat shutdown in progress. (4242)', 'info: Giving up all HA resources.', 'info: All HA resources relinquished.']);
  assert.equal(s.p.snapshot().phase, 'shutdown');
});

test('shutdown waits for communication and for resource activity to finish', () => {
  const s = new Solo(config());
  s.in({ type: 'shutdown', keepResources: false });
  assert.deepEqual(s.logs(), ['WARN: Shutdown delayed until Communication is up.']);
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' });
  // Nothing acquired: straight to giving everything up.
  assert.ok(!s.sends().includes('t=starting'));
  assert.ok(s.logs().includes('info: Giving up all HA resources.'));

  const t = settledAlice();
  t.in({ type: 'standby', scope: 'all' });
  t.loop(); // our `me` makes us wait for bob's `other`
  t.in({ type: 'shutdown', keepResources: false });
  assert.ok(t.logs().includes('WARN: Shutdown delayed until current resource activity finishes.'));
  assert.ok(!t.logs().includes('info: Giving up all HA resources.'));
  t.in({ type: 'timer' }, t.p.nextTimer());
  assert.ok(t.logs().includes('WARN: No reply to standby request.  Standby request cancelled.'));
  assert.ok(t.logs().includes('info: Giving up all HA resources.'));
});

test("the peer's shutdone: takeover at once, without waiting for deadtime", () => {
  const s = settledAlice();
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'none'], ['rtype', 'full'], ['isstable', '0'], ['info', 'shutdown']));
  s.from('bob', msg(['t', 'shutdone'], ['st', 'dead']));
  assert.ok(s.logs().includes('info: Resources being acquired from bob.'));
  assert.deepEqual(s.ops(), [`start ${B.key} (takeover)`]);
  s.finish();
  assert.equal(s.sends().at(-1), 't=resource rsc_hold=foreign info=mach_down');
  // Its death later needs no STONITH and takes nothing again.
  s.clear();
  s.in({ type: 'node-status', node: 'bob', status: 'dead', previous: 'active', message: null });
  assert.deepEqual(s.logs(), ['info: Dead node bob gave up resources.']);
  assert.deepEqual(s.ops(), []);
});

test('a restart keeping the resources: +30 s advertised deadtime, and the new process starts stable', () => {
  const s = settledAlice();
  const a = s.in({ type: 'shutdown', keepResources: true });
  assert.deepEqual(a.filter((x) => x.type !== 'set-takeover-plan'), [
    { type: 'bump-deadtime', tag: 'restart', extraMs: 30_000 },
    { type: 'shutdown-complete', keepResources: true },
  ]);
  assert.deepEqual(s.ops(), []);
  const n = new Solo(config({ restartHeld: [A.key] }));
  n.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  n.in({ type: 'comm-up' });
  assert.deepEqual(n.sends(), ['t=resource rsc_hold=local rtype=full isstable=1']);
  assert.equal(n.state(A.key), 'held-local');
  assert.deepEqual(n.ops(), []);
});

// --- failback modes (spec §8.4, traces T3/T4) ------------------------------------------------

test('auto_failback on (trace T3): the returning node gets its group back through the standby exchange', () => {
  const net = new PolicyNet({ nodes: ['alice', 'bob'], groups: [A, B], autoFailback: 'on' });
  net.boot('alice');
  net.boot('bob');
  net.runFor(20_000);
  net.kill('bob');
  net.runFor(10_000);
  assert.deepEqual(net.holders(B.key), ['alice']);
  const mark = net.sent.length;
  net.boot('bob');
  net.runFor(20_000);
  assert.deepEqual(net.holders(B.key), ['bob']);
  assert.deepEqual(net.holders(A.key), ['alice']);
  const seq = net.sent.slice(mark).map((m) => `${m.from}: ${text(m.message)}`);
  assert.deepEqual(seq, [
    'bob: t=starting',
    'alice: t=resource rsc_hold=all rtype=full isstable=1',
    'bob: t=resource rsc_hold=none rtype=full isstable=0',
    'bob: t=resource rsc_hold=none rtype=full isstable=1',
    'alice: t=resource rsc_hold=all rtype=full isstable=1',
    'alice: t=ask_resources rsc_hold=foreign info=me',
    'bob: t=ask_resources rsc_hold=foreign info=other',
    'alice: t=resource rsc_hold=local rtype=full isstable=0 info=standby',
    'alice: t=ask_resources rsc_hold=foreign info=done',
    'bob: t=ask_resources rsc_hold=foreign info=done',
    'alice: t=resource rsc_hold=local rtype=full isstable=1',
    'bob: t=resource rsc_hold=local rtype=full isstable=1',
    'bob: t=resource rsc_hold=local rtype=full isstable=1',
    'alice: t=resource rsc_hold=local rtype=full isstable=1',
  ]);
  const logs = net.logs();
  for (const l of ['alice: alice wants to go standby [foreign]', 'alice: standby: bob can take our foreign resources', 'alice: give up foreign HA resources (standby).', 'alice: foreign HA resource release completed (standby).', 'alice: Local standby process completed [foreign].', 'bob: standby: acquire [foreign] resources from alice', 'bob: acquire local HA resources (standby).', 'bob: local HA resource acquisition completed (standby).', 'bob: Standby resource acquisition done [foreign].', 'alice: Other node completed standby takeover of foreign resources.', 'bob: Initial resource acquisition complete (auto_failback)']) {
    assert.ok(logs.includes(l), l);
  }
  assert.deepEqual(net.violations, []);
});

test('auto_failback off: the returning node stays quiet; legacy: it asks with ip-request (trace T4)', () => {
  for (const mode of ['off', 'legacy'] as const) {
    const net = new PolicyNet({ nodes: ['alice', 'bob'], groups: [A, B], autoFailback: mode });
    net.boot('alice');
    net.boot('bob');
    net.runFor(20_000);
    assert.deepEqual([net.holders(A.key), net.holders(B.key)], [['alice'], ['bob']]);
    net.kill('bob');
    net.runFor(10_000);
    const mark = net.sent.length;
    net.boot('bob');
    net.runFor(20_000);
    const seq = net.sent.slice(mark).map((m) => `${m.from}: ${text(m.message)}`);
    if (mode === 'off') {
      assert.deepEqual(net.holders(B.key), ['alice']);
      assert.ok(!seq.some((l) => l.includes('ask_resources')));
    } else {
      assert.deepEqual(net.holders(B.key), ['bob']);
      assert.deepEqual(seq, ['bob: t=ip-request ipaddr=198.18.0.11', 'alice: t=ip-request-resp dest=bob ipaddr=198.18.0.11 weown=yes ok=OK']);
    }
    assert.deepEqual(net.violations, []);
  }
});

test('legacy: comm up before a heard peer\'s first status: our groups are asked for once its status is known, from it when active, granted to ourselves when dead', () => {
  // A restarted node can hear the running peer's ack or repnodes first, and reach comm-up before its
  // status beat: counting it as not active would grant us a group it holds (found in the lab).
  for (const then of ['active', 'dead'] as const) {
    const s = new Solo(config({ autoFailback: 'legacy' }));
    s.in({ type: 'comm-up' });
    s.loop();
    assert.deepEqual(s.sends(), [], then);
    assert.ok(s.logs().includes("info: hbd: communication is up before the first status of bob; asking for our resources once it is known"), s.logs().join('\n'));
    s.in({ type: 'node-status', node: 'bob', status: then, previous: 'init', message: null });
    s.loop();
    if (then === 'active') {
      assert.deepEqual(s.sends(), [`t=ip-request ipaddr=${A.key}`]);
      assert.deepEqual(s.ops(), []);
    } else {
      assert.ok(s.sends().includes(`t=ip-request-resp dest=alice ipaddr=${A.key} weown=yes ok=OK`), s.sends().join('\n'));
      assert.ok(s.ops().some((o) => o.startsWith(`start ${A.key} `)), s.ops().join('\n'));
    }
  }
});

test('legacy: rc.d/ip-request gives up a held group before answering weown=yes, answers weown=no otherwise', () => {
  const s = settledAlice('legacy');
  s.from('bob', msg(['t', 'ip-request'], ['ipaddr', A.key]));
  assert.deepEqual(s.ops(), [`stop ${A.key} (handover)`]);
  assert.deepEqual(s.sends(), []);
  s.finish();
  assert.deepEqual(s.sends(), [`t=ip-request-resp dest=bob ipaddr=${A.key} weown=yes ok=OK`]);
  s.clear();
  s.from('bob', msg(['t', 'ip-request'], ['ipaddr', B.key]));
  assert.deepEqual(s.sends(), [`t=ip-request-resp dest=bob ipaddr=${B.key} weown=no ok=OK`]);
  s.clear();
  s.in({ type: 'standby', scope: 'all' });
  s.loop();
  assert.ok(s.logs().includes('info: Standby mode only implemented when nice_failback on'));
  assert.equal(s.p.snapshot().rscstatus, 'none');
});

// --- standby / takeover (spec §8.7, §11.2) ---------------------------------------------------

test('standby exchange, requester side: me, other, release, done, done', () => {
  const s = settledAlice();
  s.in({ type: 'standby', scope: 'all' });
  s.loop();
  assert.deepEqual(s.sends(), ['t=ask_resources rsc_hold=all info=me']);
  assert.ok(s.logs().includes('info: Going standby [all].'));
  assert.ok(s.logs().includes('info: alice wants to go standby [all]'));
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'all'], ['info', 'other']));
  assert.deepEqual(s.sends().slice(1), ['t=resource rsc_hold=none rtype=full isstable=0 info=standby']);
  assert.deepEqual(s.ops(), [`stop ${A.key} (standby)`]);
  s.finish();
  assert.deepEqual(s.sends().slice(2), ['t=ask_resources rsc_hold=all info=done']);
  assert.ok(s.logs().includes('info: Local standby process completed [all].'));
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'all'], ['info', 'done']));
  assert.ok(s.logs().includes('info: Other node completed standby takeover of all resources.'));
  assert.equal(s.sends().at(-1), 't=resource rsc_hold=none rtype=full isstable=1');
  assert.equal(s.p.snapshot().standby, 'not');
});

test('standby exchange, acquirer side, and the refusals', () => {
  const s = settledAlice();
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'foreign'], ['info', 'me']));
  assert.ok(s.logs().includes('info: bob wants to go standby [foreign]'));
  assert.deepEqual(s.sends(), ['t=ask_resources rsc_hold=foreign info=other']);
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'foreign'], ['info', 'me']));
  assert.match(s.logs().at(-1) ?? '', /^WARN: Standby in progress- new request from bob ignored \[3600 seconds left\]$/);
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'local'], ['rtype', 'full'], ['isstable', '0'], ['info', 'standby']));
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'foreign'], ['info', 'done']));
  assert.ok(s.logs().includes('info: standby: acquire [foreign] resources from bob'));
  assert.ok(s.logs().includes('info: acquire local HA resources (standby).'));
  // bob gave up its foreign groups (ours): we hold ours already, so nothing to start.
  assert.deepEqual(s.ops(), []);
  s.loop();
  assert.ok(s.logs().includes('info: Standby resource acquisition done [foreign].'));
  s.clear();
  // In flux: a peer that is starting cannot be asked.
  s.from('bob', msg(['t', 'starting']));
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'all'], ['info', 'me']));
  assert.ok(s.logs().includes('WARN: standby message [me] from bob ignored.  Other side is in flux.'));
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'all'], ['info', 'done']));
  assert.ok(!s.logs().some((l) => l.startsWith('ERROR: Ignored standby')), 'unstable peer: refused before the state check');
});

test("hb_takeover from the peer makes us go standby with the complement (heartbeat's rc.d/hb_takeover)", () => {
  for (const [asked, ours] of [['all', 'all'], ['local', 'foreign'], ['foreign', 'local'], ['failback', 'foreign']] as const) {
    const s = settledAlice();
    s.from('bob', msg(['t', 'hb_takeover'], ['rsc_hold', asked]));
    assert.deepEqual(s.sends(), [`t=ask_resources rsc_hold=${ours} info=me`], asked);
  }
  const s = settledAlice();
  s.in({ type: 'takeover', scope: 'local' });
  assert.deepEqual(s.sends(), ['t=hb_takeover rsc_hold=local']);
  s.clear();
  s.from('bob', msg(['t', 'hb_takeover'], ['rsc_hold', 'most']));
  assert.match(s.logs()[0] ?? '', /hb_takeover from bob with rsc_hold=most ignored/);
});

// --- audits, partitions, failures ------------------------------------------------------------

test("heartbeat's audits: both machines own … / no one owns …", () => {
  const s = settledAlice();
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'all'], ['rtype', 'full'], ['isstable', '0']));
  assert.ok(s.logs().includes('ERROR: Both machines own our resources!'));
  const t = settledAlice();
  t.in({ type: 'node-status', node: 'bob', status: 'dead', previous: 'active', message: null });
  t.finish();
  t.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'dead', message: null });
  t.from('bob', msg(['t', 'resource'], ['rsc_hold', 'local'], ['rtype', 'full'], ['isstable', '0']));
  assert.ok(t.logs().includes('ERROR: Both machines own foreign resources!'));
});

test('healed partition: the preferred node asks for its group back, the other releases it; exactly one holder remains', () => {
  const net = new PolicyNet({ nodes: ['alice', 'bob'], groups: [A, B], autoFailback: 'off' });
  net.boot('alice');
  net.boot('bob');
  net.runFor(20_000);
  net.partition('alice', 'bob');
  net.runFor(10_000);
  assert.deepEqual([net.holders(A.key), net.holders(B.key)], [['alice', 'bob'], ['alice', 'bob']]); // split brain
  net.heal('alice', 'bob');
  net.runFor(20_000);
  assert.deepEqual([net.holders(A.key), net.holders(B.key)], [['alice'], ['bob']]);
  assert.ok(net.logs('alice').some((l) => l.includes('hbd: partition with bob healed')));
  assert.deepEqual(net.violations, []);
});

test('a group that fails to start is reported failed, and pushed away 30 s later (ResourceManager)', () => {
  const s = new Solo(config());
  s.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' });
  s.loop();
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'none'], ['rtype', 'full'], ['isstable', '1']));
  s.loop();
  s.in({ type: 'group-result', key: A.key, op: 'start', ok: false, detail: 'exit code 1 from apache' }, 1000);
  assert.equal(s.state(A.key), 'failed');
  assert.equal(s.p.snapshot().groups.find((g) => g.key === A.key)?.failure, 'start: exit code 1 from apache');
  assert.ok(s.logs().includes(`ERROR: hbd: group ${A.key} failed to start: exit code 1 from apache`));
  s.in({ type: 'timer' }, 30_999);
  assert.notEqual(s.sends().at(-1), 't=ask_resources rsc_hold=local info=me');
  s.in({ type: 'timer' }, 31_000);
  assert.equal(s.sends().at(-1), 't=ask_resources rsc_hold=local info=me');
});

test('results for unknown groups or operations not running are refused with a log line', () => {
  const s = settledAlice();
  s.in({ type: 'group-result', key: 'nope', op: 'start', ok: true, detail: '' });
  s.in({ type: 'group-result', key: A.key, op: 'start', ok: true, detail: '' });
  assert.deepEqual(s.logs(), ['ERROR: hbd: result for unknown group "nope" ignored', `ERROR: hbd: start result for group ${A.key} while it is held; ignored`]);
});

// --- interop: a real heartbeat 3.0.6 node's messages -----------------------------------------

/** The resource messages n1 (heartbeat 3.0.6) sent in the restart capture, in seq order per generation. */
function capturedResourceMessages(): Message[] {
  const cap = readCapture(fs.readFileSync(path.join(CAPTURE_DIR, 'real-hb-sha1-restart-dt-bump.pcap')));
  const out: { hg: number; seq: number; m: Message }[] = [];
  for (const d of cap.datagrams) {
    const { message } = decode(d.payload, null);
    const t = get(message, 't') ?? '';
    if (!['starting', 'resource', 'ask_resources', 'shutdone'].includes(t)) continue;
    out.push({ hg: parseInt(get(message, 'hg') ?? '0', 16), seq: parseInt(get(message, 'seq') ?? '0', 16), m: message });
  }
  out.sort((a, b) => a.hg - b.hg || a.seq - b.seq);
  return out.map((x) => x.m);
}

test('interop: the captured heartbeat messages have exactly the field sets hbd builds', () => {
  const body = (m: Message) => text(m.filter((f) => !['srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth'].includes(f.name)));
  const seen = capturedResourceMessages().map(body);
  assert.deepEqual([...new Set(seen)].sort(), [
    't=ask_resources rsc_hold=foreign info=done',
    't=ask_resources rsc_hold=foreign info=other',
    't=resource rsc_hold=local rtype=full isstable=1',
    't=resource rsc_hold=none rtype=full isstable=0',
    't=resource rsc_hold=none rtype=full isstable=0 info=shutdown',
    't=resource rsc_hold=none rtype=full isstable=1',
    't=shutdone st=dead',
    't=starting',
  ]);
});

test('interop: a heartbeat 3.0.6 peer shutting down, restarting and taking its group back drives hbd as heartbeat', () => {
  // n1 is the heartbeat node (preferred for G1); hbd is n2, preferred for G2.
  const G1 = group('198.18.0.100', 'n1');
  const G2 = group('198.18.0.101', 'n2');
  const s = new Solo({ localNode: 'n2', nodes: ['n1', 'n2'], groups: [G1, G2], autoFailback: 'on', timings: HEARTBEAT_TIMINGS, pid: 1, restartHeld: null });
  s.in({ type: 'node-status', node: 'n1', status: 'active', previous: 'init', message: null });
  s.in({ type: 'comm-up' });
  s.in({ type: 'deliver', from: 'n1', message: msg(['t', 'starting'], ['src', 'n1']), own: false, comm: 'up' });
  s.in({ type: 'deliver', from: 'n1', message: msg(['t', 'resource'], ['rsc_hold', 'local'], ['rtype', 'full'], ['isstable', '1'], ['src', 'n1']), own: false, comm: 'up' });
  s.loop();
  s.finish();
  assert.equal(s.state(G2.key), 'held-local');
  s.clear();
  const feed = (m: Message) => {
    s.in({ type: 'deliver', from: 'n1', message: m, own: false, comm: 'up' });
    s.loop();
    s.finish();
  };
  const captured = capturedResourceMessages();
  const [shutdown, shutdone, ...restart] = captured;
  feed(shutdown as Message);
  feed(shutdone as Message);
  assert.ok(s.logs().includes('info: Resources being acquired from n1.'));
  assert.equal(s.state(G1.key), 'held-local');
  s.in({ type: 'node-status', node: 'n1', status: 'dead', previous: 'active', message: null });
  s.in({ type: 'node-status', node: 'n1', status: 'up', previous: 'dead', message: null });
  s.clear();
  // n1's restart: starting, resource none 0, resource none 1 — then hbd (holding all) asks to fail back.
  for (const m of restart.slice(0, 3)) feed(m);
  assert.deepEqual(s.sends(), [
    't=resource rsc_hold=all rtype=full isstable=1',
    't=resource rsc_hold=all rtype=full isstable=1',
    't=ask_resources rsc_hold=foreign info=me',
  ]);
  s.clear();
  // n1 answers `other`: hbd releases G1 and says done; n1's done and stable resource end it.
  for (const m of restart.slice(3)) feed(m);
  assert.deepEqual(s.ops(), [`stop ${G1.key} (standby)`]);
  assert.deepEqual(s.sends().slice(0, 2), ['t=resource rsc_hold=local rtype=full isstable=0 info=standby', 't=ask_resources rsc_hold=foreign info=done']);
  assert.ok(s.logs().includes('info: Other node completed standby takeover of foreign resources.'));
  assert.equal(s.state(G1.key), 'held-remote');
  assert.equal(s.state(G2.key), 'held-local');
  assert.equal(s.p.snapshot().standby, 'not');
});

// --- hbd's additions --------------------------------------------------------------------------

test('plan-executed: an address the engine added for a group we do not take over is removed again', () => {
  const s = settledAlice();
  // bob said it held its own group; alice's plan for bob holds B's VIP. Bob dies: B is ours.
  s.in({ type: 'node-status', node: 'bob', status: 'dead', previous: 'active', message: null });
  s.clear();
  s.in({ type: 'plan-executed', node: 'bob', addresses: [B.key] });
  assert.deepEqual(s.ops(), [], 'B is being taken over: its address stays');
  // A group nobody asked for (here: a third group of bob's that we hold no claim on) is undone.
  const C = group('198.18.0.12', 'bob');
  const t = new Solo(config({ groups: [A, B, C] }));
  t.in({ type: 'node-status', node: 'bob', status: 'active', previous: 'init', message: null });
  t.in({ type: 'comm-up' });
  t.from('bob', msg(['t', 'resource'], ['rsc_hold', 'local'], ['rtype', 'full'], ['isstable', '1']));
  t.loop();
  t.finish();
  t.clear();
  t.in({ type: 'plan-executed', node: 'carol', addresses: [C.key] });
  assert.deepEqual(t.ops(), [`stop ${C.key} (takeover)`]);
  assert.match(t.logs()[0] ?? '', /engine took over 198\.18\.0\.12's address at carol's death, but the group stays with bob; removing it/);
});

test('orphan audit: a group nobody holds after a quiet period is acquired by the node whose turn it is', () => {
  const s = settledAlice();
  // alice gives its group to bob through the standby exchange …
  s.in({ type: 'standby', scope: 'local' });
  s.loop();
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'local'], ['info', 'other']));
  s.finish();
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'local'], ['info', 'done']));
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'all'], ['rtype', 'full'], ['isstable', '1']));
  assert.equal(s.state(A.key), 'held-remote');
  // … and bob restarts before anyone declares it dead: its new process holds nothing.
  s.clear();
  s.in({ type: 'peer-restart', node: 'bob', oldGeneration: 1, generation: 2 }, 1000);
  s.from('bob', msg(['t', 'starting']));
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'none'], ['rtype', 'full'], ['isstable', '1']));
  assert.deepEqual(s.ops(), []);
  const at = s.p.nextTimer();
  assert.equal(at, 1000 + HEARTBEAT_TIMINGS.orphanAuditMs);
  s.in({ type: 'timer' }, at);
  assert.deepEqual(s.ops(), [`start ${A.key} (acquire)`]);
  assert.ok(s.logs().includes(`WARN: hbd: no live node holds ${A.key}; acquiring it`));
});

test('a standby exchange whose partner restarts is cancelled, and the giver keeps its groups', () => {
  const s = settledAlice();
  s.in({ type: 'standby', scope: 'local' });
  s.loop();
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'local'], ['info', 'other']));
  assert.deepEqual(s.ops(), [`stop ${A.key} (standby)`]);
  s.in({ type: 'peer-restart', node: 'bob', oldGeneration: 1, generation: 2 });
  assert.ok(s.logs().includes('info: Cancelling pending standby operation'));
  s.in({ type: 'group-result', key: A.key, op: 'stop', ok: true, detail: '' });
  assert.ok(s.logs().includes('info: hbd: standby cancelled; keeping the local resources'));
  assert.deepEqual(s.ops(), [`stop ${A.key} (standby)`, `start ${A.key} (standby)`]);
  assert.equal(s.sends().at(-1), 't=resource rsc_hold=local rtype=full isstable=1');
});

test('a group promised to an asker and then kept answers it ok=NO', () => {
  const s = settledAlice();
  s.from('bob', msg(['t', 'ip-request'], ['ipaddr', A.key]));
  assert.deepEqual(s.ops(), [`stop ${A.key} (handover)`]);
  // Before our answer, bob goes standby and we acquire everything: A is kept, bob hears "no".
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'all'], ['info', 'me']));
  s.from('bob', msg(['t', 'resource'], ['rsc_hold', 'none'], ['rtype', 'full'], ['isstable', '0'], ['info', 'standby']));
  s.from('bob', msg(['t', 'ask_resources'], ['rsc_hold', 'all'], ['info', 'done']));
  assert.ok(s.sends().includes(`t=ip-request-resp dest=bob ipaddr=${A.key} weown=no ok=NO`));
  s.finish();
  assert.equal(s.state(A.key), 'held-local');
  assert.ok(!s.sends().some((m) => m.includes('weown=yes')));
  // A restarted asker gets no answer at all: its new process never asked.
  const t = settledAlice('legacy');
  t.from('bob', msg(['t', 'ip-request'], ['ipaddr', A.key]));
  t.in({ type: 'peer-restart', node: 'bob', oldGeneration: 1, generation: 2 });
  t.finish();
  assert.deepEqual(t.sends(), []);
  assert.equal(t.state(A.key), 'held-local');
});

test('a standby or takeover request while shutting down is refused', () => {
  const s = settledAlice();
  s.in({ type: 'shutdown', keepResources: false });
  s.clear();
  s.in({ type: 'standby', scope: 'all' });
  s.in({ type: 'takeover', scope: 'all' });
  assert.deepEqual(s.logs(), ['WARN: hbd: standby all refused: this node is shutting down', 'WARN: hbd: takeover all refused: this node is shutting down']);
  assert.deepEqual(s.sends(), []);
});

test('three nodes: held keys travel in resource messages, ip-request names the holder, standby hands each group to its next holder', () => {
  const C = group('198.18.0.12', 'carol');
  const net = new PolicyNet({ nodes: ['alice', 'bob', 'carol'], groups: [A, B, C], autoFailback: 'on' });
  for (const n of ['alice', 'bob', 'carol']) net.boot(n);
  net.runFor(20_000);
  assert.deepEqual([A, B, C].map((g) => net.holders(g.key)), [['alice'], ['bob'], ['carol']]);
  assert.ok(net.sentBy('alice').includes(`t=resource rsc_hold=local rtype=full isstable=1 hbd_held=${A.key}`));
  // bob dies: its group goes to the first live node in ha.cf order, alice.
  net.kill('bob');
  net.runFor(10_000);
  assert.deepEqual(net.holders(B.key), ['alice']);
  assert.deepEqual(net.holders(C.key), ['carol']);
  // bob returns (auto_failback on): it asks alice, by name, for its group.
  const mark = net.sent.length;
  net.boot('bob');
  net.runFor(20_000);
  assert.deepEqual(net.holders(B.key), ['bob']);
  assert.ok(net.sent.slice(mark).some((m) => m.from === 'bob' && text(m.message) === `t=ip-request ipaddr=${B.key} dest=alice`));
  // alice goes standby: its group goes to bob (first other live node), marked as a handover.
  net.command('alice', { type: 'standby', scope: 'all' });
  net.runFor(10_000);
  assert.deepEqual(net.holders(A.key), ['bob']);
  assert.ok(net.sentBy('alice').includes(`t=ip-request-resp dest=bob ipaddr=${A.key} weown=yes ok=OK hbd_handover=1`));
  assert.deepEqual(net.violations, []);
});

test('two nodes never send the three-node extensions', () => {
  const net = new PolicyNet({ nodes: ['alice', 'bob'], groups: [A, B], autoFailback: 'on' });
  net.boot('alice');
  net.boot('bob');
  net.runFor(20_000);
  net.kill('bob');
  net.runFor(10_000);
  net.boot('bob');
  net.runFor(20_000);
  net.partition('alice', 'bob');
  net.runFor(10_000);
  net.heal('alice', 'bob');
  net.runFor(20_000);
  assert.ok(net.sent.length > 20);
  for (const m of net.sent) assert.ok(!m.message.some((f) => f.name.startsWith('hbd_') || (get(m.message, 't') === 'ip-request' && f.name === 'dest')), text(m.message));
});
