// Genuine datagrams refused as replays of an older generation, remembered by their bytes: whoever
// holds a capture of a peer's previous generation can replay it in a loop, and each copy would
// otherwise cost a full decode after its HMAC (about three quarters of the packet core's time for
// such a packet). The verdict stands as long as the peer's generation does, which only grows: the
// caller forgets everything when a peer restarts (the reason names the current generation).
import type { Refusal } from './inbound';

/** Distinct captures remembered; the oldest goes first. */
export const REPLAY_MEMO_ENTRIES = 256;
/** Larger datagrams are not remembered (a status is ~200 bytes): the memo stays under 256 KiB. */
export const REPLAY_MEMO_MAX_BYTES = 1024;

export class ReplayMemo {
  private readonly seen = new Map<string, Refusal>();

  /** The refusal of an identical datagram seen before, if any. */
  get(bytes: Buffer): Refusal | undefined {
    if (this.seen.size === 0 || bytes.length > REPLAY_MEMO_MAX_BYTES) return undefined;
    return this.seen.get(bytes.toString('latin1'));
  }

  add(bytes: Buffer, refusal: Refusal): void {
    if (bytes.length > REPLAY_MEMO_MAX_BYTES) return;
    if (this.seen.size >= REPLAY_MEMO_ENTRIES) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(bytes.toString('latin1'), refusal);
  }

  clear(): void {
    this.seen.clear();
  }
}
