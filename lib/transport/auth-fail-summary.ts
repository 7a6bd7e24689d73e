// Packets that fail decoding or authentication come from outside the cluster, at whatever rate an
// outsider chooses. Both transports count them here per (link, source) and report each source once
// per window (a second) as one auth-fail event with the count, carrying the reason and claimed node
// of the window's first packet. Bounded: MAX_SOURCES sources per window, the rest counted together
// as one overflow source. Pure, with the caller's clock; native/auth_fail_summary.cc is its twin.

/** What one window reports (the auth-fail TransportEvent without its times). */
export interface AuthFailReport {
  readonly type: 'auth-fail';
  readonly link: string;
  readonly source: string;
  readonly reason: string;
  readonly node: string | null;
  readonly count: number;
}

export const AUTH_FAIL_WINDOW_MS = 1000;
export const MAX_SOURCES = 64;
export const OTHER_SOURCES = '(other sources)';
/** Longest text kept from a packet for a log line (node names); reasons get MAX_REASON. */
export const MAX_LOG_TEXT = 64;
const MAX_REASON = 512;

/**
 * Text from an unauthenticated packet made safe for one log line: printable ASCII stays, every other
 * byte becomes \xNN (UTF-8 bytes one by one, as the C++ twin sees them), and
 * more than `max` bytes are cut with "...". No forged log lines through "\n".
 */
export function escapeForLog(text: string, max = MAX_LOG_TEXT): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (const c of bytes.subarray(0, max)) {
    if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > max ? out + '...' : out;
}

interface Window {
  readonly since: number;
  report: AuthFailReport & { count: number };
}

export class AuthFailSummary {
  private readonly windows = new Map<string, Window>();
  private other: Window | null = null;

  constructor(private readonly windowMs = AUTH_FAIL_WINDOW_MS) {}

  /**
   * Counts one failure at `now`. `describe` (reason and claimed node, unescaped) runs only for the
   * first failure of a source's window.
   */
  note(link: string, source: string, now: number, describe: () => { reason: string; node: string | null }): void {
    const key = `${link}\u0000${source}`;
    const open = this.windows.get(key);
    if (open) {
      open.report.count++;
      return;
    }
    if (this.windows.size >= MAX_SOURCES) {
      if (this.other) this.other.report.count++;
      else this.other = this.open('*', OTHER_SOURCES, now, describe);
      return;
    }
    this.windows.set(key, this.open(link, source, now, describe));
  }

  /** Every window that ended by `now`. */
  flush(now: number): AuthFailReport[] {
    const out: AuthFailReport[] = [];
    for (const [key, w] of this.windows) {
      if (w.since + this.windowMs > now) continue;
      this.windows.delete(key);
      out.push(w.report);
    }
    if (this.other && this.other.since + this.windowMs <= now) {
      out.push(this.other.report);
      this.other = null;
    }
    return out;
  }

  /** When the earliest open window ends (Infinity when none is open). */
  nextDue(): number {
    let due = this.other ? this.other.since + this.windowMs : Infinity;
    for (const w of this.windows.values()) due = Math.min(due, w.since + this.windowMs);
    return due;
  }

  private open(link: string, source: string, now: number, describe: () => { reason: string; node: string | null }): Window {
    const { reason, node } = describe();
    return { since: now, report: { type: 'auth-fail', link, source, reason: escapeForLog(reason, MAX_REASON), node: node === null ? null : escapeForLog(node), count: 1 } };
  }
}
