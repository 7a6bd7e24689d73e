// The resource layer against a real kernel in the netns lab: the iproute2 backend and the
// built-in IPaddr/IPaddr2 (checked with `ip -o addr` in the node's namespace, ARP frames on the
// switch capture), Debian's own IPaddr/IPaddr2 agents for comparison, script groups with an LSB
// fixture, every failure path, and `hbd resource` run inside the namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { parseResourceText } from '../lib/config/haresources';
import { Iproute2Backend } from '../lib/resources/address-iproute2';
import { prefixedRunner } from '../lib/resources/exec';
import { GroupRunner } from '../lib/resources/group';
import type { ResourceLog } from '../lib/resources/log';
import { createResource, type RegistryOptions } from '../lib/resources/registry';
import type { IpResource } from '../lib/resources/ip-resource';
import { haEnvironment } from '../lib/resources/script';
import { labSkipReason } from './lab/env';
import { Lab, type LabNode } from './lab/lab';
import { ipIn, run, tool } from './lab/tools';

const skip = labSkipReason() ?? (process.env.CI === 'true' || fs.existsSync('/usr/bin/arping') ? false : 'arping is not installed (apt-get install iputils-arping)');
const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'resources');
const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');
const DEBIAN_AGENTS = '/etc/ha.d/resource.d';
// Under CI everything is installed (.ci/run): a missing piece must fail there, not skip.
const agentsSkip =
  process.env.CI !== 'true' && !(fs.existsSync(path.join(DEBIAN_AGENTS, 'IPaddr2')) && fs.existsSync('/usr/sbin/ifconfig'))
    ? "Debian's heartbeat agents or net-tools' ifconfig are not installed (apt-get install heartbeat net-tools)"
    : false;

interface Recorded {
  lines: string[];
  log: ResourceLog;
}

function recorder(): Recorded {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, log: { info: at('info'), warn: at('WARN'), error: at('ERROR'), crit: at('CRIT'), debug: () => undefined } };
}

/** `inet 198.18.0.100/24 brd 198.18.0.255 scope global secondary eth0:0` for ip, or null. */
async function addrLine(node: LabNode, ip: string): Promise<string | null> {
  const out = (await ipIn(node.ns, ['-o', 'addr', 'show'])).stdout;
  const line = out.split('\n').find((l) => l.includes(` ${ip}/`));
  if (!line) return null;
  return line.slice(line.indexOf(' inet') + 1).split('\\')[0].trim().replace(/\s+/g, ' ');
}

describe('resources in the netns lab', { skip }, () => {
  let lab: Lab;
  let n1: LabNode;
  let backend: Iproute2Backend;
  let configDir: string;
  let svcDir: string;
  let rec: Recorded;
  let opts: RegistryOptions;

  before(async () => {
    lab = await Lab.create({ nodes: 2 });
    n1 = lab.node(1);
    backend = new Iproute2Backend({ runner: prefixedRunner([tool('ip'), 'netns', 'exec', n1.ns]) });
    configDir = n1.dirs.config;
    svcDir = path.join(n1.dirs.state, 'svc');
    fs.mkdirSync(svcDir, { recursive: true });
    fs.mkdirSync(path.join(configDir, 'resource.d'), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'lsb-svc'), path.join(configDir, 'resource.d', 'lsb-svc'));
    fs.chmodSync(path.join(configDir, 'resource.d', 'lsb-svc'), 0o755);
    rec = recorder();
    const env = haEnvironment({ configDir, localNode: 'n1', logging: { logfile: null, debugfile: null, facility: null, debugLevel: 0, logBadPacket: false, syslogMsgFmt: true }, env: [{ name: 'svcdir', value: svcDir }] });
    opts = { configDir, env, backend, log: rec.log, runner: prefixedRunner([tool('ip'), 'netns', 'exec', n1.ns]), timeouts: { start: 5_000, stop: 1_000, status: 5_000 }, announce: { count: 2, intervalMs: 100 } };
  });

  after(async () => {
    await lab?.teardown();
  });

  function resource(token: string) {
    const r = parseResourceText(token, 1);
    assert.ok(r.ok, token);
    return createResource(r.value, opts);
  }

  test('IPaddr: the address with an alias label, announced in both ARP forms, a second add changes nothing, stop removes it', async () => {
    const cap = await lab.startCapture(0, { filter: 'arp', name: 'ipaddr-arp' });
    const r = resource('IPaddr::198.18.0.100/24/eth0') as IpResource;
    const s = await r.start();
    assert.equal(s.ok, true, s.outputTail);
    assert.equal(await addrLine(n1, '198.18.0.100'), 'inet 198.18.0.100/24 brd 198.18.0.255 scope global secondary eth0:0');
    await r.lastAnnounce;
    assert.deepEqual(rec.lines.filter((l) => l.includes('could not announce')), []);
    const pcap = await cap.stop();
    const frames = (await run([tool('tcpdump'), '-r', pcap, '-n', '-e'])).stdout;
    const mac = (await ipIn(n1.ns, ['-j', 'link', 'show', 'eth0'])).stdout.match(/"address":"([0-9a-f:]+)"/)![1];
    const requests = frames.split('\n').filter((l) => l.includes(`${mac} > ff:ff:ff:ff:ff:ff`) && /Request who-has 198\.18\.0\.100 (\(ff:ff:ff:ff:ff:ff\) )?tell 198\.18\.0\.100,/.test(l));
    const replies = frames.split('\n').filter((l) => l.includes(mac) && l.includes('Reply 198.18.0.100 is-at'));
    assert.equal(requests.length, 2, frames);
    assert.equal(replies.length, 2, frames);

    const again = await backend.add({ family: 4, iface: 'eth0', address: '198.18.0.100', prefix: 24, broadcast: '198.18.0.255', label: null });
    assert.deepEqual([again.changed, again.label], [false, 'eth0:0']);
    assert.equal((await r.start()).ok, true);
    assert.equal((await ipIn(n1.ns, ['-o', 'addr', 'show'])).stdout.split('198.18.0.100/').length, 2, 'still one address');
    assert.equal((await r.status()).running, true);

    assert.equal((await r.stop()).ok, true);
    assert.equal(await addrLine(n1, '198.18.0.100'), null);
    assert.equal((await r.status()).running, false);
    assert.equal((await r.stop()).ok, true, 'stopping again succeeds');
  });

  test('two VIPs on one interface get distinct labels; IPaddr2 labels only when asked', async () => {
    const a = resource('198.18.0.101');
    const b = resource('IPaddr::198.18.0.102');
    const c = resource('IPaddr2::198.18.0.103/24/eth0:web');
    const d = resource('IPaddr2::198.18.0.104');
    for (const r of [a, b, c, d]) assert.equal((await r.start()).ok, true);
    assert.equal(await addrLine(n1, '198.18.0.101'), 'inet 198.18.0.101/24 brd 198.18.0.255 scope global secondary eth0:0');
    assert.equal(await addrLine(n1, '198.18.0.102'), 'inet 198.18.0.102/24 brd 198.18.0.255 scope global secondary eth0:1');
    assert.equal(await addrLine(n1, '198.18.0.103'), 'inet 198.18.0.103/24 brd 198.18.0.255 scope global secondary eth0:web');
    assert.equal(await addrLine(n1, '198.18.0.104'), 'inet 198.18.0.104/24 brd 198.18.0.255 scope global secondary eth0');
    for (const r of [d, c, b, a]) assert.equal((await r.stop()).ok, true);
    for (const ip of ['198.18.0.101', '198.18.0.102', '198.18.0.103', '198.18.0.104']) assert.equal(await addrLine(n1, ip), null);
  });

  test("Debian's IPaddr and IPaddr2 agents leave the same address state as the built-ins", { skip: agentsSkip }, async () => {
    const rsctmp = path.join(n1.dirs.state, 'rsctmp');
    fs.mkdirSync(rsctmp, { recursive: true });
    const cases = ['IPaddr::198.18.0.110', 'IPaddr::198.18.0.111/24/eth0', 'IPaddr::198.18.0.112/25/198.18.0.127', 'IPaddr2::198.18.0.113', 'IPaddr2::198.18.0.114/24/eth0', 'IPaddr2::198.18.0.115/26/eth0:vip/198.18.0.127', 'IPaddr2::198.18.0.116/16/eth0'];
    for (const token of cases) {
      const [agent, arg] = token.split('::');
      const ip = arg.split('/')[0];
      const debian = async (action: string, expectedCode = 0): Promise<string> => {
        // Output to a file: the agents leave send_arp running in the background on their stdout.
        const log = path.join(n1.dirs.logs, `agent-${ip}-${action}.log`);
        const r = await n1.exec(['/usr/bin/env', `HA_RSCTMP=${rsctmp}`, 'sh', '-c', `${DEBIAN_AGENTS}/${agent} ${arg} ${action} </dev/null >${log} 2>&1`], { allowFailure: true, timeoutMs: 20_000 });
        const said = fs.readFileSync(log, 'utf8');
        assert.equal(r.code, expectedCode, `${agent} ${arg} ${action}: ${said}`);
        return said;
      };
      await debian('start');
      const theirs = await addrLine(n1, ip);
      await debian('stop');
      assert.equal(await addrLine(n1, ip), null, `${token}: Debian's agent removed it`);
      const r = resource(token);
      assert.equal((await r.start()).ok, true, token);
      const ours = await addrLine(n1, ip);
      // heartbeat's own status check agrees with what the built-in did, both ways.
      assert.match(await debian('status'), /Running OK/, `${token}: Debian's status after our start`);
      assert.equal((await r.stop()).ok, true, token);
      assert.match(await debian('status', 7), /Resource is stopped/, `${token}: Debian's status after our stop`);
      assert.notEqual(theirs, null, `${token}: Debian's agent added it`);
      assert.equal(ours, theirs, token);
    }
  });

  test('IPv6addr: the address on the interface, unsolicited neighbour advertisements on the switch, stop removes it', async () => {
    await n1.exec([tool('sysctl'), '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0', 'net.ipv6.conf.eth0.disable_ipv6=0']);
    await ipIn(n1.ns, ['-6', 'addr', 'add', '2001:2::1/64', 'dev', 'eth0', 'nodad']);
    const cap = await lab.startCapture(0, { filter: 'icmp6', name: 'ipv6-na' });
    const r = resource('IPv6addr::2001:2:0::10') as IpResource;
    const s = await r.start();
    assert.equal(s.ok, true, s.outputTail);
    await r.lastAnnounce;
    assert.deepEqual(rec.lines.filter((l) => l.includes('could not announce')), []);
    const line = (await ipIn(n1.ns, ['-6', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.split('\n').find((l) => l.includes(' 2001:2::10/'));
    assert.match(line ?? '', /inet6 2001:2::10\/64 scope global/);
    const frames = (await run([tool('tcpdump'), '-r', await cap.stop(), '-n', '-e'])).stdout;
    assert.ok(frames.split('\n').filter((l) => /neighbor advertisement, tgt is 2001:2::10/.test(l)).length >= 2, frames);
    assert.equal((await r.status()).running, true);
    assert.equal((await r.stop()).ok, true);
    assert.doesNotMatch((await ipIn(n1.ns, ['-6', '-o', 'addr', 'show'])).stdout, /2001:2::10\//);
  });

  test('address failures: interface missing, interface down, address already on another interface', async () => {
    const missing = await resource('IPaddr::198.18.0.120/24/eth9').start();
    assert.deepEqual([missing.ok, missing.outcome], [false, 'ENODEV'], missing.outputTail);
    await ipIn(n1.ns, ['link', 'add', 'vx0', 'type', 'veth', 'peer', 'name', 'vx1']);
    await ipIn(n1.ns, ['addr', 'add', '198.18.50.1/24', 'dev', 'vx0']);
    const down = await resource('IPaddr2::198.18.50.5/24/vx0').start();
    assert.deepEqual([down.ok, down.outcome], [false, 'ENETDOWN'], down.outputTail);
    assert.equal(await addrLine(n1, '198.18.50.5'), null);
    await ipIn(n1.ns, ['addr', 'add', '198.18.0.130/32', 'dev', 'lo']);
    const taken = await resource('IPaddr::198.18.0.130/24/eth0').start();
    assert.deepEqual([taken.ok, taken.outcome], [false, 'EADDRINUSE'], taken.outputTail);
    assert.match(taken.outputTail, /already on lo/);
    await ipIn(n1.ns, ['addr', 'del', '198.18.0.130/32', 'dev', 'lo']);
  });

  test('a group with the LSB script: started left to right with heartbeat\'s environment, stopped right to left', async () => {
    rec.lines.length = 0;
    const g = new GroupRunner({ key: 'IPaddr2::198.18.0.140/24/eth0', node: 'n1', resources: ['IPaddr2::198.18.0.140/24/eth0', 'lsb-svc'].map(resource) }, { log: rec.log });
    const o = await g.acquire();
    assert.equal(o.ok, true, rec.lines.join('\n'));
    assert.equal(fs.readFileSync(path.join(svcDir, 'started-on'), 'utf8').trim(), 'n1');
    assert.deepEqual(await g.status(), { status: 'ALL', running: ['IPaddr2::198.18.0.140/24/eth0', 'lsb-svc'] });
    const pid = Number(fs.readFileSync(path.join(svcDir, 'lsb-svc.pid'), 'utf8'));
    const again = await g.acquire();
    assert.deepEqual(again.alreadyRunning, ['IPaddr2::198.18.0.140/24/eth0', 'lsb-svc']);
    const r = await g.release();
    assert.deepEqual([r.ok, r.stopped], [true, ['lsb-svc', 'IPaddr2::198.18.0.140/24/eth0']]);
    assert.equal(await addrLine(n1, '198.18.0.140'), null);
    assert.equal(fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), false, 'the daemon was stopped');
    assert.ok(rec.lines.some((l) => l.startsWith(`info: Running ${path.join(configDir, 'resource.d', 'lsb-svc')} start`)));
  });

  test('a failed start gives up the group; a script that is missing fails the start too', async () => {
    fs.writeFileSync(path.join(svcDir, 'fail-start'), '');
    try {
      rec.lines.length = 0;
      const g = new GroupRunner({ key: 'IPaddr::198.18.0.141/24/eth0', node: 'n1', resources: ['IPaddr::198.18.0.141/24/eth0', 'lsb-svc'].map(resource) }, { log: rec.log, stopRetryDelayMs: 10 });
      const o = await g.acquire();
      assert.deepEqual([o.ok, o.failed, o.release?.stopped], [false, 'lsb-svc', ['lsb-svc', 'IPaddr::198.18.0.141/24/eth0']]);
      assert.ok(rec.lines.includes('CRIT: Giving up resources due to failure of lsb-svc'));
      assert.ok(rec.lines.some((l) => l.includes('lsb-svc start failed') && l.includes('exit 1') && l.includes('lsb-svc: configuration error')), rec.lines.join('\n'));
      assert.equal(await addrLine(n1, '198.18.0.141'), null, 'the address was given up');
    } finally {
      fs.rmSync(path.join(svcDir, 'fail-start'));
    }
    const g2 = new GroupRunner({ key: 'no-such-script', node: 'n1', resources: [resource('no-such-script')] }, { log: rec.log, stopRetryDelayMs: 10 });
    const o2 = await g2.acquire();
    assert.equal(o2.failed, 'no-such-script');
    assert.ok(rec.lines.includes('ERROR: Cannot locate resource script no-such-script'));
  });

  test('a stop that hangs past its timeout is retried, then CRIT: Resource STOP failure', async () => {
    rec.lines.length = 0;
    const g = new GroupRunner({ key: 'lsb-svc', node: 'n1', resources: [resource('lsb-svc')] }, { log: rec.log, stopRetryMax: 2, stopRetryDelayMs: 10 });
    assert.equal((await g.acquire()).ok, true);
    fs.writeFileSync(path.join(svcDir, 'hang-stop'), '');
    try {
      const r = await g.release();
      assert.deepEqual([r.ok, r.stopFailures], [false, ['lsb-svc']]);
      assert.equal(rec.lines.filter((l) => l === 'info: Retrying failed stop operation [lsb-svc]').length, 2);
      assert.ok(rec.lines.some((l) => /lsb-svc stop failed after \d+ ms: .*killed by SIGKILL after the 1000 ms timeout/.test(l)), rec.lines.join('\n'));
      assert.ok(rec.lines.includes('CRIT: Resource STOP failure. Reboot required!'));
    } finally {
      fs.rmSync(path.join(svcDir, 'hang-stop'));
    }
    assert.equal((await g.release()).ok, true);
  });

  test('hbd resource start|status|stop inside the namespace, with its exit codes', () => {
    const hbd = (...args: string[]) => {
      const r = spawnSync(tool('ip'), ['netns', 'exec', n1.ns, process.execPath, HBD, 'resource', ...args, '-c', configDir, '--node', 'n1'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HBD_TRANSPORT: 'ts' } });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const haLog = path.join(n1.dirs.logs, 'ha-log');
    n1.writeConfig({ haCf: `logfile ${haLog}\nnode n1\nnode n2\nbcast eth0\nenv svcdir=${svcDir}\n`, authkeys: 'auth 1\n1 sha1 secret\n' });
    const vip = 'IPaddr::198.18.0.150/24/eth0';
    let r = hbd('start', vip);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^IPaddr::198\.18\.0\.150\/24\/eth0: started$/m);
    assert.match(fs.readFileSync(haLog, 'utf8'), /info: Acquiring resource group: n1 IPaddr::198\.18\.0\.150\/24\/eth0$/m, 'by-hand actions go to ha-log');
    r = hbd('status', vip);
    assert.deepEqual([r.code, r.out], [0, `${vip}: running\n`]);
    r = hbd('stop', vip);
    assert.deepEqual([r.code, r.out], [0, `${vip}: stopped\n`]);
    r = hbd('status', vip, 'lsb-svc');
    assert.equal(r.code, 3, r.out + r.err);
    r = hbd('start', 'IPaddr::198.18.0.150/33');
    assert.equal(r.code, 2);
    assert.match(r.err, /invalid netmask \[33\]/);
    r = hbd('start', 'IPaddr::198.18.0.151/24/eth9');
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /start FAILED/);
  });
});
