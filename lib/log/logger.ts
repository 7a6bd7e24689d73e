import { clampMessage, formatLine } from './format';
import { FileSink } from './file-sink';
import { SYSLOG_FACILITY, type Level } from './levels';
import { SyslogSink } from './syslog-sink';

export interface LogSettings {
  /** ha-log: everything but debug (ha.cf `logfile`). */
  readonly logfile?: string | null;
  /** ha-debug: everything (ha.cf `debugfile`). */
  readonly debugfile?: string | null;
  /** syslog facility name, or null/`none` for no syslog (ha.cf `logfacility`). */
  readonly facility?: string | null;
  /** ha.cf `debug N`: debug messages of level ≤ N are emitted. */
  readonly debugLevel?: number;
  /** Also print every line on stderr (foreground runs, or when nothing else is configured). */
  readonly stderr?: boolean;
  /** syslog socket; tests point it elsewhere. */
  readonly syslogSocket?: string;
}

/**
 * The daemon's logger: heartbeat's three outputs (logfile, debugfile, syslog facility) with
 * heartbeat's level split, millisecond UTC timestamps and the node name on every line.
 */
export class Logger {
  private readonly logfile: FileSink | null;
  private readonly debugfile: FileSink | null;
  private readonly syslog: SyslogSink | null;
  readonly debugLevel: number;

  constructor(
    readonly node: string,
    private readonly settings: LogSettings,
    private readonly now: () => number = Date.now,
    private readonly pid: number = process.pid,
  ) {
    this.logfile = settings.logfile ? new FileSink(settings.logfile, now) : null;
    this.debugfile = settings.debugfile ? new FileSink(settings.debugfile, now) : null;
    const fac = settings.facility && settings.facility !== 'none' ? SYSLOG_FACILITY[settings.facility] : undefined;
    if (settings.facility && settings.facility !== 'none' && fac === undefined) {
      throw new Error(`unknown syslog facility ${JSON.stringify(settings.facility)}`);
    }
    this.syslog = fac === undefined ? null : new SyslogSink(fac, pid, settings.syslogSocket);
    this.debugLevel = settings.debugLevel ?? 0;
  }

  log(level: Level, message: string): void {
    const text = clampMessage(message);
    const line = formatLine(this.now(), this.node, this.pid, level, text);
    if (level !== 'debug') this.logfile?.write(line);
    this.debugfile?.write(line);
    this.syslog?.write(level, text);
    if (this.settings.stderr) process.stderr.write(line + '\n');
  }

  /** heartbeat's `if (debug >= n) cl_log(LOG_DEBUG, …)`. */
  debug(level: number, message: string): void {
    if (level <= this.debugLevel) this.log('debug', message);
  }

  info(message: string): void {
    this.log('info', message);
  }

  warn(message: string): void {
    this.log('WARN', message);
  }

  error(message: string): void {
    this.log('ERROR', message);
  }

  crit(message: string): void {
    this.log('CRIT', message);
  }

  /** SIGHUP: pick up rotated files now rather than at the next periodic check. */
  reopen(): void {
    this.logfile?.reopen();
    this.debugfile?.reopen();
  }

  async close(): Promise<void> {
    this.logfile?.close();
    this.debugfile?.close();
    await this.syslog?.close();
  }
}
