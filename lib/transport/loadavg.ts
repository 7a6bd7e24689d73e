// The `ld` control field (spec §4): the first line of /proc/loadavg, informational only, so it is
// re-read at most once a second rather than on every packet.
import * as fs from 'node:fs';

export class LoadAvg {
  private text = 'n/a';
  private readAt = -Infinity;

  constructor(private readonly file = '/proc/loadavg') {}

  /** The current text at mono ms `now` ("n/a" when the file cannot be read, as heartbeat). */
  read(now: number): string {
    if (now - this.readAt >= 1000) {
      this.readAt = now;
      try {
        this.text = fs.readFileSync(this.file, 'latin1').split('\n', 1)[0]!.trim() || 'n/a';
      } catch {
        this.text = 'n/a';
      }
    }
    return this.text;
  }
}
