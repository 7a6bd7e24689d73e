// `realtime on` for the TypeScript transport. The native engine makes its thread SCHED_FIFO; pure
// JavaScript cannot, but it can renice the calling thread alone: on Linux setpriority(PRIO_PROCESS,
// tid) applies to that one thread, and /proc/thread-self names it. At nice −20 the packet core's
// thread outweighs normal-priority work 87:1 under CFS, so a busy machine delays its wake-ups far less.
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
