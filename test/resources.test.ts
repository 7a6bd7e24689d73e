// Resource layer without the kernel: findif over listed addresses, the group runner's heartbeat
// rules with fake resources, script resources with temporary scripts, and argument validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import fc from 'fast-check';

import { parseHaresources, parseResourceText } from '../lib/config/haresources';
import { parseBuiltinArgs } from '../lib/config/resource-args';
import type { ClusterConfig } from '../lib/config/types';
import type { AddressBackend, AddressEntry, VipSpec } from '../lib/resources/address';
import { firstFreeLabel } from '../lib/resources/address-iproute2';
import { runCommand } from '../lib/resources/exec';
import { GroupRunner } from '../lib/resources/group';
import { IpResource, STATUS_RUNNING } from '../lib/resources/ip-resource';
import { broadcastOf, intToIpv4, ipv4ToInt, resolveVip, type IpArgs } from '../lib/resources/ipaddr';
import type { ResourceLog } from '../lib/resources/log';
import { createGroupRunners, registryOptions } from '../lib/resources/registry';
import type { ActionResult, Resource } from '../lib/resources/resource';
import { statusSaysRunning } from '../lib/resources/resource';
import { haEnvironment, ScriptResource } from '../lib/resources/script';
import { SystemdResource } from '../lib/resources/systemd';
import { tutorialFiles, withConfigDir } from './fixtures/config/dirs';

function entry(iface: string, address: string, prefix: number, broadcast: string | null = null, label: string | null = iface): AddressEntry {
  return { family: address.includes(':') ? 6 : 4, iface, ifindex: 2, address, prefix, broadcast, label };
}

function ipArgs(token: string): IpArgs {
  const r = parseResourceText(token, 1);
  assert.ok(r.ok, `parse ${token}`);
  const b = parseBuiltinArgs(r.value.script as 'IPaddr', r.value.args);
  assert.ok(b.ok && b.value.type !== 'systemd');
  return b.value as IpArgs;
}

const HOST: AddressEntry[] = [
  entry('lo', '127.0.0.1', 8),
  entry('eth0', '198.18.0.1', 24, '198.18.0.255'),
  entry('eth0', '198.18.0.50', 24, '198.18.0.255', 'eth0:0'),
  entry('eth1', '198.18.1.1', 16, '198.18.255.255'),
  entry('eth1', '198.18.2.1', 24, '198.18.2.127'),
];

function resolved(token: string, entries = HOST): VipSpec | string {
  const r = resolveVip(ipArgs(token), entries);
  return r.ok ? r.vip : r.code;
}

test('findif: IPaddr takes the longest connected subnet, computes the broadcast, lets the backend pick a label', () => {
  assert.deepEqual(resolved('198.18.0.100'), { family: 4, iface: 'eth0', address: '198.18.0.100', prefix: 24, broadcast: '198.18.0.255', label: null });
  assert.deepEqual(resolved('198.18.2.9'), { family: 4, iface: 'eth1', address: '198.18.2.9', prefix: 24, broadcast: '198.18.2.255', label: null });
  assert.deepEqual(resolved('IPaddr::198.18.0.100/25'), { family: 4, iface: 'eth0', address: '198.18.0.100', prefix: 25, broadcast: '198.18.0.127', label: null });
  // A NIC without a subnet for the address: /32, as the C findif answers.
  const nicOnly = (type: 'IPaddr' | 'IPaddr2', ip: string): IpArgs => ({ type, spec: { ip, cidrNetmask: null, nic: 'eth0', broadcast: null } });
  assert.equal(parseResourceText('IPaddr::198.19.0.5//eth0', 1).ok, false, 'the wrappers would read eth0 as the netmask');
  assert.deepEqual(resolveVip(nicOnly('IPaddr', '198.19.0.5'), HOST), { ok: true, vip: { family: 4, iface: 'eth0', address: '198.19.0.5', prefix: 32, broadcast: '198.19.0.5', label: null } });
  assert.equal(resolved('198.19.0.5'), 'ENODEV');
});

test('findif: IPaddr2 labels only when NIC:LABEL is given, and takes the broadcast of the subnet\'s primary address', () => {
  assert.deepEqual(resolved('IPaddr2::198.18.0.100'), { family: 4, iface: 'eth0', address: '198.18.0.100', prefix: 24, broadcast: '198.18.0.255', label: 'eth0' });
  assert.deepEqual(resolved('IPaddr2::198.18.2.9/26/eth1:web'), { family: 4, iface: 'eth1', address: '198.18.2.9', prefix: 26, broadcast: '198.18.2.127', label: 'eth1:web' });
  // /16 given: the /24 route does not match ip/16, so no broadcast is known.
  assert.deepEqual(resolved('IPaddr2::198.18.0.100/16/eth0'), { family: 4, iface: 'eth0', address: '198.18.0.100', prefix: 16, broadcast: null, label: 'eth0' });
  const nicOnly = (ip: string): IpArgs => ({ type: 'IPaddr2', spec: { ip, cidrNetmask: null, nic: 'eth0', broadcast: null } });
  assert.equal(resolveVip(nicOnly('198.19.0.5'), HOST).ok, false, 'NIC without netmask and no subnet: findif fails');
  assert.deepEqual(resolveVip(nicOnly('198.18.0.9'), HOST), { ok: true, vip: { family: 4, iface: 'eth0', address: '198.18.0.9', prefix: 24, broadcast: '198.18.0.255', label: 'eth0' } });
  assert.equal(resolved('IPaddr2::198.19.0.5'), 'ENODEV');
  assert.equal(parseResourceText('IPaddr2::198.18.0.5/24/eth0:averyverylonglabel', 1).ok, false);
});

test('findif: IPv6addr finds the global subnet and canonicalises the address', () => {
  const v6 = [entry('eth0', 'fe80::1', 64), entry('eth0', '2001:2::1', 64)];
  assert.deepEqual(resolved('IPv6addr::2001:2:0::10', v6), { family: 6, iface: 'eth0', address: '2001:2::10', prefix: 64, broadcast: null, label: null });
  assert.equal(resolved('IPv6addr::2001:3::10', v6), 'ENODEV');
});

test('broadcast and address arithmetic agree with the dotted form (property)', () => {
  fc.assert(
    fc.property(fc.nat(2 ** 32 - 1), fc.integer({ min: 0, max: 32 }), (n, p) => {
      const ip = intToIpv4(n);
      assert.equal(ipv4ToInt(ip), n);
      const b = ipv4ToInt(broadcastOf(ip, p));
      const host = 2 ** (32 - p) - 1;
      assert.equal(b % (host + 1), host);
      assert.equal(Math.floor(b / (host + 1)), Math.floor(n / (host + 1)));
    }),
  );
});

test('IPaddr labels: the first free iface:N', () => {
  assert.equal(firstFreeLabel('eth0', HOST), 'eth0:1');
  assert.equal(firstFreeLabel('eth1', HOST), 'eth1:0');
});

test('status is read from the text as we_own_resource does', () => {
  for (const [text, running] of [
    ['apache is running', true],
    ['INFO:  Running OK', true],
    ['OK', true],
    ['apache is not running', false],
    ['NOT  Running', false],
    ['stopped', false],
    ['', false],
  ] as const) {
    assert.equal(statusSaysRunning(text), running, text);
  }
});

interface Recorded {
  lines: string[];
  log: ResourceLog;
}

function recorder(): Recorded {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, log: { info: at('info'), warn: at('WARN'), error: at('ERROR'), crit: at('CRIT'), debug: () => undefined } };
}

class FakeResource implements Resource {
  readonly type = 'fake';
  running = false;
  stopFailures = 0;
  failStart = false;
  constructor(
    readonly text: string,
    private readonly journal: string[],
  ) {}
  private res(action: 'start' | 'stop' | 'status', ok: boolean): ActionResult {
    this.journal.push(`${this.text} ${action}`);
    return { action, ok, running: action === 'status' && this.running, command: `${this.text} ${action}`, outcome: ok ? 'exit 0' : 'exit 1', exitCode: ok ? 0 : 1, outputTail: '', output: '', durationMs: 1, timedOut: false };
  }
  async start(): Promise<ActionResult> {
    if (this.failStart) return this.res('start', false);
    this.running = true;
    return this.res('start', true);
  }
  async stop(): Promise<ActionResult> {
    if (this.stopFailures > 0) {
      this.stopFailures--;
      return this.res('stop', false);
    }
    this.running = false;
    return this.res('stop', true);
  }
  async status(): Promise<ActionResult> {
    return this.res('status', true);
  }
}

function group(names: string[]) {
  const journal: string[] = [];
  const rec = recorder();
  const resources = names.map((n) => new FakeResource(n, journal));
  const sleeps: number[] = [];
  const runner = new GroupRunner({ key: names[0], node: 'alice', resources }, { log: rec.log, sleep: async (ms) => void sleeps.push(ms) });
  return { journal, rec, resources, runner, sleeps };
}

test('acquire: left to right, running resources skipped; release: right to left', async () => {
  const g = group(['a', 'b', 'c']);
  g.resources[1].running = true;
  const o = await g.runner.acquire();
  assert.deepEqual([o.ok, o.started, o.alreadyRunning], [true, ['a', 'c'], ['b']]);
  assert.deepEqual(g.journal, ['a status', 'a start', 'b status', 'c status', 'c start']);
  assert.equal(g.rec.lines[0], 'info: Acquiring resource group: alice a b c');
  g.journal.length = 0;
  const r = await g.runner.release();
  assert.deepEqual([r.ok, r.stopped], [true, ['c', 'b', 'a']]);
  assert.deepEqual(g.journal, ['c stop', 'b stop', 'a stop']);
  assert.ok(g.rec.lines.includes('info: Releasing resource group: alice a b c'));
  assert.equal((await g.runner.status()).status, 'NONE');
});

test('a failed start gives up the whole group with heartbeat\'s CRIT and asks for standby after 30 s', async () => {
  const g = group(['a', 'b', 'c']);
  g.resources[1].failStart = true;
  const o = await g.runner.acquire();
  assert.deepEqual([o.ok, o.failed, o.standbyAfterMs, o.release?.stopped], [false, 'b', 30_000, ['c', 'b', 'a']]);
  assert.ok(g.rec.lines.includes('CRIT: Giving up resources due to failure of b'));
  assert.ok(!g.journal.includes('c start'));
  assert.equal(g.resources[0].running, false);
});

test('a failed stop is retried 10 times 1 s apart; still running is CRIT, stopped is the LSB warning', async () => {
  const g = group(['a', 'b']);
  g.resources.forEach((r) => (r.running = true));
  g.resources[1].stopFailures = 3; // succeeds on the 4th try
  g.resources[0].stopFailures = 100; // never
  const r = await g.runner.release();
  assert.deepEqual(g.sleeps, new Array(13).fill(1000));
  assert.equal(g.rec.lines.filter((l) => l === 'info: Retrying failed stop operation [b]').length, 3);
  assert.equal(g.rec.lines.filter((l) => l === 'info: Retrying failed stop operation [a]').length, 10);
  assert.deepEqual([r.ok, r.stopped, r.stopFailures], [false, ['b'], ['a']]);
  assert.ok(g.rec.lines.includes('CRIT: Resource STOP failure. Reboot required!'));

  const h = group(['x']);
  h.resources[0].stopFailures = 100; // fails, but its status says stopped
  const r2 = await h.runner.release();
  assert.deepEqual([r2.ok, r2.stopFailures], [true, []]);
  assert.ok(h.rec.lines.includes('ERROR: Resource script for x probably not LSB-compliant.'));
  assert.ok(h.rec.lines.includes('WARN: Machine reboot narrowly avoided!'));
});

test('operations on a group never overlap; a cancelled acquisition stops before the next resource', async () => {
  const g = group(['a', 'b']);
  const ac = new AbortController();
  const first = g.runner.acquire(ac.signal);
  const second = g.runner.release();
  ac.abort();
  const o = await first;
  await second;
  assert.equal(o.cancelled, true);
  // a status+start for "a" at most, then the release (b, a): never interleaved.
  const releaseAt = g.journal.indexOf('b stop');
  assert.ok(g.journal.slice(0, releaseAt).every((j) => j.startsWith('a ')));
});

test('a resource that throws is a failed action, not a crash', async () => {
  const journal: string[] = [];
  const bad = new FakeResource('bad', journal);
  bad.start = async () => {
    throw new Error('boom');
  };
  const rec = recorder();
  const o = await new GroupRunner({ key: 'bad', node: 'n', resources: [bad] }, { log: rec.log, sleep: async () => undefined }).acquire();
  assert.equal(o.failed, 'bad');
  assert.ok(rec.lines.some((l) => l.includes('bad start failed') && l.includes('boom')));
});

class FakeBackend implements AddressBackend {
  readonly kind = 'iproute2' as const;
  entries: AddressEntry[] = [entry('eth0', '198.18.0.1', 24, '198.18.0.255')];
  announced: VipSpec[] = [];
  async list(): Promise<AddressEntry[]> {
    return this.entries;
  }
  async add(vip: VipSpec) {
    const label = vip.label ?? firstFreeLabel(vip.iface, this.entries);
    this.entries.push(entry(vip.iface, vip.address, vip.prefix, vip.broadcast, label));
    return { changed: true, label, atMono: 0 };
  }
  async remove(vip: VipSpec) {
    this.entries = this.entries.filter((e) => e.address !== vip.address);
    return { changed: true, atMono: 0 };
  }
  async announce(vip: VipSpec) {
    this.announced.push(vip);
    return { firstAtMono: 0, frames: 2 };
  }
}

test('built-in IPaddr over a backend: start adds and announces, status and stop find it', async () => {
  const b = new FakeBackend();
  const rec = recorder();
  const r = new IpResource('198.18.0.100', ipArgs('198.18.0.100'), '198.18.0.100', b, rec.log);
  assert.equal((await r.status()).running, false);
  const s = await r.start();
  assert.equal(s.ok, true, s.outputTail);
  await r.lastAnnounce;
  assert.deepEqual(b.entries[1], entry('eth0', '198.18.0.100', 24, '198.18.0.255', 'eth0:0'));
  assert.equal(b.announced.length, 1);
  const st = await r.status();
  assert.deepEqual([st.running, st.output], [true, STATUS_RUNNING]);
  assert.equal((await r.stop()).ok, true);
  assert.equal(b.entries.length, 1);
  assert.equal((await r.stop()).ok, true, 'stopping a stopped address succeeds');
  const missing = await new IpResource('x', ipArgs('198.19.9.9'), '198.19.9.9', b, rec.log).start();
  assert.deepEqual([missing.ok, missing.outcome], [false, 'ENODEV']);
});

test('hbd check: a bad resource argument is an error with file and line', () => {
  const text = 'alice IPaddr::198.18.0.1/33\nalice IPaddr2::198.18.0.2/24/averyveryverylongif\nalice IPv6addr::2001:2::1/129\nalice systemd::bad/unit\nalice IPaddr::10.0.0.1::x\n';
  const { diagnostics } = parseHaresources(text, '/etc/ha.d/haresources', ['alice']);
  assert.deepEqual(diagnostics.map((d) => [d.line, d.severity]), [[1, 'error'], [2, 'error'], [3, 'error'], [4, 'error'], [5, 'error']]);
  assert.match(diagnostics[0].message, /netmask \[33\]/);
  assert.match(diagnostics[1].message, /longer than 15/);
  assert.match(diagnostics[2].message, /prefix length \[129\]/);
  assert.ok(diagnostics.every((d) => d.hint));
});

/** Running (a killed process may linger as a zombie until its new parent reaps it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-res-'));
}

function writeScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, 'resource.d', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const ENV = haEnvironment({ configDir: '/x', localNode: 'alice', logging: { logfile: null, debugfile: null, facility: null, debugLevel: 0, logBadPacket: false, syslogMsgFmt: true }, env: [{ name: 'site', value: 'lab' }] });

test('script resources: heartbeat\'s arguments and environment, status from the text, output tail on failure', async () => {
  const dir = tempDir();
  try {
    writeScript(dir, 'svc', 'case "$3" in start) echo "args=$1,$2 host=$HA_CURHOST site=$HA_site"; exit 0;; stop) echo "cannot stop" >&2; exit 1;; status) echo "svc is not running"; exit 0;; esac');
    const rec = recorder();
    const r = new ScriptResource('svc::a::b', 'svc', ['a', 'b'], { configDir: dir, initDir: path.join(dir, 'none'), env: ENV, log: rec.log });
    const s = await r.start();
    assert.equal(s.ok, true);
    assert.equal(s.output.trim(), 'args=a,b host=alice site=lab');
    assert.ok(rec.lines.includes(`info: Running ${path.join(dir, 'resource.d', 'svc')} a b start`));
    const st = await r.status();
    assert.deepEqual([st.ok, st.running], [true, false]);
    const stop = await r.stop();
    assert.deepEqual([stop.ok, stop.exitCode, stop.outputTail], [false, 1, 'cannot stop']);
    assert.ok(rec.lines.includes(`ERROR: Return code 1 from ${path.join(dir, 'resource.d', 'svc')}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('script resources: missing script, and a hung action killed at its timeout with its children', async () => {
  const dir = tempDir();
  try {
    const rec = recorder();
    const opts = { configDir: dir, initDir: path.join(dir, 'none'), env: ENV, log: rec.log, timeouts: { start: 300, stop: 300, status: 300 } };
    const missing = await new ScriptResource('nosuch', 'nosuch', [], opts).start();
    assert.deepEqual([missing.ok, missing.outcome], [false, 'not found']);
    assert.ok(rec.lines.includes('ERROR: Cannot locate resource script nosuch'));
    const pidFile = path.join(dir, 'child.pid');
    writeScript(dir, 'hang', `sleep 30 & echo $! > ${pidFile}; wait`);
    const hung = await new ScriptResource('hang', 'hang', [], opts).stop();
    assert.deepEqual([hung.ok, hung.timedOut], [false, true]);
    assert.match(hung.outcome, /SIGKILL after the 300 ms timeout/);
    const child = Number(fs.readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(child), 'the script\'s child was killed with its group');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('script resources: a start that leaves a daemon behind returns when the script exits', async () => {
  const dir = tempDir();
  try {
    const pidFile = path.join(dir, 'daemon.pid');
    writeScript(dir, 'forker', `sleep 30 & echo $! > ${pidFile}; echo started`);
    const r = await new ScriptResource('forker', 'forker', [], { configDir: dir, env: ENV, log: recorder().log, timeouts: { start: 5000, stop: 5000, status: 5000 } }).start();
    assert.equal(r.ok, true);
    assert.ok(r.durationMs < 4000, `returned after ${r.durationMs} ms`);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(pid, 0); // still running: a started service stays
    process.kill(pid, 'SIGKILL');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hbd check: resource arguments are checked with file:line, a misspelt built-in gets a hint', async () => {
  const haresources = 'node1 IPaddr::192.168.1.4/33\nnode2 IPAddr2::192.168.1.5/24/eth0\nnode1 IPaddr2::192.168.1.6/24/averyveryverylongname\nnode2 IPv6addr::2001:2::5/64/hbdnosuch0 systemd::nginx\n';
  await withConfigDir({ ...tutorialFiles(), haresources }, (dir) => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'bin', 'hbd'), 'check', '-c', dir, '--node', 'node1'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const file = path.join(dir, 'haresources');
    assert.match(r.stdout, new RegExp(`^${file}:1: error: resource \\[IPaddr::192\\.168\\.1\\.4/33\\]: invalid netmask \\[33\\]$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${file}:3: error: resource \\[IPaddr2::192\\.168\\.1\\.6/24/averyveryverylongname\\]: interface name \\[averyveryverylongname\\] is longer than 15 characters$`, 'm'));
    // Host problems are errors on this host, as `hbd start` refuses them (warnings with --other-host).
    assert.match(r.stdout, new RegExp(`^${file}:2: error: resource script IPAddr2 not found: .*\\n {4}hint: did you mean the built-in IPaddr2\\?`, 'm'));
    assert.match(r.stdout, new RegExp(`^${file}:4: error: resource \\[IPv6addr::2001:2::5/64/hbdnosuch0\\]: interface hbdnosuch0 does not exist on this host$`, 'm'));
    assert.doesNotMatch(r.stdout, /:4: (error|warning): resource script/, 'IPv6addr and systemd are built-ins');
  });
});

test('systemd::UNIT runs systemctl start/stop/is-active; status is the exit code of is-active', async () => {
  const dir = tempDir();
  try {
    const calls = path.join(dir, 'calls');
    const fake = path.join(dir, 'systemctl');
    fs.writeFileSync(fake, `#!/bin/sh\necho "$*" >> ${calls}\n[ "$2" = is-active ] && { [ -e ${dir}/active ] && { echo active; exit 0; }; echo inactive; exit 3; }\n[ "$2" = start ] && touch ${dir}/active\n[ "$2" = stop ] && rm -f ${dir}/active\nexit 0\n`, { mode: 0o755 });
    const r = new SystemdResource('systemd::nginx', 'nginx', { env: ENV, log: recorder().log, systemctl: fake });
    assert.equal((await r.status()).running, false);
    assert.equal((await r.start()).ok, true);
    assert.equal((await r.status()).running, true);
    assert.equal((await r.stop()).ok, true);
    assert.deepEqual(fs.readFileSync(calls, 'utf8').trim().split('\n'), ['--no-ask-password is-active -- nginx', '--no-ask-password start -- nginx', '--no-ask-password is-active -- nginx', '--no-ask-password stop -- nginx']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('children get only the environment they are given, stdin /dev/null and no other descriptor', async () => {
  process.env.HBD_TEST_LEAK = 'leaked';
  // A descriptor without close-on-exec, as a careless parent of hbd would pass one.
  const leak = spawnSync('/bin/bash', ['-c', 'exec 7>/dev/null; exec "$0" -e "$1"', process.execPath, `
    const { runCommand } = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'resources', 'exec.js'))});
    runCommand(['/bin/sh', '-c', 'ls /proc/$$/fd'], { timeoutMs: 5000 }).then((r) => process.stdout.write(r.stdout));`], { encoding: 'utf8', timeout: 10_000 });
  assert.deepEqual(leak.stdout.split('\n').filter(Boolean), ['0', '1', '2'], leak.stderr);
  try {
    const r = await runCommand(['/bin/sh', '-c', 'env; readlink /proc/$$/fd/0'], { timeoutMs: 5_000, env: { PATH: '/usr/bin:/bin', HA_x: '1' } });
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stdout, /HBD_TEST_LEAK/);
    assert.match(r.stdout, /^HA_x=1$/m);
    assert.match(r.stdout, /^\/dev\/null$/m);
  } finally {
    delete process.env.HBD_TEST_LEAK;
  }
});

test('the daemon\'s entry: group runners from the configuration, scripts with its environment', async () => {
  const dir = tempDir();
  try {
    const out = path.join(dir, 'out');
    writeScript(dir, 'svc', `[ "$1" = start ] && echo "$HA_CURHOST $HA_site" > ${out}; [ "$1" = status ] && [ -e ${out} ] && echo running; exit 0`);
    const { groups, diagnostics } = parseHaresources('alice 198.18.0.100 svc\nbob IPaddr2::198.18.0.101/24/eth0\n', 'haresources', ['alice', 'bob']);
    assert.deepEqual(diagnostics, []);
    const config = { configDir: dir, localNode: 'alice', logging: { logfile: null, debugfile: null, facility: null, debugLevel: 0, logBadPacket: false, syslogMsgFmt: true }, env: [{ name: 'site', value: 'lab' }], resources: groups } as unknown as ClusterConfig;
    const backend = new FakeBackend();
    const runners = createGroupRunners(config, registryOptions(config, { backend, log: recorder().log }));
    assert.deepEqual([...runners.keys()], ['198.18.0.100', 'IPaddr2::198.18.0.101/24/eth0']);
    const o = await runners.get('198.18.0.100')!.acquire();
    assert.deepEqual(o.started, ['198.18.0.100', 'svc']);
    assert.equal(fs.readFileSync(out, 'utf8').trim(), 'alice lab');
    assert.equal((await runners.get('198.18.0.100')!.status()).status, 'ALL');
    assert.equal((await runners.get('IPaddr2::198.18.0.101/24/eth0')!.status()).status, 'NONE');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
