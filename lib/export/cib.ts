// The model as a complete CIB document (`crm_verify --xml-file`, `cibadmin --replace --xml-file`).
import { headerLines, problemLines } from './comments';
import { locationId, type Group, type PacemakerModel, type Primitive } from './model';

/** The oldest schema with everything used here; Pacemaker 2.0 and later accept it. */
export const CIB_SCHEMA = 'pacemaker-3.0';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** XML comments cannot contain `--`. */
function comment(s: string): string {
  return `<!-- ${s.replace(/--/g, '- -')} -->`;
}

function attrs(a: Readonly<Record<string, string | number | null>>): string {
  return Object.entries(a)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => ` ${k}="${esc(String(v))}"`)
    .join('');
}

function nvpairs(owner: string, pairs: ReadonlyArray<readonly [string, string]>, indent: string): string[] {
  return pairs.map(([name, value]) => `${indent}<nvpair${attrs({ id: `${owner}-${name}`, name, value })}/>`);
}

function primitive(p: Primitive, indent: string): string[] {
  const out = [`${indent}<primitive${attrs({ id: p.id, class: p.class, provider: p.provider, type: p.type, description: p.description })}>`];
  if (p.params.length) {
    const ia = `${p.id}-instance_attributes`;
    out.push(`${indent}  <instance_attributes id="${esc(ia)}">`, ...nvpairs(ia, p.params, `${indent}    `), `${indent}  </instance_attributes>`);
  }
  out.push(`${indent}  <operations>`);
  for (const op of p.ops) out.push(`${indent}    <op${attrs({ id: `${p.id}-${op.name}-interval-${op.interval}`, name: op.name, interval: op.interval, timeout: op.timeout })}/>`);
  out.push(`${indent}  </operations>`, `${indent}</primitive>`);
  return out;
}

function group(g: Group): string[] {
  return [`      <group${attrs({ id: g.id, description: g.description })}>`, ...g.primitives.flatMap((p) => primitive(p, '        ')), '      </group>'];
}

export function cibXml(m: PacemakerModel, source: string): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', ...headerLines(m, source).map(comment), comment('Apply with: cibadmin -R -x FILE (replaces the configuration: for a new cluster)')];
  out.push(...problemLines(m).map(comment));
  out.push(`<cib${attrs({ 'validate-with': CIB_SCHEMA, admin_epoch: 0, epoch: 1, num_updates: 0 })}>`, '  <configuration>', '    <crm_config>');
  out.push('      <cluster_property_set id="cib-bootstrap-options">', ...nvpairs('cib-bootstrap-options', m.properties, '        '), '      </cluster_property_set>', '    </crm_config>');
  out.push('    <nodes>', ...m.nodes.map((n) => `      <node${attrs({ id: n.id, uname: n.name })}/>`), '    </nodes>');
  out.push('    <resources>', ...m.groups.flatMap(group), '    </resources>');
  out.push('    <constraints>', ...m.groups.map((g) => `      <rsc_location${attrs({ id: locationId(g), rsc: g.id, node: g.node, score: m.locationScore })}/>`), '    </constraints>');
  out.push('    <rsc_defaults>', '      <meta_attributes id="rsc-options">', ...nvpairs('rsc-options', [['resource-stickiness', String(m.stickiness)]], '        '), '      </meta_attributes>', '    </rsc_defaults>');
  out.push('  </configuration>', '  <status/>', '</cib>');
  return `${out.join('\n')}\n`;
}
