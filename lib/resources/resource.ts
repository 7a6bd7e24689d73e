// One haresources resource as the group runner drives it: start, stop and status, each an
// asynchronous action with a typed result that says what ran, how it ended and how long it took.
// Implementations: built-in addresses (ip-resource.ts), scripts (script.ts), systemd (systemd.ts).

export type Action = 'start' | 'stop' | 'status';

export interface ActionResult {
  readonly action: Action;
  /** start/stop: it succeeded; status: the question was answered (see `running`). */
  readonly ok: boolean;
  /** status only: heartbeat's verdict (ResourceManager's we_own_resource). */
  readonly running: boolean;
  /** What was done, one line: the command line for scripts, `ip addr add …` for addresses. */
  readonly command: string;
  /** How it ended: `exit 0`, `killed by SIGKILL after the 20000 ms timeout`, `ENODEV` … */
  readonly outcome: string;
  readonly exitCode: number | null;
  /** The last lines of output (scripts) or the error message (built-ins), for the log. */
  readonly outputTail: string;
  /** Full stdout+stderr (scripts), for ha-debug. */
  readonly output: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
}

export interface Resource {
  /** The resource exactly as written in haresources (`IPaddr::10.0.0.5/24`, `httpd`). */
  readonly text: string;
  /** `IPaddr`, `IPaddr2`, `IPv6addr`, `systemd` or `script`. */
  readonly type: string;
  start(): Promise<ActionResult>;
  stop(): Promise<ActionResult>;
  status(): Promise<ActionResult>;
}

/** heartbeat's we_own_resource(): status is read from the text, not the exit code (spec §8.2). */
export function statusSaysRunning(output: string): boolean {
  // The shell patterns `*[Nn][Oo][Tt]\ *[Rr]unning*`, then `*[Rr]unning*|*OK*`.
  if (/[Nn][Oo][Tt] [^]*[Rr]unning/.test(output)) return false;
  return /[Rr]unning/.test(output) || output.includes('OK');
}
