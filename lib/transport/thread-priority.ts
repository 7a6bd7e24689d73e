// `realtime on` for the TypeScript transport. The native engine makes its thread SCHED_FIFO; pure
// JavaScript cannot, but it can renice the calling thread alone: on Linux setpriority(PRIO_PROCESS,
// tid) applies to that one thread, and /proc/thread-self names it. At nice −20 the packet core's
// thread outweighs normal-priority work 87:1 under CFS, so a busy machine delays its wake-ups far less
// — within its autogroup: see raiseAutogroup().
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface PriorityRefusal {
  readonly syscall: string;
  readonly errno: string;
  readonly message: string;
}

/** Puts the calling thread at nice −20; the reason when it cannot (no CAP_SYS_NICE, no /proc). */
export function raiseThreadPriority(): PriorityRefusal | null {
  let tid: number;
  try {
    tid = Number(fs.readlinkSync('/proc/thread-self').split('/').at(-1));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { syscall: 'readlink', errno: err.code ?? 'EUNKNOWN', message: `realtime: cannot find the TypeScript packet core's thread in /proc/thread-self (${err.message}); it runs at normal priority` };
  }
  try {
    os.setPriority(tid, os.constants.priority.PRIORITY_HIGHEST);
    return null;
  } catch (e) {
    // os.setPriority throws ERR_SYSTEM_ERROR with the errno name in .info.code.
    const err = e as NodeJS.ErrnoException & { info?: { code?: string } };
    const errno = err.info?.code ?? err.code ?? 'EUNKNOWN';
    return { syscall: 'setpriority', errno, message: `realtime: cannot raise the TypeScript packet core's thread (tid ${tid}) to nice ${os.constants.priority.PRIORITY_HIGHEST} (${errno}; needs CAP_SYS_NICE); it runs at normal priority` };
  }
}

/**
 * With autogroup scheduling on (kernel.sched_autogroup_enabled = 1, the default of many
 * distributions; sched(7)), CFS first shares the CPUs equally between autogroups (one per session,
 * so one per daemon and per login) and applies nice only inside each: the core's thread at nice −20
 * then gets no more CPU than any other session's busy process. Measured in the lab, both nodes
 * flooded at 33k packets/s on a loaded 2-core VM: core threads at nice −20 still waited for a CPU
 * 54 % of the time and the kernel dropped 43-68 % of the datagrams; with the processes' autogroups
 * at nice −20 as well, they waited 21 % and nothing was dropped. So `realtime on` raises this
 * process's autogroup too (/proc/self/autogroup), as heartbeat's realtime raises its whole process
 * (SCHED_RR, which autogroups do not govern). Null when done, or when there is no autogroup to raise:
 * autogroups off, or this process in the root task group. The kernel shows the latter as an empty
 * /proc/self/autogroup and refuses a write to it with EINVAL (sched_group_set_shares on the root
 * group): that is every process of a session nobody started with setsid(), such as children of a
 * PID 1 that never calls it. Nice then already applies across all such processes. The paths are
 * parameters for the tests.
 */
export function raiseAutogroup(files = { enabled: '/proc/sys/kernel/sched_autogroup_enabled', autogroup: '/proc/self/autogroup' }): PriorityRefusal | null {
  try {
    if (fs.readFileSync(files.enabled, 'latin1').trim() !== '1') return null;
    if (fs.readFileSync(files.autogroup, 'latin1').trim() === '') return null;
  } catch {
    return null; // a kernel without autogroups: nice applies across the machine
  }
  try {
    fs.writeFileSync(files.autogroup, String(os.constants.priority.PRIORITY_HIGHEST));
    return null;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const errno = err.code ?? 'EUNKNOWN';
    const why = errno === 'EPERM' || errno === 'EACCES' ? 'needs CAP_SYS_NICE' : err.message;
    return { syscall: 'write', errno, message: `realtime: cannot raise this process's autogroup to nice ${os.constants.priority.PRIORITY_HIGHEST} (${files.autogroup}: ${errno}; ${why}); other sessions' busy processes share the CPU equally with the packet core` };
  }
}
