// The shape of test/vectors/wire-vectors.json, shared by the TypeScript and C++ codec tests,
// and the conversions between its JSON form and the codec's types. Keep the schema fixed:
// the C++ tests read the same file.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FT_BINARY, FT_COMPRESS, FT_LIST, FT_STRING, FT_STRUCT, type AuthKeys, type AuthMethod, type DecodeErrorCode, type Field, type Message } from '../../lib/wire/types';

export interface JsonAuthKeys {
  sendIndex: number;
  keys: { index: number; method: AuthMethod; key: string }[];
}

export type JsonField =
  | { name: string; type: 0 | 1 | 4; value_hex: string }
  | { name: string; type: 2; value: JsonField[] }
  | { name: string; type: 3; items_hex: string[] };

export interface TokenVector {
  method: AuthMethod;
  key: string;
  data_hex: string;
  token: string;
}

export interface PacketVector {
  name: string;
  source: string;
  authkeys: JsonAuthKeys;
  wrong_authkeys: JsonAuthKeys;
  packet_hex: string;
  format: 'classic' | 'netstring';
  reencode_as: 'netstring+auth' | 'netstring' | 'classic';
  fields: JsonField[];
  auth: string;
  auth_wrong_key: string;
}

export interface MalformedVector {
  name: string;
  packet_hex: string;
  code: DecodeErrorCode;
}

export interface VectorFile {
  tokens: TokenVector[];
  packets: PacketVector[];
  malformed: MalformedVector[];
}

/** test/vectors in the source tree (this file runs from dist/test/vectors). */
export const VECTOR_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'vectors');
export const VECTOR_FILE = path.join(VECTOR_DIR, 'wire-vectors.json');
export const CAPTURE_DIR = path.join(VECTOR_DIR, 'captures');

export function loadVectors(): VectorFile {
  return JSON.parse(fs.readFileSync(VECTOR_FILE, 'utf8')) as VectorFile;
}

export function toAuthKeys(j: JsonAuthKeys): AuthKeys {
  return { sendIndex: j.sendIndex, keys: j.keys.map((k) => ({ index: k.index, method: k.method, key: Buffer.from(k.key, 'utf8') })) };
}

export function fromAuthKeys(k: AuthKeys): JsonAuthKeys {
  return { sendIndex: k.sendIndex, keys: k.keys.map((x) => ({ index: x.index, method: x.method, key: x.key.toString('utf8') })) };
}

export function toJsonFields(m: Message): JsonField[] {
  return m.map((f): JsonField => {
    switch (f.type) {
      case FT_STRUCT:
        return { name: f.name, type: FT_STRUCT, value: toJsonFields(f.value) };
      case FT_LIST:
        return { name: f.name, type: FT_LIST, items_hex: f.value.map((b) => b.toString('hex')) };
      default:
        return { name: f.name, type: f.type, value_hex: f.value.toString('hex') };
    }
  });
}

export function fromJsonFields(j: readonly JsonField[]): Message {
  return j.map((f): Field => {
    switch (f.type) {
      case FT_STRUCT:
        return { name: f.name, type: FT_STRUCT, value: fromJsonFields(f.value) };
      case FT_LIST:
        return { name: f.name, type: FT_LIST, value: f.items_hex.map((h) => Buffer.from(h, 'hex')) };
      case FT_STRING:
        return { name: f.name, type: FT_STRING, value: Buffer.from(f.value_hex, 'hex') };
      case FT_BINARY:
        return { name: f.name, type: FT_BINARY, value: Buffer.from(f.value_hex, 'hex') };
      case FT_COMPRESS:
        return { name: f.name, type: FT_COMPRESS, value: Buffer.from(f.value_hex, 'hex') };
    }
  });
}
