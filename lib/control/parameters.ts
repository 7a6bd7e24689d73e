// cl_status hbparameter's table: ha.cf directive name → value, from the validated configuration.
// heartbeat prints the text as written; hbd prints what it understood, timings as `<n>ms` (the
// form heartbeat uses for computed defaults).
import type { ClusterConfig } from '../config/types';

/** The heartbeat version hbd speaks (cl_status hbparameter -p hbversion). */
export const HEARTBEAT_VERSION = '3.0.6';

export function configParameters(cfg: ClusterConfig): Record<string, string> {
  const t = cfg.timings;
  const l = cfg.logging;
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  const p: Record<string, string> = {
    hbversion: HEARTBEAT_VERSION,
    keepalive: `${t.keepaliveMs}ms`,
    deadtime: `${t.deadtimeMs}ms`,
    warntime: `${t.warntimeMs}ms`,
    initdead: `${t.initdeadMs}ms`,
    deadping: `${t.deadpingMs}ms`,
    udpport: String(cfg.udpPort),
    auto_failback: cfg.autoFailback,
    node: cfg.nodes.map((n) => n.name).join(' '),
    msgfmt: cfg.msgfmt,
    hopfudge: String(cfg.hopfudge),
    realtime: onOff(cfg.realtime),
    hbgenmethod: cfg.hbgenMethod,
    uuidfrom: cfg.uuidFrom,
    max_rexmit_delay: String(cfg.maxRexmitDelayMs),
    cluster: cfg.clusterName,
    debug: String(l.debugLevel),
    logfacility: l.facility ?? 'none',
    log_badpack: onOff(l.logBadPacket),
    syslogmsgfmt: onOff(l.syslogMsgFmt),
  };
  if (cfg.rtprio !== null) p.rtprio = String(cfg.rtprio);
  if (l.logfile) p.logfile = l.logfile;
  if (l.debugfile) p.debugfile = l.debugfile;
  if (cfg.pingNodes.length) p.ping = cfg.pingNodes.map((n) => n.address).join(' ');
  return p;
}
