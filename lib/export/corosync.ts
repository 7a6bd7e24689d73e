// corosync.conf for Corosync 3 (knet) from ha.cf: the nodes, one knet link per heartbeat
// interface, and the token / knet timeouts from keepalive and deadtime.
import type { ClusterConfig, Medium } from '../config/types';

/** One knet link per interface, as heartbeat names links by interface. */
function linksOf(media: readonly Medium[]): Array<{ iface: string; media: Medium[] }> {
  const links: Array<{ iface: string; media: Medium[] }> = [];
  for (const m of media) {
    const l = links.find((x) => x.iface === m.iface);
    if (l) l.media.push(m);
    else links.push({ iface: m.iface, media: [m] });
  }
  return links;
}

function describeMedium(m: Medium): string {
  switch (m.type) {
    case 'bcast':
      return `bcast ${m.iface} (ha.cf:${m.line})`;
    case 'mcast':
      return `mcast ${m.iface} ${m.group} (ha.cf:${m.line}; knet is unicast: the group is not used)`;
    case 'ucast':
      return `ucast ${m.iface} ${m.peer} (ha.cf:${m.line})`;
  }
}

export function corosyncConf(cfg: ClusterConfig, source: string): string {
  const t = cfg.timings;
  const links = linksOf(cfg.media);
  // A link is declared down before the token is lost, so that knet can move traffic to another link first.
  const pingTimeout = Math.max(t.keepaliveMs + 1, Math.floor(t.deadtimeMs / 2));
  const out = [
    `# corosync.conf (Corosync 3, knet) for the heartbeat cluster "${cfg.clusterName}", made by hbd export pacemaker from ${source}.`,
    '# Copy it to /etc/corosync/corosync.conf on every node. heartbeat\'s authkeys cannot be converted: run',
    '# corosync-keygen on one node and copy /etc/corosync/authkey to the others (mode 0400).',
    `# Node names must resolve to each node's address on ${links[0]?.iface ?? 'its first interface'} (ring0_addr), e.g. through /etc/hosts.`,
    'totem {',
    '\tversion: 2',
    `\tcluster_name: ${cfg.clusterName}`,
    '\ttransport: knet',
    `\t# heartbeat deadtime ${t.deadtimeMs}ms: a node silent this long is lost`,
    `\ttoken: ${t.deadtimeMs}`,
    '\tcrypto_cipher: aes256',
    '\tcrypto_hash: sha256',
  ];
  links.forEach((l, i) => {
    const block = [
      'interface {',
      `\t# heartbeat link ${l.iface}: ${l.media.map(describeMedium).join(', ')}`,
      `\tlinknumber: ${i}`,
      `\t# keepalive ${t.keepaliveMs}ms; the link is down after half of deadtime without an answer`,
      `\tknet_ping_interval: ${t.keepaliveMs}`,
      `\tknet_ping_timeout: ${pingTimeout}`,
      '}',
    ];
    // Link 0 runs between the node names; a further link needs each node's address on its
    // interface, which ha.cf does not say: it is written commented out, to be completed.
    if (i > 0) out.push(`\t# To use ${l.iface} as knet link ${i}: uncomment this and set ring${i}_addr for every node below.`);
    out.push(...block.map((b) => (i === 0 ? `\t${b}` : `\t# ${b}`)));
  });
  out.push('}', '', 'nodelist {');
  cfg.nodes.forEach((n, i) => {
    out.push('\tnode {', `\t\tname: ${n.name}`, `\t\tnodeid: ${i + 1}`, `\t\tring0_addr: ${n.name}`);
    // heartbeat media name interfaces, not per-node addresses: the other links' addresses are the operator's to fill in.
    links.slice(1).forEach((l, j) => out.push(`\t\t# ring${j + 1}_addr: ${n.name}'s address on ${l.iface}`));
    out.push('\t}');
  });
  out.push('}', '', 'quorum {', '\tprovider: corosync_votequorum');
  // Two nodes: the survivor keeps quorum, as a heartbeat node takes over alone.
  if (cfg.nodes.length === 2) out.push('\ttwo_node: 1');
  out.push('}', '', 'logging {', '\tto_syslog: yes', '\ttimestamp: on', '}');
  return `${out.join('\n')}\n`;
}
