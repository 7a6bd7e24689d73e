// What the numbers were measured on, and how busy it was: recorded with every run.
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as zlib from 'node:zlib';

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly kernelBuild: string;
  /** The kernel's preemption model from /proc/config.gz, when it is there. */
  readonly preemption: string | null;
  readonly node: string;
  readonly memoryGiB: number;
}

export function machine(): Machine {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: os.release(),
    kernelBuild: os.version(),
    preemption: preemptionModel(),
    node: process.version,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

function preemptionModel(): string | null {
  try {
    const config = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString('latin1');
    const set = ['PREEMPT_NONE', 'PREEMPT_VOLUNTARY', 'PREEMPT', 'PREEMPT_RT', 'PREEMPT_LAZY', 'PREEMPT_DYNAMIC'].filter((k) => new RegExp(`^CONFIG_${k}=y$`, 'm').test(config));
    return set.join(' + ') || null;
  } catch {
    return null;
  }
}

/** `uptime` as printed (load averages over 1, 5 and 15 minutes). */
export function uptime(): string {
  try {
    return cp.execFileSync('uptime', { encoding: 'utf8', timeout: 5_000 }).trim();
  } catch {
    return `load average: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`;
  }
}

/** CPU time stolen by the hypervisor since boot, ms (the `steal` column of /proc/stat); null when unreadable. */
export function stealMs(): number | null {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/);
    const ticks = Number(cpu[8]);
    // /proc/stat counts USER_HZ ticks, 100 a second on Linux whatever the kernel's HZ.
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}
