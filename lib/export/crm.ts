// The model as a crmsh script: `crm configure load update FILE` applies it.
import { headerLines, problemLines } from './comments';
import { locationId, type PacemakerModel, type Primitive } from './model';

/** crmsh reads values shell-like: quote anything beyond a plain word. */
function value(v: string): string {
  return /^[A-Za-z0-9_.:/@%+-]+$/.test(v) ? v : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function agent(p: Primitive): string {
  return p.provider ? `${p.class}:${p.provider}:${p.type}` : `${p.class}:${p.type}`;
}

function primitive(p: Primitive): string {
  const parts = [`primitive ${p.id} ${agent(p)}`, `description=${value(p.description)}`];
  if (p.params.length) parts.push(`params ${p.params.map(([k, v]) => `${k}=${value(v)}`).join(' ')}`);
  for (const op of p.ops) parts.push(`op ${op.name} interval=${op.interval} timeout=${op.timeout}`);
  return parts.join(' \\\n\t');
}

export function crmScript(m: PacemakerModel, source: string): string {
  const out = [...headerLines(m, source), `Apply with: crm configure load update FILE`].map((l) => `# ${l}`);
  if (m.problems.length) out.push('#', ...problemLines(m).map((l) => `# ${l}`));
  out.push('');
  for (const n of m.nodes) out.push(`node ${n.id}: ${n.name}`);
  out.push(`property cib-bootstrap-options: ${m.properties.map(([k, v]) => `${k}=${value(v)}`).join(' ')}`);
  out.push(`rsc_defaults rsc-options: resource-stickiness=${m.stickiness}`);
  for (const g of m.groups) {
    out.push('');
    for (const p of g.primitives) out.push(primitive(p));
    out.push(`group ${g.id} ${g.primitives.map((p) => p.id).join(' ')} \\\n\tdescription=${value(g.description)}`);
    out.push(`location ${locationId(g)} ${g.id} ${m.locationScore}: ${g.node}`);
  }
  return `${out.join('\n')}\n`;
}
