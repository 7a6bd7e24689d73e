// The node UUID (`srcuuid`, spec §7.10): 16 raw bytes kept in the state directory, or derived
// from the node name like heartbeat's `uuidfrom nodename`.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeErrno } from '../errors';
import { GlibcRand } from './glibc-rand';
import { writeDurably } from './generation';

export const UUID_FILE = 'hb_uuid';

export interface UuidResult {
  readonly uuid: Buffer;
  /** heartbeat's log text when a new UUID was generated. */
  readonly note: string | null;
}

export function loadOrCreateUuid(stateDir: string, method: 'file' | 'nodename', node: string): UuidResult {
  if (method === 'nodename') return { uuid: uuidFromNodename(node), note: null };
  const file = path.join(stateDir, UUID_FILE);
  try {
    const b = fs.readFileSync(file);
    if (b.length === 16) return { uuid: b, note: null };
    throw new Error(`${file} holds ${b.length} bytes, expected a 16-byte UUID; move it away to generate a new one`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      if ((e as NodeJS.ErrnoException).code) throw new Error(describeErrno(e, 'read', file));
      throw e;
    }
  }
  const uuid = crypto.randomBytes(16);
  uuid[6] = (uuid[6] & 0x0f) | 0x40; // RFC 4122 version 4, as libuuid's uuid_generate() makes
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  writeDurably(file, uuid, 0o600);
  return { uuid, note: 'No uuid found for current node - generating a new uuid.' };
}

/** heartbeat's gen_uuid_from_name(): string hash seeds srand(), 32 rand()%16 hex digits. */
export function uuidFromNodename(node: string): Buffer {
  const bytes = Buffer.from(node, 'latin1');
  let h = 0;
  if (bytes.length > 0) {
    h = bytes[0];
    for (let i = 1; i < bytes.length; i++) h = (Math.imul(h, 31) + bytes[i]) | 0;
  }
  const rand = new GlibcRand(h >>> 0);
  let hex = '';
  for (let i = 0; i < 32; i++) hex += (rand.next() % 16).toString(16);
  return Buffer.from(hex, 'hex');
}

export function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
