// tcpdump on a switch bridge, writing a pcap for failure-detection measurements.

import { LabProcess } from './process';
import { run, tool } from './tools';

export const DEFAULT_CAPTURE_FILTER = 'udp port 694';

let nanoSupport: Promise<boolean> | null = null;

/** Whether this tcpdump can write nanosecond timestamps (--time-stamp-precision, tcpdump ≥ 4.6). */
function tcpdumpHasNano(): Promise<boolean> {
  nanoSupport ??= run([tool('tcpdump'), '--help'], { allowFailure: true }).then((r) =>
    /time-stamp-precision/.test(r.stdout + r.stderr),
  );
  return nanoSupport;
}

export interface CapturePlan {
  name: string;
  switchNs: string;
  iface: string;
  pcapPath: string;
  stderrPath: string;
  filter: string;
}

const START_MS = 5_000;

export class Capture {
  private stopped: Promise<string> | null = null;

  private constructor(
    readonly path: string,
    readonly process: LabProcess,
    /** True when the pcap has nanosecond timestamps (magic a1b23c4d), else microseconds. */
    readonly nanosecond: boolean,
  ) {}

  /**
   * Starts tcpdump in the switch namespace and resolves once it is listening, so no packet sent
   * after this resolves is missed. onStarted records the process for teardown.
   */
  static async start(plan: CapturePlan, onStarted: (p: LabProcess) => void): Promise<Capture> {
    const nano = await tcpdumpHasNano();
    // --immediate-mode: libpcap otherwise hands packets over in blocks up to 1 s old, and the ones
    // still in the ring when SIGINT arrives never reach the file.
    const argv = [
      tool('ip'), 'netns', 'exec', plan.switchNs,
      tool('tcpdump'), '-i', plan.iface, '-n', '-U', '--immediate-mode', '-Z', 'root', '-w', plan.pcapPath,
      ...(nano ? ['--time-stamp-precision=nano'] : []),
      plan.filter,
    ];
    const proc = await LabProcess.start(argv, { name: plan.name, stderrPath: plan.stderrPath, logFile: plan.stderrPath });
    onStarted(proc);
    await proc.waitFor(/listening on/, START_MS);
    return new Capture(plan.pcapPath, proc, nano);
  }

  /** Stops tcpdump with SIGINT (it flushes and closes the file), bounded; returns the pcap path. */
  stop(): Promise<string> {
    this.stopped ??= (async () => {
      await this.process.stop('SIGINT', 3_000);
      const exit = this.process.exitInfo;
      if (exit?.signal === 'SIGKILL') throw new Error(`${this.process.name}: tcpdump ignored SIGINT and was killed; ${this.path} may be truncated`);
      return this.path;
    })();
    return this.stopped;
  }
}
