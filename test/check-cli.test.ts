// `hbd check` as an operator runs it: a child process on real directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { tutorialFiles, withConfigDir } from './fixtures/config/dirs';

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');

function hbd(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [HBD, ...args], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the tutorial files are valid: exit 0, says so, and shows what was resolved', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = hbd('check', '-c', dir, '--node', 'node1');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${dir}: configuration is valid \\(0 errors, \\d+ warnings?, 0 notes\\)$`, 'm'));
    for (const shown of [
      /^ {2}this node: +node1 \(from --node\)$/m,
      /^ {2}nodes: +node1, node2$/m,
      /^ {2}medium: +bcast eth0 \(udp port 694\) {2}\[ha\.cf:6\]$/m,
      /^ {2}keepalive: +2000ms$/m,
      /^ {2}warntime: +5000ms \(derived\)$/m,
      /^ {2}initdead: +20000ms \(derived\)$/m,
      /^ {2}auth: +sha1, signing with index 1 \(accepting 1\)$/m,
      /^ {2}wire format: +netstring\+auth \(msgfmt classic\)$/m,
      /^ {2}resource group: +node1: IPaddr::192\.168\.1\.4 httpd smb {2}\[haresources:1\]$/m,
    ]) {
      assert.match(r.stdout, shown);
    }
  });
});

test('a broken variant: exit 1, FILE:LINE and the hint, errors before warnings', async () => {
  const files = tutorialFiles();
  await withConfigDir({ ...files, 'ha.cf': files['ha.cf'].replace('keepalive 2', 'keepalive 2s'), authkeys: 'auth 1\n1 sha1 (stdin)= 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\n' }, (dir) => {
    const r = hbd('check', '-c', dir, '--node', 'node1');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    const first = lines.indexOf(`${dir}/ha.cf:4: error: keepalive: invalid time [2s]: heartbeat does not accept the unit "s"`);
    assert.ok(first >= 0, r.stdout);
    assert.equal(lines[first + 1], '    hint: write 2 (a plain number is seconds) or 2000ms');
    assert.ok(lines.includes('    hint: use only the hex digest as the key: 1 sha1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b'), r.stdout);
    const lastError = lines.map((l) => / error: /.test(l)).lastIndexOf(true);
    const firstWarning = lines.findIndex((l) => / warning: /.test(l));
    assert.ok(firstWarning === -1 || lastError < firstWarning);
    assert.match(r.stdout, /configuration is NOT valid \(2 errors/);
  });
});

test('an authkeys readable by others: exit 1 with the chmod fix', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    fs.chmodSync(path.join(dir, 'authkeys'), 0o644);
    const r = hbd('check', '-c', dir, '--node', 'node1');
    assert.equal(r.status, 1);
    assert.ok(r.stdout.includes(`${dir}/authkeys: error: Bad permissions on keyfile [${dir}/authkeys], 600 recommended.\n    hint: chmod 600 ${dir}/authkeys\n`), r.stdout);
  });
});

test('--json prints one parsable document', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = hbd('check', '-c', dir, '--node', 'node2', '--json');
    assert.equal(r.status, 0);
    const doc = JSON.parse(r.stdout) as { valid: boolean; errors: unknown[]; warnings: unknown[]; notes: unknown[]; resolved: { localNode: { name: string }; nodes: string[]; timings: { initdead: { ms: number; source: string } }; auth: { method: string } } };
    assert.equal(doc.valid, true);
    assert.deepEqual(doc.errors, []);
    assert.ok(Array.isArray(doc.warnings) && Array.isArray(doc.notes));
    assert.equal(doc.resolved.localNode.name, 'node2');
    assert.deepEqual(doc.resolved.nodes, ['node1', 'node2']);
    assert.deepEqual(doc.resolved.timings.initdead, { ms: 20000, source: 'derived' });
    assert.equal(doc.resolved.auth.method, 'sha1');
    assert.ok(!r.stdout.includes('4f2d7c1e'), 'the key never appears in the output');
  });
});

test('a missing directory exits 2; so does a usage error', () => {
  const missing = hbd('check', '-c', '/nonexistent/hbd-check-dir');
  assert.equal(missing.status, 2);
  assert.match(missing.stdout, /^\/nonexistent\/hbd-check-dir: error: cannot read the configuration directory: stat \/nonexistent\/hbd-check-dir: ENOENT$/m);
  const json = hbd('check', '-c', '/nonexistent/hbd-check-dir', '--json');
  assert.equal(json.status, 2);
  assert.equal((JSON.parse(json.stdout) as { valid: boolean }).valid, false);
  assert.equal(hbd('check', '--no-such-option').status, 2);
});

test('--help describes the exit codes', () => {
  const r = hbd('check', '--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Exit status: 0 valid \(warnings allowed\); 1 the configuration has errors;\s+2 usage error, or the configuration directory or a file cannot be read\./);
});
