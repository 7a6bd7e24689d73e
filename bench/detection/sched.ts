// Whether ha.cf `realtime` really took: the scheduling policy of each thread of a process, read
// from /proc (the engine reports a refusal only as a process warning on stderr).
import * as fs from 'node:fs';

/** Field 41 of /proc/<pid>/task/<tid>/stat: 0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR, … */
export function schedPolicy(statLine: string): number {
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = statLine.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc stat line: ${JSON.stringify(statLine.slice(0, 80))}`);
  const fields = statLine.slice(close + 2).split(' ');
  const policy = Number(fields[41 - 3]);
  if (!Number.isInteger(policy)) throw new Error(`no scheduling policy (field 41) in /proc stat line: ${JSON.stringify(statLine.slice(0, 80))}`);
  return policy;
}

/** Threads of `pid` running SCHED_FIFO or SCHED_RR; null when the process is gone. */
export function realtimeThreads(pid: number): number | null {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let n = 0;
  for (const tid of tids) {
    try {
      const policy = schedPolicy(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      if (policy === 1 || policy === 2) n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}
