// Typed builders for every message hbd sends (spec §5), and the control fields every
// cluster message gets before it is signed (spec §4). Field order is heartbeat's, so the
// packets are byte-identical with a heartbeat 3.0 node's (Appendix A).
import { addIfAbsent, bin, dec, get, hex, modifyOrAppend, str } from './message';
import type { Message } from './types';

/** `t=status`: `st`, `dt` (the sender's deadtime, hex ms), `protocol=1` while flow control is on. */
export function statusMessage(o: { status: string; deadtimeMs: number; flowControl: boolean }): Message {
  const m = [str('t', 'status'), str('st', o.status), str('dt', hex(o.deadtimeMs))];
  return o.flowControl ? [...m, str('protocol', '1')] : m;
}

/** `NS_ackmsg` acknowledging `ackseq` (hex) of node `dest`. */
export function ackMessage(dest: string, ackseq: number): Message {
  return [str('t', 'NS_ackmsg'), str('dest', dest), str('ackseq', hex(ackseq))];
}

/** `NS_rexmit` asking `dest` to resend; sequence numbers are DECIMAL here. */
export function rexmitMessage(dest: string, firstseq: number, lastseq: number): Message {
  return [str('t', 'NS_rexmit'), str('dest', dest), str('firstseq', dec(firstseq)), str('lastseq', dec(lastseq))];
}

export type NakReason = 'seqno too low' | 'seqno not found';

/** `NS_nak_rexmit` telling `dest` that `firstseq` (hex) cannot be resent. */
export function nakRexmitMessage(dest: string, firstseq: number, info: NakReason): Message {
  return [str('t', 'NS_nak_rexmit'), str('firstseq', hex(firstseq)), str('dest', dest), str('info', info)];
}

export function reqnodesMessage(dest: string): Message {
  return [str('t', 'reqnodes'), str('dest', dest)];
}

/** `repnodes`: `dest` comes FIRST; each node name is followed by one space, no deleted nodes is " ". */
export function repnodesMessage(dest: string, nodes: readonly string[], deleted: readonly string[]): Message {
  const spaced = (names: readonly string[]): string => names.map((n) => `${n} `).join('');
  return [str('dest', dest), str('t', 'repnodes'), str('nodelist', spaced(nodes)), str('delnodelist', deleted.length ? spaced(deleted) : ' ')];
}

export function startingMessage(): Message {
  return [str('t', 'starting')];
}

export type RscHold = 'none' | 'local' | 'foreign' | 'all';

/** The MCP's `resource` message (hb_send_resources_held): rtype=full, isstable, optional comment. */
export function resourceMessage(o: { rscHold: RscHold; stable: boolean; info?: string }): Message {
  const m = [str('t', 'resource'), str('rsc_hold', o.rscHold), str('rtype', 'full'), str('isstable', o.stable ? '1' : '0')];
  return o.info === undefined ? m : [...m, str('info', o.info)];
}

/** The scripts' `resource` message (mach_down, ask_resources): rsc_hold and info only. */
export function resourceScriptMessage(rscHold: RscHold, info: string): Message {
  return [str('t', 'resource'), str('rsc_hold', rscHold), str('info', info)];
}

export type AskInfo = 'me' | 'other' | 'done' | 'not';

export function askResourcesMessage(rscHold: RscHold, info: AskInfo): Message {
  return [str('t', 'ask_resources'), str('rsc_hold', rscHold), str('info', info)];
}

/** Legacy failback: ask who owns the group whose key (first resource) is `ipaddr`. */
export function ipRequestMessage(ipaddr: string): Message {
  return [str('t', 'ip-request'), str('ipaddr', ipaddr)];
}

export function ipRequestRespMessage(dest: string, ipaddr: string, weown: boolean): Message {
  return [str('t', 'ip-request-resp'), str('dest', dest), str('ipaddr', ipaddr), str('weown', weown ? 'yes' : 'no'), str('ok', 'OK')];
}

export type TakeoverHold = 'all' | 'local' | 'foreign' | 'failback';

export function takeoverMessage(rscHold: TakeoverHold): Message {
  return [str('t', 'hb_takeover'), str('rsc_hold', rscHold)];
}

/** Sent when every resource has been released during shutdown. */
export function shutdoneMessage(): Message {
  return [str('t', 'shutdone'), str('st', 'dead')];
}

export interface ControlContext {
  /** Local node name (`src`). */
  readonly node: string;
  /** Local node UUID, 16 bytes (`srcuuid`). */
  readonly uuid: Buffer;
  /** This message's sequence number; required unless the type starts with `NS_`. */
  readonly seq?: number;
  /** Heartbeat generation (`hg`). */
  readonly generation: number;
  /** Send time, Unix seconds (`ts`). */
  readonly nowSec: number;
  /** First line of /proc/loadavg without the newline, or "n/a" (`ld`). */
  readonly loadavg: string;
  /** hopfudge + configured node count (`ttl`). */
  readonly ttl: number;
  /** UUID of the node named in `dest`, when known (`destuuid`). */
  readonly destUuid?: Buffer;
}

/**
 * heartbeat's add_control_msg_fields() (spec §4) without the final `auth` (the codec signs):
 * destuuid, then src, srcuuid, seq, hg, ts, ld, ttl, each modify-or-append. `NS_` types get
 * no seq and no ld, and keep an existing src/srcuuid/hg/ts/ttl.
 */
export function addControlFields(msg: Message, ctx: ControlContext): Message {
  if (ctx.uuid.length !== 16) throw new RangeError(`node UUID must be 16 bytes, got ${ctx.uuid.length}`);
  let m = msg;
  if (get(m, 'dest') !== undefined && ctx.destUuid) {
    if (ctx.destUuid.length !== 16) throw new RangeError(`destination UUID must be 16 bytes, got ${ctx.destUuid.length}`);
    m = modifyOrAppend(m, bin('destuuid', ctx.destUuid));
  }
  const type = get(m, 't');
  const ns = type !== undefined && type.startsWith('NS_');
  const set = ns ? addIfAbsent : modifyOrAppend;
  m = set(m, str('src', ctx.node));
  m = set(m, bin('srcuuid', ctx.uuid));
  if (!ns) {
    if (ctx.seq === undefined) throw new RangeError(`message t=${type ?? '(none)'} needs a sequence number`);
    m = modifyOrAppend(m, str('seq', hex(ctx.seq)));
  }
  m = set(m, str('hg', hex(ctx.generation)));
  m = set(m, str('ts', hex(ctx.nowSec)));
  if (!ns) m = modifyOrAppend(m, str('ld', ctx.loadavg));
  m = set(m, str('ttl', dec(ctx.ttl)));
  return m;
}

