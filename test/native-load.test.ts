import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadNative, transportChoice } from '../lib/native';

test('HBD_TRANSPORT is parsed strictly', () => {
  assert.equal(transportChoice({}), 'auto');
  assert.equal(transportChoice({ HBD_TRANSPORT: 'TS' }), 'ts');
  assert.throws(() => transportChoice({ HBD_TRANSPORT: 'fast' }), /HBD_TRANSPORT=fast: expected native, ts or auto/);
});

test('HBD_TRANSPORT=ts does not load the addon and says why', () => {
  const load = loadNative({ HBD_TRANSPORT: 'ts', HBD_REQUIRE_NATIVE: '1' });
  assert.equal(load.binding, null);
  assert.match(load.reason ?? '', /HBD_TRANSPORT=ts/);
});

test('a hidden addon falls back under auto, and is an error when required', () => {
  const hidden = { HBD_ADDON_DIR: '/nonexistent-hbd-addon' };
  const load = loadNative({ ...hidden, HBD_TRANSPORT: 'auto' });
  assert.equal(load.binding, null);
  assert.match(load.reason ?? '', /native addon not loaded/);
  assert.throws(() => loadNative({ ...hidden, HBD_TRANSPORT: 'native' }), /HBD_TRANSPORT=native requires it/);
  assert.throws(() => loadNative({ ...hidden, HBD_REQUIRE_NATIVE: '1' }), /HBD_REQUIRE_NATIVE=1 requires it/);
});

test('the addon loads when the environment demands it (CI sets HBD_REQUIRE_NATIVE=1)', { skip: process.env.HBD_REQUIRE_NATIVE !== '1' && loadNative({ HBD_TRANSPORT: 'auto' }).binding === null ? 'addon not built here' : false }, () => {
  const load = loadNative({ HBD_TRANSPORT: 'native' });
  assert.ok(load.binding);
  assert.equal(load.binding.abiVersion, 1);
});
