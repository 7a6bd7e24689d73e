// Heartbeat's netstring encoding (spec §3.2; GLUE cl_netstring.c msg2netstring_buf(),
// netstring2msg_rec(), process_netstring_nvpair()): `###\n`, one `<len>:(d)name=value,`
// per field with raw values, `%%%\n`. Structs nest a whole `###`…`%%%` message.
import { DecodeError, EncodeError } from './errors';
import { decodeList, encodeList, lenStr, peelLenStr } from './lenstr';
import { MAXDEPTH, NETSTRING_END, NETSTRING_START } from './limits';
import { fieldPath, nameBytes } from './message';
import { FT_BINARY, FT_COMPRESS, FT_LIST, FT_STRING, FT_STRUCT, type Field, type Message } from './types';

const EQ = 0x3d;

function netstringValue(f: Field, depth: number, path: string): Buffer {
  switch (f.type) {
    case FT_STRING:
    case FT_BINARY:
    case FT_COMPRESS:
      return f.value;
    case FT_STRUCT:
      if (depth >= MAXDEPTH) throw new EncodeError(path, `structs nest at most ${MAXDEPTH} levels`);
      return encodeNetstringMessage(f.value, depth + 1, path);
    case FT_LIST:
      if (f.value.length === 0) throw new EncodeError(path, 'heartbeat cannot carry an empty list');
      if (f.value.some((i) => i.length === 0)) throw new EncodeError(path, 'heartbeat cannot carry an empty list item');
      return encodeList(f.value);
  }
}

/** `###\n` + one netstring per field + `%%%\n` (no trailer: the codec signs the result). */
export function encodeNetstringMessage(msg: Message, depth = 0, prefix = ''): Buffer {
  const parts: Buffer[] = [NETSTRING_START];
  for (const f of msg) {
    const path = fieldPath(prefix, f.name);
    const name = nameBytes(f.name, path);
    if (name.includes(EQ)) throw new EncodeError(path, "field names cannot contain '='");
    parts.push(lenStr(Buffer.concat([Buffer.from(`(${f.type})`, 'latin1'), name, Buffer.from('=', 'latin1'), netstringValue(f, depth, path)])));
  }
  parts.push(NETSTRING_END);
  return Buffer.concat(parts);
}

export interface ParsedNetstring {
  readonly message: Field[];
  /** Position just after `%%%\n`. */
  readonly end: number;
}

/**
 * Parses `###\n`…`%%%\n` starting at `p0`, never reading at or beyond `limit`.
 * Positions are packet offsets (the buffer is the whole packet).
 */
export function parseNetstringMessage(b: Buffer, p0: number, limit: number, depth: number): ParsedNetstring {
  if (limit - p0 < 4 || !b.subarray(p0, p0 + 4).equals(NETSTRING_START)) {
    throw depth === 0 ? new DecodeError('bad-magic', p0, 'packet starts with neither ">>>\\n" nor "###\\n"') : new DecodeError('bad-field', p0, 'struct value does not start with "###"');
  }
  const message: Field[] = [];
  let p = p0 + 4;
  for (;;) {
    if (p >= limit) throw new DecodeError('truncated', p, 'message ends before the "%%%" end marker');
    if (b[p] === 0x25) {
      if (limit - p >= 4 && b.subarray(p, p + 4).equals(NETSTRING_END)) return { message, end: p + 4 };
      if (NETSTRING_END.subarray(0, limit - p).equals(b.subarray(p, limit))) throw new DecodeError('truncated', limit, 'message ends inside the "%%%" end marker');
    }
    const ns = peelLenStr(b, p, limit, 0, 'bad-netstring', 'truncated', `field ${message.length + 1}`);
    message.push(parseNvpair(b, ns.start, ns.end, depth));
    p = ns.next;
  }
}

function parseNvpair(b: Buffer, s: number, e: number, depth: number): Field {
  // Heartbeat assert()s on a missing "(d)" and indexes its type table with any digit (W5).
  if (e - s < 3 || b[s] !== 0x28 || b[s + 2] !== 0x29) throw new DecodeError('bad-type', s, 'netstring field does not start with "(d)"');
  const d = b[s + 1]! - 0x30;
  if (d < 0 || d > 9) throw new DecodeError('bad-type', s + 1, 'type prefix is not a digit');
  if (d > FT_COMPRESS) throw new DecodeError('bad-type', s + 1, `type (${d}) is not a wire type (0-4)`);
  const nameStart = s + 3;
  const eq = b.subarray(nameStart, e).indexOf(EQ);
  if (eq < 0) throw new DecodeError('bad-field', nameStart, "field has no '='");
  if (eq === 0) throw new DecodeError('bad-field', nameStart, 'field name is empty');
  const name = b.subarray(nameStart, nameStart + eq).toString('latin1');
  const v = nameStart + eq + 1;
  switch (d) {
    case FT_STRING:
      return { name, type: FT_STRING, value: Buffer.from(b.subarray(v, e)) };
    case FT_BINARY:
      return { name, type: FT_BINARY, value: Buffer.from(b.subarray(v, e)) };
    case FT_COMPRESS:
      return { name, type: FT_COMPRESS, value: Buffer.from(b.subarray(v, e)) };
    case FT_LIST:
      return { name, type: FT_LIST, value: decodeList(b.subarray(v, e), v) };
    default: {
      if (depth >= MAXDEPTH) throw new DecodeError('too-deep', v, `struct nested deeper than ${MAXDEPTH} levels`);
      const inner = parseNetstringMessage(b, v, e, depth + 1);
      if (inner.end !== e) throw new DecodeError('bad-field', inner.end, 'stray bytes after the nested "%%%"');
      return { name, type: FT_STRUCT, value: inner.message };
    }
  }
}
