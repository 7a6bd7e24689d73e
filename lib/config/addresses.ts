// Syntax of the network names that appear in ha.cf and haresources: IPv4 literals, netmasks,
// host names and interface names. Syntax only; whether they exist is a host check (host.ts).
import { fail, ok, type Parser } from './values';

/** The four octets of a strict dotted quad (no octal, no shorthand), or null. */
export function ipv4Octets(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : NaN));
  return octets.every((o) => o <= 255) ? octets : null;
}

export const parseIPv4: Parser<string> = (text) =>
  ipv4Octets(text) ? ok(text) : fail(`invalid IPv4 address [${text}]`, 'write four decimal numbers 0-255 separated by dots, e.g. 192.168.1.10');

export const parseMulticastGroup: Parser<string> = (text) => {
  const o = ipv4Octets(text);
  if (!o) return fail(`invalid multicast group [${text}]`, 'write an IPv4 multicast address 224.0.0.0-239.255.255.255, e.g. 239.0.0.43');
  if (o[0] < 224 || o[0] > 239) return fail(`[${text}] is not a multicast address`, 'use an address in 224.0.0.0-239.255.255.255, e.g. 239.0.0.43');
  return ok(text);
};

/** A netmask as prefix bits (`24`) or dotted (`255.255.255.0`); returns the prefix length. */
export const parseNetmask: Parser<number> = (text) => {
  if (/^\d{1,2}$/.test(text) && Number(text) <= 32) return ok(Number(text));
  const o = ipv4Octets(text);
  if (o) {
    const bits = o.reduce((acc, x) => acc * 256 + x, 0);
    const inverted = 2 ** 32 - 1 - bits;
    // A valid mask is ones followed by zeros: its complement + 1 is a power of two.
    if (((inverted + 1) & inverted) === 0) return ok(32 - Math.log2(inverted + 1));
  }
  return fail(`invalid netmask [${text}]`, 'write prefix bits 0-32 (24) or a dotted mask (255.255.255.0)');
};

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(\\.${LABEL})*\\.?$`);

/** An IPv4 literal or a host name to be resolved when hbd starts (kept as text). */
export const parseHost: Parser<string> = (text) => {
  if (/^[\d.]+$/.test(text)) return parseIPv4(text);
  if (text.length <= 253 && HOSTNAME.test(text)) return ok(text);
  if (text.includes(':')) return fail(`[${text}] is not an IPv4 address or host name`, 'hbd media are IPv4 only: give an IPv4 address or a host name that resolves to one');
  return fail(`[${text}] is not an IPv4 address or host name`, 'give an IPv4 address (192.168.1.2) or a host name');
};

/** Linux interface names: 1-15 bytes (IFNAMSIZ 16), no `/` or whitespace, not `.` or `..`. */
export const parseInterfaceName: Parser<string> = (text) => {
  if (Buffer.byteLength(text) > 15) return fail(`interface name [${text}] is longer than 15 characters`, 'Linux interface names have at most 15 characters; check `ip link`');
  if (text === '' || text === '.' || text === '..' || /[/\s]/.test(text)) return fail(`invalid interface name [${text}]`, 'give an interface name as shown by `ip link`, e.g. eth0');
  return ok(text);
};
