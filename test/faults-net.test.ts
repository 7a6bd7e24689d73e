// Fault campaign, part 2 (network and clock faults): two native-engine `hbd start` daemons in the
// netns lab with a VIP + LSB service group. 30 % loss with 20 ms jitter (no false death with a
// deadtime that allows it; a failover when the holder really dies), a link flapping every 100 ms
// (30 s here; bench/soak/flap.ts runs the full minute), and the wall clock of one node stepped by
// ±1 h with libfaketime (no fake death, no replay refusal). After every fault the VIP and the
// service have exactly one holder. Bounds are generous (the machine is shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';
import { crash, hbdIn, heldBy, startNode, until, type ClusterOptions } from './lab/ha-cluster';
import { logOf } from './lab/ha-log';
import { withLab, type Lab } from './lab/lab';
import { flapLink } from './lab/flap';

const skipLab = labSkipReason();
const nativeMissing = loadNative({ HBD_TRANSPORT: 'auto' }).binding === null && process.env.HBD_REQUIRE_NATIVE !== '1';
const skip = skipLab ?? (nativeMissing ? 'the native addon is not built here' : false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Debian's faketime package; the multi-threaded variant, for the engine thread and libuv's. */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
  .map((d) => path.join(d, 'faketime', 'libfaketimeMT.so.1'))
  .find((f) => fs.existsSync(f));
const fakeTimeMissing = !LIBFAKETIME && process.env.CI !== 'true' ? 'libfaketime is not installed (apt-get install faketime)' : false;

test('30 % loss with 20 ms jitter on the holder\'s cable: no false death with deadtime 2 s; the holder\'s crash still fails over', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    const o: ClusterOptions = { autoFailback: 'off', keepalive: '100ms', deadtime: '2000ms', warntime: '1000ms', initdead: '4000ms' };
    const p1 = await startNode(lab, n1, 'native', o);
    await startNode(lab, n2, 'native', o);
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    await lab.netem(1, 0, { lossPct: 30, delayMs: 20, jitterMs: 20 });
    await sleep(12_000);
    for (const n of lab.nodes) assert.doesNotMatch(logOf(n), /is dead/, `${n.name} saw a false death`);
    assert.ok(await heldBy(lab.nodes, n1), 'n1 still the only holder');
    await crash(n1, p1);
    await until(lab, 'n2 took over from the crashed holder through the lossy link', 30_000, () => heldBy(lab.nodes, n2));
    assert.match(logOf(n2), new RegExp(`node ${n1.name}: is dead`));
  });
});

test('the holder\'s link flapping every 100 ms for 30 s: no death with deadtime 1 s, a bounded log, one holder after', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    const o: ClusterOptions = { autoFailback: 'off' };
    const p1 = await startNode(lab, n1, 'native', o);
    const p2 = await startNode(lab, n2, 'native', o);
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    const marks = lab.nodes.map((n) => logOf(n).length);
    const flaps = await flapLink(lab, 1, 0, { periodMs: 100, durationMs: 30_000 });
    assert.ok(flaps >= 50, `only ${flaps} flaps`);
    await sleep(3000);
    assert.ok(p1.running && p2.running, 'both daemons run');
    lab.nodes.forEach((n, i) => {
      const during = logOf(n).slice(marks[i]);
      assert.doesNotMatch(during, /is dead/, `${n.name} declared a death`);
      // Carrier changes are an outsider's doing: no line per flap. heartbeat's own reports of
      // sequence gaps ("N lost packet(s) for [node]", "No pkts missing") come once per gap, as in
      // heartbeat, and are not counted here.
      const other = during.split('\n').filter((l) => l && !/lost packet\(s\) for|No pkts missing/.test(l));
      assert.ok(other.length < 40, `${n.name} logged ${other.length} lines:\n${other.join('\n').slice(0, 4000)}`);
    });
    await until(lab, 'one holder after the flapping', 20_000, () => heldBy(lab.nodes, n1));
  });
});

/** `ts` (whole seconds, hex) of a status n2 sent, read off the wire: the engine thread's time(). */
async function wireTs(lab: Lab, from: string): Promise<number> {
  const out = await new Promise<string>((resolve) => {
    const c = spawn('ip', ['netns', 'exec', lab.switchNs, 'tcpdump', '-i', lab.bridge(0), '-c', '3', '-A', '-n', '-l', `udp port 694 and src host ${from}`], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    let text = '';
    c.stdout.on('data', (b: Buffer) => (text += b.toString('latin1')));
    c.on('close', () => resolve(text));
  });
  const m = /\bts=([0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`no ts= in the capture of ${from}:\n${out.slice(0, 2000)}`);
  return parseInt(m[1], 16);
}

test('one node\'s wall clock stepped +1 h, then -1 h, and a restart under it: no fake death, no replay refusal, one holder', { skip: skip || fakeTimeMissing, timeout: 150_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    // deadtime 4 s: the restart at the end comes back within it (a restart, not a death).
    const o: ClusterOptions = { autoFailback: 'off', keepalive: '100ms', deadtime: '4000ms', warntime: '2000ms', initdead: '8000ms' };
    // CLOCK_REALTIME of n2 only (the real clock is the machine's, never stepped here); its
    // CLOCK_MONOTONIC stays real, as with a real step. Re-read every second.
    const offsetFile = path.join(n2.dirs.root, 'faketime');
    fs.writeFileSync(offsetFile, '+0\n');
    const env = { LD_PRELOAD: LIBFAKETIME ?? '', FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_CACHE_DURATION: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
    await startNode(lab, n1, 'native', o);
    let p2 = await startNode(lab, n2, 'native', o, { env });
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    await until(lab, 'n2 is active', 20_000, () => /Local status now set to: 'active'/.test(logOf(n2)));

    for (const step of [3600, -3600]) {
      fs.writeFileSync(offsetFile, `${step > 0 ? '+' : ''}${step}s\n`);
      await sleep(2500);
      // Both of n2's clocks see the step: its JavaScript (a log line's time) and its engine
      // thread (the ts of the statuses it sends).
      const mark = logOf(n2).length;
      assert.equal((await hbdIn(n2, ['reload'])).status, 0);
      const stamp = Date.parse(logOf(n2).slice(mark, mark + 24));
      assert.ok(Math.abs(stamp - Date.now() - step * 1000) < 60_000, `n2's log time ${new Date(stamp).toISOString()} is not ${step} s off`);
      const ts = await wireTs(lab, n2.address(0));
      assert.ok(Math.abs(ts - Date.now() / 1000 - step) < 60, `n2's engine stamps ts ${ts}, not ${step} s off`);
      await sleep(4000);
    }
    // A restart with the clock an hour back: the generation file still counts up.
    const gens = () => (logOf(n1).match(new RegExp(`Heartbeat restart on node ${n2.name}`, 'g')) ?? []).length;
    p2.kill('SIGKILL');
    await p2.exited;
    p2 = await startNode(lab, n2, 'native', o, { env });
    await until(lab, 'n1 saw n2 restart', 30_000, () => gens() === 1);
    await until(lab, 'n2 is active again', 20_000, () => (logOf(n2).match(/Local status now set to: 'active'/g) ?? []).length >= 2);
    await sleep(2000);
    for (const n of lab.nodes) {
      assert.doesNotMatch(logOf(n), /is dead/, `${n.name} saw a fake death`);
      assert.doesNotMatch(logOf(n), /replay/, `${n.name} refused packets as replays`);
    }
    assert.ok(await heldBy(lab.nodes, n1), 'n1 still the only holder');
  });
});
