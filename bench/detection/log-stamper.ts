// Stamps each line of a growing log file with the CLOCK_MONOTONIC time at which it was seen:
//   node dist/bench/detection/log-stamper.js <file>
// prints {"mono":<ms>,"line":"…"} per line and exits when its standard input closes (its parent is
// gone). heartbeat's log says only whole seconds; this is how its verdicts get a time to compare.
// The file is watched (inotify through fs.watch) and also polled every 20 ms in case an event is
// missed; the stamp is read on wake-up, before the file is read.
import * as fs from 'node:fs';

import { monoNowMs } from '../../lib/transport/clock';

/** Splits appended text into complete lines, keeping an unfinished last line for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop()!;
    return parts;
  }
}

const POLL_MS = 20;

function main(argv: readonly string[]): void {
  if (argv.length !== 1) throw new Error('usage: log-stamper <file>');
  const file = argv[0]!;
  const fd = fs.openSync(file, 'r');
  const splitter = new LineSplitter();
  const buf = Buffer.alloc(1 << 16);
  let offset = 0;
  const drain = (): void => {
    const mono = monoNowMs();
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) return;
      offset += n;
      for (const line of splitter.push(buf.toString('latin1', 0, n))) process.stdout.write(JSON.stringify({ mono, line }) + '\n');
    }
  };
  drain();
  fs.watch(file, drain);
  setInterval(drain, POLL_MS);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`log-stamper: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
