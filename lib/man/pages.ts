// The four man pages, generated: hbd(8) from the command-line program itself (every subcommand's
// help), ha.cf(5) from the directive table `hbd check` uses. `npm run man` writes them to man/;
// test/man-pages.test.ts fails when the committed pages differ from what this generates.
import type { Command } from 'commander';

import { buildProgram } from '../cli/main';
import { DEFAULT_CONFIG_DIR, DEFAULT_RUN_DIR, DEFAULT_STATE_DIR } from '../cli/options';
import { DIRECTIVES, type Directive } from '../config/directives';
import { BUILTIN_RESOURCES, INIT_DIR } from '../config/host';
import { SYSTEMD_RESOURCE } from '../config/haresources';
import { version } from '../version';
import { DIRECTIVE_DOCS } from './directive-docs';
import { bold, esc, header, item, italic, para, section, verbatim } from './roff';

export interface ManPage {
  /** File name under man/, e.g. `hbd.8`. */
  readonly file: string;
  readonly text: string;
}

const SEE_ALSO = (except: string) => ['hbd(8)', 'ha.cf(5)', 'authkeys(5)', 'haresources(5)'].filter((p) => p !== except).map((p) => bold(p.replace(/\(.*/, '')) + p.slice(p.indexOf('('))).join(', ');

/** Leaf commands with their full names (`export pacemaker`). */
function leaves(program: Command): Array<{ name: string; cmd: Command }> {
  return program.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => (c.commands.length ? c.commands.map((s) => ({ name: `${c.name()} ${s.name()}`, cmd: s })) : [{ name: c.name(), cmd: c }]));
}

/** What `hbd SUBCOMMAND --help` prints, at a fixed width so that the page does not depend on the terminal. */
function helpText(cmd: Command): string {
  let out = '';
  cmd.configureOutput({ writeOut: (s) => void (out += s), getOutHelpWidth: () => 78, getOutHasColors: () => false });
  cmd.outputHelp();
  return out;
}

function hbd8(): string {
  const program = buildProgram();
  const cmds = leaves(program);
  return [
    header('hbd', 8, 'a drop-in reimplementation of the Linux-HA Heartbeat cluster daemon', version(), 'System Administration'),
    section('Synopsis', `${bold('hbd')} ${italic('COMMAND')} [${italic('OPTIONS')}]`, ...cmds.map(({ name }) => `.br\n${bold(`hbd ${name}`)} …`)),
    section(
      'Description',
      para("hbd runs a heartbeat 3.0 cluster: it reads heartbeat's `ha.cf`, `authkeys` and `haresources` (see ha.cf(5), authkeys(5), haresources(5)), speaks heartbeat's packets (an hbd node and a heartbeat 3.0.6 node form one cluster), and detects failures within milliseconds from a native engine thread."),
      para("With `deadtime` within 100 ms of `keepalive` and two CPUs or more, a second engine thread, the beat sentinel, runs on the last CPU (the engine thread on the others) and sends any status the engine thread has not sent a quarter of deadtime minus keepalive (0.5 to 5 ms) after it was due: a virtual machine's hypervisor takes one virtual CPU away for several milliseconds at a time. When the engine thread itself wakes late, the log names the likely cause from the kernel's counters for the thread (waiting for its CPU, its own work, a lock, page faults, or none of these: a paused machine)."),
      para('`hbd check` validates the files; `hbd start` runs the daemon; the operator commands (status, standby, takeover, reload, stop, cl_status, hb_standby, hb_takeover) talk to it through its control socket; `hbd export pacemaker` converts the configuration for Corosync and Pacemaker.'),
    ),
    section('Commands', ...cmds.flatMap(({ name, cmd }) => [`.SS "hbd ${esc(name)}"`, verbatim(helpText(cmd))])),
    section(
      'Common options',
      item(bold('-c, --config-dir DIR'), `The configuration directory (default ${DEFAULT_CONFIG_DIR}).`),
      item(bold('--node NAME'), `This node's name, instead of the first line of ${DEFAULT_CONFIG_DIR}/nodeinfo or \`uname -n\`.`),
      item(bold('--state-dir DIR'), `Persistent state: the generation number and the node UUID (default ${DEFAULT_STATE_DIR}).`),
      item(bold('--run-dir DIR'), `The pid file and the control socket (default ${DEFAULT_RUN_DIR}).`),
      item(bold('-V, --version'), 'Print the version.'),
      item(bold('-h, --help'), 'Help for hbd or a subcommand.'),
    ),
    section(
      'Exit status',
      item(bold('0'), 'Success.'),
      item(bold('1'), 'Failure: an invalid configuration, a daemon that is not running or refused a request, a haresources line hbd export could not convert.'),
      item(bold('2'), 'Usage error, or input that cannot be read.'),
      para('`hbd cl_status` exits as heartbeat\'s cl_status does: 0 OK, 1 a node or link down or heartbeat stopped, 11 a parameter error, 12 a timeout, 13 another error. `hbd hb_standby` and `hbd hb_takeover` exit 0, or 1 when the daemon cannot be reached. Each command\'s own codes are listed under COMMANDS.'),
    ),
    section(
      'Environment',
      item(bold('HBD_TRANSPORT'), '`native`, `ts` or `auto` (default): which packet core to use; auto takes the native engine when its addon loads.'),
      item(bold('HBD_REQUIRE_NATIVE'), 'When `1`, a native addon that does not load is an error instead of a fallback to the TypeScript transport (at run time and at install time).'),
      item(bold('HBD_SKIP_NATIVE_BUILD'), 'When `1` at install time, the addon is not built (hbd runs on the TypeScript transport).'),
    ),
    section(
      'Files',
      item(bold(`${DEFAULT_CONFIG_DIR}/ha.cf`), 'Cluster settings, see ha.cf(5).'),
      item(bold(`${DEFAULT_CONFIG_DIR}/authkeys`), 'Packet authentication keys, mode 600, see authkeys(5).'),
      item(bold(`${DEFAULT_CONFIG_DIR}/haresources`), 'Resource groups, see haresources(5).'),
      item(bold(`${DEFAULT_CONFIG_DIR}/nodeinfo`), "Optional: its first line is this node's name."),
      item(bold(`${DEFAULT_CONFIG_DIR}/resource.d/`), `Resource scripts, searched before ${INIT_DIR}.`),
      item(bold(`${DEFAULT_RUN_DIR}/hbd.pid`), 'The running daemon\'s pid.'),
      item(bold(`${DEFAULT_RUN_DIR}/hbd.sock`), 'The control socket (mode 600) the operator commands use.'),
      item(bold(`${DEFAULT_STATE_DIR}/`), 'The generation number and the node UUID.'),
      item(bold('/var/log/ha-log, /var/log/ha-debug'), 'Usual logfile and debugfile (set in ha.cf).'),
    ),
    section(
      'Signals',
      item(bold('SIGTERM, SIGINT'), 'Clean shutdown: peers are told (heartbeat\'s shutdone), the media closed, the pid file removed; `hbd start` then exits 0.'),
      item(bold('SIGHUP'), 'Re-read the configuration like `hbd reload` (an invalid one is refused and the daemon keeps the old one) and reopen the log files.'),
      para('`hbd status --watch` stops on SIGINT (Ctrl-C) and exits with the status of its last refresh.'),
    ),
    section('See also', `${SEE_ALSO('hbd(8)')}, ${bold('corosync.conf')}(5), ${bold('crm')}(8)`),
  ].join('\n') + '\n';
}

/** What hbd does with a directive, from its disposition in the table. */
function verdict(d: Directive): string {
  const disp = d.disposition;
  switch (disp.kind) {
    case 'honoured':
      return 'Accepted.';
    case 'extension':
      return 'Accepted: an hbd extension (heartbeat refuses this directive; keep it out of ha.cf files shared with heartbeat nodes). `hbd check` notes it.';
    case 'no-effect':
      return `Warned: accepted and validated, without effect in hbd: ${disp.why}.`;
    case 'unsupported':
      return `Refused: ${d.name} ${disp.reason}; ${disp.instead}.`;
  }
}

function hacf5(): string {
  const group = (title: string, pick: (d: Directive) => boolean) => [`.SS "${title}"`, ...DIRECTIVES.filter(pick).map(directiveItem)];
  return [
    header('ha.cf', 5, 'heartbeat cluster settings, as hbd reads them', version(), 'File Formats'),
    section('Synopsis', bold(`${DEFAULT_CONFIG_DIR}/ha.cf`)),
    section(
      'Description',
      para("ha.cf is heartbeat 3.0's main configuration file; hbd reads it as heartbeat does, and `hbd check` reports every problem as FILE:LINE: error|warning|note with a hint. This page is generated from the directive table `hbd check` uses."),
      para('One directive per line: the directive name, then its value. Leading blanks are skipped; everything from the first # is a comment (even inside a value). Directive names are case-sensitive. An unknown directive is an error.'),
      para('A directive marked "several values per line" has the rest of its line split at blanks and commas and applied to each value (`node a b,c` declares three nodes). mcast, ucast, ping_group and the other directives with several arguments take the whole line; the rest take one value and may appear once.'),
      para('Order matters: udpport must come before the bcast and ucast media that use it.'),
      para("TIME is a number of seconds (`2`, `0.5`) or of milliseconds with ms attached (`500ms`); heartbeat accepts no other unit. BOOLEAN is on/off, true/false, yes/no, y/n or 1/0."),
    ),
    section(
      'Directives',
      para('Each entry says whether hbd accepts it, accepts it with a warning (it changes nothing in hbd), or refuses it (hbd does not start), and why.'),
      ...group('Accepted', (d) => d.disposition.kind === 'honoured'),
      ...group('hbd extensions', (d) => d.disposition.kind === 'extension'),
      ...group('Accepted with a warning: no effect in hbd', (d) => d.disposition.kind === 'no-effect'),
      ...group('Refused', (d) => d.disposition.kind === 'unsupported'),
    ),
    section(
      'Example',
      verbatim('logfile /var/log/ha-log\nlogfacility local0\nkeepalive 2\ndeadtime 10\nbcast eth0\nauto_failback on\nnode node1 node2\nhbd_metrics 127.0.0.1:9694'),
    ),
    section('See also', SEE_ALSO('ha.cf(5)')),
  ].join('\n') + '\n';
}

function directiveItem(d: Directive): string {
  const doc = DIRECTIVE_DOCS[d.name];
  if (!doc) throw new Error(`ha.cf(5): no documentation for directive ${d.name} (add it to lib/man/directive-docs.ts)`);
  const syntax = `${bold(d.name)} ${italic(doc.syntax)}`;
  const lines = [doc.summary];
  if (d.defaultValue !== null) lines.push(`Default: ${d.defaultValue}.`);
  if (d.shape === 'values') lines.push('Several values per line.');
  lines.push(verdict(d));
  return item(syntax, ...lines);
}

function authkeys5(): string {
  return [
    header('authkeys', 5, 'heartbeat packet authentication keys', version(), 'File Formats'),
    section('Synopsis', bold(`${DEFAULT_CONFIG_DIR}/authkeys`)),
    section(
      'Description',
      para('authkeys holds the keys that sign and verify every heartbeat packet. It must be identical on every node and readable by root only: hbd, like heartbeat, refuses a file that its group or others can read (`chmod 600`).'),
      verbatim('auth INDEX\nINDEX METHOD [KEY]\n...'),
      item(bold('auth') + ' ' + italic('INDEX'), 'The key that signs outgoing packets. Exactly one auth line, naming an index listed below.'),
      item(italic('INDEX METHOD KEY'), 'A key packets are accepted with: INDEX 0–15, METHOD one of sha1, md5, crc or sha256, KEY one word without blanks. Several lines allow key rotation: sign with the new index once every node accepts it.'),
      para('A line whose first non-blank character is # is a comment (a key may contain #). Anything after the key is ignored.'),
    ),
    section(
      'Methods',
      item(bold('sha1'), 'HMAC-SHA1 with the key. Use this: generate the key with `openssl rand -hex 20`.'),
      item(bold('md5'), 'HMAC-MD5 with the key.'),
      item(bold('crc'), 'A CRC-32 checksum, no key and no security: only for a trusted cross-over cable. A key given to crc is an error.'),
      item(bold('sha256'), 'HMAC-SHA256: an hbd extension that heartbeat nodes cannot verify.'),
    ),
    section('Diagnostics', para('`hbd check` warns about the placeholder key of heartbeat\'s sample file and names the line and the fix for every error; `hbd decode --authkeys FILE` verifies a capture with these keys.')),
    section('Example', verbatim('auth 1\n1 sha1 4b1e3c0f8a5d2e6b7c9a0d1f2e3b4c5d6e7f8a9b')),
    section('See also', SEE_ALSO('authkeys(5)')),
  ].join('\n') + '\n';
}

function haresources5(): string {
  const builtin = BUILTIN_RESOURCES.join(', ');
  return [
    header('haresources', 5, 'heartbeat resource groups', version(), 'File Formats'),
    section('Synopsis', bold(`${DEFAULT_CONFIG_DIR}/haresources`)),
    section(
      'Description',
      para('Each line is one resource group: the preferred node, then the resources, started left to right on one node and stopped right to left. The file must be identical on every node.'),
      verbatim('NODE RESOURCE [RESOURCE...]'),
      para('NODE is a node of ha.cf (case-insensitive). A resource is `SCRIPT` or `SCRIPT::ARG[::ARG...]`; the arguments are passed to the script as separate words (they cannot contain blanks). A trailing \\e joins the next line; # starts a comment anywhere. The first resource names the group and must appear only once in the file.'),
      para('The file name has an s: a file named haresource is not read (`hbd check` says so).'),
    ),
    section(
      'Resources',
      item(italic('IPv4 address'), 'A resource that looks like an IPv4 address means `IPaddr::ADDRESS`.'),
      item(bold('IPaddr::') + italic('IP[/NETMASK[/NIC[/BROADCAST]]]') + ', ' + bold('IPaddr2::') + italic('…'), `An address hbd adds to and removes from the interface itself (built-in, like ${builtin}). NETMASK is a prefix length or dotted; NIC may carry an alias label (eth0:1); a third part starting with a digit is the broadcast address.`),
      item(bold(`${SYSTEMD_RESOURCE}::`) + italic('UNIT'), 'An hbd extension: `systemctl start`, `stop` and `is-active` of UNIT (NAME.service when no suffix is given).'),
      item(italic('SCRIPT[::ARG...]'), `${DEFAULT_CONFIG_DIR}/resource.d/SCRIPT, else ${INIT_DIR}/SCRIPT, called with the arguments and start, stop or status. Status is read from the output as heartbeat does: "running" or "OK" means held, "not running" not held.`),
    ),
    section(
      'Failover',
      para('auto_failback in ha.cf decides whether a group returns to its preferred node when that node comes back (on) or stays where it is (off). `hbd standby` and `hbd takeover` move groups by hand.'),
    ),
    section('Converting to Pacemaker', para('`hbd export pacemaker` turns each line into a Pacemaker group with a location preference for NODE; a line with no Pacemaker form (drbddisk, an init script with arguments) is written as a comment and makes the export exit 1.')),
    section('Example', verbatim('node1 IPaddr::192.168.1.4/24/eth0 httpd\nnode2 192.168.1.5 Filesystem::/dev/sdb1::/srv::ext4 systemd::postgresql')),
    section('See also', SEE_ALSO('haresources(5)')),
  ].join('\n') + '\n';
}

export function manPages(): ManPage[] {
  return [
    { file: 'hbd.8', text: hbd8() },
    { file: 'ha.cf.5', text: hacf5() },
    { file: 'authkeys.5', text: authkeys5() },
    { file: 'haresources.5', text: haresources5() },
  ];
}

