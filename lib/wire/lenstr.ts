// The `<len>:<bytes>,` primitive shared by netstring fields, the netstring auth trailer
// and list values (spec §2, §3.2; GLUE cl_netstring.c peel_netstring(), string_list_pack()).
import { DecodeError } from './errors';
import { MAXMSG } from './limits';
import type { DecodeErrorCode } from './types';

/** Longest decimal length we read: MAXMSG has 6 digits; one leading zero is tolerated. */
const MAX_LEN_DIGITS = 7;

export interface Peeled {
  readonly start: number; // first data byte
  readonly end: number; // one past the last data byte (the ',' sits here)
  readonly next: number; // first byte after the ','
}

/**
 * Reads one `<len>:<data>,` at `p` (bytes before `limit` only). `malformed` is the code for
 * a bad length or a missing ',', `overrun` for data running past `limit`; `base` turns
 * positions into packet offsets for the error.
 */
export function peelLenStr(b: Buffer, p: number, limit: number, base: number, malformed: DecodeErrorCode, overrun: DecodeErrorCode, what: string): Peeled {
  let q = p;
  let len = 0;
  while (q < limit && b[q]! >= 0x30 && b[q]! <= 0x39 && q - p < MAX_LEN_DIGITS + 1) {
    len = len * 10 + (b[q]! - 0x30);
    q++;
  }
  if (q === p) {
    if (p >= limit) throw new DecodeError(overrun, base + p, `${what}: data ends where a length was expected`);
    throw new DecodeError(malformed, base + p, `${what}: expected a decimal length, found byte 0x${b[p]!.toString(16).padStart(2, '0')}`);
  }
  if (q - p > MAX_LEN_DIGITS || len > MAXMSG) throw new DecodeError(malformed, base + p, `${what}: length ${b.subarray(p, Math.min(q, p + 12)).toString('latin1')}${q - p > 12 ? '…' : ''} exceeds MAXMSG (${MAXMSG})`);
  if (q >= limit) throw new DecodeError(overrun, base + q, `${what}: data ends after the length`);
  if (b[q] !== 0x3a) throw new DecodeError(malformed, base + q, `${what}: expected ':' after the length ${len}`);
  const start = q + 1;
  const end = start + len;
  if (end >= limit) throw new DecodeError(overrun, base + start, `${what}: length ${len} runs past the end of the data (${limit - start} bytes left)`);
  if (b[end] !== 0x2c) throw new DecodeError(malformed, base + end, `${what}: expected ',' after ${len} bytes`);
  return { start, end, next: end + 1 };
}

export function lenStr(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length}:`, 'latin1'), data, Buffer.from(',', 'latin1')]);
}

/** A list value: `len:item,` per item. Heartbeat rejects empty lists and empty items. */
export function encodeList(items: readonly Buffer[]): Buffer {
  return Buffer.concat(items.map(lenStr));
}

export function decodeList(b: Buffer, base: number): Buffer[] {
  if (b.length === 0) throw new DecodeError('bad-netstring', base, 'list field has no items (heartbeat cannot carry an empty list)');
  const items: Buffer[] = [];
  for (let p = 0; p < b.length; ) {
    const item = peelLenStr(b, p, b.length, base, 'bad-netstring', 'bad-netstring', `list item ${items.length + 1}`);
    if (item.end === item.start) throw new DecodeError('bad-netstring', base + p, `list item ${items.length + 1} is empty (heartbeat rejects zero-length items)`);
    items.push(Buffer.from(b.subarray(item.start, item.end)));
    p = item.next;
  }
  return items;
}
