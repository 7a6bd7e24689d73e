// The per-source, per-second summary of packets that fail authentication (both transports use it;
// native/auth_fail_summary.cc is its twin, checked in the lab by test/engine-flood.test.ts), the
// escaping of names taken from such packets, and the daemon's rate-limited log lines for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { AuthFailLog } from '../lib/log/auth-fail-log';
import { replayReason } from '../lib/transport/inbound';
import { AuthFailSummary, escapeForLog, MAX_SOURCES, OTHER_SOURCES } from '../lib/transport/auth-fail-summary';

test('escapeForLog: printable ASCII stays, everything else is \\xNN, long text is cut', () => {
  assert.equal(escapeForLog('n2'), 'n2');
  assert.equal(escapeForLog('n2\nCRIT: forged line'), 'n2\\x0aCRIT: forged line');
  assert.equal(escapeForLog('a\\b'), 'a\\b');
  assert.equal(escapeForLog('é'), '\\xc3\\xa9');
  assert.equal(escapeForLog('x'.repeat(70)), 'x'.repeat(64) + '...');
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      const e = escapeForLog(s);
      assert.match(e, /^[\x20-\x7e]*$/);
      return true;
    }),
  );
});

test('one report per source and link per window, with the count and the first reason and node', () => {
  const s = new AuthFailSummary(1000);
  let described = 0;
  const describe = (reason: string, node: string | null) => () => (described++, { reason, node });
  s.note('eth0', '198.18.0.2:694', 10, describe('bad signature (key 1, sha1)', 'n2'));
  for (let i = 0; i < 999; i++) s.note('eth0', '198.18.0.2:694', 11 + i, describe('later', 'x'));
  s.note('eth1', '198.18.0.2:694', 20, describe('unknown node', 'n9\nforged'));
  assert.equal(described, 2, 'only the first packet of a window is described');
  assert.equal(s.nextDue(), 1010);
  assert.deepEqual(s.flush(1009), []);
  assert.deepEqual(s.flush(1010), [{ type: 'auth-fail', link: 'eth0', source: '198.18.0.2:694', reason: 'bad signature (key 1, sha1)', node: 'n2', count: 1000 }]);
  assert.deepEqual(s.flush(1020), [{ type: 'auth-fail', link: 'eth1', source: '198.18.0.2:694', reason: 'unknown node', node: 'n9\\x0aforged', count: 1 }]);
  assert.equal(s.nextDue(), Infinity);
  // A new window after the flush.
  s.note('eth0', '198.18.0.2:694', 2000, describe('again', null));
  assert.deepEqual(s.flush(3000).map((r) => [r.reason, r.count]), [['again', 1]]);
});

test('bounded: sources beyond the table are counted together as one overflow source', () => {
  const s = new AuthFailSummary(1000);
  for (let i = 0; i < MAX_SOURCES + 500; i++) s.note('eth0', `198.18.${i >> 8}.${i & 255}:694`, 0, () => ({ reason: 'r', node: null }));
  const out = s.flush(1000);
  assert.equal(out.length, MAX_SOURCES + 1);
  assert.deepEqual(out.at(-1), { type: 'auth-fail', link: '*', source: OTHER_SOURCES, reason: 'r', node: null, count: 500 });
});

test("the daemon's lines: heartbeat's texts with the count; at most the limit per period, then one summary", () => {
  const log = new AuthFailLog((n) => n === 'n1' || n === 'n2', 2, 60_000);
  const r = (source: string, node: string | null, count = 5) => ({ link: 'eth0', source, reason: 'bad signature (key 1, sha1)', node, count });
  assert.deepEqual(log.note(r('198.18.0.2:694', 'n2'), 0), [{ level: 'WARN', text: 'string2msg_ll: node [n2] failed authentication (5 packets in 1 s from 198.18.0.2:694 on eth0: bad signature (key 1, sha1))' }]);
  assert.deepEqual(log.note(r('198.18.0.9:694', 'carol', 1), 1000), [
    { level: 'ERROR', text: 'process_status_message: bad node [carol] in message (1 packet in 1 s from 198.18.0.9:694 on eth0: bad signature (key 1, sha1))' },
  ]);
  assert.deepEqual(log.note(r('198.18.0.7:694', null), 2000), [], 'over the limit: not logged');
  assert.deepEqual(log.note(r('198.18.0.8:694', null, 7), 3000), []);
  assert.equal(log.nextDue(), 60_000);
  assert.deepEqual(log.flush(59_999), []);
  assert.deepEqual(log.flush(60_000), [{ level: 'WARN', text: 'hbd: 12 packets from 2 more source(s) failed authentication in the last 60 s (only the first 2 reports of a period are logged)' }]);
  assert.equal(log.nextDue(), Infinity);
  assert.match(log.note(r('198.18.0.7:694', null, 1), 61_000)[0]!.text, /^hbd: 1 packet in 1 s from 198\.18\.0\.7:694 on eth0: .*; dropped/);
  // A replayed capture of an older generation: heartbeat's replay text, with the count.
  assert.deepEqual(log.note({ link: 'eth0', source: '198.18.0.3:694', reason: replayReason(4, 5), node: 'n2', count: 900 }, 62_000), [
    { level: 'ERROR', text: 'should_drop_message: attempted replay attack [n2]? [gen = 4, curgen = 5] (900 packets in 1 s from 198.18.0.3:694 on eth0)' },
  ]);
});
