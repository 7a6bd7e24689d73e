// The capability check of `hbd start`: parsing /proc/self/status and naming what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadConfig } from '../lib/config/load';
import { CAPABILITY, describeMissing, effectiveCapabilities, missing, readEffectiveCapabilities } from '../lib/service/capabilities';
import { tutorialFiles, withConfigDir } from './fixtures/config/dirs';

const bit = (n: number) => 1n << BigInt(n);
const ALL = bit(CAPABILITY.CAP_NET_ADMIN) | bit(CAPABILITY.CAP_NET_RAW) | bit(CAPABILITY.CAP_NET_BIND_SERVICE) | bit(CAPABILITY.CAP_SYS_NICE);

test('CapEff is read from /proc/self/status', () => {
  assert.equal(effectiveCapabilities('Name:\thbd\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n'), 0x1fffeffffffn);
  assert.throws(() => effectiveCapabilities('Name:\thbd\n'), /no CapEff line/);
  assert.equal(typeof readEffectiveCapabilities(), 'bigint');
});

test('the missing capabilities are named with the reason and the fix; realtime is only a warning', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const cfg = loadConfig(dir, { node: 'node1', hostChecks: 'warn' }).config!;
    assert.deepEqual(missing(cfg, ALL), []);
    const none = missing(cfg, 0n);
    assert.deepEqual(none.map((n) => [n.cap, n.severity]), [['CAP_NET_ADMIN', 'error'], ['CAP_NET_RAW', 'error'], ['CAP_NET_BIND_SERVICE', 'error'], ['CAP_SYS_NICE', 'warning']]);
    assert.equal(describeMissing(none[2]), 'missing capability CAP_NET_BIND_SERVICE, needed to bind UDP port 694 (below 1024): run hbd as root, or grant it (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE)');
    assert.deepEqual(missing(cfg, ALL & ~bit(CAPABILITY.CAP_NET_RAW)).map((n) => n.cap), ['CAP_NET_RAW']);
    assert.deepEqual(missing({ ...cfg, udpPort: 6940, realtime: false }, 0n).map((n) => n.cap), ['CAP_NET_ADMIN', 'CAP_NET_RAW']);
  });
});
