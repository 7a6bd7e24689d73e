// haresources structure: logical lines, canonical resources, IPaddr arguments (spec §8.1, §10.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseHaresources, parseIpAddrArg } from '../lib/config/haresources';

test('continued lines form one group; every resource keeps the physical line it starts on', () => {
  const text = '# groups\nAlice 10.0.0.5 \\\n   httpd # web server\nbob Filesystem::/dev/sdb1::/data::ext4 \\\n\tsmb\n';
  const { groups, diagnostics } = parseHaresources(text, 'haresources', ['alice', 'bob']);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    groups.map((g) => [g.node, g.key, g.line, g.resources.map((r) => [r.script, r.args, r.text, r.line])]),
    [
      ['alice', '10.0.0.5', 2, [['IPaddr', ['10.0.0.5'], '10.0.0.5', 2], ['httpd', [], 'httpd', 3]]],
      ['bob', 'Filesystem::/dev/sdb1::/data::ext4', 4, [['Filesystem', ['/dev/sdb1', '/data', 'ext4'], 'Filesystem::/dev/sdb1::/data::ext4', 4], ['smb', [], 'smb', 5]]],
    ],
  );
});

test('a backslash joins without a blank, as ResourceManager does', () => {
  const { groups } = parseHaresources('alice http\\\nd\n', 'haresources', ['alice']);
  assert.deepEqual(groups[0].resources.map((r) => [r.text, r.line]), [['httpd', 1]]);
});

test('IPaddr arguments: IP[/NETMASK[/NIC[/BROADCAST]]], a third part with a digit is the broadcast', () => {
  const cases: Array<[string, unknown]> = [
    ['10.0.0.5', { ip: '10.0.0.5', cidrNetmask: null, nic: null, broadcast: null }],
    ['10.0.0.5/24', { ip: '10.0.0.5', cidrNetmask: 24, nic: null, broadcast: null }],
    ['10.0.0.5/255.255.254.0/eth1', { ip: '10.0.0.5', cidrNetmask: 23, nic: 'eth1', broadcast: null }],
    ['10.0.0.5/24/10.0.0.255', { ip: '10.0.0.5', cidrNetmask: 24, nic: null, broadcast: '10.0.0.255' }],
    ['10.0.0.5/24/eth0:1/10.0.0.255', { ip: '10.0.0.5', cidrNetmask: 24, nic: 'eth0:1', broadcast: '10.0.0.255' }],
  ];
  for (const [arg, spec] of cases) assert.deepEqual(parseIpAddrArg(arg), { ok: true, value: spec }, arg);
  for (const bad of ['10.0.0', '10.0.0.5/255.0.255.0', '10.0.0.5/24/eth0/10.0.0', '1/2/3/4/5', '10.0.0.5/24/eth0 x']) {
    assert.equal(parseIpAddrArg(bad).ok, false, bad);
  }
});

test('IPaddr resources carry their parsed argument; bare IP-looking text means IPaddr::text', () => {
  const { groups, diagnostics } = parseHaresources('alice 192.168.1.4/24/eth1 IPaddr2::10.0.0.9/16 httpd\n', 'haresources', ['alice']);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    groups[0].resources.map((r) => [r.script, r.ipaddr?.ip ?? null, r.ipaddr?.nic ?? null]),
    [['IPaddr', '192.168.1.4', 'eth1'], ['IPaddr2', '10.0.0.9', null], ['httpd', null, null]],
  );
});

test('without ha.cf nodes the preferred node is not checked', () => {
  assert.deepEqual(parseHaresources('zed httpd\n', 'haresources', null).diagnostics, []);
});
