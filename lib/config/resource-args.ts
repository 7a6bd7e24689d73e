// Arguments of the resource types hbd implements itself (spec §10): IPaddr / IPaddr2
// (`IP[/NETMASK[/NIC[/BROADCAST]]]`), IPv6addr (`ADDR[/PREFIX[/NIC]]`) and the hbd extension
// systemd::UNIT. Syntax only, shared by haresources parsing (hbd check, file:line diagnostics),
// the daemon and `hbd resource`, so an argument that passes here cannot crash a takeover.
import * as net from 'node:net';

import { ipv4Octets, parseIPv4, parseInterfaceName, parseNetmask } from './addresses';
import type { IpAddrSpec } from './types';
import { fail, ok, type Parsed } from './values';

/** IPv6addr argument `ADDR[/PREFIX[/NIC]]`, as the IPv6addr wrapper splits it. */
export interface Ipv6AddrSpec {
  readonly ip: string;
  readonly prefix: number | null;
  readonly nic: string | null;
}

export type BuiltinArgs =
  | { readonly type: 'IPaddr' | 'IPaddr2'; readonly spec: IpAddrSpec }
  | { readonly type: 'IPv6addr'; readonly spec: Ipv6AddrSpec }
  | { readonly type: 'systemd'; readonly unit: string };

export const BUILTIN_TYPES = ['IPaddr', 'IPaddr2', 'IPv6addr', 'systemd'] as const;
export type BuiltinType = (typeof BUILTIN_TYPES)[number];

export function isBuiltin(script: string): script is BuiltinType {
  return (BUILTIN_TYPES as readonly string[]).includes(script);
}

const USAGE: Readonly<Record<BuiltinType, string>> = {
  IPaddr: 'IPaddr::IP[/NETMASK[/NIC[/BROADCAST]]], e.g. IPaddr::192.168.1.10/24/eth0',
  IPaddr2: 'IPaddr2::IP[/NETMASK[/NIC[:LABEL][/BROADCAST]]], e.g. IPaddr2::192.168.1.10/24/eth0',
  IPv6addr: 'IPv6addr::ADDR[/PREFIX[/NIC]], e.g. IPv6addr::2001:db8::10/64/eth0',
  systemd: 'systemd::UNIT, e.g. systemd::nginx',
};

export function builtinUsage(type: BuiltinType): string {
  return `write ${USAGE[type]}`;
}

/** Parses the `::` arguments of a built-in type; the hint always shows the right form. */
export function parseBuiltinArgs(type: BuiltinType, args: readonly string[]): Parsed<BuiltinArgs> {
  if (args.length !== 1) return fail(`${type} takes exactly one argument, got ${args.length}`, builtinUsage(type));
  const r = parseOne(type, args[0]);
  return r.ok || r.hint !== undefined ? r : fail(r.message, builtinUsage(type));
}

function parseOne(type: BuiltinType, arg: string): Parsed<BuiltinArgs> {
  switch (type) {
    case 'IPaddr':
    case 'IPaddr2': {
      const r = parseIpAddrArg(arg);
      return r.ok ? ok({ type, spec: r.value }) : r;
    }
    case 'IPv6addr': {
      const r = parseIpv6AddrArg(arg);
      return r.ok ? ok({ type, spec: r.value }) : r;
    }
    case 'systemd': {
      const r = parseUnitName(arg);
      return r.ok ? ok({ type, unit: r.value }) : r;
    }
  }
}

/** `IP[/NETMASK[/NIC[/BROADCAST]]]`; a third part starting with a digit is the broadcast (spec §10.1). */
export function parseIpAddrArg(arg: string): Parsed<IpAddrSpec> {
  const parts = arg.split('/');
  if (parts.length > 4) return fail(`too many / parts in [${arg}]`);
  const [ipText, maskText = '', third = '', fourth = ''] = parts;
  const ip = parseIPv4(ipText);
  if (!ip.ok) return ip;
  // The wrappers strip every `/` after the IP before reading the netmask: `IP//eth0` has netmask eth0.
  if (maskText === '' && parts.length > 2) return fail(`empty netmask in [${arg}]`, 'give the netmask before the interface, e.g. 192.168.1.10/24/eth0');
  const mask = maskText === '' ? ok(null) : parseNetmask(maskText);
  if (!mask.ok) return mask;
  const thirdIsBroadcast = /^[0-9]/.test(third);
  if (thirdIsBroadcast && fourth !== '') return fail(`[${third}] starts with a digit, so it is read as the broadcast address and nothing may follow it`);
  const nic = third === '' || thirdIsBroadcast ? ok(null) : parseInterfaceName(third);
  if (!nic.ok) return nic;
  if (nic.value !== null && (nic.value.startsWith(':') || nic.value.endsWith(':') || nic.value.split(':').length > 2)) {
    return fail(`invalid interface [${nic.value}]`, 'write NIC or NIC:LABEL, e.g. eth0 or eth0:web');
  }
  const bcastText = thirdIsBroadcast ? third : fourth;
  const broadcast = bcastText === '' ? ok(null) : ipv4Octets(bcastText) ? ok(bcastText) : fail(`invalid broadcast address [${bcastText}]`);
  if (!broadcast.ok) return broadcast;
  return ok({ ip: ip.value, cidrNetmask: mask.value, nic: nic.value, broadcast: broadcast.value });
}

/** `ADDR[/PREFIX[/NIC]]`. */
export function parseIpv6AddrArg(arg: string): Parsed<Ipv6AddrSpec> {
  const parts = arg.split('/');
  if (parts.length > 3) return fail(`too many / parts in [${arg}]`);
  const [ip, prefixText = '', nicText = ''] = parts;
  if (!net.isIPv6(ip)) return fail(`invalid IPv6 address [${ip}]`, 'write an IPv6 address such as 2001:db8::10 (IPv4 addresses belong to IPaddr/IPaddr2)');
  let prefix: number | null = null;
  if (prefixText !== '') {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) < 1 || Number(prefixText) > 128) return fail(`invalid IPv6 prefix length [${prefixText}]`, 'write a prefix length from 1 to 128, e.g. 64');
    prefix = Number(prefixText);
  }
  let nic: string | null = null;
  if (nicText !== '') {
    const n = parseInterfaceName(nicText);
    if (!n.ok) return n;
    if (nicText.includes(':')) return fail(`[${nicText}]: IPv6 addresses have no alias labels`, 'give the interface name alone, e.g. eth0');
    nic = n.value;
  }
  if (nic === null && /^fe80:/i.test(ip)) return fail(`link-local address [${ip}] needs an interface`, 'write IPv6addr::fe80::…/64/eth0');
  return ok({ ip, prefix, nic });
}

/** A systemd unit name (systemctl adds `.service` when there is no suffix). */
export function parseUnitName(text: string): Parsed<string> {
  if (text.length > 255 || !/^[A-Za-z0-9:_.@\\-]+$/.test(text) || text.startsWith('-')) {
    return fail(`invalid systemd unit name [${text}]`, 'give a unit name as `systemctl list-units` shows it, e.g. nginx or nginx.service');
  }
  return ok(text);
}
