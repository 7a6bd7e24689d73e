// The VIP takeover bench's pure parts: RFC 5798's Master_Down_Interval (keepalived's deadline),
// the `ip -ts monitor` lines it reads, and the keepalived configuration it writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { keepalivedConf, keepalivedVersion, masterDownMs } from '../bench/keepalived/keepalived';
import { vipAdds } from '../bench/vip-takeover/run';
import type { Lab } from '../test/lab/lab';

test('Master_Down_Interval is 3 adverts plus the skew of the backup priority', () => {
  assert.equal(masterDownMs(1000, 100), 3000 + (156 * 1000) / 256);
  assert.equal(masterDownMs(10, 255), 30 + 10 / 256);
});

test('only additions of the VIP count, stamped as ip -ts prints them in UTC', () => {
  const text = [
    '[2026-12-02T03:10:49.123456] 2: eth0    inet 198.18.0.100/24 scope global secondary eth0',
    '       valid_lft forever preferred_lft forever',
    '[2026-12-02T03:10:50.000001] Deleted 2: eth0    inet 198.18.0.100/24 scope global secondary eth0',
    '[2026-12-02T03:10:51.500000] 2: eth0    inet 198.18.0.1/24 scope global eth0',
  ].join('\n');
  assert.deepEqual(vipAdds(text), [Date.parse('2026-12-02T03:10:49Z') + 123.456]);
});

test('the configuration: VRRPv3, unicast peers of the lab, centisecond advert', () => {
  const node = (index: number) => ({ index, name: `n${index}`, address: () => `198.18.0.${index}` });
  const lab = { nodes: [node(1), node(2)], node: (i: number) => node(i) } as unknown as Lab;
  const conf = keepalivedConf(lab, 1, { priority: 150, advertMs: 10 });
  assert.match(conf, /vrrp_version 3/);
  assert.match(conf, /advert_int 0\.01\n/);
  assert.match(conf, /unicast_src_ip 198\.18\.0\.1\n  unicast_peer \{\n    198\.18\.0\.2\n  \}/);
  assert.throws(() => keepalivedConf(lab, 1, { priority: 150, advertMs: 15 }), /not a multiple of VRRPv3's 10 ms/);
  assert.equal(keepalivedVersion('Keepalived v2.2.7 (01/16,2022)\n'), '2.2.7');
});
