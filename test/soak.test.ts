// The one-minute soak (bench/soak runs it for 20 minutes and more): three native-engine nodes, a
// failover every 3 s through `hbd standby` or `hbd takeover`, all three holding in turn, every
// failover ending with exactly one new holder of VIP and service, and each daemon's RSS, threads
// and descriptors flat after warm-up. Bounds are
// generous: this checks for leaks (a descriptor per failover, a thread per action), not sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { runSoak } from '../bench/soak/soak';
import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';

const skipLab = labSkipReason();
const nativeMissing = loadNative({ HBD_TRANSPORT: 'auto' }).binding === null && process.env.HBD_REQUIRE_NATIVE !== '1';

test('soak, 1 minute: three nodes, a failover every 3 s, every one correct; RSS, threads and fds flat', { skip: skipLab ?? (nativeMissing ? 'the native addon is not built here' : false), timeout: 180_000 }, async () => {
  const r = await runSoak({ durationMs: 60_000, intervalMs: 3_000, sampleMs: 5_000, failoverBoundMs: 20_000 });
  assert.deepEqual(r.failed, [], 'every failover ends with exactly one new holder');
  assert.ok(r.failovers >= 8, `only ${r.failovers} failovers in a minute`);
  assert.deepEqual(Object.keys(r.holderCounts).sort(), ['n1', 'n2', 'n3'], `every node held the group: ${JSON.stringify(r.holderCounts)}`);
  for (const t of r.trends) {
    const what = `${t.node}: ${JSON.stringify(t)}`;
    assert.ok(t.last.rssKb - t.warm.rssKb < 20 * 1024, `RSS grew by more than 20 MB after warm-up: ${what}`);
    assert.ok(t.last.fds <= t.warm.fds + 2, `descriptors grew after warm-up: ${what}`);
    // A child process's transient pipe or a worker thread can be open at a sample: no more.
    assert.ok(t.maxThreads <= t.warm.threads + 2, `threads grew after warm-up: ${what}`);
  }
});
