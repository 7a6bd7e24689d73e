// heartbeat's priority names (cl_log.c prio2str) and their syslog severities.
export type Level = 'EMERG' | 'ALERT' | 'CRIT' | 'ERROR' | 'WARN' | 'notice' | 'info' | 'debug';

export const SYSLOG_SEVERITY: Readonly<Record<Level, number>> = {
  EMERG: 0,
  ALERT: 1,
  CRIT: 2,
  ERROR: 3,
  WARN: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** Syslog facility codes by the names ha.cf's `logfacility` accepts. */
export const SYSLOG_FACILITY: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
};
