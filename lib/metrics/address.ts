// Where the Prometheus endpoint listens: `hbd_metrics ADDR:PORT` in ha.cf or `hbd start --metrics`.
// Loopback unless an address is written: the metrics name nodes and resources, which an operator
// opts in to expose beyond the host.
import { ipv4Octets } from '../config/addresses';
import { fail, ok, type Parser } from '../config/values';

export interface MetricsAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** Not assigned by IANA and next to heartbeat's 694 in spirit; any free port works. */
export const EXAMPLE_METRICS_PORT = 9694;

const USAGE = `write PORT (listens on ${DEFAULT_METRICS_HOST}) or ADDR:PORT with an IPv4 address, e.g. ${DEFAULT_METRICS_HOST}:${EXAMPLE_METRICS_PORT} or 0.0.0.0:${EXAMPLE_METRICS_PORT}`;

/** `PORT`, `ADDR:PORT` (IPv4 literal) or `[IPv6]:PORT`. */
export const parseMetricsAddress: Parser<MetricsAddress> = (text) => {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:]+):)?([^:]+)$/.exec(text);
  if (!m) return fail(`invalid metrics address [${text}]`, USAGE);
  const [, hostText, portText] = m;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return fail(`invalid metrics port [${portText}] in [${text}]`, USAGE);
  const port = Number(portText);
  if (hostText === undefined) return ok({ host: DEFAULT_METRICS_HOST, port });
  if (hostText.startsWith('[')) return ok({ host: hostText.slice(1, -1), port });
  if (!ipv4Octets(hostText)) return fail(`invalid metrics listen address [${hostText}] in [${text}]: an IP address is needed, not a host name`, USAGE);
  return ok({ host: hostText, port });
};

export function formatMetricsAddress(a: MetricsAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
