// The daemon's log lines for the transports' auth-fail reports (one per source and second, names
// already escaped): heartbeat's texts with the count, source, link and reason added. An outsider
// controls how many sources there are, so at most `limit` lines per period are written; the rest
// are summed up in one line when the period ends. Pure, with the caller's clock.
import type { Level } from './levels';

export interface AuthFailReport {
  readonly link: string;
  readonly source: string;
  readonly reason: string;
  readonly node: string | null;
  readonly count: number;
}

export interface LogLine {
  readonly level: Level;
  readonly text: string;
}

export const AUTH_FAIL_LOG_LIMIT = 10;
export const AUTH_FAIL_LOG_PERIOD_MS = 60_000;

const packets = (n: number) => `${n} packet${n === 1 ? '' : 's'}`;

export class AuthFailLog {
  private periodStart = -Infinity;
  private logged = 0;
  private suppressedPackets = 0;
  private readonly suppressedSources = new Set<string>();

  /** `isNode`: a normal or ping node of ha.cf (heartbeat says "bad node" for any other name). */
  constructor(
    private readonly isNode: (name: string) => boolean,
    private readonly limit = AUTH_FAIL_LOG_LIMIT,
    private readonly periodMs = AUTH_FAIL_LOG_PERIOD_MS,
  ) {}

  note(e: AuthFailReport, now: number): LogLine[] {
    const out = this.flush(now);
    if (now >= this.periodStart + this.periodMs) {
      this.periodStart = now;
      this.logged = 0;
    }
    if (this.logged >= this.limit) {
      this.suppressedPackets += e.count;
      this.suppressedSources.add(`${e.source} on ${e.link}`);
      return out;
    }
    this.logged++;
    const what = `${packets(e.count)} in 1 s from ${e.source} on ${e.link}: ${e.reason}`;
    const replay = /^replayed packet of an older generation (\[gen = \d+, curgen = \d+\])$/.exec(e.reason);
    if (replay && e.node !== null) out.push({ level: 'ERROR', text: `should_drop_message: attempted replay attack [${e.node}]? ${replay[1]} (${packets(e.count)} in 1 s from ${e.source} on ${e.link})` });
    else if (e.node === null) out.push({ level: 'WARN', text: `hbd: ${what}; dropped (not a heartbeat packet of this cluster)` });
    else if (!this.isNode(e.node)) out.push({ level: 'ERROR', text: `process_status_message: bad node [${e.node}] in message (${what})` });
    else out.push({ level: 'WARN', text: `string2msg_ll: node [${e.node}] failed authentication (${what})` });
    return out;
  }

  /** The summary of what the period that ended by `now` did not log one by one. */
  flush(now: number): LogLine[] {
    if (this.suppressedPackets === 0 || now < this.periodStart + this.periodMs) return [];
    const text = `hbd: ${packets(this.suppressedPackets)} from ${this.suppressedSources.size} more source(s) failed authentication in the last ${Math.round(this.periodMs / 1000)} s (only the first ${this.limit} reports of a period are logged)`;
    this.suppressedPackets = 0;
    this.suppressedSources.clear();
    return [{ level: 'WARN', text }];
  }

  /** When flush() has something to say; Infinity when nothing is suppressed. */
  nextDue(): number {
    return this.suppressedPackets > 0 ? this.periodStart + this.periodMs : Infinity;
  }
}
