// reloadConfig: what changed, what applies live, what waits for a restart, and refusal of an
// invalid configuration (the daemon keeps the old one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { HostProbe } from '../lib/config/host';
import { loadConfig } from '../lib/config/load';
import { reloadConfig, type ConfigField } from '../lib/config/reload';
import { tutorialFiles, withConfigDir } from './fixtures/config/dirs';

const host: HostProbe = { interfaceExists: () => true, resourceScript: (n) => `/etc/init.d/${n}`, systemdUnit: () => null, syslogSocket: () => true };
const LIVE: ReadonlySet<ConfigField> = new Set<ConfigField>(['logging', 'resources']);

function current(dir: string) {
  const c = loadConfig(dir, { node: 'node1', hostChecks: 'error', host }).config;
  assert.ok(c);
  return c;
}

test('unchanged files: nothing applied, nothing to restart; moving lines changes nothing', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const cur = current(dir);
    assert.deepEqual(reloadConfig(cur, LIVE, { host }).result, { ok: true, applied: [], restartNeeded: [], diagnostics: [] });
    fs.writeFileSync(path.join(dir, 'ha.cf'), `# a comment moves every line\n\n${tutorialFiles()['ha.cf']}`);
    assert.deepEqual(reloadConfig(cur, LIVE, { host }).result, { ok: true, applied: [], restartNeeded: [], diagnostics: [] });
  });
});

test('live settings are applied, the others are listed for the next restart; --node given at start is kept', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const cur = current(dir);
    const cf = tutorialFiles()['ha.cf'].replace('logfile /var/log/ha-log', 'logfile /var/log/hbd-log').replace('keepalive 2', 'keepalive 1').replace('auto_failback on', 'auto_failback off');
    fs.writeFileSync(path.join(dir, 'ha.cf'), cf);
    fs.writeFileSync(path.join(dir, 'haresources'), 'node1 IPaddr::192.168.1.5 httpd\n');
    const r = reloadConfig(cur, LIVE, { host });
    assert.deepEqual(r.result, {
      ok: true,
      applied: ['logging (logfile, debugfile, logfacility, debug)', 'haresources'],
      restartNeeded: ['timings (keepalive, deadtime, warntime, initdead, deadping, hbd_stall_limit)', 'auto_failback'],
      diagnostics: [],
    });
    assert.equal(r.config?.localNode, 'node1', 'the name given with --node stays');
    assert.equal(r.config?.logging.logfile, '/var/log/hbd-log');
  });
});

test('an invalid configuration is refused with its diagnostics and no new config', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const cur = current(dir);
    fs.writeFileSync(path.join(dir, 'ha.cf'), tutorialFiles()['ha.cf'].replace('keepalive 2', 'keepalive 2s'));
    fs.chmodSync(path.join(dir, 'authkeys'), 0o644);
    const r = reloadConfig(cur, LIVE, { host });
    assert.equal(r.config, null);
    assert.equal(r.result.ok, false);
    const msgs = r.result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${path.basename(d.file)}:${d.line ?? '-'}: ${d.message}`);
    assert.deepEqual(msgs, ['ha.cf:4: keepalive: invalid time [2s]: heartbeat does not accept the unit "s"', `authkeys:-: Bad permissions on keyfile [${dir}/authkeys], 600 recommended.`]);
  });
});

test('host checks are those of start: a resource script that disappeared makes the reload invalid', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const cur = current(dir);
    const r = reloadConfig(cur, LIVE, { host: { ...host, resourceScript: (n) => (n === 'smb' ? null : `/etc/init.d/${n}`) } });
    assert.equal(r.result.ok, false);
    assert.match(r.result.diagnostics.map((d) => d.message).join('\n'), /resource script smb not found/);
  });
});
