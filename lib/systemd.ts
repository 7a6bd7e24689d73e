// systemd's service protocol as hbd uses it (sd_notify(3), sd_watchdog_enabled(3)): from the
// environment systemd gives a Type=notify service, whether and how often to feed its watchdog.
// Sending is native (lib/native.ts sdNotify, the engine's own thread for WATCHDOG=1).

export interface WatchdogSetting {
  readonly socket: string;
  readonly intervalMs: number;
}

/**
 * The watchdog to feed, null when there is none: NOTIFY_SOCKET and WATCHDOG_USEC set, and
 * WATCHDOG_PID, when present, naming this process (a child must not feed its parent's watchdog).
 * A malformed WATCHDOG_USEC is an error naming the variable.
 */
export function watchdogFromEnv(env: NodeJS.ProcessEnv, pid: number): WatchdogSetting | null {
  const socket = env.NOTIFY_SOCKET;
  const usec = env.WATCHDOG_USEC;
  if (!socket || usec === undefined || usec === '') return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && env.WATCHDOG_PID !== String(pid)) return null;
  if (!/^\d+$/.test(usec) || Number(usec) < 2000) throw new Error(`environment: WATCHDOG_USEC=${JSON.stringify(usec)} must be a whole number of microseconds ≥ 2000 (systemd's WatchdogSec=)`);
  return { socket, intervalMs: Number(usec) / 1000 };
}
