// From what a cell recorded — the switch capture (heartbeats, shutdone, ARP; kernel stamps, ns)
// and each node's `ip -ts monitor address` lines (µs, CLOCK_REALTIME) — to per-trial numbers:
//   SIGKILL:  deadline = the victim's last status on the wire + the dt it advertised;
//             present = the VIP's RTM_NEWADDR on the survivor − deadline;
//             arp     = the survivor's first ARP frame for the VIP on the wire − deadline.
//   graceful: present (and arp) − the stopping node's first shutdone on the wire.
import * as fs from 'node:fs';

import { readCapture } from '../../lib/pcap/reader';
import { readControl } from '../../lib/transport/inbound';
import { decode } from '../../lib/wire/codec';
import type { AuthKeys } from '../../lib/wire/types';
import { arps } from '../../test/lab/frames';
import { statusBeats } from '../detection/wire';
import { SECRET, VIP } from './cluster';

const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from(SECRET, 'latin1') }] };

export interface TrialRecord {
  readonly kind: 'kill' | 'graceful';
  /** The node killed or stopped, and the one that should take over. */
  readonly from: { readonly address: string; readonly mac: string };
  readonly to: { readonly name: string; readonly mac: string };
  /** Date.now() just before the signal / `hbd stop`. */
  readonly actWall: number;
  /** Date.now() once the survivor was seen holding the VIP (an upper bound for the search). */
  readonly seenWall: number;
}

export interface TrialResult {
  readonly kind: 'kill' | 'graceful';
  /** ms after the deadline (kill) or after shutdone on the wire (graceful); null when not found. */
  readonly present: number | null;
  readonly arp: number | null;
  /** VIP present − the signal (Date.now(), coarse). */
  readonly sinceAct: number | null;
  /** Why a value is missing. */
  readonly notes: string[];
}

/** `[2026-12-02T03:25:01.123456] 2: eth0    inet 198.18.0.100/24 …` (TZ=UTC) → wall ms of each add. */
export function vipAdds(monitor: string): number[] {
  const out: number[] = [];
  const re = new RegExp(`^\\[(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)\\.(\\d{6})\\] (?!Deleted)\\d+: \\S+\\s+inet ${VIP.replace(/\./g, '\\.')}/`, 'gm');
  for (const m of monitor.matchAll(re)) out.push(Date.parse(`${m[1]}Z`) + Number(m[2]) / 1000);
  return out;
}

/** monitors: each node's `ip -ts monitor address` output, by node name. */
export function analyse(pcap: string, trials: readonly TrialRecord[], monitors: ReadonlyMap<string, string>): TrialResult[] {
  const capture = readCapture(fs.readFileSync(pcap));
  const frames = arps(pcap).filter((a) => a.spa === VIP);
  return trials.map((t) => {
    const notes: string[] = [];
    // Nothing of the victim can be on the wire after the survivor announced the VIP.
    const window = (w: number) => w >= t.actWall - 60_000 && w <= t.seenWall + 1_000;
    let ref: number | null = null;
    if (t.kind === 'kill') {
      const beats = statusBeats(capture, t.from.address, KEYS).beats.filter((b) => window(b.wallMs) && b.wallMs <= t.seenWall);
      const last = beats.filter((b) => b.wallMs <= t.actWall + 50).at(-1);
      if (last) ref = last.wallMs + last.dtMs;
      else notes.push('no status of the victim on the wire before the kill');
    } else {
      const shutdone = capture.datagrams.find((d) => {
        if (d.src.address !== t.from.address || !d.time) return false;
        const w = d.time.seconds * 1000 + d.time.nanos / 1e6;
        if (w < t.actWall - 5 || w > t.seenWall) return false;
        try {
          const c = readControl(decode(d.payload, KEYS).message);
          return !('error' in c) && c.type === 'shutdone';
        } catch {
          return false;
        }
      });
      if (shutdone?.time) ref = shutdone.time.seconds * 1000 + shutdone.time.nanos / 1e6;
      else notes.push('no shutdone of the stopping node on the wire');
    }
    const added = vipAdds(monitors.get(t.to.name) ?? '').find((w) => w >= t.actWall - 1 && w <= t.seenWall + 50) ?? null;
    if (added === null) notes.push('no RTM_NEWADDR of the VIP on the survivor');
    const arp = frames.find((a) => a.ethSrc === t.to.mac && a.at >= t.actWall - 1 && a.at <= t.seenWall + 5_000)?.at ?? null;
    if (arp === null) notes.push("no ARP for the VIP from the survivor's MAC");
    const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    return { kind: t.kind, present: minus(added, ref), arp: minus(arp, ref), sinceAct: minus(added, t.actWall), notes };
  });
}
