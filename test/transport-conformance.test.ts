// The conformance suite every Transport must pass, run in the network-namespace lab with one
// transport-driver process per node. `conformance(kinds)` gives node i the kind kinds[(i−1) mod n]:
// ['ts'] and ['native'] test one implementation, ['native', 'ts'] a mixed cluster.
//
// Timing: keepalive 100 ms, deadtime 1000 ms (10 × keepalive), except where a blocked event loop must
// outlast the deadtime (20 ms / 200 ms). Only generous upper bounds are asserted (a death within
// deadtime + 200 ms of the victim's last status seen, extended by the grace after a reported own
// stall), and nothing may die early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';

import { loadNative } from '../lib/native';
import { readCapture } from '../lib/pcap/reader';
import { stallThresholdMs } from '../lib/transport/liveness';
import type { Medium } from '../lib/transport/types';
import { decode, encode } from '../lib/wire/codec';
import { get, str } from '../lib/wire/message';
import type { AuthKeys } from '../lib/wire/types';
import { labSkipReason } from './lab/env';
import { type Lab, withLab } from './lab/lab';
import { Drivers, type DriverHandle, type DriverLine } from './support/driver-client';
import type { DriverConfig, TransportKind } from './support/transport-driver';

const KEEPALIVE = 100;
const DEADTIME = 1000;
const DEATH_MARGIN_MS = 200;
/** Bound for every wait that is not itself a measurement. */
const WAIT = 10_000;
const TEST_TIMEOUT = 90_000;
const SECRET = 'conformance-secret';
const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from(SECRET) }] };
const BCAST: Medium = { kind: 'bcast', iface: 'eth0' };
const MCAST: Medium = { kind: 'mcast', iface: 'eth1', group: '239.192.0.94', port: 694, ttl: 1, loop: false };

type Config = Omit<DriverConfig, 'control'>;

function config(kind: TransportKind, i: number, n: number, over: Partial<Config> = {}): Config {
  return {
    kind,
    localNode: `n${i}`,
    nodes: Array.from({ length: n }, (_, j) => `n${j + 1}`),
    media: [BCAST],
    udpPort: 694,
    keepaliveMs: KEEPALIVE,
    deadtimeMs: DEADTIME,
    warntimeMs: DEADTIME / 2,
    initdeadMs: 2 * DEADTIME,
    authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: SECRET }] },
    // A node keeps its UUID across restarts, as hbd's state directory does.
    uuid: `0000000000004000800000000000${i.toString(16).padStart(4, '0')}`,
    generation: 1,
    ...over,
  };
}

const is = (type: string, fields: Record<string, unknown>) => (l: DriverLine) => l.type === type && Object.entries(fields).every(([k, v]) => l[k] === v);

/** Every driver sees every other node come up, with a link up on each of `links`. */
async function allSee(ds: readonly { h: DriverHandle; node: string }[], links: readonly string[]): Promise<void> {
  await Promise.all(
    ds.flatMap((self) =>
      ds
        .filter((peer) => peer.node !== self.node)
        .flatMap(({ node }) => [self.h.waitForEvent('peer-up', { node }, WAIT), ...links.map((link) => self.h.waitForEvent('link-up', { node, link }, WAIT))]),
    ),
  );
}

/**
 * Asserts that `survivor` declared `victim` dead no earlier than its deadline and at most
 * DEATH_MARGIN_MS after it, measured from the victim's last status the survivor received. An own
 * stall reported in between legitimately pushes the deadline to the end of its grace period.
 */
function assertTimelyDeath(survivor: DriverHandle, victim: string, dead: DriverLine, timeoutMs: number): string {
  const before = survivor.lines.slice(0, survivor.lines.indexOf(dead));
  const last = before.filter(is('status', { node: victim })).at(-1);
  assert.ok(last, `${survivor.name}: no status from ${victim} before its death`);
  const lastMono = last.mono as number;
  const grace = 2 * KEEPALIVE + stallThresholdMs(KEEPALIVE);
  const stalls = before.filter((l) => l.type === 'own-stall' && (l.mono as number) > lastMono).map((l) => (l.mono as number) + grace);
  const deadline = Math.max(lastMono + timeoutMs, ...stalls);
  const at = dead.mono as number;
  assert.equal(dead.timeoutMs, timeoutMs, 'the timeout is the deadtime the victim advertised');
  assert.ok(at >= lastMono + timeoutMs - 0.01, `${survivor.name}: ${victim} declared dead ${(at - lastMono).toFixed(1)} ms after its last status, before the ${timeoutMs} ms deadline`);
  assert.ok(at <= deadline + DEATH_MARGIN_MS, `${survivor.name}: ${victim} declared dead ${(at - lastMono).toFixed(1)} ms after its last status (deadline ${(deadline - lastMono).toFixed(1)} ms + ${DEATH_MARGIN_MS} ms margin)`);
  return `${survivor.name}: ${victim} dead ${(at - lastMono).toFixed(1)} ms after its last status (deadtime ${timeoutMs} ms${stalls.length ? `, ${stalls.length} own stall(s)` : ''})`;
}

/** A text field of the message a status/message line carries (the driver prints values as hex). */
function statusField(l: DriverLine, name: string): string | undefined {
  const f = (l.message as { name: string; value: string }[]).find((x) => x.name === name);
  return f === undefined ? undefined : Buffer.from(f.value, 'hex').toString('latin1');
}

function noneOf(h: DriverHandle, type: string, fields: Record<string, unknown> = {}): void {
  const hits = h.all(type).filter(is(type, fields));
  assert.deepEqual(hits, [], `${h.name}: unexpected ${type} ${JSON.stringify(fields)}`);
}

/** Sends raw datagrams to `to`:694 from a fresh socket in lab node i (a source of their own). */
async function sendRaw(lab: Lab, i: number, to: string, payloads: readonly Buffer[]): Promise<void> {
  const script = 'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)\nfor h in sys.argv[2:]: s.sendto(bytes.fromhex(h),(sys.argv[1],694))';
  await lab.node(i).exec(['python3', '-c', script, to, ...payloads.map((p) => p.toString('hex'))]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lab, a set of drivers, and the guarantee that both are gone afterwards. */
async function inLab(opts: { nodes: number; links?: number }, fn: (lab: Lab, drivers: Drivers) => Promise<void>): Promise<void> {
  await withLab({ ...opts, keepOnFailure: process.env.HBD_LAB_KEEP === '1' }, async (lab) => {
    const drivers = new Drivers(lab);
    try {
      await fn(lab, drivers);
    } finally {
      drivers.closeAll();
    }
  });
}

/** Why the native engine cannot join the suite here, or null (never skipped when it is required). */
function nativeSkipReason(): string | null {
  if (process.env.HBD_REQUIRE_NATIVE === '1') return null;
  try {
    const load = loadNative();
    if (!load.binding) return load.reason;
    return 'Engine' in load.binding ? null : 'the native addon has no Engine yet (the native transport has not landed)';
  } catch {
    return null; // demanded through HBD_TRANSPORT=native but broken: run, and fail loudly
  }
}

export function conformance(kinds: readonly TransportKind[], skip: string | null): void {
  const label = kinds.join('+');
  const kindOf = (i: number): TransportKind => kinds[(i - 1) % kinds.length]!;
  const cfg = (i: number, n: number, over: Partial<Config> = {}) => config(kindOf(i), i, n, over);
  const opts = { skip: labSkipReason() ?? skip ?? false, timeout: TEST_TIMEOUT };

  test(`${label}: two nodes on bcast see each other; SIGKILL one and the other declares it dead in time`, opts, (t) =>
    inLab({ nodes: 2 }, async (_lab, drivers) => {
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2)), drivers.start(2, cfg(2, 2))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      // Broadcasts come back to the sender: our own link is up too.
      await Promise.all([a.waitForEvent('link-up', { node: 'n1', link: 'eth0' }, WAIT), b.waitForEvent('link-up', { node: 'n2', link: 'eth0' }, WAIT)]);
      assert.ok(b.process.kill('SIGKILL'));
      const dead = await a.waitForEvent('peer-dead', { node: 'n2' }, DEADTIME + WAIT);
      t.diagnostic(assertTimelyDeath(a, 'n2', dead, DEADTIME));
      await a.waitForEvent('link-dead', { node: 'n2', link: 'eth0' }, WAIT);
    }));

  test(`${label}: three nodes on bcast see each other; SIGKILL one and both others declare only it dead`, opts, (t) =>
    inLab({ nodes: 3 }, async (_lab, drivers) => {
      const hs = await Promise.all([1, 2, 3].map((i) => drivers.start(i, cfg(i, 3))));
      await allSee(hs.map((h, j) => ({ h, node: `n${j + 1}` })), ['eth0']);
      const [a, b, c] = hs as [DriverHandle, DriverHandle, DriverHandle];
      assert.ok(c.process.kill('SIGKILL'));
      const deaths = await Promise.all([a, b].map((h) => h.waitForEvent('peer-dead', { node: 'n3' }, DEADTIME + WAIT)));
      t.diagnostic(assertTimelyDeath(a, 'n3', deaths[0]!, DEADTIME));
      t.diagnostic(assertTimelyDeath(b, 'n3', deaths[1]!, DEADTIME));
      // The survivors keep hearing each other after the death.
      const fromA = a.lines.length;
      const fromB = b.lines.length;
      await Promise.all([a.waitForEvent('status', { node: 'n2' }, WAIT, fromA), b.waitForEvent('status', { node: 'n1' }, WAIT, fromB)]);
      noneOf(a, 'peer-dead', { node: 'n2' });
      noneOf(b, 'peer-dead', { node: 'n1' });
    }));

  test(`${label}: bcast eth0 + mcast eth1, eth1 cut: link-dead for eth1 only, no peer-dead, link-up again once restored`, opts, () =>
    inLab({ nodes: 2, links: 2 }, async (lab, drivers) => {
      const media = [BCAST, MCAST];
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2, { media })), drivers.start(2, cfg(2, 2, { media }))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0', 'eth1']);
      const cutAt = a.lines.length;
      await lab.cutLink(2, 1);
      await Promise.all([a.waitForEvent('link-dead', { node: 'n2', link: 'eth1' }, DEADTIME + WAIT, cutAt), b.waitForEvent('link-dead', { node: 'n1', link: 'eth1' }, DEADTIME + WAIT)]);
      // Beats still arrive over eth0 after the link's death.
      const after = a.lines.length;
      await a.waitFor('5 more statuses from n2', () => a.lines.slice(after).filter(is('status', { node: 'n2' })).length >= 5, WAIT);
      for (const h of [a, b]) {
        noneOf(h, 'peer-dead');
        noneOf(h, 'link-dead', { link: 'eth0' });
      }
      const restoredAt = a.lines.length;
      await lab.restoreLink(2, 1);
      await a.waitForEvent('link-up', { node: 'n2', link: 'eth1' }, WAIT, restoredAt);
    }));

  test(`${label}: 10% loss both ways with deadtime = 10 × keepalive: no peer-dead over 5 s`, opts, () =>
    inLab({ nodes: 2 }, async (lab, drivers) => {
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2)), drivers.start(2, cfg(2, 2))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      await lab.netem(2, 0, { lossPct: 10 });
      const fromA = a.lines.length;
      const fromB = b.lines.length;
      await sleep(5_000);
      await lab.clearNetem(2, 0);
      for (const h of [a, b]) noneOf(h, 'peer-dead');
      // The window saw traffic (about 50 beats each way; 10 is far below what 10% loss leaves).
      assert.ok(a.lines.slice(fromA).filter(is('status', { node: 'n2' })).length >= 10, 'n1 heard n2 during the window');
      assert.ok(b.lines.slice(fromB).filter(is('status', { node: 'n1' })).length >= 10, 'n2 heard n1 during the window');
    }));

  test(`${label}: a restart within deadtime is a peer-restart with the higher generation, not a death nor a late heartbeat; st=init first`, opts, () =>
    inLab({ nodes: 2 }, async (_lab, drivers) => {
      // A long deadtime so that the new process surely beats before it; a warntime shorter than a
      // process start, so that a last-heard time kept across the restart would report it late.
      const slow = { deadtimeMs: 8_000, warntimeMs: 300, initdeadMs: 16_000 };
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2, slow)), drivers.start(2, cfg(2, 2, slow))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      assert.ok(b.process.kill('SIGKILL'));
      await b.process.exitWithin(WAIT);
      await drivers.start(2, cfg(2, 2, { ...slow, generation: 2 }));
      const restart = await a.waitForEvent('peer-restart', { node: 'n2' }, WAIT);
      assert.equal(restart.oldGeneration, 1);
      assert.equal(restart.generation, 2);
      const st = await a.waitForEvent('status', { node: 'n2', generation: 2 }, WAIT);
      assert.ok(a.lines.indexOf(st) > a.lines.indexOf(restart));
      // heartbeat's first status says st=init, once (then up, or active once the driver heard a peer).
      await a.waitFor('three statuses of generation 2', () => a.all('status').filter((l) => l.generation === 2).length >= 3, WAIT);
      // Statuses the native engine held back (unchanged content, reported in runs) carry no message.
      const sts = a.all('status').filter((l) => l.node === 'n2' && l.generation === 2 && !l.held).map((l) => statusField(l, 'st'));
      assert.equal(st.seq, 1);
      assert.equal(sts[0], 'init');
      assert.ok(sts.slice(1).every((v) => v === 'up' || v === 'active'), `later statuses ${sts.join(', ')}`);
      noneOf(a, 'peer-dead');
      noneOf(a, 'peer-late');
    }));

  test(`${label}: a peer marked dead (its shutdone) has no deadline; it returns by restarting; highestSeq follows sends`, opts, () =>
    inLab({ nodes: 2 }, async (_lab, drivers) => {
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2)), drivers.start(2, cfg(2, 2))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      let mark = a.lines.length;
      a.command({ cmd: 'send', message: [['t', 'hbd-conformance']] });
      const sent = await a.waitFor('sent reply', (l) => l.type === 'sent', WAIT, mark);
      a.command({ cmd: 'highest-seq' });
      const highest = await a.waitFor('highest-seq reply', (l) => l.type === 'highest-seq', WAIT, mark);
      assert.ok((highest.seq as number) >= (sent.seq as number), `highestSeq ${highest.seq} ≥ the seq just sent ${sent.seq}`);
      a.command({ cmd: 'mark-dead', node: 'n2' });
      assert.ok(b.process.kill('SIGKILL'));
      await b.process.exitWithin(WAIT);
      mark = a.lines.length;
      await a.waitForEvent('link-dead', { node: 'n2', link: 'eth0' }, DEADTIME + WAIT);
      await sleep(DEADTIME / 2);
      noneOf(a, 'peer-dead');
      await drivers.start(2, cfg(2, 2, { generation: 2 }));
      const back = await a.waitFor('peer-up of the restarted n2', (l) => is('peer-up', { node: 'n2', generation: 2 })(l), WAIT, mark);
      assert.equal(back.returned, false);
    }));

  test(`${label}: a retransmitted seq goes out again as identical bytes; a receiver that has it passes it on once`, opts, () =>
    inLab({ nodes: 2 }, async (lab, drivers) => {
      // A long max_rexmit_delay makes the throttling of an immediate repeat certain.
      const rexmit = { maxRexmitDelayMs: 60_000 };
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2, rexmit)), drivers.start(2, cfg(2, 2, rexmit))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      const capture = await lab.startCapture(0);
      const mark = a.lines.length;
      a.command({ cmd: 'send', message: [['t', 'hbd-conformance'], ['dest', 'n2'], ['payload', 'retransmit me']] });
      const sent = await a.waitFor('sent reply', (l) => l.type === 'sent', WAIT, mark);
      const seq = sent.seq as number;
      assert.equal(typeof seq, 'number');
      const first = await b.waitForEvent('message', { node: 'n1', seq }, WAIT);
      assert.equal(first.forUs, true);
      a.command({ cmd: 'retransmit', seq });
      a.command({ cmd: 'retransmit', seq });
      a.command({ cmd: 'retransmit', seq: seq + 1000 });
      a.command({ cmd: 'retransmit', seq: 0 });
      const replies = await a.waitFor('4 retransmit replies', () => a.all('retransmitted').length >= 4, WAIT).then(() => a.all('retransmitted').map((l) => l.result));
      assert.deepEqual(replies, ['sent', 'throttled', 'too-high', 'too-low']);
      await sleep(3 * KEEPALIVE); // let the switch deliver what tcpdump still has to write
      // The copy is a duplicate for b (liveness's window of seen seqs): never a second event.
      assert.equal(b.lines.filter(is('message', { node: 'n1', seq })).length, 1, `b passed seq ${seq} on once`);
      const pcap = readCapture(fs.readFileSync(await capture.stop()));
      const copies = pcap.datagrams
        .filter((d) => d.src.address === lab.node(1).address(0))
        .map((d) => d.payload)
        .filter((p) => {
          const m = decode(p, KEYS).message;
          return get(m, 't') === 'hbd-conformance' && get(m, 'seq') === seq.toString(16);
        });
      assert.equal(copies.length, 2, 'the original and one retransmission on the wire');
      assert.ok(copies[0]!.equals(copies[1]!), 'byte-identical datagrams');
    }));

  // keepalive 20 ms, deadtime 200 ms: a block of 300 ms is longer than the deadtime. initdead is long:
  // the two drivers start one after the other on a busy machine, and a peer that has not started yet
  // is no death to look for here.
  const fast = { keepaliveMs: 20, deadtimeMs: 200, warntimeMs: 100, initdeadMs: 5_000 };

  test(`${label}: a main event loop blocked 300 ms of every 400 (deadtime 200 ms) silences no node and kills no peer`, opts, (t) =>
    inLab({ nodes: 2 }, async (_lab, drivers) => {
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2, fast)), drivers.start(2, cfg(2, 2, fast))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      const fromA = a.lines.length;
      const fromB = b.lines.length;
      a.command({ cmd: 'block-loop', everyMs: 400, forMs: 300 });
      await sleep(2_400);
      a.command({ cmd: 'block-loop', everyMs: 400, forMs: 0 });
      await a.waitFor('the end of the blocks', (l) => l.type === 'blocking' && l.forMs === 0, WAIT, fromA);
      const blocks = a.lines.slice(fromA).filter((l) => l.type === 'blocking');
      assert.equal(blocks.length, 2);
      for (const h of [a, b]) noneOf(h, 'peer-dead');
      noneOf(a, 'stall-stop');
      // Beats flowed all along: about 120 in 2.4 s; a node whose beat waits for its event loop sends
      // at most one per 400 ms block cycle after the first block, and its peer declares it dead.
      const heard = b.lines.slice(fromB).filter(is('status', { node: 'n1' }));
      assert.ok(heard.length >= 60, `n2 heard only ${heard.length} statuses from n1 in 2.4 s (keepalive 20 ms)`);
      const gaps = heard.slice(1).map((l, i) => (l.mono as number) - (heard[i]!.mono as number));
      t.diagnostic(`n2 heard ${heard.length} statuses from n1; longest gap ${Math.max(...gaps).toFixed(1)} ms`);
    }));

  test(`${label}: the stall rule: no check-in for stallLimitMs stops the beat, the peer declares the node dead, stall-stop once the loop is back`, opts, () =>
    inLab({ nodes: 2 }, async (_lab, drivers) => {
      // keepalive 100 ms: a late timer of the packet core's own (over 50 ms: it restarts the limit) is
      // rare even on a busy machine; a stall limit of 1 s is not reached while a driver starts there.
      const timing = { keepaliveMs: 100, deadtimeMs: 500, warntimeMs: 250, initdeadMs: 5_000 };
      const [a, b] = await Promise.all([drivers.start(1, cfg(1, 2, { ...timing, stallLimitMs: 1_000 })), drivers.start(2, cfg(2, 2, timing))]);
      await allSee([{ h: a, node: 'n1' }, { h: b, node: 'n2' }], ['eth0']);
      const fromA = a.lines.length;
      const fromB = b.lines.length;
      a.command({ cmd: 'block-loop', everyMs: 3_000, forMs: 2_500 });
      const stop = await a.waitFor('stall-stop', (l) => l.type === 'stall-stop', WAIT, fromA);
      a.command({ cmd: 'block-loop', everyMs: 3_000, forMs: 0 });
      assert.ok((stop.silentMs as number) > 1_000, `silentMs ${String(stop.silentMs)}`);
      const dead = await b.waitForEvent('peer-dead', { node: 'n1' }, WAIT, fromB);
      // It stays silent with its loop running again: no status from n1 after its death.
      await sleep(500);
      assert.deepEqual(b.lines.slice(b.lines.indexOf(dead)).filter(is('status', { node: 'n1' })), []);
      noneOf(a, 'peer-dead');
    }));

  test(`${label}: a forged packet (wrong key) and an unknown node are auth-fails on the receiver, summarised per second, names escaped`, opts, () =>
    inLab({ nodes: 3 }, async (lab, drivers) => {
      const a = await drivers.start(1, cfg(1, 2));
      const forger = await drivers.start(2, cfg(2, 2, { authKeys: { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: 'not-the-secret' }] } }));
      const stranger = await drivers.start(3, cfg(3, 3));
      const forged = await a.waitForEvent('auth-fail', { node: 'n2', link: 'eth0' }, WAIT);
      assert.match(String(forged.reason), /signature/);
      assert.match(String(forged.source), new RegExp(`^${lab.node(2).address(0).replace(/\./g, '\\.')}:\\d+$`));
      const unknown = await a.waitForEvent('auth-fail', { node: 'n3', link: 'eth0' }, WAIT);
      assert.equal(unknown.reason, 'unknown node');
      // Summarised: one report per source and second, counting the forger's beats (10 a second).
      const second = await a.waitFor('a second report for the forger', (l) => is('auth-fail', { node: 'n2', source: forged.source })(l) && l !== forged, WAIT);
      assert.ok((second.mono as number) - (forged.mono as number) >= 999, `reports ${(second.mono as number) - (forged.mono as number)} ms apart`);
      assert.ok((second.count as number) >= 5, `the second report counts ${String(second.count)} packets`);
      // A name from a packet that fails is escaped: no forged log lines through "\n".
      const forgedName = encode(
        [str('t', 'status'), str('st', 'up'), str('src', 'n2\nCRIT: forged line'), str('seq', '1'), str('hg', '1'), str('ts', Math.floor(Date.now() / 1000).toString(16))],
        'netstring+auth',
        KEYS,
      );
      await sendRaw(lab, 3, lab.node(1).broadcast(0), [forgedName]);
      const named = await a.waitForEvent('auth-fail', { node: 'n2\\x0aCRIT: forged line' }, WAIT);
      assert.equal(named.reason, 'unknown node');
      // The other way round: n1's packets fail at the forger; the stranger, which lists n1, hears it.
      await forger.waitForEvent('auth-fail', { node: 'n1' }, WAIT);
      await stranger.waitForEvent('peer-up', { node: 'n1' }, WAIT);
      noneOf(a, 'peer-up');
      noneOf(a, 'status');
    }));
}

conformance(['ts'], null);
const nativeSkip = nativeSkipReason();
conformance(['native'], nativeSkip);
conformance(['native', 'ts'], nativeSkip);
