// Fault campaign, part 1 (node faults): two native-engine `hbd start` daemons in the netns lab with
// a VIP + LSB service group, and a fault each: SIGKILL of a node in the middle of a takeover and of
// a release, a reload with a broken configuration, a resource script that hangs, and the log
// file's disk full. After every fault the VIP and the service have exactly one holder. A SIGKILLed
// node is a crashed machine: its addresses and service go with it (crash()). Network and clock
// faults are in faults-net.test.ts. Bounds are generous (the machine is shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';
import { crash, hasVip, hbdIn, heldBy, serviceState, startNode, until, type ClusterOptions } from './lab/ha-cluster';
import { logOf } from './lab/ha-log';
import { withLab } from './lab/lab';

const skipLab = labSkipReason();
const nativeMissing = loadNative({ HBD_TRANSPORT: 'auto' }).binding === null && process.env.HBD_REQUIRE_NATIVE !== '1';
const skip = skipLab ?? (nativeMissing ? 'the native addon is not built here' : false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The log of `node` from `from` (a length of logOf earlier) on. */
const logSince = (node: Parameters<typeof logOf>[0], from: number): string => logOf(node).slice(from);

test('SIGKILL of the node taking the group over (its service start under way): the other node takes it back, one holder', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    const o: ClusterOptions = { autoFailback: 'off', serviceStart: 'sleep 2; touch "$state"' };
    await startNode(lab, n1, 'native', o);
    const p2 = await startNode(lab, n2, 'native', o);
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    const mark = logOf(n2).length;
    const r = await hbdIn(n1, ['standby']);
    assert.equal(r.status, 0, r.out);
    // n2 has the VIP and is inside its 2 s service start: the takeover is half done.
    await until(lab, 'n2 is starting the service', 20_000, () => /Running \S+websvc start/.test(logSince(n2, mark)));
    await crash(n2, p2);
    await until(lab, 'n1 took the group back', 30_000, () => heldBy(lab.nodes, n1));
    assert.match(logOf(n1), new RegExp(`node ${n2.name}: is dead`));
    await sleep(3000);
    assert.ok(await heldBy(lab.nodes, n1), 'still exactly one holder');
  });
});

test('SIGKILL of the holder while it releases the group (its service stop under way): the peer takes over, one holder', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    const o: ClusterOptions = { autoFailback: 'off', serviceStop: 'sleep 3; rm -f "$state"' };
    const p1 = await startNode(lab, n1, 'native', o);
    await startNode(lab, n2, 'native', o);
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    const mark = logOf(n1).length;
    const r = await hbdIn(n1, ['standby']);
    assert.equal(r.status, 0, r.out);
    await until(lab, 'n1 is stopping the service', 20_000, () => /Running \S+websvc stop/.test(logSince(n1, mark)));
    await crash(n1, p1);
    await until(lab, 'n2 took the group over', 30_000, () => heldBy(lab.nodes, n2));
    assert.match(logOf(n2), new RegExp(`node ${n1.name}: is dead`));
    await sleep(3000);
    assert.ok(await heldBy(lab.nodes, n2), 'still exactly one holder');
  });
});

test('a reload with a broken ha.cf is refused with the reason; the daemon keeps beating and holding; a fixed one reloads', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    const o: ClusterOptions = { autoFailback: 'on' };
    const p1 = await startNode(lab, n1, 'native', o);
    await startNode(lab, n2, 'native', o);
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    const haCf = path.join(n1.dirs.config, 'ha.cf');
    const good = fs.readFileSync(haCf, 'utf8');
    fs.writeFileSync(haCf, `${good}keepalive banana\n`);
    const r = await hbdIn(n1, ['reload']);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /NOT valid/);
    p1.kill('SIGHUP');
    await until(lab, 'both refusals logged', 10_000, () => (logOf(n1).match(/configuration NOT reloaded/g) ?? []).length === 2);
    assert.match(logOf(n1), /ha\.cf:\d+.*keepalive/);
    await sleep(3000);
    assert.ok(p1.running, 'n1 still runs');
    assert.doesNotMatch(logOf(n2), /is dead/, 'n2 never lost n1');
    assert.ok(await heldBy(lab.nodes, n1), 'n1 still the only holder');
    fs.writeFileSync(haCf, good);
    const fixed = await hbdIn(n1, ['reload']);
    assert.equal(fixed.status, 0, fixed.out);
  });
});

test('a resource start that hangs: the daemon keeps beating and answering, nobody else takes the group; its death hands over', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    // Only n1's start hangs (far past any test: the action timeout is 120 s).
    fs.writeFileSync(`${serviceState(n1)}.hang`, '');
    const o: ClusterOptions = { autoFailback: 'off', serviceStart: 'if [ -e "$state.hang" ]; then sleep 600; fi; touch "$state"' };
    const p1 = await startNode(lab, n1, 'native', o);
    await startNode(lab, n2, 'native', o);
    await until(lab, 'n1 runs the service start', 40_000, () => /Running \S+websvc start/.test(logOf(n1)));
    for (let i = 0; i < 6; i++) {
      await sleep(1000);
      const s = await hbdIn(n1, ['status', '--json']);
      assert.equal(s.status, 0, s.out);
      const report = JSON.parse(s.out) as { groups: { state: string }[]; nodes: { name: string; status: string }[] };
      assert.equal(report.groups[0].state, 'acquiring');
      assert.equal(report.nodes.find((n) => n.name === n2.name)?.status, 'active');
      assert.ok(await hasVip(n1), 'n1 keeps the VIP it added before the service');
      assert.ok(!(await hasVip(n2)), 'n2 does not take the group from a live node');
    }
    assert.doesNotMatch(logOf(n2), /is dead/, 'n1 kept beating');
    await crash(n1, p1);
    await until(lab, 'n2 took the group over', 30_000, () => heldBy(lab.nodes, n2));
  });
});

test('the log file\'s disk is full (logfile on a 64 KiB tmpfs, filled): the daemon says so once and keeps beating and holding', { skip, timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    // A tmpfs mounted in n1's own mount namespace only (gone with it), filled before hbd starts.
    const dir = path.join(n1.dirs.root, 'full-log');
    fs.mkdirSync(dir);
    const wrap = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k hbd-full-log "$0" && { head -c 1048576 /dev/zero > "$0/filler" 2>/dev/null; true; } && exec "$@"', dir];
    const p1 = await startNode(lab, n1, 'native', { autoFailback: 'on', logfile: path.join(dir, 'ha-log') }, { wrap });
    await startNode(lab, n2, 'native', { autoFailback: 'on' });
    await until(lab, 'n1 holds VIP and service', 40_000, () => heldBy(lab.nodes, n1));
    assert.match(logOf(n2), new RegExp(`Status update for node ${n1.name}: status active`));
    await sleep(4000);
    assert.ok(p1.running, 'n1 still runs');
    assert.doesNotMatch(logOf(n2), /is dead/, 'n1 kept beating');
    assert.ok(await heldBy(lab.nodes, n1), 'n1 still the only holder');
    const inside = `/proc/${p1.pid}/root${dir}`;
    assert.equal(fs.statSync(path.join(inside, 'ha-log')).size, 0, 'nothing fitted on the full disk');
    const err = fs.readFileSync(p1.stderrPath!, 'utf8');
    assert.equal((err.match(/cannot write log file .*ENOSPC/g) ?? []).length, 1, `said once:\n${err}`);
    p1.kill('SIGTERM');
    assert.deepEqual(await p1.exited, { code: 0, signal: null });
    await until(lab, 'n2 took over after the stop', 20_000, () => heldBy(lab.nodes, n2));
  });
});
