// What a transport needs from a received, decoded packet before liveness sees it (spec §7.6 step 1,
// process_clustermsg() and should_drop_message()): who sent it, its type, seq and generation, and
// whether it is addressed to us. Pure, so both the checks and their wording are tested without sockets.
import { decode } from '../wire/codec';
import { get, getBuffer, getHex } from '../wire/message';
import type { AuthKeys, AuthVerdict, Message } from '../wire/types';

export interface Control {
  readonly src: string;
  readonly type: string;
  /** null for `NS_` types, which carry no sequence number. */
  readonly seq: number | null;
  /** `hg`; heartbeat reads a missing one as 0. */
  readonly generation: number;
}

/** The control fields, or the reason the packet must be dropped (heartbeat logs and drops these too). */
export function readControl(msg: Message): Control | { readonly error: string } {
  const src = get(msg, 'src');
  const type = get(msg, 't');
  if (src === undefined || src === '') return { error: 'no src field' };
  if (type === undefined) return { error: 'no t field' };
  const ts = getHex(msg, 'ts');
  if (ts === null || ts === 0) return { error: `ts ${JSON.stringify(get(msg, 'ts') ?? null)} is not non-zero hex` };
  let seq: number | null = null;
  if (!type.startsWith('NS_')) {
    seq = getHex(msg, 'seq');
    if (seq === null || seq <= 0) return { error: `t=${type} needs a positive hex seq, got ${JSON.stringify(get(msg, 'seq') ?? null)}` };
  }
  let generation = 0;
  if (get(msg, 'hg') !== undefined) {
    const hg = getHex(msg, 'hg');
    if (hg === null) return { error: `hg ${JSON.stringify(get(msg, 'hg'))} is not hex` };
    generation = hg;
  }
  return { src, type, seq, generation };
}

/** heartbeat's IsToUs: `destuuid` when present, else `dest`; neither means broadcast. */
export function isForUs(msg: Message, localNode: string, localUuid: Buffer): boolean {
  const destUuid = getBuffer(msg, 'destuuid');
  if (destUuid !== undefined && destUuid.length === 16 && destUuid.some((b) => b !== 0)) return destUuid.equals(localUuid);
  const dest = get(msg, 'dest');
  return dest === undefined || dest === localNode;
}

/** The auth-fail reason for a verdict other than 'ok'. */
export function verdictReason(v: Exclude<AuthVerdict, { verdict: 'ok' }>): string {
  switch (v.verdict) {
    case 'bad-signature':
      return `bad signature (key ${v.index}, ${v.method})`;
    case 'unknown-key-index':
      return `key index ${v.index} is not in authkeys`;
    case 'unsigned':
      return 'unsigned packet';
    case 'unverified':
      return 'signature not verified';
  }
}

/**
 * The auth-fail reason for a packet of an older generation than its sender's current one (a capture
 * replayed after the sender restarted); native/engine_receive.cc words it the same.
 */
export function replayReason(generation: number, currentGeneration: number): string {
  return `replayed packet of an older generation [gen = ${generation}, curgen = ${currentGeneration}]`;
}

/** Why a packet is refused, and the node it claims: what an auth-fail summary reports. */
export interface Refusal {
  readonly reason: string;
  readonly node: string | null;
}

/**
 * The exact reason for a packet lib/wire/preauth.ts refused unparsed, from a full decode: run only
 * for the first packet of a source's summary window, never per packet of a flood (native/
 * engine_receive.cc DescribeRefused).
 */
export function describeRefused(packet: Buffer, keys: AuthKeys): Refusal {
  let d;
  try {
    d = decode(packet, keys);
  } catch (e) {
    // The codec throws only DecodeError; anything else is still a bad packet, never a crash.
    return { reason: (e as Error).message, node: null };
  }
  const node = get(d.message, 'src') ?? null;
  // decode() refuses whatever the pre-check refuses (test/wire-preauth.test.ts); were they ever to
  // disagree, the packet stays refused, and the report says so.
  return { reason: d.auth.verdict !== 'ok' ? verdictReason(d.auth) : 'refused by the pre-check although decode() verifies it', node };
}
