// The pure parts of bench/failover: reading the VIP's additions from `ip -ts monitor address`
// output, and the order of SIGKILL and graceful trials.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { vipAdds } from '../bench/failover/analyse';
import { schedule } from '../bench/failover/run';

test('vipAdds: the stamps (µs, UTC) of additions of the VIP, not its deletions nor other addresses', () => {
  const out = [
    '[2026-12-02T03:19:13.809733] 2: eth0    inet 198.18.0.100/24 brd 198.18.0.255 scope global secondary eth0:0',
    '       valid_lft forever preferred_lft forever',
    '[2026-12-02T03:19:14.970696] Deleted 2: eth0    inet 198.18.0.100/24 brd 198.18.0.255 scope global secondary eth0:0',
    '[2026-12-02T03:19:15.000001] 2: eth0    inet 198.18.0.101/24 brd 198.18.0.255 scope global secondary eth0:1',
    '[2026-12-02T03:19:19.654759] 2: eth0    inet 198.18.0.100/24 brd 198.18.0.255 scope global secondary eth0:0',
    '',
  ].join('\n');
  const base = Date.parse('2026-12-02T03:19:13Z');
  assert.deepEqual(
    vipAdds(out).map((w) => Math.round((w - base) * 1000)),
    [809733, 6654759],
  );
  assert.deepEqual(vipAdds(''), []);
});

test('schedule: the graceful trials spread among the kills, the counts exact', () => {
  for (const [kills, graceful] of [[12, 4], [3, 1], [1, 0], [5, 5], [20, 5]] as const) {
    const s = schedule(kills, graceful);
    assert.equal(s.filter((k) => k === 'kill').length, kills);
    assert.equal(s.filter((k) => k === 'graceful').length, graceful);
    if (graceful > 0 && kills >= graceful) assert.notEqual(s[0], 'graceful', `${kills}/${graceful}: the first trial is a kill`);
  }
  assert.deepEqual(schedule(3, 1), ['kill', 'kill', 'graceful', 'kill']);
});
