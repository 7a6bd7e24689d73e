// `npm install` must succeed without a working compiler and leave a TS-only hbd that says why;
// HBD_REQUIRE_NATIVE=1 must turn that into a failed install. Run on a copy of the package with a
// compiler that always fails, so the real build/ is never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNative } from '../lib/native';

const repo = path.resolve(__dirname, '..', '..');

/** Node's headers: npm's nodedir setting when npm runs us, else the prefix of this node binary. */
function nodedir(): string {
  return process.env.npm_config_nodedir ?? path.resolve(path.dirname(process.execPath), '..');
}

test('a failed compile leaves a working install that falls back to TypeScript and says why', { timeout: 120_000 }, (t) => {
  if (!fs.existsSync(path.join(nodedir(), 'include', 'node', 'node_api.h'))) return t.skip(`no Node headers under ${nodedir()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-build-'));
  try {
    for (const f of ['package.json', 'binding.gyp']) fs.copyFileSync(path.join(repo, f), path.join(dir, f));
    fs.cpSync(path.join(repo, 'native'), path.join(dir, 'native'), { recursive: true });
    fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
    const env: NodeJS.ProcessEnv = { ...process.env, CXX: '/bin/false', CC: '/bin/false', npm_config_nodedir: nodedir() };
    delete env.HBD_REQUIRE_NATIVE;
    const run = (extra: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['native/build.js'], { cwd: dir, env: { ...env, ...extra }, encoding: 'utf8' });

    const soft = run({});
    assert.equal(soft.status, 0, soft.stderr);
    assert.match(soft.stderr, /hbd: native addon unavailable: node-gyp rebuild exited with status \d+/);
    assert.match(soft.stderr, /continuing with the pure-TypeScript implementation/);
    const status = JSON.parse(fs.readFileSync(path.join(dir, 'build', 'native-status.json'), 'utf8'));
    assert.equal(status.ok, false);

    const load = loadNative({ HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: dir });
    assert.equal(load.binding, null);
    assert.match(load.reason ?? '', /native addon not loaded: node-gyp rebuild exited with status/);

    const hard = run({ HBD_REQUIRE_NATIVE: '1' });
    assert.equal(hard.status, 1);
    assert.match(hard.stderr, /HBD_REQUIRE_NATIVE=1, so this is an error/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
