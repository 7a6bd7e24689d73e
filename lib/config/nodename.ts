// Which node this is: `--node NAME`, else the first line of <configdir>/nodeinfo, else
// `uname -n` (os.hostname()); lower-cased as heartbeat does. It must be declared in ha.cf.
import * as os from 'node:os';
import * as path from 'node:path';

import type { Sink } from './diagnostics';
import { readConfigFile } from './source';
import type { LocalNodeSource, NodeDecl } from './types';

export interface LocalNode {
  readonly name: string;
  readonly source: LocalNodeSource;
}

/** Problems with nodeinfo go to `nodeinfoSink`; a missing nodeinfo is normal. */
export function localNodeName(configDir: string, override: string | undefined, nodeinfoSink: Sink, hostname: () => string = os.hostname): LocalNode {
  if (override !== undefined) return { name: override.trim().toLowerCase(), source: '--node' };
  const file = path.join(configDir, 'nodeinfo');
  const read = readConfigFile(file);
  if (read.ok) {
    const first = read.bytes.toString('utf8').split('\n', 1)[0].trim();
    if (first !== '') return { name: first.toLowerCase(), source: 'nodeinfo' };
    nodeinfoSink.warning(1, 'the first line of nodeinfo is empty; using `uname -n` instead', `write this node's name on the first line of ${file}, or remove the file`);
  } else if (read.code !== 'ENOENT') {
    nodeinfoSink.warning(null, `cannot read nodeinfo: ${read.message}; using \`uname -n\` instead`);
  }
  return { name: hostname().toLowerCase(), source: 'uname -n' };
}

/** heartbeat: "Current node [%s] not in configuration!" — with the lines and the fix. */
export function checkLocalNode(local: LocalNode, nodes: readonly NodeDecl[], configDir: string, haCfSink: Sink): void {
  if (local.name === '') {
    haCfSink.error(null, 'the node name given with --node is empty', 'give this node\'s name as listed in a node line of ha.cf');
    return;
  }
  if (nodes.length === 0 || nodes.some((n) => n.name === local.name)) return;
  const declared = nodes.map((n) => `${n.name} (line ${n.line})`).join(', ');
  haCfSink.error(nodes[0].line, `Current node [${local.name}] (from ${local.source}) not in configuration: the nodes are ${declared}`, `add node ${local.name} to ha.cf, or name this node with --node NAME or on the first line of ${path.join(configDir, 'nodeinfo')}`);
}
