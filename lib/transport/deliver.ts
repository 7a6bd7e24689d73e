// Handing a batch of transport events to the daemon's handler, for both transports that run their
// packet core on a thread of its own (native engine, TypeScript worker).
import type { TransportEvent } from './types';

/**
 * Every event reaches the handler even when it throws for one of them (a peer-dead later in the
 * batch must not be lost). Its errors surface as uncaught exceptions, as they would from a socket
 * handler on the main thread: thrown from a later tick, not into the caller (the addon's callback,
 * where Node-API would only print a deprecation warning, or the worker's message handler).
 */
export function deliverEvents(events: readonly TransportEvent[], handler: ((e: TransportEvent) => void) | null): void {
  const errors: unknown[] = [];
  for (const e of events) {
    try {
      handler?.(e);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 0) return;
  const error = errors.length === 1 ? errors[0] : new AggregateError(errors, `transport event handler threw ${errors.length} times in one batch`);
  process.nextTick(() => {
    throw error;
  });
}
