// loadConfig over real directories: the tutorial files, the permission rule, node naming,
// host checks, and collecting every file's problems in one run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import type { HostProbe } from '../lib/config/host';
import { systemProbe } from '../lib/config/host';
import { loadConfig, type LoadOptions } from '../lib/config/load';
import { tutorialFiles, withConfigDir, type ConfigFilesText } from './fixtures/config/dirs';

/** A host with only `lo` and no resource scripts. */
const bareHost: HostProbe = { interfaceExists: (n) => n === 'lo', resourceScript: () => null, systemdUnit: () => null, syslogSocket: () => true };
const opts = (o: Partial<LoadOptions> = {}): LoadOptions => ({ hostChecks: 'warn', host: bareHost, hostname: () => 'node1', ...o });
const summary = (ds: ReadonlyArray<{ severity: string; file: string; line: number | null; message: string }>, dir: string) =>
  ds.map((d) => `${path.relative(dir, d.file)}:${d.line ?? '-'}: ${d.severity}: ${d.message}`);

test('the heartbeat tutorial files load as written (host checks as warnings)', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = loadConfig(dir, opts({ node: 'node1', hostname: () => 'elsewhere' }));
    assert.deepEqual(summary(r.diagnostics, dir), [
      'ha.cf:6: warning: interface eth0 does not exist on this host',
      `haresources:1: warning: resource script httpd not found: no executable ${dir}/resource.d/httpd or /etc/init.d/httpd`,
      `haresources:1: warning: resource script smb not found: no executable ${dir}/resource.d/smb or /etc/init.d/smb`,
    ]);
    assert.equal(r.unreadable, false);
    const c = r.config;
    assert.ok(c);
    assert.equal(c.configDir, dir);
    assert.equal(c.localNode, 'node1');
    assert.equal(c.localNodeSource, '--node');
    assert.deepEqual(c.nodes.map((n) => n.name), ['node1', 'node2']);
    assert.deepEqual(c.media, [{ type: 'bcast', iface: 'eth0', line: 6 }]);
    assert.equal(c.udpPort, 694);
    assert.deepEqual([c.timings.keepaliveMs, c.timings.deadtimeMs, c.timings.warntimeMs, c.timings.initdeadMs, c.timings.deadpingMs], [2000, 10000, 5000, 20000, 10000]);
    assert.equal(c.autoFailback, 'on');
    assert.equal(c.wireFormat, 'netstring+auth');
    assert.deepEqual(c.logging, { logfile: '/var/log/ha-log', debugfile: '/var/log/ha-debug', facility: 'local0', debugLevel: 0, logBadPacket: true, syslogMsgFmt: true });
    assert.equal(c.authKeys.sendIndex, 1);
    assert.deepEqual(c.authKeys.keys.map((k) => [k.index, k.method, k.key.toString()]), [[1, 'sha1', '4f2d7c1e9a8b6d5c3e2f1a0b9c8d7e6f5a4b3c2d']]);
    assert.deepEqual(
      c.resources.map((g) => [g.node, g.key, g.line, g.resources.map((x) => `${x.script}(${x.args.join(',')})`)]),
      [['node1', 'IPaddr::192.168.1.4', 1, ['IPaddr(192.168.1.4)', 'httpd()', 'smb()']]],
    );
  });
});

test('the configuration is deep-frozen', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const c = loadConfig(dir, opts())!.config!;
    for (const o of [c, c.nodes, c.nodes[0], c.media[0], c.timings, c.timings.source, c.logging, c.authKeys, c.authKeys.keys, c.resources[0].resources[0].args, c.files]) {
      assert.ok(Object.isFrozen(o));
    }
    assert.throws(() => {
      (c as { udpPort: number }).udpPort = 1;
    }, TypeError);
  });
});

test("with hostChecks 'error' a missing interface or script is an error", async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = loadConfig(dir, opts({ hostChecks: 'error' }));
    assert.equal(r.config, null);
    assert.deepEqual(r.diagnostics.map((d) => d.severity), ['error', 'error', 'error']);
  });
});

test('resource scripts are found in <configdir>/resource.d', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    fs.mkdirSync(path.join(dir, 'resource.d'));
    for (const s of ['httpd', 'smb']) fs.writeFileSync(path.join(dir, 'resource.d', s), '#!/bin/sh\n', { mode: 0o755 });
    assert.equal(systemProbe.resourceScript('httpd', dir), path.join(dir, 'resource.d', 'httpd'));
    assert.equal(systemProbe.resourceScript('nonesuch-hbd', dir), null);
    const r = loadConfig(dir, opts({ host: { ...bareHost, interfaceExists: () => true, resourceScript: systemProbe.resourceScript } }));
    assert.deepEqual(r.diagnostics, []);
  });
});

test('the system probe sees the loopback interface', () => {
  assert.equal(systemProbe.interfaceExists('lo'), true);
  assert.equal(systemProbe.interfaceExists('hbd-no-such0'), false);
});

test('the local node comes from uname -n, must be declared, and the error names the lines and the fix', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = loadConfig(dir, opts({ hostname: () => 'Web3' }));
    assert.equal(r.config, null);
    const e = r.diagnostics.find((d) => d.severity === 'error')!;
    assert.equal(e.file, path.join(dir, 'ha.cf'));
    assert.equal(e.line, 8);
    assert.equal(e.message, 'Current node [web3] (from uname -n) not in configuration: the nodes are node1 (line 8), node2 (line 9)');
    assert.equal(e.hint, `add node web3 to ha.cf, or name this node with --node NAME or on the first line of ${dir}/nodeinfo`);
  });
});

test('nodeinfo overrides uname -n, and --node overrides both', async () => {
  await withConfigDir({ ...tutorialFiles(), nodeinfo: 'NODE2\nignored\n' }, (dir) => {
    const r = loadConfig(dir, opts());
    assert.deepEqual([r.config?.localNode, r.config?.localNodeSource], ['node2', 'nodeinfo']);
    const o = loadConfig(dir, opts({ node: 'Node1' }));
    assert.deepEqual([o.config?.localNode, o.config?.localNodeSource], ['node1', '--node']);
  });
});

test('a group- or world-readable authkeys is an error with the exact fix', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const file = path.join(dir, 'authkeys');
    fs.chmodSync(file, 0o640);
    const r = loadConfig(dir, opts());
    assert.equal(r.config, null);
    assert.equal(r.unreadable, false);
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.file, d.line, d.message, d.hint]),
      [[file, null, `Bad permissions on keyfile [${file}], 600 recommended.`, `chmod 600 ${file}`]],
    );
  });
});

test('a missing haresources is a note and an empty resource list', async () => {
  await withConfigDir({ ...tutorialFiles(), haresources: null }, (dir) => {
    const r = loadConfig(dir, opts({ host: { ...bareHost, interfaceExists: () => true } }));
    assert.deepEqual(summary(r.diagnostics, dir), ['haresources:-: note: no haresources file: this cluster has no resource groups']);
    assert.deepEqual(r.config?.resources, []);
  });
});

test('unreadable files are reported with the errno name, and the other files are still checked', async () => {
  const files: ConfigFilesText = { 'ha.cf': null, authkeys: 'auth 1\n1 crc\n', haresources: 'node1 httpd\n' };
  await withConfigDir(files, (dir) => {
    const r = loadConfig(dir, opts());
    assert.equal(r.unreadable, true);
    assert.equal(r.config, null);
    assert.deepEqual(summary(r.diagnostics, dir), [
      `ha.cf:-: error: cannot read ha.cf: open ${dir}/ha.cf: ENOENT`,
      'authkeys:2: warning: crc authenticates nothing: anyone who can reach the cluster port can forge cluster messages (heartbeat does not say so)',
    ]);
  });
  await withConfigDir(tutorialFiles(), (dir) => {
    fs.rmSync(path.join(dir, 'authkeys'));
    fs.mkdirSync(path.join(dir, 'authkeys'), { mode: 0o700 });
    const r = loadConfig(dir, opts());
    assert.equal(r.unreadable, true);
    assert.equal(r.diagnostics[0].message, `cannot read the keyfile: ${dir}/authkeys: not a regular file`);
  });
});

test('a missing configuration directory is unreadable', () => {
  const r = loadConfig('/nonexistent/hbd-config', opts());
  assert.equal(r.unreadable, true);
  assert.deepEqual(r.diagnostics.map((d) => d.message), ['cannot read the configuration directory: stat /nonexistent/hbd-config: ENOENT']);
});

test('one run collects the problems of all three files, errors first', async () => {
  const files: ConfigFilesText = {
    'ha.cf': 'keepalive 2s\nbcast lo\nnode node1 node2\nlogfile /var/log/ha-log\ncoredumps on\n',
    authkeys: 'auth 1\n1 sha1\n',
    haresources: 'node3 httpd\n',
  };
  await withConfigDir(files, (dir) => {
    const r = loadConfig(dir, opts());
    assert.deepEqual(summary(r.diagnostics, dir), [
      'ha.cf:1: error: keepalive: invalid time [2s]: heartbeat does not accept the unit "s"',
      'authkeys:2: error: Auth method [sha1] requires a key',
      'haresources:1: error: Bad nodename [node3]: the first word of a resource group must be a node of ha.cf',
      'ha.cf:5: warning: coredumps has no effect in hbd: hbd leaves core dumps to the service manager (systemd LimitCORE=)',
      "ha.cf:-: warning: Deprecated 'legacy' auto_failback option selected.",
      `haresources:1: warning: resource script httpd not found: no executable ${dir}/resource.d/httpd or /etc/init.d/httpd`,
    ]);
    // What could be understood is still resolved for `hbd check`.
    assert.deepEqual(r.resolved.nodes, ['node1', 'node2']);
    assert.equal(r.resolved.auth, null);
  });
});

test('a FIFO in place of a file is refused without waiting for a writer', async () => {
  await withConfigDir({ ...tutorialFiles(), haresources: null }, (dir) => {
    const fifo = path.join(dir, 'haresources');
    const made = spawnSync('mkfifo', [fifo]);
    assert.equal(made.status, 0, 'mkfifo is needed for this test');
    const r = loadConfig(dir, opts());
    assert.equal(r.unreadable, true);
    assert.deepEqual(summary(r.diagnostics, dir).filter((l) => l.includes('error')), [`haresources:-: error: cannot read haresources: ${fifo}: not a regular file`]);
  });
});

test('logfacility without a syslog socket on this host is a warning naming the fix', async () => {
  await withConfigDir(tutorialFiles(), (dir) => {
    const r = loadConfig(dir, opts({ host: { ...bareHost, interfaceExists: () => true, resourceScript: () => '/bin/true', syslogSocket: () => false } }));
    assert.ok(r.config, 'a warning only');
    assert.deepEqual(summary(r.diagnostics, dir), ['ha.cf:-: warning: logfacility local0: /dev/log does not exist on this host, so nothing reaches syslog']);
    assert.match(r.diagnostics[0].hint ?? '', /remove logfacility \(logfile \/var\/log\/ha-log gets every message anyway\)/);
    const withSyslog = loadConfig(dir, opts({ host: { ...bareHost, interfaceExists: () => true, resourceScript: () => '/bin/true' } }));
    assert.deepEqual(withSyslog.diagnostics, []);
  });
});

test('systemd::UNIT resources: found in the unit directories, a wrong argument count is an error', async () => {
  const files = { ...tutorialFiles(), haresources: 'node1 systemd::nginx\nnode2 systemd\n' };
  await withConfigDir(files, (dir) => {
    const seen: string[] = [];
    const r = loadConfig(dir, opts({ host: { ...bareHost, interfaceExists: () => true, systemdUnit: (u) => (seen.push(u), `/lib/systemd/system/${u}`) } }));
    assert.deepEqual(summary(r.diagnostics, dir), ['haresources:2: error: resource [systemd]: systemd takes exactly one argument, got 0']);
    assert.deepEqual(seen, ['nginx.service']);
    assert.deepEqual(r.resolved.resourceGroups[0].runners, [{ kind: 'systemd', unit: 'nginx.service', path: '/lib/systemd/system/nginx.service' }]);
  });
});
