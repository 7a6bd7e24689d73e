// IPaddr / IPaddr2 / IPv6addr arguments → the VipSpec the address backend adds, by heartbeat's
// rules (spec §10), over the interface addresses the backend lists — the connected subnets are
// what `findif` reads from the routing table (each primary address makes one `proto kernel scope
// link` route, `src` that address). Pure: the caller passes backend.list().
//
// IPaddr (C findif + ifconfig alias): NIC given, or the interface of the longest connected subnet
//   containing IP; netmask given, else that subnet's, else /32; broadcast given, else computed
//   from IP and netmask; an alias label `NIC:N`, the first free N (a label in NIC is ignored).
// IPaddr2 (shell findif + ip addr add): the subnets containing IP/NETMASK (those no longer than
//   NETMASK), on NIC if given, longest wins; NIC and netmask given or from it (neither given and
//   none found: error); broadcast given, else that subnet's primary address's; an alias label
//   only when NIC is `NIC:LABEL`.
// IPv6addr: NIC given or the interface of the longest global subnet containing ADDR; prefix
//   given, else that subnet's, else 64.
import type { IpAddrSpec } from '../config/types';
import type { Ipv6AddrSpec } from '../config/resource-args';
import type { AddressEntry, VipSpec } from './address';

export type IpArgs = { readonly type: 'IPaddr' | 'IPaddr2'; readonly spec: IpAddrSpec } | { readonly type: 'IPv6addr'; readonly spec: Ipv6AddrSpec };

export type Resolved = { readonly ok: true; readonly vip: VipSpec } | { readonly ok: false; readonly code: string; readonly message: string };

interface Subnet {
  readonly iface: string;
  readonly prefix: number;
  /** The primary address: the route's `src`. */
  readonly primary: AddressEntry;
}

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (2 ** 32 - 2 ** (32 - prefix));
}

function network4(ip: string, prefix: number): number {
  return (ipv4ToInt(ip) & maskOf(prefix)) >>> 0;
}

/** IP | ~mask, as findif computes a broadcast when none is given. */
export function broadcastOf(ip: string, prefix: number): string {
  return intToIpv4((network4(ip, prefix) + (2 ** (32 - prefix) - 1)) >>> 0);
}

/** An IPv6 address as a BigInt (for subnet arithmetic). */
export function ipv6ToBigInt(ip: string): bigint {
  const [head, tail = null] = ip.split('::') as [string, string?];
  const parse = (s: string | null): number[] => {
    if (!s) return [];
    return s.split(':').flatMap((g) => (g.includes('.') ? (() => { const n = ipv4ToInt(g); return [Math.floor(n / 65536), n % 65536]; })() : [parseInt(g, 16)]));
  };
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === null ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952 text (as iproute2 prints it): the WHATWG URL parser canonicalises IPv6 hosts. */
export function canonicalIpv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function inSubnet(family: 4 | 6, ip: string, base: string, prefix: number): boolean {
  if (family === 4) return network4(ip, prefix) === network4(base, prefix);
  const shift = BigInt(128 - prefix);
  return ipv6ToBigInt(ip) >> shift === ipv6ToBigInt(base) >> shift;
}

function isLinkLocal6(ip: string): boolean {
  return (ipv6ToBigInt(ip) >> 118n) === 0x3fan; // fe80::/10
}

/** The connected subnets: one per (interface, network) with its first (primary) address. */
export function connectedSubnets(family: 4 | 6, entries: readonly AddressEntry[]): Subnet[] {
  const out: Subnet[] = [];
  for (const e of entries) {
    if (e.family !== family || e.prefix >= (family === 4 ? 32 : 128)) continue;
    if (out.some((s) => s.iface === e.iface && s.prefix === e.prefix && inSubnet(family, e.address, s.primary.address, s.prefix))) continue;
    out.push({ iface: e.iface, prefix: e.prefix, primary: e });
  }
  return out;
}

/** findif's route choice: the longest subnet containing ip; on a tie the later one (awk's `>=`). */
function bestSubnet(family: 4 | 6, ip: string, entries: readonly AddressEntry[], accept: (s: Subnet) => boolean): Subnet | null {
  let best: Subnet | null = null;
  for (const s of connectedSubnets(family, entries)) {
    if (!accept(s) || !inSubnet(family, ip, s.primary.address, s.prefix)) continue;
    if (best === null || s.prefix >= best.prefix) best = s;
  }
  return best;
}

function notFound(ip: string, what: string): Resolved {
  return { ok: false, code: 'ENODEV', message: `no interface for ${ip}: ${what} (give the interface: IP/NETMASK/NIC)` };
}

export function resolveVip(args: IpArgs, entries: readonly AddressEntry[]): Resolved {
  if (args.type === 'IPv6addr') return resolveV6(args.spec, entries);
  const { ip, cidrNetmask, broadcast } = args.spec;
  const [nic, alias] = (args.spec.nic ?? '').split(':') as [string, string?];
  const nicBase = nic === '' ? null : nic;
  const onNic = (s: Subnet): boolean => nicBase === null || s.iface === nicBase;
  if (args.type === 'IPaddr') {
    const route = bestSubnet(4, ip, entries, onNic);
    if (nicBase === null && route === null) return notFound(ip, 'no interface has a subnet containing it');
    const prefix = cidrNetmask ?? route?.prefix ?? 32;
    return { ok: true, vip: { family: 4, iface: nicBase ?? route!.iface, address: ip, prefix, broadcast: broadcast ?? broadcastOf(ip, prefix), label: null } };
  }
  const route = bestSubnet(4, ip, entries, (s) => onNic(s) && s.prefix <= (cidrNetmask ?? 32));
  if ((nicBase === null || cidrNetmask === null) && route === null) {
    return notFound(ip, nicBase === null ? 'no interface has a subnet containing it' : `${nicBase} has no subnet containing it, so the netmask is unknown`);
  }
  const iface = nicBase ?? route!.iface;
  const label = alias === undefined ? iface : `${iface}:${alias}`;
  if (label.length > 15) return { ok: false, code: 'EINVAL', message: `interface label [${label}] is longer than 15 characters` };
  return { ok: true, vip: { family: 4, iface, address: ip, prefix: cidrNetmask ?? route!.prefix, broadcast: broadcast ?? route?.primary.broadcast ?? null, label } };
}

function resolveV6(spec: Ipv6AddrSpec, entries: readonly AddressEntry[]): Resolved {
  const linkLocal = isLinkLocal6(spec.ip);
  const route = bestSubnet(6, spec.ip, entries, (s) => (spec.nic === null || s.iface === spec.nic) && isLinkLocal6(s.primary.address) === linkLocal);
  if (spec.nic === null && route === null) return notFound(spec.ip, 'no interface has an IPv6 subnet containing it');
  return { ok: true, vip: { family: 6, iface: spec.nic ?? route!.iface, address: canonicalIpv6(spec.ip), prefix: spec.prefix ?? route?.prefix ?? 64, broadcast: null, label: null } };
}

/** Where the address is now: on the resource's interface if it names one, else anywhere. */
export function findAddress(args: IpArgs, entries: readonly AddressEntry[]): AddressEntry | null {
  const family = args.type === 'IPv6addr' ? 6 : 4;
  const nic = args.spec.nic?.split(':')[0] ?? null;
  const same = (e: AddressEntry): boolean => e.family === family && (family === 4 ? e.address === args.spec.ip : ipv6ToBigInt(e.address) === ipv6ToBigInt(args.spec.ip));
  return entries.find((e) => same(e) && (nic === null || e.iface === nic)) ?? null;
}
