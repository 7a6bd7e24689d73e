// heartbeat's time syntax and the timing/setting values ha.cf resolves to (spec §7.1, §9.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseHaCf } from '../lib/config/hacf';
import { parseTime } from '../lib/config/time';

test('cl_get_msec(): plain numbers are seconds, ms and us are attached units, rounded to ms', () => {
  const cases: Array<[string, number]> = [
    ['2', 2000],
    ['1.5', 1500],
    ['.5', 500],
    ['0.001', 1],
    ['0.0004', 0],
    ['1500ms', 1500],
    ['10MS', 10],
    ['10msec', 10],
    ['250000us', 250],
    ['1000000usec', 1000],
    ['499us', 0],
    ['501us', 1],
    [' 3', 3000],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseTime(text), { ok: true, value: ms }, text);
});

test('s, sec and everything else that is not a heartbeat time is rejected with the fix', () => {
  assert.deepEqual(parseTime('10s'), { ok: false, message: 'invalid time [10s]: heartbeat does not accept the unit "s"', hint: 'write 10 (a plain number is seconds) or 10000ms' });
  assert.deepEqual(parseTime('1.5sec'), { ok: false, message: 'invalid time [1.5sec]: heartbeat does not accept the unit "sec"', hint: 'write 1.5 (a plain number is seconds) or 1500ms' });
  for (const bad of ['', 'abc', '1.2.3', '-1', '10m', '1e3', 'ms', '5 minutes']) {
    const r = parseTime(bad);
    assert.equal(r.ok, false, bad);
  }
});

function timings(lines: string) {
  const { haCf, diagnostics } = parseHaCf(`${lines}\nnode a b\nbcast eth0\nlogfacility daemon\n`, 'ha.cf');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  return haCf.timings;
}

test('defaults: keepalive 1 s, deadtime 30 s, warntime deadtime/2, initdead = deadtime, deadping = deadtime, stall limit 4×deadtime', () => {
  assert.deepEqual(timings(''), {
    keepaliveMs: 1000,
    deadtimeMs: 30000,
    warntimeMs: 15000,
    initdeadMs: 30000,
    deadpingMs: 30000,
    stallLimitMs: 120000,
    source: { keepalive: 'default', deadtime: 'default', warntime: 'derived', initdead: 'derived', deadping: 'derived', stallLimit: 'derived' },
  });
});

test('initdead derivation: deadtime > 10 s → deadtime; < 6 s → 12 s; else 2 × deadtime', () => {
  assert.equal(timings('deadtime 20').initdeadMs, 20000);
  assert.equal(timings('deadtime 10001ms').initdeadMs, 10001);
  assert.equal(timings('deadtime 10').initdeadMs, 20000);
  assert.equal(timings('deadtime 6').initdeadMs, 12000);
  assert.equal(timings('deadtime 5999ms').initdeadMs, 12000);
  assert.equal(timings('deadtime 3').initdeadMs, 12000);
});

test('warntime is deadtime/2 rounded down; the stall limit is never below 2 s', () => {
  const t = timings('keepalive 100ms\ndeadtime 301ms');
  assert.equal(t.warntimeMs, 150);
  assert.equal(t.stallLimitMs, 2000);
  assert.equal(t.deadpingMs, 301);
});

test('values that are set are reported as set', () => {
  const t = timings('keepalive 10ms\ndeadtime 50ms\nwarntime 30ms\ninitdead 20\ndeadping 100ms\nhbd_stall_limit 3');
  assert.deepEqual(
    [t.keepaliveMs, t.deadtimeMs, t.warntimeMs, t.initdeadMs, t.deadpingMs, t.stallLimitMs],
    [10, 50, 30, 20000, 100, 3000],
  );
  assert.ok(Object.values(t.source).every((s) => s === 'set'));
});

function haCf(lines: string) {
  return parseHaCf(`${lines}\nnode a b\nbcast eth0\nlogfacility daemon\n`, 'ha.cf').haCf;
}

test('msgfmt maps to the wire format: classic → netstring+auth, netstring → netstring, classic-text → classic', () => {
  assert.equal(haCf('').wireFormat, 'netstring+auth');
  assert.equal(haCf('msgfmt classic').wireFormat, 'netstring+auth');
  assert.equal(haCf('msgfmt netstring').wireFormat, 'netstring');
  assert.equal(haCf('msgfmt classic-text').wireFormat, 'classic');
});

test('booleans as heartbeat reads them, in any case', () => {
  for (const t of ['true', 'On', 'YES', 'y', '1']) assert.equal(haCf(`auto_failback ${t}`).autoFailback, 'on', t);
  for (const f of ['false', 'OFF', 'no', 'N', '0']) assert.equal(haCf(`realtime ${f}`).realtime, false, f);
  assert.equal(haCf('auto_failback Legacy').autoFailback, 'legacy');
  assert.equal(haCf('').autoFailback, 'legacy');
});

test('the other settings and their defaults', () => {
  const d = haCf('');
  assert.deepEqual(
    [d.udpPort, d.realtime, d.rtprio, d.hbgenMethod, d.uuidFrom, d.hopfudge, d.maxRexmitDelayMs, d.clusterName, d.logging.debugLevel, d.logging.logBadPacket, d.logging.syslogMsgFmt],
    [694, true, null, 'file', 'file', 1, 250, 'linux-ha', 0, true, true],
  );
  const s = haCf('udpport 700\nrtprio 10\nhbgenmethod time\nuuidfrom nodename\nhopfudge 3\nmax_rexmit_delay 100\ncluster prod\ndebug 2\nlog_badpack off\nsyslogmsgfmt no\nlogfile /var/log/ha-log\nenv FOO=bar,BAZ=1');
  assert.deepEqual(
    [s.udpPort, s.rtprio, s.hbgenMethod, s.uuidFrom, s.hopfudge, s.maxRexmitDelayMs, s.clusterName, s.logging.debugLevel, s.logging.logBadPacket, s.logging.syslogMsgFmt, s.logging.logfile, s.logging.facility],
    [700, 10, 'time', 'nodename', 3, 100, 'prod', 2, false, false, '/var/log/ha-log', 'daemon'],
  );
  assert.deepEqual(s.env, [{ name: 'FOO', value: 'bar' }, { name: 'BAZ', value: '1' }]);
  assert.equal(haCf('logfacility none').logging.facility, null);
});

test('media and ping nodes: bcast per token (commas too), mcast and ucast per line, ping per token', () => {
  const h = parseHaCf('bcast eth1, eth2\nmcast eth3 239.0.0.43 694 1 0\nucast eth4 peer.example.com\nping 10.0.0.254\nping_group Routers 10.0.0.1 10.0.0.2\nnode A b\nlogfacility daemon\n', 'ha.cf').haCf;
  assert.deepEqual(h.media, [
    { type: 'bcast', iface: 'eth1', line: 1 },
    { type: 'bcast', iface: 'eth2', line: 1 },
    { type: 'mcast', iface: 'eth3', group: '239.0.0.43', port: 694, ttl: 1, loop: false, line: 2 },
    { type: 'ucast', iface: 'eth4', peer: 'peer.example.com', line: 3 },
  ]);
  assert.deepEqual(h.pingNodes, [{ address: '10.0.0.254', line: 4 }]);
  assert.deepEqual(h.pingGroups, [{ name: 'routers', addresses: ['10.0.0.1', '10.0.0.2'], line: 5 }]);
  assert.deepEqual(h.nodes, [{ name: 'a', line: 6 }, { name: 'b', line: 6 }]);
});
