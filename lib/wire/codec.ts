// The heartbeat 3.0 wire codec: classic and netstring datagrams in, typed messages and an
// authentication verdict out; messages out in any WireFormat, signed.
//
// Deliberate differences from heartbeat 3.0.6 / cluster-glue 1.0.12 (the C++ codec in
// native/ makes the same choices; test/vectors/wire-vectors.json pins them):
//  - Q2 fixed: a netstring trailer is verified with the key OF THE INDEX THE PACKET NAMES.
//    Heartbeat picks that index's method but always uses its own outgoing key, which breaks
//    key rotation (spec §6.5 Q2, §13 W6).
//  - Tokens are compared in constant time (heartbeat uses strcmp).
//  - W5: malformed input never aborts. A netstring field without "(d)", a type digit 5–9,
//    a length that overruns the datagram, a huge length: each is a DecodeError with a code
//    and the byte offset (heartbeat assert()s, indexes past its type table, or reads past
//    the buffer). Type 5 (FT_UNCOMPRESS) is in-memory only and rejected on the wire.
//  - Verdicts instead of silent drops: no signature → 'unsigned' (heartbeat drops), no keys
//    given → 'unverified' (for `hbd decode` without --authkeys), index not in authkeys →
//    'unknown-key-index'. A signature that is not "<n> <token>" (n: 1–2 digits, token:
//    1–128 printable non-space bytes) is DecodeError 'bad-trailer', for the netstring
//    trailer and for the classic `auth` field alike.
//  - Stricter framing, all of which heartbeat itself never sends: bytes after the netstring
//    trailer, more than one NUL or any other byte after classic "<<<\n", bytes between a
//    length and its ':' , bytes after a nested struct's end marker, a classic NUL inside a
//    line, non-canonical base64, empty lists or list items, a struct deeper than MAXDEPTH
//    in netstring too, and datagrams over MAXMSG (256 KiB) are all rejected.
//  - A line without '=' ends at its newline here; heartbeat's strcspn would run on into the
//    next line and take a name containing '\n'. Both reject the usual case.
// Check order (the vectors depend on it): size (too-large), empty, magic, then the first
// problem met scanning left to right; a malformed trailer is found only after all fields.
import { authToken, tokenEquals } from './auth';
import { classicFieldLines, decodeClassicPacket, encodeClassicMessage } from './classic';
import { DecodeError, EncodeError } from './errors';
import { lenStr, peelLenStr } from './lenstr';
import { AUTH_FIELD, CLASSIC_START, MAXMSG, NETSTRING_START } from './limits';
import { modifyOrAppend, str } from './message';
import { encodeNetstringMessage, parseNetstringMessage } from './netstring';
import { FT_STRING, type AuthKey, type AuthKeys, type AuthVerdict, type DecodeResult, type Message, type WireFormat } from './types';

interface Signature {
  readonly index: number;
  readonly token: string;
}

const SIGNATURE = /^([0-9]{1,2}) ([\x21-\x7e]{1,128})$/;

function parseSignature(text: Buffer, at: number, what: string): Signature {
  const m = SIGNATURE.exec(text.toString('latin1'));
  if (!m) throw new DecodeError('bad-trailer', at, `${what} is not "<index> <token>"`);
  return { index: Number(m[1]), token: m[2]! };
}

function verdict(sig: Signature | null, keys: AuthKeys | null, signed: () => Buffer): AuthVerdict {
  if (sig === null) return { verdict: 'unsigned' };
  if (keys === null) return { verdict: 'unverified' };
  const key = keys.keys.find((k) => k.index === sig.index);
  if (!key) return { verdict: 'unknown-key-index', index: sig.index };
  const ok = tokenEquals(authToken(key.method, key.key, signed()), sig.token);
  return { verdict: ok ? 'ok' : 'bad-signature', index: key.index, method: key.method };
}

function decodeClassic(packet: Buffer, keys: AuthKeys | null): DecodeResult {
  const { message, offsets } = decodeClassicPacket(packet);
  // Heartbeat verifies the LAST auth field over the text of all the others (§6.3).
  let i = message.length - 1;
  while (i >= 0 && !(message[i]!.name === AUTH_FIELD && message[i]!.type === FT_STRING)) i--;
  const sig = i < 0 ? null : parseSignature(message[i]!.value as Buffer, offsets[i]!, 'classic auth field');
  return { format: 'classic', message, auth: verdict(sig, keys, () => classicFieldLines(message, 0, true)) };
}

function decodeNetstring(packet: Buffer, keys: AuthKeys | null): DecodeResult {
  const { message, end } = parseNetstringMessage(packet, 0, packet.length, 0);
  let sig: Signature | null = null;
  if (end < packet.length) {
    const t = peelLenStr(packet, end, packet.length, 0, 'bad-trailer', 'bad-trailer', 'auth trailer');
    if (t.next !== packet.length) throw new DecodeError('bad-trailer', t.next, `${packet.length - t.next} stray byte(s) after the auth trailer`);
    sig = parseSignature(packet.subarray(t.start, t.end), t.start, 'auth trailer');
  }
  return { format: 'netstring', message, auth: verdict(sig, keys, () => packet.subarray(0, end)) };
}

/**
 * Decodes one datagram of either encoding. Throws only DecodeError. `keys` null means "do
 * not verify": a signed packet then gets the verdict 'unverified'.
 */
export function decode(packet: Buffer, keys: AuthKeys | null): DecodeResult {
  if (packet.length > MAXMSG) throw new DecodeError('too-large', MAXMSG, `datagram of ${packet.length} bytes exceeds MAXMSG (${MAXMSG})`);
  if (packet.length === 0) throw new DecodeError('empty', 0, 'zero-length datagram');
  const head = packet.subarray(0, 4);
  if (head.equals(CLASSIC_START)) return decodeClassic(packet, keys);
  if (head.equals(NETSTRING_START)) return decodeNetstring(packet, keys);
  throw new DecodeError('bad-magic', 0, 'packet starts with neither ">>>\\n" nor "###\\n"');
}

function sendKey(keys: AuthKeys): AuthKey {
  const key = keys.keys.find((k) => k.index === keys.sendIndex);
  if (!key) throw new EncodeError('', `authkeys has no key for the send index ${keys.sendIndex}`);
  return key;
}

/** Sets the classic inner `auth` field (modify-or-append, §4 step 4) signed with the send key. */
export function withInnerAuth(message: Message, keys: AuthKeys): Message {
  const key = sendKey(keys);
  const token = authToken(key.method, key.key, classicFieldLines(message, 0, true));
  return modifyOrAppend(message, str(AUTH_FIELD, `${key.index} ${token}`));
}

/**
 * Encodes a message for the wire, signed with `keys.sendIndex`: 'classic' and
 * 'netstring+auth' carry the inner `auth` field, the netstring formats the trailer;
 * classic ends with a NUL (§6.6). Throws EncodeError for what the format cannot carry.
 */
export function encode(message: Message, format: WireFormat, keys: AuthKeys): Buffer {
  let out: Buffer;
  if (format === 'classic') {
    out = Buffer.concat([encodeClassicMessage(withInnerAuth(message, keys)), Buffer.alloc(1)]);
  } else {
    const body = encodeNetstringMessage(format === 'netstring+auth' ? withInnerAuth(message, keys) : message);
    const key = sendKey(keys);
    out = Buffer.concat([body, lenStr(Buffer.from(`${key.index} ${authToken(key.method, key.key, body)}`, 'latin1'))]);
  }
  if (out.length > MAXMSG) throw new EncodeError('', `encoded message is ${out.length} bytes, over MAXMSG (${MAXMSG})`);
  return out;
}
