// Script resources (spec §8.2): `<script> [args…] start|stop|status`, found as ResourceManager's
// scriptpath() finds it — <config dir>/resource.d/<name>, then /etc/init.d/<name>, the first that
// is a regular executable file, looked up at every action (a script installed later is found).
// The environment is heartbeat's (haEnvironment), status is decided from the output text as
// we_own_resource() does, and every action is bounded by its timeout (the process group is killed).
import * as path from 'node:path';

import { INIT_DIR, isExecutableFile } from '../config/host';
import type { ClusterConfig } from '../config/types';
import { runCommandAction, type CommandActionOptions } from './command-action';
import { BASE_ENV } from './exec';
import { statusSaysRunning, type Action, type ActionResult, type Resource } from './resource';

export interface ScriptOptions extends CommandActionOptions {
  readonly configDir: string;
  readonly initDir?: string;
}

/**
 * What heartbeat exports to resource scripts: its log settings and the local node (HA_CURHOST),
 * the directories ResourceManager sets, HA_debug, and `env NAME=value` of ha.cf as HA_NAME.
 */
export function haEnvironment(cfg: Pick<ClusterConfig, 'configDir' | 'localNode' | 'logging' | 'env'>): Record<string, string> {
  const env: Record<string, string> = {
    ...BASE_ENV,
    HA_DIR: cfg.configDir,
    HA_RESOURCEDIR: path.join(cfg.configDir, 'resource.d'),
    HA_RCDIR: path.join(cfg.configDir, 'rc.d'),
    HA_CF: path.join(cfg.configDir, 'ha.cf'),
    HA_FUNCS: path.join(cfg.configDir, 'shellfuncs'),
    HA_CURHOST: cfg.localNode,
    HA_debug: String(cfg.logging.debugLevel),
    HA_LOGD: 'no',
    HA_DEBUGLOG: cfg.logging.debugfile ?? '/dev/null',
  };
  if (cfg.logging.logfile) env.HA_LOGFILE = cfg.logging.logfile;
  if (cfg.logging.facility) env.HA_LOGFACILITY = cfg.logging.facility;
  for (const e of cfg.env) env[`HA_${e.name}`] = e.value;
  return env;
}

/** scriptpath(): the executable for `name`, or null (ResourceManager: `Cannot locate resource script`). */
export function locateScript(name: string, configDir: string, initDir = INIT_DIR): string | null {
  return [path.join(configDir, 'resource.d', name), path.join(initDir, name)].find(isExecutableFile) ?? null;
}

export class ScriptResource implements Resource {
  readonly type = 'script';

  constructor(
    readonly text: string,
    readonly script: string,
    readonly args: readonly string[],
    private readonly opts: ScriptOptions,
  ) {}

  start(): Promise<ActionResult> {
    return this.run('start');
  }

  stop(): Promise<ActionResult> {
    return this.run('stop');
  }

  status(): Promise<ActionResult> {
    return this.run('status');
  }

  private async run(action: Action): Promise<ActionResult> {
    const file = locateScript(this.script, this.opts.configDir, this.opts.initDir);
    if (file !== null) return runCommandAction([file, ...this.args, action], action, this.opts, (r) => statusSaysRunning(r.stdout));
    const message = `Cannot locate resource script ${this.script}`;
    if (action !== 'status') this.opts.log.error(message);
    const where = `${path.join(this.opts.configDir, 'resource.d', this.script)} or ${path.join(this.opts.initDir ?? INIT_DIR, this.script)}`;
    return { action, ok: false, running: false, command: [this.script, ...this.args, action].join(' '), outcome: 'not found', exitCode: null, outputTail: `${message} (no executable ${where})`, output: '', durationMs: 0, timedOut: false };
  }
}
