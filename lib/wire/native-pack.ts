// The JS side of native/packed.h: messages and keys go to the addon packed into one Buffer,
// decode results come back as one Buffer and are unpacked here into the shapes of
// lib/wire/types.ts. Walking JS objects through Node-API costs about a microsecond per
// field each way; this costs a fraction of that. Arguments are checked here, with
// TypeErrors naming the argument path, since the addon only sees bytes.
import { EncodeError } from './errors';
import { AUTH_FIELD, MAXDEPTH } from './limits';
import type { AuthKeys, AuthMethod, AuthVerdict, DecodeResult, Field, Message, WireFormat } from './types';

const METHODS: readonly AuthMethod[] = ['crc', 'md5', 'sha1', 'sha256'];
const NOT_LATIN1 = /[^\x00-\xff]/;
const SHORT = 48;

/** A growable byte writer, reused between calls (the addon copies what it reads). */
class Packer {
  private buf: Buffer;
  private pos = 0;
  busy = false;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  start(): void {
    this.pos = 0;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.room(4);
    const b = this.buf;
    b[this.pos++] = v & 0xff;
    b[this.pos++] = (v >>> 8) & 0xff;
    b[this.pos++] = (v >>> 16) & 0xff;
    b[this.pos++] = v >>> 24;
  }

  // Heartbeat's fields are short: below SHORT bytes a JS loop beats a call into Buffer's C++.
  bytes(b: Buffer): void {
    this.u32(b.length);
    this.room(b.length);
    if (b.length < SHORT) for (let i = 0; i < b.length; i++) this.buf[this.pos++] = b[i]!;
    else this.pos += b.copy(this.buf, this.pos);
  }

  /** A string whose code units are all ≤ 0xFF, as its latin1 bytes. */
  latin1(s: string): void {
    this.u32(s.length);
    this.room(s.length);
    if (s.length < SHORT) for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
    else this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const shared = new Packer(4096);

function isIntegerIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * `argAt` names the array for TypeErrors ("message", "message[2].value"), `namePrefix` the
 * field path for EncodeErrors ("outer.inner"). `skipAuth`: the first top-level `auth` field
 * is replaced by the signer, so only its name is packed (the TS codec never looks inside it).
 */
function packFields(p: Packer, fields: readonly unknown[], argAt: string, namePrefix: string, depth: number, skipAuth: { pending: boolean }): void {
  p.u32(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (typeof f !== 'object' || f === null) throw new TypeError(`${argAt}[${i}] must be a field object {name, type, value}`);
    const { name, type, value } = f as { name: unknown; type: unknown; value: unknown };
    if (typeof name !== 'string') throw new TypeError(`${argAt}[${i}].name must be a string`);
    const path = namePrefix ? `${namePrefix}.${name}` : name;
    if (NOT_LATIN1.test(name)) throw new EncodeError(path, 'field name has characters above U+00FF (names are latin1 bytes)');
    if (skipAuth.pending && depth === 0 && name === AUTH_FIELD) {
      skipAuth.pending = false;
      p.u8(0);
      p.latin1(name);
      p.u32(0);
      continue;
    }
    if (!isIntegerIn(type, 0, 4)) throw new TypeError(`${argAt}[${i}].type must be 0, 1, 2, 3 or 4`);
    p.u8(type);
    p.latin1(name);
    if (type === 2) {
      if (!Array.isArray(value)) throw new TypeError(`${argAt}[${i}].value must be an array of fields (type 2)`);
      // Too deep to encode: the encoder refuses this field by its path without looking
      // inside, and not following it keeps a cyclic structure finite.
      if (depth >= MAXDEPTH) p.u32(0);
      else packFields(p, value, `${argAt}[${i}].value`, path, depth + 1, skipAuth);
    } else if (type === 3) {
      if (!Array.isArray(value)) throw new TypeError(`${argAt}[${i}].value must be an array of Buffers (type 3)`);
      p.u32(value.length);
      for (let k = 0; k < value.length; k++) {
        const item: unknown = value[k];
        if (!Buffer.isBuffer(item)) throw new TypeError(`${argAt}[${i}].value[${k}] must be a Buffer`);
        p.bytes(item);
      }
    } else {
      if (!Buffer.isBuffer(value)) throw new TypeError(`${argAt}[${i}].value must be a Buffer`);
      p.bytes(value);
    }
  }
}

/**
 * Packs `message` for encodePacked(). The result is only valid until the next call (it is a
 * view of a reused buffer), which is enough for a synchronous addon call.
 */
export function packMessage(message: Message, format: WireFormat): Buffer {
  if (!Array.isArray(message)) throw new TypeError('message must be an array of fields');
  // A field getter that encodes again must not overwrite the shared buffer under us.
  const p = shared.busy ? new Packer(4096) : shared;
  p.busy = true;
  try {
    p.start();
    packFields(p, message, 'message', '', 0, { pending: format !== 'netstring' });
    return p.result();
  } finally {
    p.busy = false;
  }
}

export function packKeys(keys: AuthKeys | null, allowNull: boolean): Buffer | null {
  if (keys === null && allowNull) return null;
  if (typeof keys !== 'object' || keys === null) throw new TypeError(allowNull ? 'keys must be an AuthKeys object {sendIndex, keys} or null' : 'keys must be an AuthKeys object {sendIndex, keys}');
  const { sendIndex, keys: list } = keys as { sendIndex: unknown; keys: unknown };
  if (!isIntegerIn(sendIndex, 0, 15)) throw new TypeError('keys.sendIndex must be an integer 0-15');
  if (!Array.isArray(list) || list.length > 255) throw new TypeError('keys.keys must be an array of at most 255 {index, method, key}');
  const p = new Packer(64);
  p.u8(sendIndex);
  p.u8(list.length);
  for (let i = 0; i < list.length; i++) {
    const k: unknown = list[i];
    if (typeof k !== 'object' || k === null) throw new TypeError(`keys.keys[${i}] must be an object {index, method, key}`);
    const { index, method, key } = k as { index: unknown; method: unknown; key: unknown };
    if (!isIntegerIn(index, 0, 15)) throw new TypeError(`keys.keys[${i}].index must be an integer 0-15`);
    const m = METHODS.indexOf(method as AuthMethod);
    if (m < 0) throw new TypeError(`keys.keys[${i}].method must be one of crc, md5, sha1, sha256`);
    if (!Buffer.isBuffer(key)) throw new TypeError(`keys.keys[${i}].key must be a Buffer`);
    p.u8(index);
    p.u8(m);
    p.bytes(key);
  }
  return p.result();
}

/** Reads the addon's packed decode result; values are views of `b`, which nothing else holds. */
class Unpacker {
  private pos = 4;

  constructor(private readonly b: Buffer) {}

  private u32(): number {
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  private bytes(): Buffer {
    const n = this.u32();
    const start = this.pos;
    this.pos += n;
    return this.b.subarray(start, this.pos);
  }

  private latin1(): string {
    const n = this.u32();
    const start = this.pos;
    this.pos += n;
    // Field names are short, and V8 builds short strings faster from char codes than
    // Buffer#toString does through C++ (no cons strings below 13 characters).
    if (n > 12) return this.b.toString('latin1', start, this.pos);
    let s = '';
    for (let i = start; i < this.pos; i++) s += String.fromCharCode(this.b[i]!);
    return s;
  }

  message(): Field[] {
    const count = this.u32();
    const out: Field[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const type = this.b[this.pos++]!;
      const name = this.latin1();
      switch (type) {
        case 0:
          out[i] = { name, type: 0, value: this.bytes() };
          break;
        case 1:
          out[i] = { name, type: 1, value: this.bytes() };
          break;
        case 2:
          out[i] = { name, type: 2, value: this.message() };
          break;
        case 3: {
          const items: Buffer[] = new Array(this.u32());
          for (let k = 0; k < items.length; k++) items[k] = this.bytes();
          out[i] = { name, type: 3, value: items };
          break;
        }
        default:
          out[i] = { name, type: 4, value: this.bytes() };
      }
    }
    return out;
  }
}

function verdict(code: number, index: number, method: AuthMethod): AuthVerdict {
  switch (code) {
    case 0:
      return { verdict: 'ok', index, method };
    case 1:
      return { verdict: 'bad-signature', index, method };
    case 2:
      return { verdict: 'unknown-key-index', index };
    case 3:
      return { verdict: 'unsigned' };
    default:
      return { verdict: 'unverified' };
  }
}

export function unpackDecoded(b: Buffer): DecodeResult {
  return { format: b[0] === 1 ? 'classic' : 'netstring', message: new Unpacker(b).message(), auth: verdict(b[1]!, b[2]!, METHODS[b[3]!]!) };
}
