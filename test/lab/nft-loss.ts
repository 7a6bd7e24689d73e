// Random loss of a node's received heartbeat packets with nftables inside the node's namespace:
// `numgen random mod 100 < pct drop` on the input hook. Unlike the relay of ./impair.ts it needs no
// re-cabling and drops after the switch, so a capture on the switch still shows every packet sent.

import type { LabNode } from './lab';
import { tool } from './tools';

/** Drops pct % (0–100) of the UDP packets to `port` that `node` receives, until the lab is torn down. */
export async function dropInput(node: LabNode, pct: number, port = 694): Promise<void> {
  if (!Number.isInteger(pct) || pct < 0 || pct > 100) throw new RangeError(`dropInput(${node.name}): pct must be an integer from 0 to 100 (got ${pct})`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`dropInput(${node.name}): port must be from 1 to 65535 (got ${port})`);
  const ruleset = [
    'table inet hbd_loss {',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    `    udp dport ${port} numgen random mod 100 < ${pct} counter drop`,
    '  }',
    '}',
    '',
  ].join('\n');
  await node.exec([tool('nft'), '-f', '-'], { input: ruleset });
}

/** How many packets dropInput's rule dropped on `node` so far. */
export async function droppedInput(node: LabNode): Promise<number> {
  const r = await node.exec([tool('nft'), 'list', 'table', 'inet', 'hbd_loss']);
  const m = /counter packets (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`droppedInput(${node.name}): no counter in \`nft list table inet hbd_loss\`:\n${r.stdout}`);
  return Number(m[1]);
}
