// The native address actions (native/addr.cc, garp.cc, ndisc.cc, announce.cc through
// lib/resources/address-native.ts) and the engine's takeover plan (native/plan.cc): VipSpec
// checks; in the netns lab, run inside a node's namespace by test/support/address-actor.ts, the
// addresses and labels as `ip -o addr` shows them, idempotence, the errors, the gratuitous ARP
// frames of both forms and the unsolicited NA as tcpdump sees them on the switch; and the plan
// firing at a peer's death while the survivor's JavaScript is blocked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import type { VipSpec } from '../lib/resources/address';
import type { PlanExecutedEvent, TakeoverPlan } from '../lib/transport/types';
import { labSkipReason } from './lab/env';
import { type Lab, type LabNode, withLab } from './lab/lab';
import type { LabProcess } from './lab/process';
import { arps, ipv6Bytes, neighbourAdverts } from './lab/frames';
import { ipIn } from './lab/tools';
import type { Outcome, Step } from './support/address-actor';
import type { EnginePeerConfig } from './support/engine-peer';
import type { DriverConfig } from './support/transport-driver';
import { twoNodeConfig } from './support/two-node-config';

const load = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
const binding = load.binding;
const nativeSkip: string | false = binding ? false : (load.reason ?? 'native addon not loaded');
const labSkip: string | false = nativeSkip || (labSkipReason() ?? false);

const ACTOR = path.resolve(__dirname, 'support', 'address-actor.js');
const PEER = path.resolve(__dirname, 'support', 'engine-peer.js');

function v4(address: string, over: Partial<VipSpec> = {}): VipSpec {
  return { family: 4, iface: 'eth0', address, prefix: 24, broadcast: '198.18.0.255', label: null, ...over };
}

function v6(address: string, over: Partial<VipSpec> = {}): VipSpec {
  return { family: 6, iface: 'eth0', address, prefix: 64, broadcast: null, label: null, ...over };
}

describe('native address actions: VipSpec checks', { skip: nativeSkip }, () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['family 5', { family: 5 }, /addressAdd: vip\.family must be 4 or 6 \(got 5\)/],
    ['an alias label as iface', { iface: 'eth0:1' }, /vip\.iface "eth0:1" is not an interface name .*an alias label goes in \.label/],
    ['a 16-character iface', { iface: 'a234567890123456' }, /vip\.iface "a234567890123456" is not an interface name \(at most 15 characters/],
    ['an IPv6 address in family 4', { address: '2001:2::1' }, /vip\.address "2001:2::1" is not an IPv4 address/],
    ['prefix 33', { prefix: 33 }, /vip\.prefix must be an integer from 0 to 32 \(got 33\)/],
    ['a bad broadcast', { broadcast: '198.18.0' }, /vip\.broadcast "198\.18\.0" is not an IPv4 address/],
    ['a label of another interface', { label: 'eth1:0' }, /vip\.label "eth1:0" must be eth0 \(no alias\) or eth0:<something>, at most 15 characters/],
    ['a label over 15 characters', { label: 'eth0:0123456789a' }, /vip\.label "eth0:0123456789a" must be eth0 \(no alias\) or eth0:<something>/],
    ['an IPv6 broadcast', { family: 6, address: '2001:2::1', prefix: 64, broadcast: '198.18.0.255' }, /vip\.broadcast must be null for IPv6/],
    ['an IPv6 label', { family: 6, address: '2001:2::1', prefix: 64, broadcast: null, label: 'eth0:0' }, /vip\.label must be null for IPv6/],
    ['IPv6 prefix 129', { family: 6, address: '2001:2::1', prefix: 129, broadcast: null }, /vip\.prefix must be an integer from 0 to 128 \(got 129\)/],
  ];
  for (const [what, over, message] of bad) {
    test(`${what}: a TypeError naming the field`, () => {
      assert.throws(() => binding!.addressAdd({ ...v4('198.18.0.100'), ...over } as unknown as VipSpec), (e: Error) => e instanceof TypeError && message.test(e.message));
    });
  }

  test('announce options are checked before anything is sent', () => {
    const vip = v4('198.18.0.100', { iface: 'lo' });
    assert.throws(() => binding!.announceStart(vip, { count: 0, intervalMs: 200 }, () => undefined), /announceStart: options\.count must be an integer from 1 to 1000 \(got 0\)/);
    assert.throws(() => binding!.announceStart(vip, { count: 5, intervalMs: -1 }, () => undefined), /options\.intervalMs must be a number from 0 to 3600000 \(got -1\)/);
    assert.throws(() => binding!.announceStart(vip, { count: 5, intervalMs: 200, refreshMs: 5 }, () => undefined), /options\.refreshMs must be 0 \(off\) or at least 10 \(got 5\)/);
    assert.throws(() => binding!.announceStart(vip, { count: 5, intervalMs: 200 }, 'x' as unknown as () => void), /onEvent must be a function \(got "x"\)/);
  });

  test('setTakeoverPlan: a non-peer, a bad plan and clearing', () => {
    const t = binding!.Engine;
    const engine = new t({ ...loOptions() }, () => undefined);
    assert.throws(() => engine.setTakeoverPlan('n1', null), /Engine\.setTakeoverPlan: node must be one of the other nodes \(got "n1"\)/);
    assert.throws(() => engine.setTakeoverPlan('n9', null), /node must be one of the other nodes \(got "n9"\)/);
    assert.throws(() => engine.setTakeoverPlan('n2', { vips: 'x' } as unknown as TakeoverPlan), /plan\.vips must be an array of VipSpec \(got "x"\)/);
    assert.throws(() => engine.setTakeoverPlan('n2', { vips: [v4('198.18.0.1', { prefix: 40 })], announce: { count: 5, intervalMs: 200 } }), /plan\.vips\[0\]\.prefix must be an integer from 0 to 32 \(got 40\)/);
    assert.throws(() => engine.setTakeoverPlan('n2', { vips: [], announce: { count: -1, intervalMs: 200 } }), /plan\.announce\.count must be an integer from 0 to 1000 \(got -1\)/);
    engine.setTakeoverPlan('n2', null); // clearing what is not set is fine
  });
});

// ---- the lab ------------------------------------------------------------------------------------

/** Runs the steps in node's namespace; one outcome per step. */
async function act(node: LabNode, steps: readonly Step[]): Promise<Outcome[]> {
  const r = await node.exec([process.execPath, ACTOR, JSON.stringify(steps)], { timeoutMs: 20_000 });
  return JSON.parse(r.stdout) as Outcome[];
}

function value<T>(o: Outcome | undefined, what: string): T {
  assert.ok(o, `${what}: no outcome`);
  if (!o.ok) assert.fail(`${what} failed: ${o.code} ${o.message}`);
  return o.value as T;
}

function failure(o: Outcome | undefined, what: string): Extract<Outcome, { ok: false }> {
  assert.ok(o && !o.ok, `${what} should have failed: ${JSON.stringify(o)}`);
  return o as Extract<Outcome, { ok: false }>;
}

/** `ip -o addr show dev <iface>` lines in the node's namespace. */
async function ipAddr(node: LabNode, iface = 'eth0'): Promise<string> {
  return (await ipIn(node.ns, ['-o', 'addr', 'show', 'dev', iface])).stdout;
}

/** The lab turns IPv6 off everywhere; these tests turn it on for one node's interface. */
async function enableIpv6(node: LabNode, iface = 'eth0'): Promise<void> {
  await node.exec(['sysctl', '-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=0`]);
}

describe('native address actions in the netns lab', { skip: labSkip }, () => {
  test('IPv4: labels eth0:0 and eth0:1, idempotent add and remove, list, an explicit label', { timeout: 60_000 }, () =>
    withLab({ nodes: 1 }, async (lab) => {
      const n1 = lab.node(1);
      const a = v4('198.18.0.100');
      const b = v4('198.18.0.101');
      const c = v4('198.18.0.102', { label: 'eth0:web' });
      const out = await act(n1, [{ op: 'add', vip: a }, { op: 'add', vip: a }, { op: 'add', vip: b }, { op: 'add', vip: c }, { op: 'list', iface: 'eth0' }]);
      const [first, again, second, named] = out.slice(0, 4).map((o, i) => value<{ changed: boolean; label: string | null; atMono: number }>(o, `add #${i + 1}`));
      assert.deepEqual([first!.changed, first!.label], [true, 'eth0:0']);
      assert.deepEqual([again!.changed, again!.label], [false, 'eth0:0'], 'the second add finds it, with its label');
      assert.deepEqual([second!.changed, second!.label], [true, 'eth0:1'], 'the next free alias number');
      assert.deepEqual([named!.changed, named!.label], [true, 'eth0:web']);
      assert.ok(first!.atMono > 0 && second!.atMono >= first!.atMono, 'CLOCK_MONOTONIC acknowledgement times');
      const shown = await ipAddr(n1);
      assert.match(shown, /inet 198\.18\.0\.100\/24 brd 198\.18\.0\.255 scope global secondary eth0:0/);
      assert.match(shown, /inet 198\.18\.0\.101\/24 brd 198\.18\.0\.255 scope global secondary eth0:1/);
      assert.match(shown, /inet 198\.18\.0\.102\/24 brd 198\.18\.0\.255 scope global secondary eth0:web/);
      const listed = value<{ address: string; label: string | null; iface: string; prefix: number; broadcast: string | null; family: number }[]>(out[4], 'list');
      const row = (addr: string) => listed.find((e) => e.address === addr);
      assert.deepEqual({ ...row('198.18.0.101'), ifindex: undefined }, { family: 4, iface: 'eth0', ifindex: undefined, address: '198.18.0.101', prefix: 24, broadcast: '198.18.0.255', label: 'eth0:1' });
      assert.equal(row(n1.address())?.label, null, 'the primary address carries no alias label');

      const removed = await act(n1, [{ op: 'remove', vip: a }, { op: 'remove', vip: a }, { op: 'add', vip: v4('198.18.0.103') }]);
      assert.equal(value<{ changed: boolean }>(removed[0], 'remove').changed, true);
      assert.equal(value<{ changed: boolean }>(removed[1], 'second remove').changed, false, 'already gone is success');
      assert.equal(value<{ label: string }>(removed[2], 'add after remove').label, 'eth0:0', 'the freed alias number is taken again first');
      const after = await ipAddr(n1);
      assert.doesNotMatch(after, /198\.18\.0\.100\//);
      assert.match(after, /inet 198\.18\.0\.103\/24 .* eth0:0/);
    }));

  test('IPv6 (2001:2::/48): add, again, list, remove, again', { timeout: 60_000 }, () =>
    withLab({ nodes: 1 }, async (lab) => {
      const n1 = lab.node(1);
      await enableIpv6(n1);
      const a = v6('2001:2::100');
      const out = await act(n1, [{ op: 'add', vip: a }, { op: 'add', vip: a }, { op: 'list', iface: 'eth0' }]);
      assert.deepEqual(
        out.slice(0, 2).map((o) => ({ ...value<Record<string, unknown>>(o, 'add'), atMono: 0 })),
        [{ changed: true, label: null, atMono: 0 }, { changed: false, label: null, atMono: 0 }],
      );
      // No duplicate address detection: a taken-over address answers at once, never "tentative".
      assert.match(await ipAddr(n1), /inet6 2001:2::100\/64 scope global/);
      assert.doesNotMatch(await ipAddr(n1), /2001:2::100\/64 [^\n]*tentative/);
      const listed = value<{ address: string; family: number; prefix: number; label: string | null }[]>(out[2], 'list');
      assert.deepEqual(listed.filter((e) => e.address === '2001:2::100').map((e) => [e.family, e.prefix, e.label]), [[6, 64, null]]);
      const gone = await act(n1, [{ op: 'remove', vip: a }, { op: 'remove', vip: a }]);
      assert.deepEqual(gone.map((o) => value<{ changed: boolean }>(o, 'remove').changed), [true, false]);
      assert.doesNotMatch(await ipAddr(n1), /2001:2::100/);
    }));

  test('errors: a missing interface (ENODEV), an address held by another interface (EADDRINUSE), an interface down (ENETDOWN), IPv6 off (EACCES)', { timeout: 60_000 }, () =>
    withLab({ nodes: 1 }, async (lab) => {
      const n1 = lab.node(1);
      // A spare cable inside n1's namespace, left down.
      await ipIn(n1.ns, ['link', 'add', 'spare0', 'type', 'veth', 'peer', 'name', 'spare1']);
      const held = v4('198.18.0.100');
      const out = await act(n1, [
        { op: 'add', vip: v4('198.18.0.100', { iface: 'nosuch0' }) },
        { op: 'add', vip: held },
        { op: 'add', vip: v4('198.18.0.100', { iface: 'spare0' }) },
        { op: 'remove', vip: v4('198.18.0.100', { iface: 'nosuch0' }) },
        { op: 'add', vip: v4('198.18.0.110', { iface: 'spare0' }) },
        { op: 'announce', vip: v4('198.18.0.110', { iface: 'spare0' }), count: 2, intervalMs: 20 },
        { op: 'announce', vip: v4('198.18.0.110', { iface: 'lo' }), count: 2, intervalMs: 20 },
        { op: 'add', vip: v6('2001:2::100') },
      ]);
      const missing = failure(out[0], 'add on a missing interface');
      assert.deepEqual([missing.code, missing.syscall], ['ENODEV', 'ioctl(SIOCGIFINDEX)']);
      assert.equal(missing.message, 'address 198.18.0.100/24 on nosuch0: interface nosuch0: ioctl(SIOCGIFINDEX) failed: No such device (ENODEV)');
      value(out[1], 'add on eth0');
      const inUse = failure(out[2], 'add of an address eth0 holds');
      assert.deepEqual([inUse.code, inUse.syscall], ['EADDRINUSE', 'RTM_NEWADDR']);
      assert.match(inUse.message, /^address 198\.18\.0\.100\/24 on spare0: it is already configured on eth0 \(remove it there first\): RTM_NEWADDR failed: Address already in use \(EADDRINUSE\)$/);
      assert.equal(failure(out[3], 'remove on a missing interface').code, 'ENODEV');
      // The kernel takes an address on an interface that is down; nothing can be announced there.
      value(out[4], 'add on the down interface');
      const down = failure(out[5], 'announce on the down interface');
      assert.deepEqual([down.code, down.syscall], ['ENETDOWN', 'sendto']);
      assert.equal(down.message, 'gratuitous ARP for 198.18.0.110 on spare0: sendto failed: Network is down (ENETDOWN)');
      const loopback = failure(out[6], 'announce on loopback');
      assert.equal(loopback.code, 'EPROTONOSUPPORT');
      assert.match(loopback.message, /^gratuitous ARP for 198\.18\.0\.110 on lo: interface lo is not Ethernet \(hardware type 772\)/);
      assert.doesNotMatch(await ipAddr(n1, 'spare0'), /198\.18\.0\.100/, 'the refused address was not added');
      // The lab leaves IPv6 off: the kernel's bare EACCES gets its meaning.
      const noV6 = failure(out[7], 'IPv6 add with IPv6 disabled');
      assert.deepEqual([noV6.code, noV6.syscall], ['EACCES', 'RTM_NEWADDR']);
      assert.equal(noV6.message, 'address 2001:2::100/64 on eth0 (IPv6 is disabled on eth0: sysctl net.ipv6.conf.eth0.disable_ipv6=0): RTM_NEWADDR failed: Permission denied (EACCES)');
    }));

  test('on the wire: gratuitous ARP request and reply, unsolicited NA, the refresh', { timeout: 60_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const n1 = lab.node(1);
      await enableIpv6(n1);
      const ownMac = lab.topology.mac(1, 0);
      const a = v4('198.18.0.100');
      const b = v6('2001:2::100');
      const capture = await lab.startCapture(0, { filter: 'arp or icmp6', name: 'announce' });
      const out = await act(n1, [
        { op: 'add', vip: a },
        // The burst runs on its own thread: its rounds keep their schedule while the event loop spins.
        { op: 'announce', vip: a, count: 3, intervalMs: 50, blockMs: 400 },
        { op: 'add', vip: b },
        { op: 'announce', vip: b, count: 2, intervalMs: 50 },
        { op: 'refresh', vip: a, everyMs: 40, forMs: 300 },
      ]);
      await new Promise((r) => setTimeout(r, 200)); // the last frames reach tcpdump
      await capture.stop();
      const burst = value<{ firstAtMono: number; frames: number; onFirst: number; blocked: { from: number; to: number } }>(out[1], 'IPv4 announce');
      assert.equal(burst.frames, 6, 'three rounds of request + reply');
      assert.equal(burst.onFirst, burst.firstAtMono, 'onFirst got the first frame\'s time');
      assert.ok(burst.firstAtMono <= burst.blocked.to, `the first frame left at ${burst.firstAtMono}, before the event loop was free at ${burst.blocked.to}`);
      assert.equal(value<{ frames: number }>(out[3], 'IPv6 announce').frames, 2, 'two rounds of one NA');
      assert.deepEqual(value(out[4], 'refresh'), [], 'the refresh had no failures');

      const mine = arps(capture.path).filter((f) => f.spa === '198.18.0.100');
      const requests = mine.filter((f) => f.op === 1);
      const replies = mine.filter((f) => f.op === 2);
      for (const f of mine) {
        assert.deepEqual([f.ethDst, f.ethSrc, f.sha, f.tpa], ['ff:ff:ff:ff:ff:ff', ownMac, ownMac, '198.18.0.100'], 'broadcast, from our MAC, sender = target address');
      }
      for (const f of requests) assert.equal(f.tha, 'ff:ff:ff:ff:ff:ff', 'request: target hardware as IPaddr\'s send_arp writes it');
      for (const f of replies) assert.equal(f.tha, ownMac, 'reply: target hardware = our MAC');
      // 3 burst rounds, then the refresh: one round at once and one every 40 ms for 300 ms.
      assert.ok(requests.length >= 3 + 4 && replies.length === requests.length, `${requests.length} requests, ${replies.length} replies`);
      // Round 2 and 3 went out on schedule inside the 400 ms block, not when the loop was free again.
      const gaps = requests.slice(1, 3).map((f, i) => f.at - requests[i]!.at);
      assert.ok(gaps.every((g) => g > 25 && g < 200), `burst rounds ${gaps.map((g) => g.toFixed(0)).join(', ')} ms apart (50 asked, JavaScript blocked for 400)`);

      const nas = neighbourAdverts(capture.path).filter((f) => f.target.equals(ipv6Bytes('2001:2::100')));
      assert.equal(nas.length, 2);
      for (const f of nas) {
        assert.deepEqual([f.ethDst, f.ethSrc, f.tlla], ['33:33:00:00:00:01', ownMac, ownMac]);
        assert.ok(f.src.equals(ipv6Bytes('2001:2::100')), 'from the address itself');
        assert.ok(f.dst.equals(ipv6Bytes('ff02::1')), 'to all nodes');
        assert.equal(f.hopLimit, 255);
        assert.equal(f.flags, 0x20, 'Override set, Router and Solicited clear');
        assert.ok(f.checksumOk, 'the ICMPv6 checksum verifies');
      }
    }));
});

// ---- the engine's takeover plan ------------------------------------------------------------------

const KEEPALIVE = 100;
const DEADTIME = 1000;
const WAIT = 10_000;

type PeerConfig = Omit<DriverConfig, 'control'> & EnginePeerConfig;

function peerConfig(i: number, over: Partial<PeerConfig> = {}): PeerConfig {
  return { ...twoNodeConfig(i, { keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME, secret: 'plan-lab' }), stallLimitMs: 10 * DEADTIME, ...over };
}

interface Line {
  readonly type: string;
  readonly mono: number;
  readonly [k: string]: unknown;
}

interface Peer {
  readonly proc: LabProcess;
  lines(): Line[];
  waitFor(what: string, pred: (l: Line) => boolean, ms: number): Promise<void>;
}

async function startPeer(lab: Lab, i: number, cfg: PeerConfig): Promise<Peer> {
  const node = lab.node(i);
  const file = path.join(node.dirs.config, `engine-peer-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  const proc = await node.spawn([process.execPath, PEER, file], { name: 'engine-peer' });
  const lines = () =>
    fs
      .readFileSync(proc.stdoutPath!, 'utf8')
      .split('\n')
      .slice(0, -1)
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Line);
  const peer: Peer = {
    proc,
    lines,
    waitFor: async (what, pred, ms) => {
      await proc.waitFor(() => lines().some(pred), ms).catch((e: Error) => {
        throw new Error(`n${i}: no ${what}: ${e.message}`);
      });
    },
  };
  await peer.waitFor('start', (l) => l.type === 'started', WAIT);
  return peer;
}

const of = (type: string, node?: string) => (l: Line) => l.type === type && (node === undefined || l.node === node);

describe('engine takeover plan in the netns lab', { skip: labSkip }, () => {
  test('a peer SIGKILLed while the survivor\'s JavaScript is blocked: the plan adds and announces at the deadline', { timeout: 60_000 }, (t) =>
    withLab({ nodes: 2 }, async (lab) => {
      const n1 = lab.node(1);
      await enableIpv6(n1);
      // The third address is on an interface that does not exist, the fourth on one that is down: their
      // failures are reported, the others go on.
      await ipIn(n1.ns, ['link', 'add', 'spare0', 'type', 'veth', 'peer', 'name', 'spare1']);
      const vips = [v4('198.18.0.100'), v6('2001:2::100'), v4('198.18.0.101', { iface: 'nosuch0' }), v4('198.18.0.102', { iface: 'spare0' })];
      const plan: TakeoverPlan = { vips, announce: { count: 5, intervalMs: 200 } };
      const capture = await lab.startCapture(0, { filter: 'arp or icmp6', name: 'plan' });
      const a = await startPeer(lab, 1, peerConfig(1, { blockMs: 3 * DEADTIME, plans: [{ node: 'n2', plan }] }));
      const b = await startPeer(lab, 2, peerConfig(2));
      await Promise.all([a.waitFor('peer-up n2', of('peer-up', 'n2'), WAIT), b.waitFor('peer-up n1', of('peer-up', 'n1'), WAIT)]);
      assert.doesNotMatch(await ipAddr(n1), /198\.18\.0\.100|2001:2::100/, 'nothing is added before the death');

      assert.ok(a.proc.kill('SIGUSR1'));
      await a.waitFor('block-start', of('block-start'), WAIT);
      assert.ok(b.proc.kill('SIGKILL'));
      await a.waitFor('block-end', of('block-end'), 3 * DEADTIME + WAIT);
      await a.waitFor('plan-executed', of('plan-executed'), WAIT);
      const lines = a.lines();
      const start = lines.find(of('block-start'))!.mono;
      const end = lines.find(of('block-end'))!.mono;
      const dead = lines.findIndex(of('peer-dead', 'n2'));
      const executed = lines[dead + 1] as unknown as PlanExecutedEvent & Line;
      assert.equal(executed.type, 'plan-executed', 'reported right after the peer-dead');
      assert.equal(executed.node, 'n2');
      assert.ok(executed.deadAtMono > start && executed.deadAtMono < end, `the deadline ${executed.deadAtMono} fell inside the block [${start}, ${end}]`);
      assert.deepEqual(executed.results.map((r) => r.vip), vips);
      const [missing, down] = executed.results.slice(2);
      assert.deepEqual(
        { ...missing!, vip: undefined },
        { vip: undefined, ok: false, changed: false, label: null, addedAtMono: 0, firstAnnounceAtMono: null, errno: 'ENODEV', syscall: 'ioctl(SIOCGIFINDEX)', message: 'address 198.18.0.101/24 on nosuch0: interface nosuch0: ioctl(SIOCGIFINDEX) failed: No such device (ENODEV)' },
      );
      assert.ok(down!.addedAtMono > 0, 'the kernel takes an address on an interface that is down');
      assert.deepEqual(
        { ...down!, vip: undefined, addedAtMono: 0 },
        { vip: undefined, ok: false, changed: true, label: 'spare0:0', addedAtMono: 0, firstAnnounceAtMono: null, errno: 'ENETDOWN', syscall: 'sendto', message: 'gratuitous ARP for 198.18.0.102 on spare0: sendto failed: Network is down (ENETDOWN)' },
      );
      for (const r of executed.results.slice(0, 2)) {
        assert.deepEqual([r.ok, r.changed, r.errno, r.syscall, r.message], [true, true, null, null, null], `${r.vip.address}: ${r.message}`);
        assert.ok(r.addedAtMono >= executed.deadAtMono && r.addedAtMono < end, `${r.vip.address} added at ${r.addedAtMono}, while JS was blocked`);
        assert.ok(r.firstAnnounceAtMono !== null && r.firstAnnounceAtMono >= r.addedAtMono && r.firstAnnounceAtMono < end, `${r.vip.address} announced at ${r.firstAnnounceAtMono}`);
        t.diagnostic(`${r.vip.address}: deadline → present ${(r.addedAtMono - executed.deadAtMono).toFixed(3)} ms, → first frame ${(r.firstAnnounceAtMono! - executed.deadAtMono).toFixed(3)} ms`);
      }
      assert.deepEqual(executed.results.map((r) => r.label), ['eth0:0', null, null, 'spare0:0']);
      const shown = await ipAddr(n1);
      assert.match(shown, /inet 198\.18\.0\.100\/24 brd 198\.18\.0\.255 scope global secondary eth0:0/);
      assert.match(shown, /inet6 2001:2::100\/64 scope global/);

      // The burst goes on from the engine's timer: 5 rounds 200 ms apart.
      await new Promise((r) => setTimeout(r, 5 * 200 + 300));
      await capture.stop();
      const ownMac = lab.topology.mac(1, 0);
      const mine = arps(capture.path).filter((f) => f.spa === '198.18.0.100' && f.sha === ownMac);
      assert.deepEqual([mine.filter((f) => f.op === 1).length, mine.filter((f) => f.op === 2).length], [5, 5], 'five requests and five replies');
      const requests = mine.filter((f) => f.op === 1).map((f) => f.at);
      const gaps = requests.slice(1).map((at, i) => at - requests[i]!);
      assert.ok(gaps.every((g) => g > 100 && g < 400), `rounds about 200 ms apart: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
      assert.equal(neighbourAdverts(capture.path).filter((f) => f.target.equals(ipv6Bytes('2001:2::100')) && f.ethSrc === ownMac).length, 5, 'five NAs');
      // spare0's later rounds fail too; its failure was reported once, in plan-executed.
      assert.deepEqual(a.lines().filter(of('warning')), [], 'no warning for the rounds that followed');
      // A plan fires once.
      assert.equal(a.lines().filter(of('plan-executed')).length, 1);
    }));

});

function loOptions() {
  return {
    localNode: 'n1',
    nodes: ['n1', 'n2'],
    media: [{ kind: 'ucast' as const, iface: 'lo', peer: '127.0.0.1' }],
    udpPort: 20000 + ((process.pid + 11) % 20000),
    keepaliveMs: 20,
    deadtimeMs: 200,
    warntimeMs: 100,
    initdeadMs: 400,
    stallLimitMs: 5000,
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1' as const, key: Buffer.from('plan-test') }] },
    wireFormat: 'netstring+auth' as const,
    uuid: Buffer.alloc(16, 1),
    generation: 7,
    firstSeq: 1,
    ttl: 3,
    realtime: false,
    rtprio: null,
  };
}
