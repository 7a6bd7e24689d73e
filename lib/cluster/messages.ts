// The resource messages (spec §5.4) as the policy reads and writes them. The builders heartbeat's
// field sets need are in lib/wire/builders.ts (checked against the real captures); this file adds
// the two hbd needs beyond them and reads the `rsc_hold` codes.
import { get, str } from '../wire/message';
import type { Message } from '../wire/types';
import type { RscHold } from './types';

export const NO_RSC = 0;
export const LOCAL_RSC = 1;
export const FOREIGN_RSC = 2;
export const ALL_RSC = 3;

const NAMES: readonly RscHold[] = ['none', 'local', 'foreign', 'all'];

export function holdName(bits: number): RscHold {
  return NAMES[bits & ALL_RSC] as RscHold;
}

/** heartbeat's encode_resources(): null for anything but the four names (it logs and uses 0). */
export function holdBits(text: string | undefined): number | null {
  const i = text === undefined ? -1 : NAMES.indexOf(text as RscHold);
  return i < 0 ? null : i;
}

export type StonithResult = 'OK' | 'badhost' | 'bad' | 'n_stnth' | 'unneeded';

/** send_stonith_msg(): `t=stonith node=<dead node> result=<outcome>`. */
export function stonithMessage(node: string, result: StonithResult): Message {
  return [str('t', 'stonith'), str('node', node), str('result', result)];
}

/**
 * hbd's extension for clusters of three or more nodes, where `local`/`foreign` cannot say which
 * groups a node holds: the held keys, blank-separated (haresources keys contain no blanks).
 * Never sent in two-node clusters, so those stay byte-identical with heartbeat.
 */
export const HELD_FIELD = 'hbd_held';

export function withHeld(m: Message, keys: readonly string[]): Message {
  return [...m, str(HELD_FIELD, keys.join(' '))];
}

/** hbd, 3+ nodes: marks an ip-request-resp that hands a group over unasked (`hbd standby`). */
export const HANDOVER_FIELD = 'hbd_handover';

export function heldKeys(m: Message): string[] | null {
  const v = get(m, HELD_FIELD);
  return v === undefined ? null : v.split(' ').filter((k) => k !== '');
}
