// Failover end to end: `hbd start` daemons in the netns lab with a haresources group of a virtual
// IP and an LSB service, for every transport pairing. Startup acquisition by the preferred node,
// takeover of a SIGKILLed holder (the engine's plan with the native engine), auto_failback when it
// returns, graceful-stop handover, `hbd standby`, and a VIP never held twice once things settle —
// checked on both namespaces' addresses and the services' state files. Bounds are generous (this
// machine is shared): timing is measured in bench/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';

import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';
import { logOf } from './lab/ha-log';
import { crash, hasVip, hbdIn, heldBy, startNode, until, VIP, type ClusterOptions, type Kind } from './lab/ha-cluster';
import { withLab, type Lab } from './lab/lab';

const skipLab = labSkipReason();
const nativeMissing = loadNative({ HBD_TRANSPORT: 'auto' }).binding === null && process.env.HBD_REQUIRE_NATIVE !== '1';
const arpingMissing = process.env.CI !== 'true' && !fs.existsSync('/usr/bin/arping') ? 'arping is not installed (apt-get install iputils-arping)' : null;

function skipFor(kinds: Kind[]): string | false {
  if (skipLab) return skipLab;
  if (kinds.includes('ts') && arpingMissing) return arpingMissing;
  if (kinds.includes('native') && nativeMissing) return 'the native addon is not built here';
  return false;
}

/** Both nodes up with the preferred n1 holding; n1 crashed, n2 holding; n1 started again (returned). */
async function crashAndRestartPreferred(lab: Lab, o: ClusterOptions): Promise<void> {
  const [n1, n2] = [lab.node(1), lab.node(2)];
  const p1 = await startNode(lab, n1, 'native', o);
  await startNode(lab, n2, 'native', o);
  await until(lab, 'the preferred node holds VIP and service', 30_000, () => heldBy(lab.nodes, n1));
  await crash(n1, p1);
  await until(lab, 'the survivor took over', 15_000, () => heldBy(lab.nodes, n2));
  await startNode(lab, n1, 'native', o);
}

const pairings: Array<[string, Kind[]]> = [
  ['native+native', ['native', 'native']],
  ['ts+ts', ['ts', 'ts']],
  ['native+ts', ['native', 'ts']],
];

for (const [name, kinds] of pairings) {
  test(`${name}: the preferred node acquires, a killed holder is taken over, auto_failback on brings the group back, SIGTERM hands over at once`, { skip: skipFor(kinds), timeout: 120_000 }, async () => {
    await withLab({ nodes: 2 }, async (lab) => {
      const [n1, n2] = [lab.node(1), lab.node(2)];
      const o: ClusterOptions = { autoFailback: 'on' };
      let p1 = await startNode(lab, n1, kinds[0], o);
      const p2 = await startNode(lab, n2, kinds[1], o);
      await until(lab, 'the preferred node holds VIP and service', 30_000, () => heldBy(lab.nodes, n1));
      assert.match(logOf(n1), /Acquiring resource group: \S+ IPaddr::198\.18\.0\.100\/24\/eth0 websvc/);
      const status = await hbdIn(n1, ['status', '--json']);
      assert.equal(status.status, 0, status.out);
      const report = JSON.parse(status.out) as { groups: { holder: string | null; state: string }[]; transport: { kind: string } };
      assert.equal(report.groups[0].holder, n1.name);
      assert.equal(report.transport.kind, kinds[0]);

      // The holder dies: the survivor takes VIP and service.
      await crash(n1, p1);
      await until(lab, 'the survivor took over', 15_000, () => heldBy(lab.nodes, n2));
      if (kinds[1] === 'native') assert.match(logOf(n2), new RegExp(`hbd: takeover plan for ${n1.name}: ${VIP.replace(/\./g, '\\.')}/24 on eth0:0 added`));
      await until(lab, 'the survivor logged the takeover', 10_000, () => /mach_down takeover complete/.test(logOf(n2)));

      // It returns: auto_failback on moves the group back, never held twice on the way.
      p1 = await startNode(lab, n1, kinds[0], o);
      await until(lab, 'the group failed back to the preferred node', 45_000, () => heldBy(lab.nodes, n1));

      // A graceful stop hands over without waiting for deadtime.
      const stoppedAt = Date.now();
      const logBefore = logOf(n2).length;
      p1.kill('SIGTERM');
      await until(lab, 'the peer took over after the graceful stop', 15_000, () => heldBy(lab.nodes, n2));
      assert.ok(Date.now() - stoppedAt < 10_000);
      assert.deepEqual(await p1.exited, { code: 0, signal: null });
      const afterStop = logOf(n2).slice(logBefore);
      assert.match(afterStop, new RegExp(`Received shutdown notice from '${n1.name}'`));
      assert.doesNotMatch(afterStop, new RegExp(`node ${n1.name}: is dead`), 'a planned stop raises no dead-node alarm');
      p2.kill('SIGTERM');
      assert.deepEqual(await p2.exited, { code: 0, signal: null });
      assert.ok(await heldBy(lab.nodes, null), 'the last node released everything');
    });
  });
}

test('native+native: auto_failback off keeps the group where it is; hbd standby moves it; a healed partition ends with one holder', { skip: skipFor(['native', 'native']), timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const [n1, n2] = [lab.node(1), lab.node(2)];
    await crashAndRestartPreferred(lab, { autoFailback: 'off' });
    await until(lab, 'the returning node is active', 20_000, () => /Local status now set to: 'active'/.test(logOf(n1)));
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(await heldBy(lab.nodes, n2), 'auto_failback off: the group stays on the survivor');

    // hbd standby on the holder gives the group to the other node.
    const r = await hbdIn(n2, ['standby']);
    assert.equal(r.status, 0, r.out);
    await until(lab, 'standby handed the group over', 30_000, () => heldBy(lab.nodes, n1));

    // Partition: each side thinks the other dead and both take the group; after the heal exactly one keeps it.
    await lab.cutLink(1, 0);
    await until(lab, 'both sides hold the group during the partition', 15_000, async () => (await hasVip(n1)) && (await hasVip(n2)));
    await lab.restoreLink(1, 0);
    await until(lab, 'one holder after the heal', 40_000, async () => (await heldBy(lab.nodes, n1)) || (await heldBy(lab.nodes, n2)));
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok((await heldBy(lab.nodes, n1)) || (await heldBy(lab.nodes, n2)), 'still exactly one holder');
  });
});

test('native+native: auto_failback legacy: ip-request at comm-up gives the returning preferred node its group back; hbd standby is refused', { skip: skipFor(['native', 'native']), timeout: 120_000 }, async () => {
  await withLab({ nodes: 2 }, async (lab) => {
    const n1 = lab.node(1);
    await crashAndRestartPreferred(lab, { autoFailback: 'legacy' });
    await until(lab, 'the returning preferred node asked for its group and got it', 45_000, () => heldBy(lab.nodes, n1));
    const r = await hbdIn(n1, ['standby']);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /Standby mode only implemented when nice_failback on/);
    await new Promise((res) => setTimeout(res, 2000));
    assert.ok(await heldBy(lab.nodes, n1), 'the refused standby moved nothing');
  });
});
