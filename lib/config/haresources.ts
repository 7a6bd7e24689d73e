// /etc/ha.d/haresources as heartbeat's ResourceManager reads it (spec §8.1):
// one resource group per logical line `node res1 res2 …`, a trailing `\` joins the next line,
// `#` starts a comment anywhere, a resource is `script[::arg[::arg…]]`, and a bare IPv4-looking
// resource means `IPaddr::<text>`. The group is named by its first resource (its key).
import { ipv4Octets, parseIPv4, parseInterfaceName, parseNetmask } from './addresses';
import { Sink, type Diagnostic } from './diagnostics';
import { physicalLines } from './lines';
import type { IpAddrSpec, Resource, ResourceGroup } from './types';
import { fail, ok, type Parsed } from './values';

/** Resource scripts hbd implements itself rather than running from resource.d. */
export const BUILTIN_SCRIPTS: readonly string[] = ['IPaddr', 'IPaddr2'];
/** `systemd::UNIT` runs `systemctl start|stop|is-active UNIT`. */
export const SYSTEMD_RESOURCE = 'systemd';

interface Token {
  readonly text: string;
  readonly line: number;
}

/**
 * @param nodes the lower-cased ha.cf node names, or null when ha.cf could not be read (then the
 *   preferred nodes are not checked).
 */
export function parseHaresources(text: string, file: string, nodes: readonly string[] | null): { groups: ResourceGroup[]; diagnostics: Diagnostic[] } {
  const sink = new Sink(file);
  const groups: ResourceGroup[] = [];
  for (const tokens of logicalLines(text, sink)) {
    const [nodeToken, ...rest] = tokens;
    const node = nodeToken.text.toLowerCase();
    if (nodes !== null && !nodes.includes(node)) {
      sink.error(nodeToken.line, `Bad nodename [${nodeToken.text}]: the first word of a resource group must be a node of ha.cf`, nodes.length ? `use one of: ${nodes.join(', ')} (or add node ${node} to ha.cf)` : `add node ${node} to ha.cf`);
    }
    if (rest.length === 0) {
      sink.error(nodeToken.line, `resource group of node ${node} lists no resources`, `write ${node} RESOURCE…, e.g. ${node} 192.168.1.10 apache2`);
      continue;
    }
    const resources = rest.map((t) => parseResource(t, sink)).filter((r): r is Resource => r !== null);
    if (resources.length !== rest.length) continue;
    groups.push({ key: rest[0].text, node, resources, line: nodeToken.line });
  }
  checkKeys(groups, sink);
  return { groups, diagnostics: sink.diagnostics };
}

/** Comments stripped, `\`-continued lines joined (without a blank, as ResourceManager's sed does). */
function logicalLines(text: string, sink: Sink): Token[][] {
  const out: Token[][] = [];
  let chars = '';
  const lineOf: number[] = [];
  for (const { line, text: raw } of physicalLines(text, sink)) {
    const content = raw.replace(/#.*$/s, '');
    const continued = content.endsWith('\\');
    const piece = continued ? content.slice(0, -1) : content;
    chars += piece;
    for (let i = 0; i < piece.length; i++) lineOf.push(line);
    if (continued) continue;
    const tokens = [...chars.matchAll(/[^ \t\r\f\v]+/g)].map((m) => ({ text: m[0], line: lineOf[m.index!] }));
    if (tokens.length) out.push(tokens);
    chars = '';
    lineOf.length = 0;
  }
  if (chars.trim() !== '') {
    const last = lineOf[lineOf.length - 1];
    sink.error(last, 'the last line ends with \\ but no line follows', 'remove the trailing backslash');
  }
  return out;
}

/** ResourceManager's isip(): the shell pattern [0-9]*.[0-9]*.[0-9]*.[0-9]* */
function looksLikeIp(text: string): boolean {
  return /^[0-9].*\.[0-9].*\.[0-9].*\.[0-9]/s.test(text);
}

function parseResource(t: Token, sink: Sink): Resource | null {
  const [script, ...args] = looksLikeIp(t.text) ? ['IPaddr', t.text] : t.text.split('::');
  if (script === '' || script.includes('/')) {
    sink.error(t.line, `invalid resource [${t.text}]: [${script}] is not a script name`, 'write SCRIPT or SCRIPT::ARG…, where SCRIPT is a file in resource.d or /etc/init.d (no path)');
    return null;
  }
  if (args.includes('')) {
    sink.error(t.line, `resource [${t.text}] has an empty argument`, 'arguments are separated by ::, each non-empty, e.g. Filesystem::/dev/sdb1::/data::ext4');
    return null;
  }
  if (script === SYSTEMD_RESOURCE && args.length !== 1) {
    sink.error(t.line, `resource [${t.text}]: systemd takes one argument, the unit, got ${args.length}`, 'write systemd::UNIT, e.g. systemd::nginx (runs systemctl start|stop|is-active nginx.service)');
    return null;
  }
  let ipaddr: IpAddrSpec | null = null;
  if (BUILTIN_SCRIPTS.includes(script)) {
    const r = args.length === 1 ? parseIpAddrArg(args[0]) : fail(`${script} takes one argument IP[/NETMASK[/NIC[/BROADCAST]]], got ${args.length}`);
    if (!r.ok) {
      sink.error(t.line, `resource [${t.text}]: ${r.message}`, r.hint ?? `write ${script}::IP[/NETMASK[/NIC[/BROADCAST]]], e.g. ${script}::192.168.1.10/24/eth0`);
      return null;
    }
    ipaddr = r.value;
  }
  return { script, args, text: t.text, line: t.line, ipaddr };
}

/** `IP[/NETMASK[/NIC[/BROADCAST]]]`; a third part starting with a digit is the broadcast (spec §10.1). */
export function parseIpAddrArg(arg: string): Parsed<IpAddrSpec> {
  const parts = arg.split('/');
  if (parts.length > 4) return fail(`too many / parts in [${arg}]`);
  const [ipText, maskText = '', third = '', fourth = ''] = parts;
  const ip = parseIPv4(ipText);
  if (!ip.ok) return ip;
  const mask = maskText === '' ? ok(null) : parseNetmask(maskText);
  if (!mask.ok) return mask;
  const thirdIsBroadcast = /^[0-9]/.test(third);
  if (thirdIsBroadcast && fourth !== '') return fail(`[${third}] starts with a digit, so it is read as the broadcast address and nothing may follow it`);
  const nic = third === '' || thirdIsBroadcast ? ok(null) : parseInterfaceName(third);
  if (!nic.ok) return nic;
  const bcastText = thirdIsBroadcast ? third : fourth;
  const broadcast = bcastText === '' ? ok(null) : ipv4Octets(bcastText) ? ok(bcastText) : fail(`invalid broadcast address [${bcastText}]`);
  if (!broadcast.ok) return broadcast;
  return ok({ ip: ip.value, cidrNetmask: mask.value, nic: nic.value, broadcast: broadcast.value });
}

/**
 * ResourceManager finds a group by searching the normalised file for " KEY ", so a key must be
 * unique and must not appear as a resource of another group either.
 */
function checkKeys(groups: readonly ResourceGroup[], sink: Sink): void {
  groups.forEach((g, i) => {
    const twin = groups.slice(0, i).find((o) => o.key === g.key);
    if (twin) {
      sink.error(g.line, `duplicate resource group key [${g.key}]: the group on line ${twin.line} starts with it too`, 'the first resource names its group and must be unique; reorder or merge the groups');
      return;
    }
    for (const o of groups) {
      const clash = o.key === g.key ? undefined : o.resources.find((r) => r.text === g.key);
      if (clash) {
        sink.error(clash.line, `resource [${g.key}] is also the key of the group on line ${g.line}: heartbeat finds groups by searching for their key, and would act on both lines`, 'use each group key only once in the file');
      }
    }
  });
}
