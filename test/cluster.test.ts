// Real clusters of `hbd start` daemons in the netns lab, for every transport pairing: they reach
// active, detect a killed node, ride out a dead medium, packet loss and a quick restart, and shut
// down cleanly. Bounds are generous (this machine is shared): timing itself is measured in bench/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';
import { haLogPath, lineTime, logOf } from './lab/ha-log';
import { withLab, type Lab, type LabNode } from './lab/lab';
import type { LabProcess } from './lab/process';

type Kind = 'native' | 'ts';

const skipLab = labSkipReason();
const nativeMissing = loadNative({ HBD_TRANSPORT: 'auto' }).binding === null && process.env.HBD_REQUIRE_NATIVE !== '1';

const pairings: Array<[string, Kind[]]> = [
  ['native+native', ['native', 'native']],
  ['ts+ts', ['ts', 'ts']],
  ['native+ts', ['native', 'ts']],
];

function skipFor(kinds: Kind[]): string | false {
  if (skipLab) return skipLab;
  if (kinds.includes('native') && nativeMissing) return 'the native addon is not built here';
  return false;
}

interface Timing {
  keepalive: string;
  deadtime: string;
  warntime?: string;
  initdead: string;
}

const FAST: Timing = { keepalive: '100ms', deadtime: '1000ms', warntime: '500ms', initdead: '3000ms' };

function haCf(lab: Lab, media: string[], t: Timing, nodes: number): string {
  return [
    `logfile ${'@LOG@'}`,
    'debug 0',
    `keepalive ${t.keepalive}`,
    `deadtime ${t.deadtime}`,
    ...(t.warntime ? [`warntime ${t.warntime}`] : []),
    `initdead ${t.initdead}`,
    'udpport 694',
    ...media,
    'auto_failback on',
    'realtime off',
    ...Array.from({ length: nodes }, (_, i) => `node ${lab.node(i + 1).name}`),
    '',
  ].join('\n');
}

async function startNode(node: LabNode, kind: Kind, cf: string): Promise<LabProcess> {
  const logFile = haLogPath(node);
  fs.rmSync(logFile, { force: true });
  node.writeConfig({ haCf: cf.replace('@LOG@', logFile), authkeys: 'auth 1\n1 sha1 cluster-test-secret\n', haresources: '' });
  // 'ts' nodes run with the addon hidden: the automatic fallback is what a machine without a
  // compiler gets.
  const env = kind === 'native' ? { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' } : { HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: '/nonexistent-hbd-addon', HBD_REQUIRE_NATIVE: '0' };
  return node.spawn([...node.hbdArgv('start'), '--no-stderr'], {
    env,
    logFile,
    name: `hbd-${kind}`,
  });
}

async function cluster(lab: Lab, kinds: Kind[], media: string[], t = FAST): Promise<LabProcess[]> {
  const procs: LabProcess[] = [];
  for (let i = 0; i < kinds.length; i++) procs.push(await startNode(lab.node(i + 1), kinds[i], haCf(lab, media, t, kinds.length)));
  for (let i = 0; i < kinds.length; i++) {
    for (let j = 0; j < kinds.length; j++) {
      if (i === j) continue;
      await procs[i].waitFor(new RegExp(`Status update for node ${lab.node(j + 1).name}: status active`), 20_000);
    }
    await procs[i].waitFor(/Local status now set to: 'active'/, 20_000);
  }
  return procs;
}

for (const [name, kinds] of pairings) {
  test(`${name}: two nodes reach active, a SIGKILLed node is declared dead, SIGTERM is clean`, { skip: skipFor(kinds), timeout: 90_000 }, async () => {
    await withLab({ nodes: 2 }, async (lab) => {
      const [p1, p2] = await cluster(lab, kinds, ['bcast eth0']);
      const n1 = lab.node(1);
      assert.match(logOf(n1), new RegExp(`info: Link ${lab.node(2).name}:eth0 up\\.`));
      assert.match(logOf(n1), kinds[0] === 'native' ? /info: hbd: using the native engine/ : /WARN: native engine not in use: native addon not loaded: .*; using the TypeScript transport/);
      const killedAt = Date.now();
      p2.kill('SIGKILL');
      await p1.waitFor(new RegExp(`WARN: node ${lab.node(2).name}: is dead`), 10_000);
      const deadAt = lineTime(n1, /: is dead/)!;
      // Deadtime after the last heartbeat, which came at most one keepalive before the kill.
      assert.ok(deadAt - killedAt >= 1000 - 100 - 50, `declared dead ${deadAt - killedAt} ms after the kill`);
      // A victim killed within its first 5 s still advertised deadtime + 2000 ms (heartbeat's start bump).
      assert.ok(deadAt - killedAt < 1000 + 2000 + 2000, `declared dead ${deadAt - killedAt} ms after the kill`);
      await p1.waitFor(new RegExp(`info: Link ${lab.node(2).name}:eth0 dead\\.`), 5_000);
      p1.kill('SIGTERM');
      const exit = await p1.exited;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.match(logOf(n1), /Heartbeat shutdown complete\./);
      assert.ok(!fs.existsSync(path.join(n1.dirs.run, 'hbd.pid')), 'pid file removed');
    });
  });

  test(`${name}: one of two media cut → that link dead, the node stays alive`, { skip: skipFor(kinds), timeout: 90_000 }, async () => {
    await withLab({ nodes: 2, links: 2 }, async (lab) => {
      const [p1] = await cluster(lab, kinds, ['bcast eth0', 'mcast eth1 239.18.1.1 694 1 0']);
      const peer = lab.node(2).name;
      await p1.waitFor(new RegExp(`Link ${peer}:eth1 up\\.`), 10_000);
      await lab.cutLink(2, 1);
      await p1.waitFor(new RegExp(`info: Link ${peer}:eth1 dead\\.`), 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.doesNotMatch(logOf(lab.node(1)), /is dead/);
      await lab.restoreLink(2, 1);
      await p1.waitFor(new RegExp(`Link ${peer}:eth1 up\\.[\\s\\S]*Link ${peer}:eth1 up\\.`), 10_000).catch(() => undefined);
    });
  });

  test(`${name}: 10% loss with deadtime = 10 × keepalive causes no false death`, { skip: skipFor(kinds), timeout: 90_000 }, async () => {
    await withLab({ nodes: 2 }, async (lab) => {
      await cluster(lab, kinds, ['bcast eth0'], { keepalive: '50ms', deadtime: '500ms', initdead: '3000ms' });
      await lab.netem(1, 0, { lossPct: 10, delayMs: 0, jitterMs: 0 });
      await lab.netem(2, 0, { lossPct: 10, delayMs: 0, jitterMs: 0 });
      await new Promise((r) => setTimeout(r, 8000));
      for (const n of [lab.node(1), lab.node(2)]) assert.doesNotMatch(logOf(n), /is dead/, `${n.name} saw a false death`);
    });
  });

  test(`${name}: a node's SIGTERM is its shutdown notice: gone at once, never declared dead later, back when it restarts`, { skip: skipFor(kinds), timeout: 90_000 }, async () => {
    await withLab({ nodes: 2 }, async (lab) => {
      const [p1, p2] = await cluster(lab, kinds, ['bcast eth0']);
      const [n1, n2] = [lab.node(1), lab.node(2)];
      p2.kill('SIGTERM');
      await p1.waitFor(new RegExp(`info: Received shutdown notice from '${n2.name}'\\.`), 10_000);
      assert.deepEqual(await p2.exited, { code: 0, signal: null });
      // Well past the deadtime (1 s) after its last status: no death, only the link times out.
      await p1.waitFor(new RegExp(`info: Link ${n2.name}:eth0 dead\\.`), 5_000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.doesNotMatch(logOf(n1), /is dead/);
      await startNode(n2, kinds[1], haCf(lab, ['bcast eth0'], FAST, 2));
      await p1.waitFor(new RegExp(`Status update for node ${n2.name}: status active[\\s\\S]*Status update for node ${n2.name}: status active`), 20_000);
      assert.doesNotMatch(logOf(n1), /is dead|returning after partition/);
    });
  });

  test(`${name}: a node restarted within deadtime is seen as restarted (new generation)`, { skip: skipFor(kinds), timeout: 90_000 }, async () => {
    await withLab({ nodes: 2 }, async (lab) => {
      const slow: Timing = { keepalive: '100ms', deadtime: '4000ms', warntime: '2000ms', initdead: '8000ms' };
      const [p1, p2] = await cluster(lab, kinds, ['bcast eth0'], slow);
      const n2 = lab.node(2);
      p2.kill('SIGKILL');
      await p2.exited;
      await startNode(n2, kinds[1], haCf(lab, ['bcast eth0'], slow, 2));
      await p1.waitFor(new RegExp(`Heartbeat restart on node ${n2.name}`), 15_000);
      assert.doesNotMatch(logOf(lab.node(1)), /is dead/);
    });
  });
}

test('three nodes, native and ts mixed, all reach active', { skip: skipFor(['native', 'ts']), timeout: 90_000 }, async () => {
  await withLab({ nodes: 3 }, async (lab) => {
    await cluster(lab, ['native', 'ts', 'native'], ['bcast eth0']);
  });
});

test('SIGTERM before comm-up waits for it (heartbeat: "Shutdown delayed until Communication is up."), then status, shutdone, exit', { skip: skipFor(['ts']), timeout: 90_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    // n2 never starts: comm comes up when initdead (3 s) declares it dead.
    const n1 = lab.node(1);
    const p1 = await startNode(n1, 'ts', haCf(lab, ['bcast eth0'], FAST, 2));
    await p1.waitFor(/Local status now set to: 'up'/, 10_000);
    const termAt = Date.now();
    p1.kill('SIGTERM');
    await p1.waitFor(/WARN: Shutdown delayed until Communication is up\./, 5_000);
    assert.deepEqual(await p1.exited, { code: 0, signal: null });
    const log = logOf(n1);
    const order = [/Comm_now_up\(\)/, /Heartbeat shutdown in progress\./, /Heartbeat shutdown complete\./].map((re) => log.search(re));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `comm-up, then shutdown in progress, then complete:\n${log}`);
    assert.ok(Date.now() - termAt >= 2000, 'it stayed until comm-up');
  });
});
