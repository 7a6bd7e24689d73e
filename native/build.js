#!/usr/bin/env node
// `npm install` hook: make the native addon available, or record why it is not.
// A failed compile must not fail the install: hbd then runs on the pure-TypeScript
// transport and says why (lib/native.ts reads build/native-status.json).
// HBD_REQUIRE_NATIVE=1 turns a failure into a failed install (CI sets it).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const statusFile = path.join(root, 'build', 'native-status.json');
const required = process.env.HBD_REQUIRE_NATIVE === '1';

function record(status) {
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  fs.writeFileSync(statusFile, JSON.stringify({ ...status, node: process.version, at: new Date().toISOString() }, null, 2) + '\n');
}

function tryLoad() {
  // A child process, so a crashing addon cannot take the installer down with it.
  const r = spawnSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(root)}).authToken('crc', Buffer.alloc(0), Buffer.alloc(0))`], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || '').trim().split('\n').slice(0, 3).join(' ');
}

function nodeGypCommand() {
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })];
  } catch {
    if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
    return ['node-gyp'];
  }
}

function main() {
  if (process.env.HBD_SKIP_NATIVE_BUILD === '1' && !required) {
    record({ ok: false, reason: 'native build skipped (HBD_SKIP_NATIVE_BUILD=1)' });
    return 0;
  }
  // A matching prebuild (prebuildify) needs no compiler.
  if (fs.existsSync(path.join(root, 'prebuilds')) && tryLoad() === null) {
    record({ ok: true, source: 'prebuild' });
    return 0;
  }
  const [cmd, ...args] = nodeGypCommand();
  const r = spawnSync(cmd, [...args, 'rebuild'], { cwd: root, stdio: 'inherit' });
  let reason = null;
  if (r.error) reason = `could not run node-gyp: ${r.error.code || r.error.message}`;
  else if (r.status !== 0) reason = `node-gyp rebuild exited with status ${r.status} (see the compiler output above; g++, make and python3 are needed)`;
  else reason = tryLoad() && `the compiled addon does not load: ${tryLoad()}`;
  if (reason === null) {
    record({ ok: true, source: 'compiled' });
    return 0;
  }
  record({ ok: false, reason });
  process.stderr.write(`hbd: native addon unavailable: ${reason}\n`);
  if (required) {
    process.stderr.write('hbd: HBD_REQUIRE_NATIVE=1, so this is an error\n');
    return 1;
  }
  process.stderr.write('hbd: continuing with the pure-TypeScript implementation\n');
  return 0;
}

process.exitCode = main();
