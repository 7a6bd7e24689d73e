// systemd::UNIT — an hbd extension for services that have a unit but no init script:
// `systemctl start|stop UNIT`, and status from `systemctl is-active UNIT` (exit 0: active).
// systemctl waits for the job to finish, so start/stop succeed only once the unit is up/down.
import { runCommandAction, type CommandActionOptions } from './command-action';
import type { Action, ActionResult, Resource } from './resource';

export interface SystemdOptions extends CommandActionOptions {
  readonly systemctl?: string;
}

export class SystemdResource implements Resource {
  readonly type = 'systemd';

  constructor(
    readonly text: string,
    readonly unit: string,
    private readonly opts: SystemdOptions,
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

  private run(action: Action): Promise<ActionResult> {
    // --no-ask-password: a polkit prompt would wait for a terminal until the timeout.
    // is-active exits 0 for an active unit (3 inactive or failed, 4 no such unit).
    const argv = [this.opts.systemctl ?? 'systemctl', '--no-ask-password', action === 'status' ? 'is-active' : action, '--', this.unit];
    return runCommandAction(argv, action, this.opts, (r) => r.code === 0);
  }
}
