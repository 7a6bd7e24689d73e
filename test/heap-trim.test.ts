// The heap trimmer: one full collection when the old generation grew by the threshold since the
// last one (its own or V8's), none otherwise; and node's hidden gc() really obtained at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { HeapTrimmer, oldGenerationUsed } from '../lib/service/heap-trim';

const MB = 1024 * 1024;

test('collects once the old generation grew by the threshold, measured from the last collection or V8\'s own', () => {
  let used = 10 * MB;
  let runs = 0;
  const t = new HeapTrimmer({ intervalMs: 60_000, thresholdBytes: 2 * MB, oldUsed: () => used, collect: () => ((runs += 1), (used = 10.5 * MB)) });
  used = 11.9 * MB;
  assert.equal(t.check(), false, 'below the threshold');
  used = 12 * MB;
  assert.equal(t.check(), true);
  assert.equal(runs, 1);
  assert.equal(t.collections, 1);
  used = 12.4 * MB; // 1.9 MB over what the collection left
  assert.equal(t.check(), false);
  used = 9 * MB; // V8 collected by itself: growth counts from here
  assert.equal(t.check(), false);
  used = 10.9 * MB;
  assert.equal(t.check(), false);
  used = 11 * MB;
  assert.equal(t.check(), true);
  assert.equal(runs, 2);
});

test('an idle process reaches no threshold; the real gc() frees garbage left in the old generation', () => {
  const t = new HeapTrimmer({ intervalMs: 60_000, thresholdBytes: 2 * MB });
  assert.equal(t.check(), false);
  // Garbage that survives into the old generation: long-lived for two scavenges, then dropped.
  let keep: unknown[] | null = [];
  for (let i = 0; i < 100_000; i++) keep.push({ i, s: `x${i}` });
  for (let i = 0; i < 4; i++) new Array(200_000).fill(0).map((x, j) => ({ x, j })); // scavenges promote `keep`
  const grown = oldGenerationUsed();
  keep = null;
  assert.equal(t.check(), true, `old generation grew ${(grown / MB).toFixed(1)} MB`);
  assert.ok(oldGenerationUsed() < grown - 2 * MB, `${(oldGenerationUsed() / MB).toFixed(1)} MB after, ${(grown / MB).toFixed(1)} MB before`);
});

test('start/stop: the timer checks on its interval and never keeps the process alive', async () => {
  let checks = 0;
  const t = new HeapTrimmer({ intervalMs: 5, thresholdBytes: Number.MAX_SAFE_INTEGER, oldUsed: () => ((checks += 1), 0), collect: () => assert.fail('no collection') });
  const constructed = checks;
  t.start();
  assert.equal((t as unknown as { timer: NodeJS.Timeout }).timer.hasRef(), false);
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(checks > constructed, 'checked on its timer');
  t.stop();
  const stopped = checks;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(checks, stopped, 'no check after stop');
});
