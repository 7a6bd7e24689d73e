// Runs the libFuzzer harness of the C++ wire codec (native/fuzz/run.sh) for 20 seconds.
// Without a toolchain (clang++, its libFuzzer runtime, OpenSSL headers) it is skipped, except
// under CI=true, where that toolchain is part of the setup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const script = path.join(root, 'native', 'fuzz', 'run.sh');
const NO_TOOLCHAIN = 3; // run.sh's exit status when it cannot build a libFuzzer binary

test('20 seconds of libFuzzer on the decoder and re-encoder find no crash', { timeout: 240_000 }, (t) => {
  const r = spawnSync(script, ['20'], { cwd: root, encoding: 'utf8', timeout: 230_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.error, undefined, `could not run ${script}: ${r.error?.message}`);
  if (r.status === NO_TOOLCHAIN && process.env.CI !== 'true') {
    t.skip(`${r.stderr.trim()}; CI=true makes this a failure`);
    return;
  }
  assert.equal(r.status, 0, output);
  const m = /fuzz: (\d+) executions in 20s, no crash/.exec(r.stdout);
  assert.ok(m, `no execution count in the output:\n${output}`);
  assert.ok(Number(m[1]) > 0, output);
});
