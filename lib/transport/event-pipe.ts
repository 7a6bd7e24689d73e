// Events on their way from the packet core's thread to the main thread, bounded as the native
// engine's EventPipe (native/engine_js.cc): one chunk of at most CHUNK events in flight at a time
// (the next leaves when the main thread acknowledged it), at most MAX_PENDING waiting — beyond that
// per-packet events (status, message, auth-fail) are dropped and counted, while liveness and error
// events always get in. So a wedged main thread costs bounded memory, and a flood cannot hide a death.
import type { TransportEvent } from './types';

export const MAX_PENDING = 8192;
export const CHUNK = 256;

/** A packet event: losing one is like losing the packet (membership asks for a retransmit). */
function droppable(e: TransportEvent): boolean {
  return e.type === 'status' || e.type === 'message' || e.type === 'auth-fail';
}

export class EventPipe {
  private pending: TransportEvent[] = [];
  private dropped = 0;
  private inFlight = false;
  private scheduled = false;

  /**
   * @param post hands one chunk to the main thread
   * @param schedule runs the flush later in this thread (after the current task: one chunk per burst)
   * @param now the clocks for the warning about drops
   */
  constructor(
    private readonly post: (events: TransportEvent[]) => void,
    private readonly schedule: (flush: () => void) => void,
    private readonly now: () => { mono: number; wall: number },
  ) {}

  push(e: TransportEvent): void {
    if (this.pending.length >= MAX_PENDING && droppable(e)) this.dropped++;
    else this.pending.push(e);
    this.kick();
  }

  /** The main thread delivered the chunk in flight. */
  ack(): void {
    this.inFlight = false;
    this.kick();
  }

  /** Events waiting (not counting the chunk in flight). */
  get size(): number {
    return this.pending.length;
  }

  private kick(): void {
    if (this.inFlight || this.scheduled || (this.pending.length === 0 && this.dropped === 0)) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.inFlight) return;
    const chunk = this.pending.splice(0, CHUNK);
    if (this.dropped > 0) {
      const message = `${this.dropped} status, message and auth-fail events dropped: JavaScript fell more than ${MAX_PENDING} events behind the transport`;
      chunk.unshift({ ...this.now(), type: 'warning', syscall: 'event queue', errno: 'ENOBUFS', message });
      this.dropped = 0;
    }
    if (chunk.length === 0) return;
    this.inFlight = true;
    this.post(chunk);
  }
}
