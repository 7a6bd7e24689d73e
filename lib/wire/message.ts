// Building and reading heartbeat messages (spec §2): an ordered field list where lookups
// take the first field of a name and "modify" replaces in place or appends (cl_msg_mod).
import { EncodeError } from './errors';
import { FT_BINARY, FT_LIST, FT_STRING, FT_STRUCT, type Field, type Message } from './types';

/** "cib.status.x": where a field sits in nested structs, for error messages. */
export function fieldPath(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** A field name as the latin1 bytes heartbeat sends; empty names and characters above U+00FF are refused. */
export function nameBytes(name: string, path: string): Buffer {
  if (name.length === 0) throw new EncodeError(path, 'field name is empty');
  if (/[^\u0000-\u00ff]/.test(name)) throw new EncodeError(path, 'field name has characters above U+00FF (names are latin1 bytes)');
  return Buffer.from(name, 'latin1');
}

/** A string field; the text is stored as latin1 bytes so every byte value round-trips. */
export function str(name: string, value: string): Field {
  return { name, type: FT_STRING, value: Buffer.from(value, 'latin1') };
}

export function bin(name: string, value: Buffer): Field {
  return { name, type: FT_BINARY, value };
}

export function struct(name: string, value: Message): Field {
  return { name, type: FT_STRUCT, value };
}

export function list(name: string, items: readonly string[]): Field {
  return { name, type: FT_LIST, value: items.map((s) => Buffer.from(s, 'latin1')) };
}

export function getField(msg: Message, name: string): Field | undefined {
  return msg.find((f) => f.name === name);
}

/** The first field named `name` if it is a string, as latin1 text. */
export function get(msg: Message, name: string): string | undefined {
  const f = getField(msg, name);
  return f?.type === FT_STRING ? f.value.toString('latin1') : undefined;
}

/** The raw bytes of the first field named `name` if it is a string or binary field. */
export function getBuffer(msg: Message, name: string): Buffer | undefined {
  const f = getField(msg, name);
  return f?.type === FT_STRING || f?.type === FT_BINARY ? f.value : undefined;
}

/** Replaces the first field with the same name (keeping its position), else appends. */
export function modifyOrAppend(msg: Message, field: Field): Message {
  const i = msg.findIndex((f) => f.name === field.name);
  if (i < 0) return [...msg, field];
  const out = [...msg];
  out[i] = field;
  return out;
}

/** Appends only when no field of that name exists (heartbeat's "skipped when already present"). */
export function addIfAbsent(msg: Message, field: Field): Message {
  return getField(msg, field.name) ? msg : [...msg, field];
}

/** Heartbeat's `%lx`: lowercase hex, no prefix, no padding. */
export function hex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`hex field value must be a non-negative integer, got ${n}`);
  return n.toString(16);
}

/** Heartbeat's `%d` / `%ld`. */
export function dec(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`decimal field value must be an integer, got ${n}`);
  return String(n);
}

/** Parses a hex field (no sign, no prefix); null when absent or not hex. */
export function getHex(msg: Message, name: string): number | null {
  const s = get(msg, name);
  if (s === undefined || !/^[0-9a-fA-F]{1,13}$/.test(s)) return null;
  return parseInt(s, 16);
}

/** Parses a decimal field; null when absent or not a decimal integer. */
export function getDec(msg: Message, name: string): number | null {
  const s = get(msg, name);
  if (s === undefined || !/^-?[0-9]{1,15}$/.test(s)) return null;
  return parseInt(s, 10);
}

/** Renders 16 bytes as the canonical 8-4-4-4-12 UUID text. */
export function uuidText(b: Buffer): string {
  if (b.length !== 16) throw new RangeError(`a UUID has 16 bytes, got ${b.length}`);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Parses 8-4-4-4-12 UUID text into its 16 bytes; null when malformed. */
export function parseUuid(s: string): Buffer | null {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s) ? Buffer.from(s.replace(/-/g, ''), 'hex') : null;
}
