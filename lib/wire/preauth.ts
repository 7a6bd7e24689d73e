// Authentication before parsing, the TypeScript twin of native/preauth.cc: a netstring packet is
// signed over its bytes up to `%%%\n` and carries the signature in a trailer after it (spec §6.4),
// so it is verified from the raw bytes, without building a Message. Garbage, unsigned, truncated
// and forged netstring packets are refused with a few byte compares and at most one HMAC, and no
// exception: what an outsider sends at 100k packets/s must cost the receiving thread as little as
// possible (decode() builds every field and throws a DecodeError, with its stack, for each bad one).
// Classic packets sign a re-serialisation of their fields and must be decoded to be judged.
import * as crypto from 'node:crypto';

import { heartbeatCrc } from './auth';
import { MAXMSG } from './limits';
import type { AuthKeys, AuthMethod } from './types';

export type PreAuth =
  /** A netstring packet whose trailer verifies with the key of the index it names: decode it without keys. */
  | { readonly verdict: 'ok'; readonly index: number; readonly method: AuthMethod }
  /** No heartbeat magic, or a netstring packet that cannot verify: refuse it unparsed. */
  | 'fail'
  /** A classic packet: decode() must judge it. */
  | 'classic';

// "<len>:<index> <token>,": the length at most 7 digits, then ':', 2 + 1 + 128 bytes and ','.
const MAX_TRAILER = 7 + 1 + 131 + 1;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

function magic(p: Buffer, at: number, a: number, b: number, c: number, d: number): boolean {
  return p[at] === a && p[at + 1] === b && p[at + 2] === c && p[at + 3] === d;
}

/** Lowercase hex of `digest` against p[at, at + len), every byte compared (no early exit on a mismatch). */
function hexEquals(digest: Buffer, p: Buffer, at: number, len: number): boolean {
  if (len !== 2 * digest.length) return false;
  let diff = 0;
  for (let i = 0; i < digest.length; i++) {
    diff |= p[at + 2 * i]! ^ HEX[digest[i]! >> 4]!;
    diff |= p[at + 2 * i + 1]! ^ HEX[digest[i]! & 15]!;
  }
  return diff === 0;
}

function verify(method: AuthMethod, key: Buffer, signed: Buffer, p: Buffer, at: number, len: number): boolean {
  if (method === 'crc') return Buffer.from(heartbeatCrc(signed).toString(16), 'latin1').equals(p.subarray(at, at + len));
  return hexEquals(crypto.createHmac(method, key).update(signed).digest(), p, at, len);
}

/**
 * Judges a datagram from its bytes (see the file comment). Every 'fail' is a packet that
 * decode(p, keys) refuses too (it throws, or its verdict is not 'ok'); after 'ok', decode(p, null)
 * can still find the signed body malformed, which only a holder of the key can send.
 */
export function preAuth(p: Buffer, keys: AuthKeys): PreAuth {
  const n = p.length;
  if (n >= 4 && magic(p, 0, 0x3e, 0x3e, 0x3e, 0x0a)) return 'classic'; // ">>>\n"
  if (n < 4 || n > MAXMSG || !magic(p, 0, 0x23, 0x23, 0x23, 0x0a)) return 'fail'; // "###\n"
  // The message ends at the last "%%%\n": the trailer after it cannot hold a newline.
  let signedEnd = 0;
  const lowest = n > MAX_TRAILER + 8 ? n - MAX_TRAILER - 4 : 4;
  for (let i = n - 4; i >= lowest; i--) {
    if (magic(p, i, 0x25, 0x25, 0x25, 0x0a)) {
      signedEnd = i + 4;
      break;
    }
  }
  if (signedEnd === 0) return 'fail';
  // "<len>:<index> <token>," filling the rest exactly.
  let q = signedEnd;
  let len = 0;
  while (q < n && isDigit(p[q]) && q - signedEnd < 8) len = len * 10 + (p[q++]! - 0x30);
  if (q === signedEnd || q >= n || p[q] !== 0x3a || q + 1 + len + 1 !== n || p[n - 1] !== 0x2c) return 'fail';
  const sig = q + 1;
  let d = 0;
  while (d < len && isDigit(p[sig + d])) d++;
  if (d === 0 || d > 2 || d >= len || p[sig + d] !== 0x20) return 'fail';
  const index = d === 1 ? p[sig]! - 0x30 : (p[sig]! - 0x30) * 10 + (p[sig + 1]! - 0x30);
  const key = keys.keys.find((k) => k.index === index);
  if (!key || !verify(key.method, key.key, p.subarray(0, signedEnd), p, sig + d + 1, len - d - 1)) return 'fail';
  return { verdict: 'ok', index, method: key.method };
}
