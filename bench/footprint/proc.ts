// What a node costs the machine, read from /proc for every live process of its process group (the
// lab starts each node as a group leader; heartbeat and keepalived fork into that group).
import * as fs from 'node:fs';

export interface GroupSample {
  /** utime + stime of the group's live processes, clock ticks (USER_HZ, 100 a second). */
  readonly ticks: number;
  /** Sum of VmRSS, KiB: shared pages count once per process. */
  readonly rssKiB: number;
  /** Sum of Pss (smaps_rollup), KiB: shared pages split between their users; null when unreadable. */
  readonly pssKiB: number | null;
  readonly processes: number;
}

export const USER_HZ = 100;

/** Fields after "pid (comm) " of /proc/PID/stat (comm may hold spaces and parentheses). */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
}

/** A field "Name:   123 kB" of /proc/PID/status or smaps_rollup, KiB; null when absent. */
export function kibField(text: string, name: string): number | null {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null; // the process exited while we looked
  }
};

/** Live (non-zombie) PIDs whose process group is pgid. */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (stat === null) continue;
    const [state, , pgrp] = statFields(stat);
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

export function sampleGroup(pgid: number): GroupSample {
  let ticks = 0;
  let rssKiB = 0;
  let pssKiB: number | null = 0;
  let processes = 0;
  for (const pid of groupPids(pgid)) {
    const stat = read(`/proc/${pid}/stat`);
    const status = read(`/proc/${pid}/status`);
    if (stat === null || status === null) continue;
    const f = statFields(stat);
    ticks += Number(f[11]) + Number(f[12]); // utime, stime: fields 14 and 15 of stat(5)
    rssKiB += kibField(status, 'VmRSS') ?? 0;
    const pss = kibField(read(`/proc/${pid}/smaps_rollup`) ?? '', 'Pss');
    pssKiB = pss === null || pssKiB === null ? null : pssKiB + pss;
    processes++;
  }
  if (processes === 0) throw new Error(`footprint: no live process in group ${pgid} (the node exited?)`);
  return { ticks, rssKiB, pssKiB, processes };
}
