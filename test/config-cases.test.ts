// Table-driven: each variant of ha.cf / authkeys / haresources and exactly the diagnostics it
// must produce (severity, line, message; the hint where it is part of the rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseAuthkeys } from '../lib/config/authkeys';
import type { Diagnostic, Severity } from '../lib/config/diagnostics';
import { DIRECTIVES, directive } from '../lib/config/directives';
import { parseHaCf } from '../lib/config/hacf';
import { parseHaresources } from '../lib/config/haresources';

type Expect = [Severity, number | null, string, string?];

interface Case {
  readonly name: string;
  readonly file: 'ha.cf' | 'authkeys' | 'haresources';
  readonly text: string;
  readonly expect: readonly Expect[];
}

/** Appended to ha.cf cases (after their lines, so their line numbers start at 1). */
const BASE = 'node alice bob\nbcast eth0\nlogfacility daemon\nauto_failback on\n';
const hacf = (name: string, lines: string, expect: Expect[]): Case => ({ name, file: 'ha.cf', text: `${lines}\n${BASE}`, expect });
const rawHacf = (name: string, text: string, expect: Expect[]): Case => ({ name, file: 'ha.cf', text, expect });
const keys = (name: string, text: string, expect: Expect[]): Case => ({ name, file: 'authkeys', text, expect });
const res = (name: string, text: string, expect: Expect[]): Case => ({ name, file: 'haresources', text, expect });

const CASES: readonly Case[] = [
  // --- hbd_metrics (hbd extension)
  hacf('hbd_metrics with a port only', 'hbd_metrics 9694', [['note', 1, 'hbd_metrics is an hbd extension; heartbeat refuses this directive', 'keep it out of ha.cf files shared with heartbeat nodes']]),
  hacf('hbd_metrics with a host name', 'hbd_metrics localhost:9694', [
    ['note', 1, 'hbd_metrics is an hbd extension; heartbeat refuses this directive'],
    ['error', 1, 'hbd_metrics: invalid metrics listen address [localhost] in [localhost:9694]: an IP address is needed, not a host name', 'write PORT (listens on 127.0.0.1) or ADDR:PORT with an IPv4 address, e.g. 127.0.0.1:9694 or 0.0.0.0:9694'],
  ]),
  hacf('hbd_metrics with a bad port', 'hbd_metrics 127.0.0.1:70000', [
    ['note', 1, 'hbd_metrics is an hbd extension; heartbeat refuses this directive'],
    ['error', 1, 'hbd_metrics: invalid metrics port [70000] in [127.0.0.1:70000]'],
  ]),
  // --- time syntax and timing constraints (spec §7.1)
  hacf('keepalive with an s suffix', 'keepalive 2s', [['error', 1, 'keepalive: invalid time [2s]: heartbeat does not accept the unit "s"', 'write 2 (a plain number is seconds) or 2000ms']]),
  hacf('deadtime with sec', 'deadtime 10sec', [['error', 1, 'deadtime: invalid time [10sec]: heartbeat does not accept the unit "sec"', 'write 10 (a plain number is seconds) or 10000ms']]),
  hacf('a time that is no number', 'warntime soon', [['error', 1, 'warntime: invalid time [soon]']]),
  hacf('keepalive 0', 'keepalive 0', [['error', 1, 'keepalive: value [0] must be more than 0']]),
  hacf('deadtime not above 2×keepalive', 'keepalive 500ms\ndeadtime 1', [['error', 2, 'Dead time [1000] is too small compared to keeplive [500]', 'deadtime must be more than 2 × keepalive (1000ms): raise deadtime or lower keepalive']]),
  hacf('warntime at or above deadtime', 'warntime 40', [['warning', 1, 'warntime [40000] is not below deadtime [30000]: late heartbeats are never reported before the node is declared dead']]),
  hacf('initdead below deadtime', 'deadtime 10\ninitdead 5', [['error', 2, 'Initial dead time [5000] is smaller than deadtime [10000]']]),
  hacf('initdead under 10 s', 'deadtime 3\ninitdead 8', [['warning', 2, 'Initial dead time [8000 ms] may be too small!']]),
  hacf('deadping not above 2×keepalive', 'deadping 2', [['error', 1, 'Ping dead time [2000] is too small compared to keeplive [1000]']]),
  hacf('a unit split from its number', 'deadtime 10 ms', [['error', 1, 'deadtime takes one value, got 2 [10 ms]']]),
  hacf('hbd_stall_limit below deadtime', 'hbd_stall_limit 5', [
    ['note', 1, 'hbd_stall_limit is an hbd extension; heartbeat refuses this directive'],
    ['warning', 1, "hbd_stall_limit [5000] is not above deadtime [30000]: a short pause of hbd's JavaScript side would stop the heartbeats and cause a failover"],
  ]),
  hacf('max_rexmit_delay with a unit', 'max_rexmit_delay 250ms', [['error', 1, 'max_rexmit_delay: invalid value [250ms]: this directive takes plain milliseconds', 'write 250']]),
  // --- directive names
  hacf('a directive in the wrong case', 'Keepalive 2', [['error', 1, 'unknown directive [Keepalive]', 'directive names are case-sensitive: write keepalive']]),
  hacf('a misspelled directive', 'genmethod file', [['error', 1, 'unknown directive [genmethod]', 'did you mean hbgenmethod?']]),
  hacf('an unknown directive', 'frobnicate 1', [['error', 1, 'unknown directive [frobnicate]', 'see the directive list in ha.cf(5); heartbeat refuses to start on an unknown directive']]),
  hacf('udp is bcast', 'udp eth1', [['warning', 1, "directive 'udp' replaced by 'bcast'", 'write bcast']]),
  hacf('a directive without its value', 'hopfudge', [['error', 1, 'hopfudge needs a value']]),
  hacf('a duplicate single-valued directive', 'keepalive 1\nkeepalive 2', [['error', 2, 'duplicate keepalive: already set on line 1', 'keep one keepalive line']]),
  hacf('comments start anywhere', 'keepalive 1 # every second\n   # indented comment', []),
  // --- order
  rawHacf('udpport after bcast', 'bcast eth0\nudpport 700\nnode alice bob\nlogfacility daemon\nauto_failback on\n', [
    ['error', 2, 'udpport must come before the media that use it: line 1 (bcast eth0) was read first and uses the default port', 'move udpport 700 above line 1'],
  ]),
  hacf('udpport before the media', 'udpport 700', []),
  // --- media
  hacf('mcast with 4 arguments', 'mcast eth1 239.0.0.1 694 1', [['error', 1, 'mcast needs 5 arguments IF GROUP PORT TTL LOOP, got 4', 'write mcast IF GROUP PORT TTL LOOP, e.g. mcast eth0 239.0.0.43 694 1 0']]),
  hacf('mcast TTL above 4', 'mcast eth1 239.0.0.1 694 5 0', [['error', 1, 'mcast: TTL [5] is out of range', "heartbeat's mcast plugin accepts TTL 0-4 only (the ha.cf man page's 0-255 is wrong)"]]),
  hacf('mcast LOOP 2', 'mcast eth1 239.0.0.1 694 1 2', [['error', 1, 'mcast: invalid LOOP [2]', 'LOOP is 0 or 1']]),
  hacf('mcast to a unicast group', 'mcast eth1 10.0.0.1 694 1 0', [['error', 1, 'mcast: [10.0.0.1] is not a multicast address']]),
  hacf('mcast port out of range', 'mcast eth1 239.0.0.1 70000 1 0', [['error', 1, 'mcast: port [70000] is out of range']]),
  hacf('ucast without a peer', 'ucast eth1', [['error', 1, 'ucast needs 2 arguments IF PEER, got 1']]),
  hacf('ucast to a bad address', 'ucast eth1 10.0.0.300', [['error', 1, 'ucast: invalid IPv4 address [10.0.0.300]']]),
  hacf('ucast with two peers', 'ucast eth1 10.0.0.2 10.0.0.3', [['warning', 1, 'ucast: extra arguments ignored [10.0.0.3]', 'ucast takes one peer: write one ucast line per peer']]),
  hacf('a second medium on one interface', 'mcast eth0 239.0.0.1 694 1 0', [['warning', 3, 'bcast eth0 uses the same interface as the mcast medium on line 1: heartbeat tracks only the first as link eth0']]),
  hacf('bcast with a bad interface name', 'bcast eth0/1', [['error', 1, 'bcast: invalid interface name [eth0/1]']]),
  rawHacf('no media', 'node alice bob\nlogfacility daemon\nauto_failback on\n', [['error', null, 'no heartbeat media defined']]),
  // --- nodes
  rawHacf('no nodes', 'bcast eth0\nlogfacility daemon\nauto_failback on\n', [['error', null, 'no nodes defined']]),
  rawHacf('a single node', 'node alice\nbcast eth0\nlogfacility daemon\nauto_failback on\n', [['warning', 1, 'only one node (alice) is configured: there is no peer to fail over to']]),
  hacf('a node declared twice, in another case', 'node Alice', [['warning', 2, 'node alice is declared twice (first on line 1)']]),
  hacf('a node name of 100 characters', `node ${'n'.repeat(100)}`, [['error', 1, `node name [${'n'.repeat(100)}] is longer than 99 characters`]]),
  hacf('101 nodes', `node ${Array.from({ length: 99 }, (_, i) => `n${i}`).join(' ')}`, [['error', 2, 'too many nodes: heartbeat supports at most 100 (node, ping and ping_group entries together)']]),
  hacf('ping_group without addresses', 'ping_group routers', [['error', 1, 'ping_group needs a name and at least one address']]),
  // --- values
  rawHacf('auto_failback maybe', 'auto_failback maybe\nnode alice bob\nbcast eth0\nlogfacility daemon\n', [['error', 1, 'auto_failback: invalid value [maybe]', 'write on, off or legacy']]),
  rawHacf('auto_failback legacy', 'auto_failback legacy\nnode alice bob\nbcast eth0\nlogfacility daemon\n', [['warning', 1, "Deprecated 'legacy' auto_failback option selected.", 'write auto_failback on (groups go back to their preferred node) or off (they stay where they are); legacy is the old ip-request protocol']]),
  rawHacf('auto_failback left to its default', 'node alice bob\nbcast eth0\nlogfacility daemon\n', [['warning', null, "Deprecated 'legacy' auto_failback option selected."]]),
  rawHacf('a facility in the wrong case', 'node alice bob\nbcast eth0\nlogfacility Daemon\nauto_failback on\n', [['error', 3, 'logfacility: invalid syslog facility [Daemon]']]),
  hacf('debug above 255', 'debug 300', [['error', 1, 'debug: debug level [300] is out of range', 'write a number from 0 to 255']]),
  hacf('a bad boolean', 'realtime perhaps', [['error', 1, 'realtime: invalid boolean [perhaps]']]),
  hacf('hbgenmethod in capitals', 'hbgenmethod FILE', [['error', 1, 'hbgenmethod: invalid generation method [FILE]', 'did you mean file? (one of: file, time)']]),
  rawHacf('nice_failback alone', 'nice_failback on\nnode alice bob\nbcast eth0\nlogfacility daemon\n', [
    ['warning', 1, 'nice_failback is obsolete: heartbeat reads "nice_failback on" as "auto_failback legacy"', 'write auto_failback on, off or legacy instead'],
    ['warning', 1, "Deprecated 'legacy' auto_failback option selected."],
  ]),
  rawHacf('nice_failback after auto_failback', 'auto_failback on\nnice_failback on\nnode alice bob\nbcast eth0\nlogfacility daemon\n', [['warning', 2, 'nice_failback is obsolete: heartbeat reads "nice_failback on" as "auto_failback off"']]),
  hacf('msgfmt classic-text', 'msgfmt classic-text', [['note', 1, 'msgfmt classic-text is an hbd extension (the classic text packets of cluster-glue ≤ 1.0.9); heartbeat refuses this value']]),
  hacf('env without a name', 'env =x', [['error', 1, 'env: invalid setting [=x]: expected NAME=value']]),
  hacf('autojoin any', 'autojoin any', [['error', 1, 'autojoin any conflicts with haresources resource management (heartbeat: "R1 style resource management conflicts with autojoin set")']]),
  // --- dispositions
  hacf('serial', 'serial /dev/ttyS0', [['error', 1, 'serial is not implemented in hbd', 'use bcast, mcast or ucast, e.g. over a dedicated cross-over link']]),
  hacf('stonith_host', 'stonith_host * baytech 10.0.0.3 mylogin mysecretpassword', [['error', 1, 'stonith_host is not supported in hbd', 'remove the stonith and stonith_host lines']]),
  hacf('crm on', 'crm on', [['error', 1, 'crm on: Pacemaker resource management is not implemented in hbd', 'hbd runs haresources clusters: remove this line to use haresources, or use Pacemaker with corosync']]),
  hacf('pacemaker off', 'pacemaker off', []),
  hacf('normalpoll', 'normalpoll on', [['error', 1, 'normalpoll is compiled out of heartbeat 3.0 (heartbeat itself refuses it) and not implemented in hbd']]),
  hacf('respawn', 'respawn hacluster /usr/lib/heartbeat/ipfail', [['error', 1, 'respawn is not implemented in hbd']]),
  hacf('mcast6', 'mcast6 eth0 ff02::1 694 1 0', [['error', 1, 'mcast6 is not implemented in hbd', 'use mcast, ucast or ping over IPv4 (hbd media are IPv4 only)']]),
  hacf('compression has no effect', 'compression bz2', [['warning', 1, 'compression has no effect in hbd: hbd never compresses what it sends (haresources messages stay far below the 256 KiB limit)']]),
  hacf('a no-effect directive is still validated', 'compression lzma', [
    ['warning', 1, 'compression has no effect in hbd: hbd never compresses what it sends (haresources messages stay far below the 256 KiB limit)'],
    ['error', 1, 'compression: invalid compression [lzma]'],
  ]),
  rawHacf('a NUL byte', 'node alice bob\nbcast eth0\0\nbcast eth1\nlogfacility daemon\nauto_failback on\n', [['error', 2, 'line contains a NUL byte (heartbeat stops reading the line there)']]),

  // --- authkeys (spec §6.1)
  keys('sha1 with a key', 'auth 1\n1 sha1 secret\n', []),
  keys('crc', 'auth 1\n1 crc\n', [['warning', 2, 'crc authenticates nothing: anyone who can reach the cluster port can forge cluster messages (heartbeat does not say so)', 'to move to sha1 without downtime: 1) on every node add the line `2 sha1 SECRET` (the same secret everywhere, e.g. from openssl rand -hex 20) and run hbd reload on each; 2) on every node change `auth 1` to `auth 2` and run hbd reload on each; 3) on every node remove the line `1 crc` and run hbd reload on each. Every node accepts both keys in between, so no packet is refused (README: Key rotation)']]),
  keys('crc accepted but not signing', 'auth 2\n1 crc\n2 sha1 s\n', [['warning', 2, 'crc authenticates nothing: anyone who can reach the cluster port can forge cluster messages (heartbeat does not say so)', 'once no node signs with crc any more (auth 1), remove the line 1 crc on every node and run hbd reload on each']]),
  keys('crc with a key', 'auth 1\n1 crc secret\n', [['warning', 2, 'crc authenticates nothing: anyone who can reach the cluster port can forge cluster messages (heartbeat does not say so)'], ['error', 2, "Auth method [crc] doesn't use a key"]]),
  keys('crc with a # remark', 'auth 1\n1 crc # no key\n', [
    ['warning', 2, 'crc authenticates nothing: anyone who can reach the cluster port can forge cluster messages (heartbeat does not say so)'],
    ['error', 2, "Auth method [crc] doesn't use a key", 'heartbeat does not treat # after the method as a comment; remove the key, or better: 1 sha1 <secret>, with a secret such as the output of: openssl rand -hex 20'],
  ]),
  keys('sha1 without a key', 'auth 1\n1 sha1\n', [['error', 2, 'Auth method [sha1] requires a key']]),
  keys('the (stdin)= tutorial mistake', 'auth 1\n1 sha1 (stdin)= 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\n', [
    ['error', 2, 'the key is the text [(stdin)=]: heartbeat takes only the first word after the method, not the digest after it', 'use only the hex digest as the key: 1 sha1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b'],
  ]),
  keys('no auth line', '1 sha1 secret\n', [['error', null, 'Missing auth directive in keyfile [authkeys]']]),
  keys('auth index without a key line', 'auth 2\n1 sha1 secret\n', [['error', 1, 'Auth Key [2] not found in keyfile [authkeys]']]),
  keys('index 16', 'auth 16\n16 sha1 secret\n', [['error', 1, 'key index [16] is out of range', 'use an index from 0 to 15'], ['error', 2, 'key index [16] is out of range']]),
  keys('index 0 is valid', 'auth 0\n0 md5 secret\n', []),
  keys('a duplicate index', 'auth 1\n1 sha1 a\n1 md5 b\n', [['error', 3, 'key index 1 is defined twice (first on line 2)']]),
  keys('a duplicate auth line', 'auth 1\nauth 1\n1 sha1 a\n', [['error', 2, 'duplicate auth line: already given on line 1']]),
  keys('sha256', 'auth 1\n1 sha256 secret\n', [['warning', 2, 'sha256 is an hbd extension: heartbeat nodes cannot verify packets signed with it']]),
  keys('a method in capitals', 'auth 1\n1 SHA1 secret\n', [['error', 2, 'unknown auth method [SHA1]', 'did you mean sha1? (methods are lower-case: crc, md5, sha1)']]),
  keys('text after the key', 'auth 1\n1 sha1 secret and more\n', [['warning', 2, 'text after the key is ignored [and more]']]),
  keys('auth below its key line', '1 sha1 secret\nauth 1\n', [['error', 2, 'auth 1 comes after the key line for index 1 (line 1): heartbeat only selects a signing key listed below the auth line']]),
  keys('a misspelled auth line', 'auht 1\n1 sha1 secret\n', [['error', 1, 'invalid auth line [auht 1]', 'write auth N, where N is the index of the key line to sign with']]),
  keys('a line that is neither', 'auth 1\n1 sha1 secret\nhello\n', [['error', 3, 'invalid line [hello]']]),

  // --- haresources (spec §8.1, §10.1); nodes are alice and bob
  res('a bare IP and a script', 'alice 10.0.0.5 httpd\n', []),
  res('an unknown preferred node', 'carol httpd\n', [['error', 1, 'Bad nodename [carol]: the first word of a resource group must be a node of ha.cf', 'use one of: alice, bob (or add node carol to ha.cf)']]),
  res('a group without resources', 'alice\n', [['error', 1, 'resource group of node alice lists no resources']]),
  res('IPaddr with an invalid address', 'alice IPaddr::10.0.0.300\n', [['error', 1, 'resource [IPaddr::10.0.0.300]: invalid IPv4 address [10.0.0.300]']]),
  res('IPaddr with a /33 netmask', 'alice IPaddr::10.0.0.5/33\n', [['error', 1, 'resource [IPaddr::10.0.0.5/33]: invalid netmask [33]']]),
  res('IPaddr2 with two arguments', 'alice IPaddr2::10.0.0.5::x\n', [['error', 1, 'resource [IPaddr2::10.0.0.5::x]: IPaddr2 takes exactly one argument, got 2']]),
  res('a broadcast followed by a NIC', 'alice IPaddr::10.0.0.5/24/10.0.0.255/eth0\n', [['error', 1, 'resource [IPaddr::10.0.0.5/24/10.0.0.255/eth0]: [10.0.0.255] starts with a digit, so it is read as the broadcast address and nothing may follow it']]),
  res('a duplicate group key', 'alice httpd\nbob httpd\n', [['error', 2, 'duplicate resource group key [httpd]: the group on line 1 starts with it too']]),
  res('a key used as another group\'s resource', 'alice 10.0.0.5 httpd\nbob httpd smb\n', [['error', 1, 'resource [httpd] is also the key of the group on line 2: heartbeat finds groups by searching for their key, and would act on both lines']]),
  res('an empty argument', 'alice Filesystem::/dev/sdb1::::ext4\n', [['error', 1, 'resource [Filesystem::/dev/sdb1::::ext4] has an empty argument']]),
  res('a path as a script', 'alice ../../bin/sh\n', [['error', 1, 'invalid resource [../../bin/sh]: [../../bin/sh] is not a script name']]),
  res('a trailing backslash at the end', 'alice httpd \\', [['error', 1, 'the last line ends with \\ but no line follows']]),
  res('comments and blank lines', '# nothing here\n\n   \t\n', []),
];

function check(c: Case): Diagnostic[] {
  if (c.file === 'ha.cf') return parseHaCf(c.text, 'ha.cf').diagnostics;
  if (c.file === 'authkeys') return parseAuthkeys(c.text, 'authkeys').diagnostics;
  return parseHaresources(c.text, 'haresources', ['alice', 'bob']).diagnostics;
}

test('the case table covers at least 40 variants', () => {
  assert.ok(CASES.length >= 40, `${CASES.length} cases`);
});

for (const c of CASES) {
  test(`${c.file}: ${c.name}`, () => {
    const got = check(c);
    assert.deepEqual(
      got.map((d) => [d.severity, d.line, d.message]),
      c.expect.map(([s, l, m]) => [s, l, m]),
    );
    c.expect.forEach(([, , , hint], i) => {
      if (hint !== undefined) assert.equal(got[i].hint, hint);
    });
    for (const d of got) assert.equal(d.file, c.file);
  });
}

test('every directive of heartbeat 3.0 (spec §9.2) and hbd_stall_limit is in the table', () => {
  const spec = `node keepalive deadtime warntime initdead deadping udpport bcast mcast mcast6 ucast ucast6 serial baud ping ping6
    ping_group hbaping hopfudge auto_failback nice_failback stonith stonith_host watchdog respawn failfast apiauth logfile
    debugfile logfacility use_logd conn_logd_time syslogmsgfmt log_badpack debug realtime rtprio memreserve hbgenmethod
    uuidfrom msgfmt compression compression_threshold traditional_compression max_rexmit_delay autojoin env coredumps coreroot
    use_apphbd cluster quorum_server crm pacemaker crm_daemon_dir crmd_spawns_pengine record_config_changes
    record_pengine_inputs enable_config_writes normalpoll hbd_stall_limit hbd_metrics`.split(/\s+/);
  assert.deepEqual(spec.filter((n) => directive(n) === undefined), []);
  assert.deepEqual(DIRECTIVES.map((d) => d.name).filter((n) => !spec.includes(n)), []);
});

test('each disposition is reported: no-effect as a warning saying why, unsupported as an error with the alternative', () => {
  for (const d of DIRECTIVES) {
    const disp = d.disposition;
    const got = parseHaCf(`${d.name} ${d.defaultValue ?? 'x'}\n${BASE}`, 'ha.cf').diagnostics.filter((x) => x.line === 1);
    if (disp.kind === 'no-effect') {
      assert.equal(got[0]?.severity, 'warning', d.name);
      assert.equal(got[0].message, `${d.name} has no effect in hbd: ${disp.why}`);
    } else if (disp.kind === 'unsupported') {
      assert.deepEqual(got.map((x) => [x.severity, x.message, x.hint]), [['error', `${d.name} ${disp.reason}`, disp.instead]], d.name);
    } else if (disp.kind === 'extension') {
      assert.equal(got[0]?.severity, 'note', d.name);
    }
  }
});
