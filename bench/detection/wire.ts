// The victim's heartbeats as the switch saw them: every status datagram from one address in a
// capture, decoded and authenticated, with its capture time (CLOCK_REALTIME ms) and what the
// detection measurement needs from it (generation, seq, advertised deadtime).
import type { Capture } from '../../lib/pcap/reader';
import { readControl } from '../../lib/transport/inbound';
import { decode } from '../../lib/wire/codec';
import { get, getHex } from '../../lib/wire/message';
import type { AuthKeys } from '../../lib/wire/types';

export interface Beat {
  /** Capture time, CLOCK_REALTIME ms (ns resolution in the file; ~0.2 µs left in a double). */
  readonly wallMs: number;
  readonly node: string;
  readonly generation: number;
  readonly seq: number;
  /** The `dt` the sender advertised, ms. */
  readonly dtMs: number;
  readonly status: string;
}

export interface BeatScan {
  readonly beats: Beat[];
  /** Datagrams from the address that were not authenticated status messages, with why. */
  readonly rejected: { readonly frame: number; readonly reason: string }[];
}

/** The status heartbeats sent from `address` (any port), in capture order. */
export function statusBeats(capture: Capture, address: string, keys: AuthKeys): BeatScan {
  const beats: Beat[] = [];
  const rejected: BeatScan['rejected'] = [];
  for (const d of capture.datagrams) {
    if (d.src.address !== address) continue;
    const reject = (reason: string) => void rejected.push({ frame: d.frame, reason });
    if (!d.time) {
      reject('no capture time');
      continue;
    }
    let msg;
    try {
      const r = decode(d.payload, keys);
      if (r.auth.verdict !== 'ok') {
        reject(`auth ${r.auth.verdict}`);
        continue;
      }
      msg = r.message;
    } catch (e) {
      reject((e as Error).message);
      continue;
    }
    const c = readControl(msg);
    if ('error' in c) {
      reject(c.error);
      continue;
    }
    if (c.type !== 'status') continue; // other traffic is no heartbeat
    const dtMs = getHex(msg, 'dt');
    if (dtMs === null) {
      reject('status without hex dt');
      continue;
    }
    beats.push({ wallMs: d.time.seconds * 1000 + d.time.nanos / 1e6, node: c.src, generation: c.generation, seq: c.seq!, dtMs, status: get(msg, 'st') ?? '' });
  }
  return { beats, rejected };
}

/**
 * Send jitter of one run of beats (one sender, one generation): |interval − keepalive| between
 * consecutive scheduled beats, ms. A beat whose status differs from the one before is the extra
 * status sent at once on the change (spec §7.2), off the keepalive schedule by design: it is left
 * out, and the interval spans it, unless it sits a keepalive from the beats on both sides (the
 * change then coincided with a slot and only one status went out).
 */
export function sendJitter(beats: readonly Beat[], keepaliveMs: number): number[] {
  const out: number[] = [];
  const near = (a: Beat, b: Beat) => Math.abs(b.wallMs - a.wallMs - keepaliveMs) < keepaliveMs / 4;
  let prev: Beat | null = null;
  let skipped = 0;
  for (let i = 0; i < beats.length; i++) {
    const b = beats[i]!;
    const next = beats[i + 1];
    const onSlot = prev !== null && next !== undefined && near(prev, b) && near(b, next);
    if (i > 0 && b.status !== beats[i - 1]!.status && !onSlot) {
      skipped++;
      continue;
    }
    // A gap in seq means the capture missed a beat (or another message took a seq): not one interval.
    if (prev && b.seq === prev.seq + 1 + skipped) out.push(Math.abs(b.wallMs - prev.wallMs - keepaliveMs));
    prev = b;
    skipped = 0;
  }
  return out;
}

/** The longest silence between consecutive beats, ms (0 with fewer than two). */
export function longestGap(beats: readonly Beat[]): number {
  let gap = 0;
  for (let i = 1; i < beats.length; i++) gap = Math.max(gap, beats[i]!.wallMs - beats[i - 1]!.wallMs);
  return gap;
}
