// What the daemon process itself uses, sampled at each `hbd status` and metrics scrape: the
// numbers an operator watches for a leak (RSS, descriptors, threads) and where V8 keeps its memory,
// space by space, since most of a node process's private memory is V8's and a growing RSS is only
// explained by which space grows. Costs ~50 µs: a /proc read, a readdir and V8's own counters.
import * as fs from 'node:fs';
import * as v8 from 'node:v8';

import type { ProcessReport } from '../control/types';

/** `Name:\tvalue` of a /proc/PID/status text (proc(5)); NaN when absent. */
export function statusField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

export function sampleProcess(): ProcessReport {
  const status = fs.readFileSync('/proc/self/status', 'latin1');
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    rssBytes: statusField(status, 'VmRSS') * 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    threads: statusField(status, 'Threads'),
    openFds: fs.readdirSync('/proc/self/fd').length,
    heapSpaces: v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, sizeBytes: s.space_size, usedBytes: s.space_used_size })),
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
  };
}
