// Key rotation across a running cluster (README "Key rotation without downtime"), in the netns lab
// with two `hbd start` daemons, for each transport, from `1 crc` (whose start-up warning gives these
// steps) to `2 sha1`: key 2 is added on both nodes and reloaded (SIGHUP); each node in turn switches to
// `auth 2`; then key 1 goes on both. No node may be declared dead and no packet refused on the way.
// Then the new keys must be what the transports use: a node signing with the removed key again is
// refused by its peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';
import { haLogPath, logOf } from './lab/ha-log';
import { withLab, type Lab, type LabNode } from './lab/lab';
import type { LabProcess } from './lab/process';

type Kind = 'native' | 'ts';

const OLD = '1 crc';
const NEW = '2 sha1 new-secret-9876543210';

function skipFor(kind: Kind): string | false {
  const lab = labSkipReason();
  if (lab) return lab;
  if (kind === 'native' && !loadNative({ HBD_TRANSPORT: 'auto' }).binding && process.env.HBD_REQUIRE_NATIVE !== '1') return 'the native addon is not built here';
  return false;
}

function haCf(lab: Lab, log: string): string {
  return [`logfile ${log}`, 'keepalive 100ms', 'deadtime 1000ms', 'warntime 500ms', 'initdead 3000ms', 'udpport 694', 'bcast eth0', 'auto_failback on', 'realtime off', `node ${lab.node(1).name}`, `node ${lab.node(2).name}`, ''].join('\n');
}

const ENV: Record<Kind, Record<string, string>> = {
  native: { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' },
  ts: { HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: '/nonexistent-hbd-addon', HBD_REQUIRE_NATIVE: '0' },
};

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;
const AUTH_FAIL = /failed authentication|hbd: \d+ packets? in 1 s from/;

/** Rewrites node's authkeys, sends SIGHUP and waits for the (n+1)-th "authkeys reloaded" line. */
async function rotate(lab: Lab, node: LabNode, p: LabProcess, authkeys: string, signing: string): Promise<void> {
  const before = count(logOf(node), /authkeys reloaded/);
  node.writeConfig({ haCf: haCf(lab, haLogPath(node)), authkeys, haresources: '' });
  p.kill('SIGHUP');
  await p.waitFor((t) => count(t, /authkeys reloaded/) > before, 10_000);
  assert.match(logOf(node).split('\n').filter((l) => /authkeys reloaded/.test(l)).pop() ?? '', new RegExp(`signing with key ${signing.replace(/[()]/g, '\\$&')}`));
  // Both nodes beat several times with the new setting before the next step.
  await new Promise((resolve) => setTimeout(resolve, 800));
}

for (const kind of ['native', 'ts'] as const) {
  test(`key rotation with two indices across a running cluster (${kind} transport): no death, no refused packet`, { skip: skipFor(kind), timeout: 120_000 }, () =>
    withLab({ nodes: 2 }, async (lab) => {
      const nodes = [lab.node(1), lab.node(2)];
      const procs: LabProcess[] = [];
      try {
        for (const node of nodes) {
          node.writeConfig({ haCf: haCf(lab, haLogPath(node)), authkeys: `auth 1\n${OLD}\n`, haresources: '' });
          procs.push(await node.spawn([...node.hbdArgv('start'), '--no-stderr'], { env: ENV[kind], logFile: haLogPath(node), name: `hbd-${kind}` }));
        }
        for (const [i, p] of procs.entries()) await p.waitFor(new RegExp(`Status update for node ${nodes[1 - i]!.name}: status active`), 20_000);

        // The start-up log says what crc is and how to leave it: the steps below.
        assert.match(logOf(nodes[0]!), /WARN: authkeys: crc authenticates nothing: .*to move to sha1 without downtime: 1\) on every node add the line `2 sha1 SECRET`/);

        for (const i of [0, 1]) await rotate(lab, nodes[i]!, procs[i]!, `auth 1\n${OLD}\n${NEW}\n`, '1 (crc), accepting keys 1, 2');
        for (const i of [0, 1]) await rotate(lab, nodes[i]!, procs[i]!, `auth 2\n${OLD}\n${NEW}\n`, '2 (sha1)');
        for (const i of [0, 1]) await rotate(lab, nodes[i]!, procs[i]!, `auth 2\n${NEW}\n`, '2 (sha1), accepting keys 2');

        for (const node of nodes) {
          const log = logOf(node);
          assert.doesNotMatch(log, /is dead|unresponsive|Late heartbeat/, `${node.name}: no death, no late heartbeat during the rotation`);
          assert.equal(count(log, AUTH_FAIL), 0, `${node.name}: no packet refused during the rotation:\n${log.split('\n').filter((l) => AUTH_FAIL.test(l)).join('\n')}`);
          assert.equal(count(log, /configuration NOT reloaded/), 0);
        }

        // The reloaded keys are the ones in use: n2 signing with the removed key 1 is refused by n1.
        await rotate(lab, nodes[1]!, procs[1]!, `auth 1\n${OLD}\n${NEW}\n`, '1 (crc)');
        await procs[0]!.waitFor((t) => count(t, AUTH_FAIL) > 0, 5_000);
        assert.match(logOf(nodes[0]!), /key index 1 is not in authkeys/);
      } finally {
        await Promise.all(procs.map((p) => p.stop()));
      }
    }));
}
