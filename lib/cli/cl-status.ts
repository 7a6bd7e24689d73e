// `hbd cl_status SUBCOMMAND`: heartbeat's cl_status (spec §11.1) over the control socket — the same
// sub-commands, output and exit codes, so scripts written for heartbeat keep working.
import { Command } from 'commander';

import { call, ControlClientError } from '../control/client';
import type { NodeReport, StatusAnswer } from '../control/types';
import { processIo, type Io } from './control';
import { withRunDir } from './options';

/** cl_status's exit codes. */
export const CL_OK = 0;
export const CL_FAILURE = 1;
export const CL_PARAMETER = 11;
export const CL_TIMEOUT = 12;
export const CL_UNKNOWN = 13;

/** cl_status's own usage text, as heartbeat 3.0.6 prints it (its typos included). */
export const CL_USAGE = `Usage: cl_status <sub-command> [<options>] [<parameters>]

Sub-commands:
clientstatus <node-name> <client-id> [<timeout>]
	Show the status of heartbeat clients.
hblinkstatus <node-name> <link-name>
	Show the status of a heartbeat link
hbstatus
	Indicate if heartbeat is running on the local system.
	Options:
		-v	verbose: also add "listnodes -v" output
listnodes [<option>]
	List the nodes in the cluster.
	Options:
		-p	list only 'ping' type nodes
		-n	list only 'normal' type nodes
		-v	verbose: also list type and status,
			then add "listhblinks -v" output
listhblinks <node-name>
	List the network interfaces used as hearbeat links.
	Options:
		-v	verbose: list link status as well
nodestatus <node-name>
	List the node status.
nodeweight <node-name>
	List the node weight.
nodesite <node-name>
	List the node site.
nodetype <node-name>
	List the nodes of a given type.
rscstatus
	Show the status of cluster resources.
hbparameter -p <parameter-name>
	Retrieve the value of a cluster parameter.
	As for the valid parameter names, please refer to the man page.
`;

interface Parsed {
  readonly sub: string;
  readonly flags: ReadonlySet<string>;
  readonly param: string | null;
  readonly operands: readonly string[];
}

/** Which single-letter options each sub-command takes (`-m` everywhere; `-p NAME` for hbparameter). */
const SUBCOMMANDS: Readonly<Record<string, { flags: string; operands: readonly string[]; optional?: number }>> = {
  hbstatus: { flags: 'v', operands: [] },
  listnodes: { flags: 'pnv', operands: [] },
  nodestatus: { flags: '', operands: ['node-name'] },
  nodetype: { flags: '', operands: ['node-name'] },
  nodeweight: { flags: '', operands: ['node-name'] },
  nodesite: { flags: '', operands: ['node-name'] },
  listhblinks: { flags: 'v', operands: ['node-name'] },
  hblinkstatus: { flags: '', operands: ['node-name', 'link-name'] },
  clientstatus: { flags: '', operands: ['node-name', 'client-id', 'timeout'], optional: 1 },
  rscstatus: { flags: '', operands: [] },
  hbparameter: { flags: '', operands: [] },
};

class ParameterError extends Error {}

function parseArgs(args: readonly string[]): Parsed {
  const [sub, ...rest] = args;
  const spec = SUBCOMMANDS[sub];
  if (spec === undefined) throw new ParameterError(`${sub}: invalid sub-command.`);
  const flags = new Set<string>();
  let param: string | null = null;
  const operands: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (!/^-[a-zA-Z]+$/.test(a)) {
      operands.push(a);
      continue;
    }
    for (const c of a.slice(1)) {
      if (c === 'p' && sub === 'hbparameter') {
        param = rest[++i] ?? null;
        if (param === null) throw new ParameterError('parameter name required');
      } else if (c === 'm' || spec.flags.includes(c)) flags.add(c);
      else throw new ParameterError(`${sub}: invalid option -${c}`);
    }
  }
  const required = spec.operands.length - (spec.optional ?? 0);
  if (operands.length < required || operands.length > spec.operands.length) {
    throw new ParameterError(operands.length < required ? 'Not enough parameters.' : `${sub}: too many parameters (expected ${spec.operands.map((o, i) => (i < required ? `<${o}>` : `[<${o}>]`)).join(' ') || 'none'})`);
  }
  if (sub === 'hbparameter' && param === null) throw new ParameterError('parameter name required');
  return { sub, flags, param, operands };
}

export interface ClResult {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

const ok = (out: string, code = CL_OK): ClResult => ({ out, err: '', code });
const badNode = (): ClResult => ({ out: '', err: 'Error. May be due to incorrect node name\n', code: CL_PARAMETER });

function findNode(s: StatusAnswer, name: string): NodeReport | undefined {
  return s.nodes.find((n) => n.name.toLowerCase() === name.toLowerCase());
}

function linkLines(n: NodeReport, verbose: boolean): string {
  return n.links.map((l) => (verbose ? `\t${l.name}\t${l.status}\n` : `\t${l.name}\n`)).join('');
}

function listnodes(s: StatusAnswer, flags: ReadonlySet<string>): string {
  const nodes = s.nodes.filter((n) => (flags.has('p') ? n.type === 'ping' : flags.has('n') ? n.type === 'normal' : true));
  const body = nodes.map((n) => (flags.has('v') ? `\n${n.name}\t${n.status}\t(nodetype: ${n.type})\n${linkLines(n, true)}` : `${n.name}\n`)).join('');
  return (flags.has('m') ? 'The nodes are as follow:\n' : '') + body;
}

/** Answers one cl_status sub-command from the daemon's status report (pure; tests call it). */
export function answer(p: Parsed, s: StatusAnswer): ClResult {
  const human = p.flags.has('m');
  const [nodeName, second] = p.operands;
  switch (p.sub) {
    case 'hbstatus': {
      let out = 'Heartbeat is running on this machine.\n';
      const ver = s.parameters.hbversion ?? s.version;
      if (p.flags.has('v')) out += human ? `Heartbeat version ${ver}\nResources controlled by "haresources"\n` : `version:\t${ver}\nmanaged by:\t"haresources"\n${listnodes(s, new Set(['v']))}`;
      return ok(out);
    }
    case 'listnodes':
      return ok(listnodes(s, p.flags));
    case 'nodestatus': {
      const n = findNode(s, nodeName);
      if (!n) return badNode();
      const up = n.status === 'active' || n.status === 'up' || n.status === 'ping';
      return ok(human ? `The cluster node ${nodeName} is ${n.status}\n` : `${n.status}\n`, up ? CL_OK : CL_FAILURE);
    }
    case 'nodetype': {
      const type = findNode(s, nodeName)?.type ?? 'unknown';
      return ok(human ? `The node ${nodeName}'s type: ${type}\n` : `${type}\n`);
    }
    case 'nodeweight':
      // hbd has no hb_setweight: every node has heartbeat's default weight.
      if (!findNode(s, nodeName)) return { out: '', err: 'Error. Maybe due to incorrect node name.\n', code: CL_PARAMETER };
      return ok(human ? `The weight of the cluster node ${nodeName} is 100\n` : '100\n');
    case 'nodesite':
      // … and no hb_setsite: heartbeat's default site is the empty string.
      if (!findNode(s, nodeName)) return { out: '', err: 'Error. Maybe due to incorrect node name.\n', code: CL_PARAMETER };
      return ok(human ? `The site of the cluster node ${nodeName} is \n` : '\n');
    case 'listhblinks': {
      const n = findNode(s, nodeName);
      if (!n) return badNode();
      return ok((human ? '\tthis node has the following heartbeat links:\n' : '') + linkLines(n, p.flags.has('v')));
    }
    case 'hblinkstatus': {
      const link = findNode(s, nodeName)?.links.find((l) => l.name === second);
      if (!link) return { out: '', err: 'cl_status: ERROR: Cannot get heartbeat link status\n', code: CL_FAILURE };
      return ok(human ? `The node ${nodeName}'s heartbeat link ${second} is ${link.status}\n` : `${link.status}\n`, link.status === 'up' ? CL_OK : CL_FAILURE);
    }
    case 'clientstatus':
      // hbd has no API clients (ipfail, …): every client is offline, heartbeat's exit code 1.
      if (!findNode(s, nodeName)) return { out: '', err: `cl_status: ERROR: Cannot get heartbeat client ${second}'s status\n`, code: CL_FAILURE };
      return ok('offline\n', CL_FAILURE);
    case 'rscstatus':
      return ok(human ? `This node is holding ${s.heldResources} resources.\n` : `${s.heldResources}\n`);
    case 'hbparameter': {
      const v = s.parameters[p.param!];
      if (v === undefined) return { out: '', err: `cl_status: ERROR: Cannot get parameter ${p.param}'s value\n`, code: CL_FAILURE };
      return ok(human ? `Heartbeat parameter ${p.param}'s value: ${v}\n` : `${v}\n`);
    }
    default:
      return { out: '', err: `cl_status: ERROR: ${p.sub}: invalid sub-command.\n`, code: CL_PARAMETER };
  }
}

export async function runClStatus(args: readonly string[], runDir: string, io: Io, timeoutMs = 5000): Promise<number> {
  if (args.length === 0 || args[0] === '-h' || args[0] === '--help') {
    io.out(CL_USAGE);
    return CL_OK;
  }
  let p: Parsed;
  try {
    p = parseArgs(args);
  } catch (e) {
    if (!(e instanceof ParameterError)) throw e;
    io.err(`cl_status: ERROR: ${e.message}\n`);
    return CL_PARAMETER;
  }
  let s: StatusAnswer;
  try {
    // cl_status's global 5-second alarm.
    s = await call<StatusAnswer>(runDir, { cmd: 'status' }, timeoutMs);
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    if (p.sub === 'hbstatus' && e.kind === 'not-running') {
      io.out('Heartbeat is stopped on this machine.\n');
      return CL_FAILURE;
    }
    if (p.sub === 'hbstatus' && e.kind === 'permission') {
      io.out('Heartbeat is apparently running on this machine, but refuses my connection\n');
      io.err(`cl_status: ${e.message}\n`);
      return CL_OK;
    }
    io.err(`cl_status: ERROR: Cannot signon with heartbeat\ncl_status: ERROR: REASON: ${e.message}\n`);
    return e.kind === 'timeout' ? CL_TIMEOUT : e.kind === 'not-running' || e.kind === 'permission' ? CL_FAILURE : CL_UNKNOWN;
  }
  const r = answer(p, s);
  io.out(r.out);
  io.err(r.err);
  return r.code;
}

export function register(program: Command): void {
  const cmd = new Command('cl_status')
    .description("heartbeat's cl_status: same sub-commands, output and exit codes (run `hbd cl_status` for them)")
    .argument('[args...]')
    .helpOption(false)
    .allowUnknownOption(true)
    .action(async (args: string[], opts: { runDir: string }) => {
      process.exitCode = await runClStatus(args, opts.runDir, processIo);
    });
  program.addCommand(withRunDir(cmd));
}
