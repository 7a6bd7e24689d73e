// Heartbeat's packet authentication tokens (spec §6.2), the pure-TypeScript twin of
// native/auth.cc: crc, HMAC-MD5, HMAC-SHA1 and hbd's HMAC-SHA256 extension.
import * as crypto from 'node:crypto';

import type { AuthMethod } from './types';

/** MSB-first table for heartbeat's unreflected CRC-32 (poly 0x04C11DB7). */
const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32, init 0, no reflection, xorout 0xFFFFFFFF, no length suffix (heartbeat's crc.so). */
export function heartbeatCrc(data: Buffer): number {
  let c = 0;
  for (let i = 0; i < data.length; i++) c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  return (c ^ 0xffffffff) >>> 0;
}

const HMAC_DIGEST: Record<Exclude<AuthMethod, 'crc'>, string> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256' };

/**
 * The token text heartbeat puts on the wire: crc as `%lx` (no zero padding), the HMACs as
 * lowercase hex digests. `key` is ignored for crc.
 */
export function authToken(method: AuthMethod, key: Buffer, data: Buffer): string {
  if (method === 'crc') return heartbeatCrc(data).toString(16);
  const digest = HMAC_DIGEST[method];
  if (digest === undefined) throw new TypeError(`auth method must be one of crc, md5, sha1, sha256 (got ${String(method)})`);
  return crypto.createHmac(digest, key).update(data).digest('hex');
}

/** Constant-time comparison of two tokens; a length difference leaks only the length. */
export function tokenEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'latin1');
  const y = Buffer.from(b, 'latin1');
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export const AUTH_METHODS: readonly AuthMethod[] = ['crc', 'md5', 'sha1', 'sha256'];
