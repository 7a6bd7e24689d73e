// Heartbeat's classic `name=value` encoding (spec §3.1; GLUE cl_msg.c msg2string_buf(),
// string2msg_ll(), cl_msg_types.c *2string/string2*). Structs nest a whole `>>>`…`<<<`
// message whose newlines become a per-depth control byte, so one field stays one line.
import { DecodeError, EncodeError } from './errors';
import { decodeList, encodeList } from './lenstr';
import { fieldPath, nameBytes } from './message';
import { AUTH_FIELD, CLASSIC_END, CLASSIC_START, MAXDEPTH, NESTED_NEWLINE_SYMS, NEWLINE_SYM } from './limits';
import { FT_BINARY, FT_COMPRESS, FT_LIST, FT_STRING, FT_STRUCT, type Field, type Message } from './types';

const NL = 0x0a;
const EQ = 0x3d;

/** The first byte classic text at `depth` cannot carry: NUL, `extra`, or a newline stand-in of an enclosing struct. */
function forbidden(b: Buffer, depth: number, extra: readonly number[]): number | undefined {
  const outer = NESTED_NEWLINE_SYMS.slice(0, depth);
  return b.find((c) => c === 0 || extra.includes(c) || outer.includes(c));
}

function byteName(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`;
}

function classicValueText(f: Field, depth: number, path: string): Buffer {
  switch (f.type) {
    case FT_STRING: {
      const bad = forbidden(f.value, depth, [NEWLINE_SYM]);
      if (bad !== undefined) throw new EncodeError(path, `classic string values cannot contain byte ${byteName(bad)} at depth ${depth}`);
      const out = Buffer.from(f.value);
      for (let i = 0; i < out.length; i++) if (out[i] === NL) out[i] = NEWLINE_SYM;
      return out;
    }
    case FT_BINARY:
    case FT_COMPRESS:
      return Buffer.from(f.value.toString('base64'), 'latin1');
    case FT_STRUCT: {
      if (depth >= MAXDEPTH) throw new EncodeError(path, `structs nest at most ${MAXDEPTH} levels`);
      const nested = encodeClassicMessage(f.value, depth + 1, path);
      const sym = NESTED_NEWLINE_SYMS[depth]!;
      for (let i = 0; i < nested.length; i++) if (nested[i] === NL) nested[i] = sym;
      return nested;
    }
    case FT_LIST: {
      if (f.value.length === 0) throw new EncodeError(path, 'heartbeat cannot carry an empty list');
      for (const item of f.value) {
        if (item.length === 0) throw new EncodeError(path, 'heartbeat cannot carry an empty list item');
        const bad = forbidden(item, depth, [NL]);
        if (bad !== undefined) throw new EncodeError(path, `classic list items cannot contain byte ${byteName(bad)} at depth ${depth}`);
      }
      return encodeList(f.value);
    }
  }
}

/**
 * The field lines `[(d)]name=text\n` of a message at `depth`. With `skipAuth` every field
 * named `auth` is left out: that is the NOHEAD text the classic signature covers (§6.3).
 */
export function classicFieldLines(msg: Message, depth: number, skipAuth: boolean, prefix = ''): Buffer {
  const parts: Buffer[] = [];
  for (const f of msg) {
    if (skipAuth && f.name === AUTH_FIELD) continue;
    const path = fieldPath(prefix, f.name);
    const name = nameBytes(f.name, path);
    // Only an untyped name can be mistaken for a "(d)" prefix; a typed one comes after its own.
    if (name[0] === 0x28 && f.type === FT_STRING) throw new EncodeError(path, "classic string field names cannot start with '(' (it would read as a type prefix)");
    const bad = forbidden(name, depth, [EQ, NL]);
    if (bad !== undefined) throw new EncodeError(path, `classic field names cannot contain byte ${byteName(bad)}`);
    if (f.type !== FT_STRING) parts.push(Buffer.from(`(${f.type})`, 'latin1'));
    parts.push(name, Buffer.from('=', 'latin1'), classicValueText(f, depth, path), Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** `>>>\n` + field lines + `<<<\n` (no trailing NUL: the codec adds it for datagrams). */
export function encodeClassicMessage(msg: Message, depth = 0, prefix = ''): Buffer {
  return Buffer.concat([CLASSIC_START, classicFieldLines(msg, depth, false, prefix), CLASSIC_END]);
}

function canonicalBase64(text: Buffer, at: number): Buffer {
  const s = text.toString('latin1');
  const bytes = Buffer.from(s, 'base64');
  if (bytes.toString('base64') !== s) throw new DecodeError('bad-base64', at, `value is not canonical base64 (${s.length > 24 ? s.slice(0, 24) + '…' : s || 'empty'})`);
  return bytes;
}

export interface ParsedClassic {
  readonly message: Field[];
  /** Packet offset of each field's line, for error reports. */
  readonly offsets: number[];
  /** Position just after `<<<\n`. */
  readonly end: number;
}

/**
 * Parses `>>>\n`…`<<<\n` from the start of `b` (a nested message's text already has its
 * newlines restored). `base` is b[0]'s offset in the packet, used in every error.
 */
export function parseClassicMessage(b: Buffer, base: number, depth: number): ParsedClassic {
  if (!b.subarray(0, 4).equals(CLASSIC_START)) {
    throw depth === 0 ? new DecodeError('bad-magic', base, 'packet starts with neither ">>>\\n" nor "###\\n"') : new DecodeError('bad-field', base, 'struct value does not start with ">>>"');
  }
  const message: Field[] = [];
  const offsets: number[] = [];
  let p = 4;
  for (;;) {
    // Heartbeat skips blank lines between fields.
    while (p < b.length && b[p] === NL) p++;
    if (p >= b.length || b[p] === 0) throw new DecodeError('truncated', base + p, 'message ends before the "<<<" end marker');
    if (b[p] === 0x3c && b.subarray(p, p + 4).equals(CLASSIC_END)) return { message, offsets, end: p + 4 };
    const eol = b.indexOf(NL, p);
    if (eol < 0) throw new DecodeError('truncated', base + b.length, 'last line has no newline and no "<<<" end marker follows');
    const nul = b.subarray(p, eol).indexOf(0);
    if (nul >= 0) throw new DecodeError('bad-field', base + p + nul, 'NUL byte inside a field line');
    offsets.push(base + p);
    message.push(parseLine(b, p, eol, base, depth));
    p = eol + 1;
  }
}

function parseLine(b: Buffer, p: number, eol: number, base: number, depth: number): Field {
  const eq = b.subarray(p, eol).indexOf(EQ);
  if (eq < 0) throw new DecodeError('bad-field', base + p, "line has no '='");
  if (eq === 0) throw new DecodeError('bad-field', base + p, 'field name is empty');
  let nameStart = p;
  let type = FT_STRING;
  if (b[p] === 0x28) {
    // "(d)" type prefix: heartbeat requires ')' at index 2, a digit, and rejects (0) and ≥ 5 here.
    if (eq < 3 || b[p + 2] !== 0x29) throw new DecodeError('bad-type', base + p, 'type prefix is not "(d)"');
    const d = b[p + 1]! - 0x30;
    if (d < 0 || d > 9) throw new DecodeError('bad-type', base + p + 1, 'type prefix is not a digit');
    if (d === FT_STRING || d > FT_COMPRESS) throw new DecodeError('bad-type', base + p + 1, `type (${d}) is not allowed in classic text`);
    type = d;
    nameStart = p + 3;
    if (nameStart === p + eq) throw new DecodeError('bad-field', base + nameStart, 'field name is empty');
  }
  const name = b.subarray(nameStart, p + eq).toString('latin1');
  const vStart = p + eq + 1;
  const text = b.subarray(vStart, eol);
  const at = base + vStart;
  switch (type) {
    case FT_STRING: {
      const value = Buffer.from(text);
      for (let i = 0; i < value.length; i++) if (value[i] === NEWLINE_SYM) value[i] = NL;
      return { name, type: FT_STRING, value };
    }
    case FT_BINARY:
      return { name, type: FT_BINARY, value: canonicalBase64(text, at) };
    case FT_COMPRESS:
      return { name, type: FT_COMPRESS, value: canonicalBase64(text, at) };
    case FT_LIST:
      return { name, type: FT_LIST, value: decodeList(text, at) };
    default: {
      if (depth >= MAXDEPTH) throw new DecodeError('too-deep', at, `struct nested deeper than ${MAXDEPTH} levels`);
      const sym = NESTED_NEWLINE_SYMS[depth]!;
      const nested = Buffer.from(text);
      for (let i = 0; i < nested.length; i++) if (nested[i] === sym) nested[i] = NL;
      const inner = parseClassicMessage(nested, at, depth + 1);
      if (inner.end !== nested.length) throw new DecodeError('bad-field', at + inner.end, 'stray bytes after the nested "<<<"');
      return { name, type: FT_STRUCT, value: inner.message };
    }
  }
}

/** A whole classic datagram: the message, then nothing or a single NUL. */
export function decodeClassicPacket(packet: Buffer): ParsedClassic {
  const parsed = parseClassicMessage(packet, 0, 0);
  const rest = packet.length - parsed.end;
  if (rest > 1 || (rest === 1 && packet[parsed.end] !== 0)) throw new DecodeError('bad-field', parsed.end, `${rest} stray byte(s) after "<<<"`);
  return parsed;
}
