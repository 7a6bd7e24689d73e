// `hbd export pacemaker` for the README tutorial and three more haresources shapes: the CIB passes
// crm_verify, the crm script applied by crmsh to an empty CIB gives the same configuration (and
// passes crm_verify), corosync.conf passes `corosync -t`; a line Pacemaker cannot take is a
// comment and exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { THREE_NODES, TUTORIAL, TWO_GROUPS, UNEXPORTABLE, writeConfigDir, type ClusterFiles } from './support/cluster-files';

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');

function which(tool: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (fs.existsSync(path.join(dir, tool))) return path.join(dir, tool);
  return null;
}

/** Skip where the Pacemaker tools are missing, except in CI (.ci/run installs them). */
function skipWithout(...tools: string[]): string | false {
  const missing = tools.filter((t) => which(t) === null);
  if (missing.length === 0 || process.env.CI === 'true') return false;
  return `${missing.join(', ')} not installed (apt-get install pacemaker-cli-utils crmsh corosync)`;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function hbdExport(files: ClusterFiles, extra: string[] = []): { dir: string; out: string; code: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-export-'));
  writeConfigDir(path.join(dir, 'ha.d'), files);
  const out = path.join(dir, 'out');
  const r = run(process.execPath, [HBD, 'export', 'pacemaker', '-c', path.join(dir, 'ha.d'), '-o', out, ...extra]);
  return { dir, out, ...r };
}

/** The configuration part of a CIB, as comparable facts (element, id, the attributes that matter). */
function facts(cib: string): string[] {
  const conf = cib.slice(cib.indexOf('<configuration>'), cib.indexOf('</configuration>'));
  const out: string[] = [];
  for (const m of conf.matchAll(/<(primitive|group|rsc_location|nvpair|op|node)\s([^>]*?)\/?>/g)) {
    const a = Object.fromEntries([...m[2].matchAll(/([\w-]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const keep = ['id', 'class', 'provider', 'type', 'name', 'value', 'rsc', 'node', 'score', 'interval', 'timeout', 'uname', 'description'].filter((k) => k in a);
    // crmsh names nvpairs and ops its own way: compare them by content.
    if (m[1] === 'nvpair' || m[1] === 'op') keep.splice(keep.indexOf('id'), 1);
    out.push(`${m[1]} ${keep.map((k) => `${k}=${a[k]}`).join(' ')}`);
  }
  return out.sort();
}

const SHAPES: Array<[string, ClusterFiles, number]> = [
  ['the README tutorial', TUTORIAL, 0],
  ['two groups, systemd units, Filesystem, two links, failback off', TWO_GROUPS, 0],
  ['three nodes, multicast, ping node, MailTo, IPv6addr, legacy failback', THREE_NODES, 0],
  ['lines Pacemaker cannot take next to a good one', UNEXPORTABLE, 1],
];

for (const [name, files, code] of SHAPES) {
  test(`export ${name}: CIB and crm script pass crm_verify and agree; corosync.conf passes corosync -t`, { skip: skipWithout('crm_verify', 'crm', 'cibadmin', 'corosync') }, () => {
    const cib = hbdExport(files, ['--cib']);
    const crm = hbdExport(files);
    try {
      assert.equal(cib.code, code, cib.stderr);
      assert.equal(crm.code, code, crm.stderr);
      const cibFile = path.join(cib.out, 'cib.xml');
      const v = run('crm_verify', ['--xml-file', cibFile]);
      assert.equal(v.code, 0, `crm_verify: ${v.stderr}${v.stdout}`);

      // crmsh applies the script to an empty CIB file (no cluster needed); -F: the agents need not exist here.
      const shadow = path.join(crm.dir, 'shadow.xml');
      fs.writeFileSync(shadow, execFileSync('cibadmin', ['--empty'], { encoding: 'utf8' }));
      const load = run('crm', ['-F', 'configure', 'load', 'update', path.join(crm.out, 'pacemaker.crm')], { CIB_file: shadow });
      assert.equal(load.code, 0, `crm configure load: ${load.stderr}`);
      const v2 = run('crm_verify', ['--xml-file', shadow]);
      assert.equal(v2.code, 0, `crm_verify of crmsh's CIB: ${v2.stderr}${v2.stdout}`);
      const ours = facts(fs.readFileSync(cibFile, 'utf8'));
      assert.ok(ours.filter((f) => f.startsWith('primitive ')).length >= 2, ours.join('\n'));
      assert.deepEqual(facts(fs.readFileSync(shadow, 'utf8')), ours);

      // corosync -t resolves ring0_addr and looks for the local node: give the nodes loopback addresses.
      const key = path.join(crm.dir, 'authkey');
      fs.writeFileSync(key, Buffer.alloc(256, 7), { mode: 0o400 });
      let n = 0;
      const conf = fs
        .readFileSync(path.join(crm.out, 'corosync.conf'), 'utf8')
        .replace(/^\tcrypto_hash: sha256$/m, `$&\n\tkeyfile: ${key}`)
        .replace(/ring0_addr: \S+/g, () => `ring0_addr: 127.0.0.${++n}`);
      fs.writeFileSync(path.join(crm.dir, 'corosync.conf'), conf);
      const t = run('corosync', ['-t', '-c', path.join(crm.dir, 'corosync.conf')]);
      assert.equal(t.code, 0, `corosync -t: ${t.stderr}${t.stdout}`);
    } finally {
      fs.rmSync(cib.dir, { recursive: true, force: true });
      fs.rmSync(crm.dir, { recursive: true, force: true });
    }
  });
}

function exported(files: ClusterFiles, cib = false): { stdout: string; stderr: string; code: number | null } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-export-'));
  try {
    writeConfigDir(dir, files);
    return run(process.execPath, [HBD, 'export', 'pacemaker', '-c', dir, ...(cib ? ['--cib'] : [])]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('tutorial: the VIP and init scripts in one group preferring node1, failback as stickiness 0, token from deadtime', () => {
  const r = exported(TUTORIAL);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# ==> corosync\.conf <==\n/);
  assert.match(r.stdout, /\n# ==> pacemaker\.crm <==\n/);
  assert.match(r.stdout, /\ttoken: 10000\n/);
  assert.match(r.stdout, /\t\tknet_ping_interval: 2000\n\t\tknet_ping_timeout: 5000\n/);
  assert.match(r.stdout, /\ttwo_node: 1\n/);
  assert.match(r.stdout, /\t\tname: node2\n\t\tnodeid: 2\n\t\tring0_addr: node2\n/);
  assert.match(r.stdout, /^primitive ip_192\.168\.1\.4 ocf:heartbeat:IPaddr2 \\\n\tdescription="haresources:1: IPaddr::192\.168\.1\.4" \\\n\tparams ip=192\.168\.1\.4 \\\n/m);
  assert.match(r.stdout, /^primitive httpd lsb:httpd \\$/m);
  assert.match(r.stdout, /^group grp_ip_192\.168\.1\.4 ip_192\.168\.1\.4 httpd smb \\$/m);
  assert.match(r.stdout, /^location loc_grp_ip_192\.168\.1\.4 grp_ip_192\.168\.1\.4 100: node1$/m);
  assert.match(r.stdout, /^rsc_defaults rsc-options: resource-stickiness=0$/m);
  assert.match(r.stdout, /^property cib-bootstrap-options: stonith-enabled=false dc-deadtime=20s$/m);
});

test('failback off beats the location preference; IPaddr2 parts, Filesystem and systemd map to their agents; a second link is left to complete', () => {
  const r = exported(TWO_GROUPS, true);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /name="resource-stickiness" value="200"/);
  for (const [n, v] of [['ip', '198.18.0.10'], ['cidr_netmask', '24'], ['nic', 'eth0'], ['iflabel', 'web'], ['broadcast', '198.18.0.255'], ['device', '/dev/sdb1'], ['directory', '/srv/www'], ['fstype', 'ext4']]) {
    assert.match(r.stdout, new RegExp(`name="${n}" value="${v.replace(/\./g, '\\.')}"`), n);
  }
  assert.match(r.stdout, /<primitive id="nginx" class="systemd" type="nginx\.service"/);
  assert.match(r.stdout, /<primitive id="postgresql" class="systemd" type="postgresql"/);
  assert.match(r.stdout, /<rsc_location id="loc_grp_ip_198\.18\.0\.11" rsc="grp_ip_198\.18\.0\.11" node="beta" score="100"\/>/);
  assert.match(r.stdout, /\ttoken: 3000\n/);
  assert.match(r.stdout, /# To use eth1 as knet link 1: uncomment this and set ring1_addr for every node below\.\n\t# interface \{\n/);
  assert.match(r.stdout, /\t\t# ring1_addr: alpha's address on eth1\n/);
});

test('three nodes: no two_node; IPv6addr rejoined; ping node and legacy failback explained', () => {
  const r = exported(THREE_NODES);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /two_node/);
  assert.match(r.stdout, /params ipv6addr=2001:2::10 cidr_netmask=64 nic=eth0/);
  assert.match(r.stdout, /params email=ops@example\.com subject=failover/);
  assert.match(r.stdout, /params ip=198\.18\.0\.21 cidr_netmask=24/);
  assert.match(r.stdout, /^# ping 198\.18\.0\.1 \(ha\.cf:5\): .*ocf:pacemaker:ping/m);
  assert.match(r.stdout, /^# auto_failback legacy: exported as on/m);
  assert.match(r.stdout, /group grp_ip6_2001_2_10 ip6_2001_2_10 apache2/);
});

test('a line Pacemaker cannot take is a comment naming the line, the reason and what to do; exit 1; the rest is exported', () => {
  for (const cib of [false, true]) {
    const r = exported(UNEXPORTABLE, cib);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /NOT EXPORTED haresources:1: node1 drbddisk::r0 Filesystem::\/dev\/drbd0::\/data::ext4 198\.18\.0\.30/);
    assert.match(r.stdout, /resource \[drbddisk::r0\]: drbddisk \(DRBD primary\/secondary\) is a promotable clone/);
    assert.match(r.stdout, /NOT EXPORTED haresources:2: node2 198\.18\.0\.31 myscript::arg/);
    assert.match(r.stdout, /instead: give the service an init script or systemd unit without arguments/);
    assert.match(r.stdout, cib ? /<group id="grp_ip_198\.18\.0\.32"/ : /^group grp_ip_198\.18\.0\.32 ip_198\.18\.0\.32 httpd/m);
    assert.doesNotMatch(r.stdout, cib ? /<primitive id="ip_198\.18\.0\.31"/ : /^primitive ip_198\.18\.0\.31/m);
    assert.match(r.stderr, /haresources:1: error: resource \[drbddisk::r0\] not exported: .*\n  hint: configure ocf:linbit:drbd/);
    assert.match(r.stderr, /haresources:2: error: resource \[myscript::arg\] not exported/);
  }
});

test('an invalid configuration exports nothing; files that exist are kept without --force', () => {
  const bad = exported({ ...TUTORIAL, haresources: 'node3 httpd\n' });
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /Bad nodename \[node3\]/);
  assert.match(bad.stderr, /hbd export: nothing exported: .* has errors/);

  const first = hbdExport(TUTORIAL);
  try {
    assert.equal(first.code, 0, first.stderr);
    const again = run(process.execPath, [HBD, 'export', 'pacemaker', '-c', path.join(first.dir, 'ha.d'), '-o', first.out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /EEXIST \(give --force to replace it\)/);
    assert.equal(run(process.execPath, [HBD, 'export', 'pacemaker', '-c', path.join(first.dir, 'ha.d'), '-o', first.out, '--force']).code, 0);
  } finally {
    fs.rmSync(first.dir, { recursive: true, force: true });
  }
});
