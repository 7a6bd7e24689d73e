// What the resource layer needs of a logger: lib/log/logger.ts's Logger fits, tests record.
export interface ResourceLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  crit(message: string): void;
  /** ha-debug only when `debug` ≥ level. */
  debug(level: number, message: string): void;
}

