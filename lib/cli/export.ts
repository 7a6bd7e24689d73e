// `hbd export pacemaker`: the way out — ha.cf, authkeys and haresources as a Corosync 3 +
// Pacemaker 2 configuration (corosync.conf, and a crm script or a CIB).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';

import { formatDiagnostic } from '../config/diagnostics';
import { parseHaCf } from '../config/hacf';
import { loadConfig } from '../config/load';
import { readConfigFile } from '../config/source';
import type { ClusterConfig } from '../config/types';
import { describeErrno } from '../errors';
import { cibXml } from '../export/cib';
import { corosyncConf } from '../export/corosync';
import { crmScript } from '../export/crm';
import { pacemakerModel } from '../export/model';
import { processIo, type Io } from './control';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, withConfigDir } from './options';

interface ExportOptions {
  configDir: string;
  cib?: boolean;
  outputDir?: string;
  force?: boolean;
}

export const COROSYNC_FILE = 'corosync.conf';
export const CRM_FILE = 'pacemaker.crm';
export const CIB_FILE = 'cib.xml';

export function register(program: Command): void {
  const exp = program.command('export').description('turn the heartbeat configuration into another cluster stack\'s');
  const cmd = new Command('pacemaker')
    .description('write corosync.conf (Corosync 3, knet) and the resources as a crm configure script (or a CIB with --cib) for Pacemaker 2')
    .option('--cib', 'write the resources as CIB XML instead of a crm configure script')
    .option('-o, --output-dir <dir>', `write ${COROSYNC_FILE} and ${CRM_FILE} (or ${CIB_FILE}) into DIR instead of printing them`)
    .option('--force', 'with --output-dir: replace files that exist')
    .addHelpText(
      'after',
      `
Each haresources line becomes a group with a location preference for its node: IPaddr and
IPaddr2 become ocf:heartbeat:IPaddr2, init scripts lsb:NAME, systemd::UNIT systemd:UNIT,
heartbeat's resource.d wrappers (Filesystem, MailTo, ...) their OCF agent. auto_failback
becomes resource-stickiness. A line with no Pacemaker equivalent (drbddisk, a script with
arguments) is written as a comment saying why, and the exit status is 1.
Without --output-dir both files are printed, each after a "# ==> FILE <==" line.

Exit status: 0 everything exported; 1 the configuration is invalid, or a haresources line
could not be exported; 2 usage error, unreadable configuration, or a file that exists.`,
    )
    .action((opts: ExportOptions) => {
      process.exitCode = runExport(opts, processIo);
    });
  exp.addCommand(withConfigDir(cmd));
}

/** Any node of ha.cf will do as "this node": the export describes the whole cluster. */
function someNode(configDir: string): string | undefined {
  const read = readConfigFile(path.join(configDir, 'ha.cf'));
  return read.ok ? parseHaCf(read.bytes.toString('utf8'), 'ha.cf').haCf.nodes[0]?.name : undefined;
}

function load(opts: ExportOptions, io: Io): { config: ClusterConfig | null; code: number } {
  // The files may be meant for other machines: host checks (interfaces, scripts) do not matter here.
  const r = loadConfig(opts.configDir, { node: someNode(opts.configDir), hostChecks: 'warn' });
  for (const d of r.diagnostics) if (d.severity === 'error') io.err(`${formatDiagnostic(d)}\n`);
  if (r.config) return { config: r.config, code: EXIT_OK };
  io.err(`hbd export: nothing exported: ${r.resolved.configDir} has errors (above; \`hbd check --other-host -c ${opts.configDir}\` shows everything)\n`);
  return { config: null, code: r.unreadable ? EXIT_USAGE : EXIT_FAILURE };
}

export function runExport(opts: ExportOptions, io: Io): number {
  const { config, code } = load(opts, io);
  if (!config) return code;
  const source = config.configDir;
  const model = pacemakerModel(config);
  const files: Array<[string, string]> = [
    [COROSYNC_FILE, corosyncConf(config, source)],
    opts.cib ? [CIB_FILE, cibXml(model, source)] : [CRM_FILE, crmScript(model, source)],
  ];
  if (opts.outputDir === undefined) {
    io.out(files.map(([name, text]) => `# ==> ${name} <==\n${text}`).join('\n'));
  } else {
    try {
      fs.mkdirSync(opts.outputDir, { recursive: true });
      for (const [name, text] of files) fs.writeFileSync(path.join(opts.outputDir, name), text, { flag: opts.force ? 'w' : 'wx', mode: 0o644 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      io.err(`hbd export: ${describeErrno(e, err.syscall ?? 'write', err.path)}${err.code === 'EEXIST' ? ' (give --force to replace it)' : ''}\n`);
      return EXIT_USAGE;
    }
    io.err(`hbd export: wrote ${files.map(([n]) => path.join(opts.outputDir!, n)).join(' and ')}\n`);
  }
  for (const p of model.problems) {
    io.err(`${config.files.haresources}:${p.line}: error: resource [${p.text}] not exported: ${p.reason}; its group [${p.group}] is a comment in the output\n  hint: ${p.instead}\n`);
  }
  return model.problems.length ? EXIT_FAILURE : EXIT_OK;
}
