// `hbd check` as an operator runs it: a child process on real directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { tutorialFiles, withConfigDir } from './fixtures/config/dirs';

/** A configuration this host can run: lo exists everywhere; scripts are created per test. */
const LOCAL_HA_CF = 'logfile /dev/null\nkeepalive 1\ndeadtime 5\nbcast lo\nauto_failback on\nnode node1\nnode node2\n';
const LOCAL_AUTHKEYS = 'auth 1\n1 sha1 0123456789abcdef0123456789abcdef\n';

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');

function hbd(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [HBD, ...args], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the tutorial files are valid for another host: exit 0, says so, and shows what was resolved', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = hbd('check', '-c', dir, '--node', 'node1', '--other-host');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${dir}: configuration is valid \\(0 errors, \\d+ warnings?, 0 notes\\) \\(host checks as warnings: --other-host\\)$`, 'm'));
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
    const r = hbd('check', '-c', dir, '--node', 'node1', '--other-host');
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
    const r = hbd('check', '-c', dir, '--node', 'node2', '--json', '--other-host');
    assert.equal(r.status, 0);
    const doc = JSON.parse(r.stdout) as { valid: boolean; errors: unknown[]; warnings: unknown[]; notes: unknown[]; resolved: { localNode: { name: string }; nodes: string[]; timings: { initdead: { ms: number; source: string } }; auth: { method: string } } };
    assert.equal(doc.valid, true);
    assert.deepEqual(doc.errors, []);
    assert.ok(Array.isArray(doc.warnings) && Array.isArray(doc.notes));
    assert.equal(doc.resolved.localNode.name, 'node2');
    assert.deepEqual(doc.resolved.nodes, ['node1', 'node2']);
    assert.deepEqual(doc.resolved.timings.initdead, { ms: 20000, source: 'derived' });
    assert.equal(doc.resolved.auth.method, 'sha1');
    assert.deepEqual((doc.resolved as unknown as { resourceGroups: { runners: { kind: string }[] }[] }).resourceGroups[0].runners.map((x) => x.kind), ['builtin', 'missing', 'missing']);
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

test('check and start agree on this host: what start refuses, check calls NOT valid, with the same errors', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const check = hbd('check', '-c', dir, '--node', 'node1');
    const start = hbd('start', '-c', dir, '--node', 'node1', '--run-dir', path.join(dir, 'run'), '--state-dir', path.join(dir, 'state'));
    assert.equal(start.status, 1, start.stderr);
    assert.equal(check.status, 1, check.stdout);
    assert.match(check.stdout, /configuration is NOT valid/);
    const startErrors = start.stderr.split('\n').filter((l) => / error: /.test(l));
    assert.ok(startErrors.length > 0, start.stderr);
    for (const e of startErrors) assert.ok(check.stdout.includes(e), `check misses: ${e}\n${check.stdout}`);
  });
});

test("start's hint is the exact check command, --node included", async () => {
  await withConfigDir({ ...tutorialFiles(), 'ha.cf': 'bcast lo\nnode node1\nnode node2\nkeepalive 2s\n' }, (dir) => {
    const start = hbd('start', '-c', dir, '--node', 'node1', '--run-dir', path.join(dir, 'run'), '--state-dir', path.join(dir, 'state'));
    assert.equal(start.status, 1);
    assert.ok(start.stderr.includes(`hbd: not started: ${dir} has errors (run \`hbd check -c ${dir} --node node1\` for the details)`), start.stderr);
  });
});

test('the summary says per group what start runs: built-in, which script, which unit, not found', async () => {
  const files = { 'ha.cf': LOCAL_HA_CF, authkeys: LOCAL_AUTHKEYS, haresources: 'node1 198.18.0.10 web systemd::nonesuch-hbd-unit nonesuch-hbd-script\n' };
  await withConfigDir(files, (dir) => {
    fs.mkdirSync(path.join(dir, 'resource.d'));
    fs.writeFileSync(path.join(dir, 'resource.d', 'web'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const r = hbd('check', dir, '--node', 'node1', '--other-host');
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /^ {4}198\.18\.0\.10 +built-in: hbd runs IPaddr itself \(no script\)$/m);
    assert.ok(new RegExp(`^ {4}web +runs ${dir}/resource\\.d/web start\\|stop\\|status$`, 'm').test(r.stdout), r.stdout);
    assert.match(r.stdout, /^ {4}systemd::nonesuch-hbd-unit +NOT FOUND on this host \(looked for \/etc\/systemd\/system\/nonesuch-hbd-unit\.service, .*\): hbd start refuses it$/m);
    assert.match(r.stdout, new RegExp(`^ {4}nonesuch-hbd-script +NOT FOUND on this host \\(looked for ${dir}/resource\\.d/nonesuch-hbd-script, /etc/init\\.d/nonesuch-hbd-script\\): hbd start refuses it$`, 'm'));
    // On this host the same files are refused, as start would.
    const here = hbd('check', dir, '--node', 'node1');
    assert.equal(here.status, 1);
    assert.match(here.stdout, /haresources:1: error: resource script nonesuch-hbd-script not found/);
    assert.match(here.stdout, /haresources:1: error: resource \[systemd::nonesuch-hbd-unit\]: systemd unit nonesuch-hbd-unit\.service not found/);
  });
});

test('a configuration this host can run: valid, and the verdict says this host passes the checks of start', async () => {
  await withConfigDir({ 'ha.cf': LOCAL_HA_CF, authkeys: LOCAL_AUTHKEYS, haresources: 'node1 198.18.0.10\n' }, (dir) => {
    const r = hbd('check', '-c', dir, '--node', 'node1');
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /configuration is valid \(0 errors, \d+ warnings?, 0 notes\); this host passes the checks `hbd start` makes$/m);
  });
});

test('the directory may be given as an argument; two different directories are a usage error', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = hbd('check', dir, '--node', 'node1', '--other-host');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${dir}: configuration is valid`, 'm'));
    const both = hbd('check', dir, '-c', '/etc/ha.d');
    assert.equal(both.status, 2);
    assert.match(both.stderr, /two configuration directories given/);
  });
});

test("the tutorial's placeholder key is a warning naming the fix", async () => {
  await withConfigDir({ ...tutorialFiles(), authkeys: 'auth 1\n1 sha1 PutYourSecretHere\n' }, (dir) => {
    const r = hbd('check', dir, '--node', 'node1', '--other-host');
    assert.equal(r.status, 0);
    assert.ok(r.stdout.includes(`${dir}/authkeys:2: warning: the key [PutYourSecretHere] is a placeholder printed in tutorials and samples`), r.stdout);
    assert.ok(r.stdout.includes('hint: replace it on every node with a secret of your own: 1 sha1 $(openssl rand -hex 20)'), r.stdout);
  });
});

test('a file named haresource (no s) is found and said not to be read', async () => {
  const files = { ...tutorialFiles(), haresources: null };
  await withConfigDir(files, (dir) => {
    fs.writeFileSync(path.join(dir, 'haresource'), 'node1 198.18.0.10\n');
    const r = hbd('check', dir, '--node', 'node1', '--other-host');
    assert.ok(r.stdout.includes(`${dir}/haresources: warning: no haresources file, but ${dir}/haresource exists: neither heartbeat nor hbd reads that name, so this cluster has no resource groups\n    hint: rename it: mv ${dir}/haresource ${dir}/haresources`), r.stdout);
    assert.doesNotMatch(r.stdout, /note: no haresources file/);
  });
});
