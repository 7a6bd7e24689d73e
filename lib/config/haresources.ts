// /etc/ha.d/haresources as heartbeat's ResourceManager reads it (spec §8.1):
// one resource group per logical line `node res1 res2 …`, a trailing `\` joins the next line,
// `#` starts a comment anywhere, a resource is `script[::arg[::arg…]]`, and a bare IPv4-looking
// resource means `IPaddr::<text>`. The group is named by its first resource (its key).
import { Sink, type Diagnostic } from './diagnostics';
import { physicalLines } from './lines';
import { BUILTIN_TYPES, isBuiltin, parseBuiltinArgs } from './resource-args';
import type { Resource, ResourceGroup } from './types';
import { fail, ok, type Parsed } from './values';

export { parseIpAddrArg } from './resource-args';

/** Resource types hbd implements itself rather than running from resource.d (resource-args.ts). */
export const BUILTIN_SCRIPTS: readonly string[] = BUILTIN_TYPES;
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
  const r = parseResourceText(t.text, t.line);
  if (r.ok) return r.value;
  sink.error(t.line, r.message, r.hint);
  return null;
}

/** One resource token (`IPaddr::10.0.0.5/24`, `10.0.0.5`, `httpd`), canonicalised and its built-in arguments checked. */
export function parseResourceText(text: string, line: number): Parsed<Resource> {
  const [script, ...split] = looksLikeIp(text) ? ['IPaddr', text] : text.split('::');
  // ResourceManager would split a compressed IPv6 address at its `::` too; hbd keeps it whole.
  const args = script === 'IPv6addr' && split.length > 0 ? [split.join('::')] : split;
  if (script === '' || script.includes('/')) {
    return fail(`invalid resource [${text}]: [${script}] is not a script name`, 'write SCRIPT or SCRIPT::ARG…, where SCRIPT is a file in resource.d or /etc/init.d (no path)');
  }
  if (args.includes('')) return fail(`resource [${text}] has an empty argument`, 'arguments are separated by ::, each non-empty, e.g. Filesystem::/dev/sdb1::/data::ext4');
  if (!isBuiltin(script)) return ok({ script, args, text, line, ipaddr: null });
  const r = parseBuiltinArgs(script, args);
  if (!r.ok) return fail(`resource [${text}]: ${r.message}`, r.hint);
  const ipaddr = r.value.type === 'IPaddr' || r.value.type === 'IPaddr2' ? r.value.spec : null;
  return ok({ script, args, text, line, ipaddr });
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
