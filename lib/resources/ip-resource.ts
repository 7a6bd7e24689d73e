// The built-in IPaddr, IPaddr2 and IPv6addr resources: they take the place of
// /etc/ha.d/resource.d/IPaddr* and act through the AddressBackend (native or iproute2).
// start: resolve (ipaddr.ts) and add; then announce in the background as the agents do
// (IPaddr: 10 gratuitous ARPs at 500 ms, IPaddr2/IPv6addr: 5 at 200 ms), its outcome logged.
// stop: remove the address from the interface it is on (already gone: success).
// status: running when the address is on the resource's interface (any interface when none is
// named), answered with the wrapper's texts `INFO:  Running OK` / `INFO:  Resource is stopped`.
import type { AddressBackend, AnnounceOptions } from './address';
import { findAddress, resolveVip, type IpArgs } from './ipaddr';
import type { ResourceLog } from './log';
import type { Action, ActionResult, Resource } from './resource';
import { monoNowMs } from '../transport/clock';

/** The agents' defaults: IPaddr's ARP_REPEAT/ARP_INTERVAL_MS, IPaddr2's arp_count/arp_interval. */
export const ANNOUNCE_DEFAULTS: Readonly<Record<IpArgs['type'], AnnounceOptions>> = {
  IPaddr: { count: 10, intervalMs: 500 },
  IPaddr2: { count: 5, intervalMs: 200 },
  IPv6addr: { count: 5, intervalMs: 200 },
};

export const STATUS_RUNNING = 'INFO:  Running OK';
export const STATUS_STOPPED = 'INFO:  Resource is stopped';

export class IpResource implements Resource {
  readonly type: IpArgs['type'];
  /** The background announce of the last start (tests and shutdown wait on it); never rejects. */
  lastAnnounce: Promise<void> = Promise.resolve();
  /** Bumped by every start and stop: an announce failing after a stop is expected, not an error. */
  private epoch = 0;

  constructor(
    readonly text: string,
    private readonly args: IpArgs,
    /** The haresources argument (after `::`), for log lines like heartbeat's `Running … start`. */
    private readonly arg: string,
    private readonly backend: AddressBackend,
    private readonly log: ResourceLog,
    private readonly announce: AnnounceOptions = ANNOUNCE_DEFAULTS[args.type],
    private readonly clock: () => number = monoNowMs,
  ) {
    this.type = args.type;
  }

  /** Like ResourceManager's `Running /etc/ha.d/resource.d/IPaddr 10.0.0.5 start`. */
  private command(action: Action): string {
    return `${this.type} ${this.arg} ${action} (built-in, ${this.backend.kind} backend)`;
  }

  private result(action: Action, t0: number, ok: boolean, running: boolean, outcome: string, message: string): ActionResult {
    return {
      action,
      ok,
      running,
      command: this.command(action),
      outcome,
      exitCode: null,
      outputTail: message,
      output: message,
      durationMs: this.clock() - t0,
      timedOut: false,
    };
  }

  private failure(action: Action, t0: number, e: unknown): ActionResult {
    const err = e as { code?: string; message?: string };
    return this.result(action, t0, false, false, err.code ?? 'error', err.message ?? String(e));
  }

  async start(): Promise<ActionResult> {
    const t0 = this.clock();
    this.log.info(`Running ${this.command('start')}`);
    try {
      const r = resolveVip(this.args, await this.backend.list());
      if (!r.ok) return this.result('start', t0, false, false, r.code, r.message);
      const vip = r.vip;
      const added = await this.backend.add(vip);
      const where = `${vip.address}/${vip.prefix}${vip.broadcast ? ` brd ${vip.broadcast}` : ''} on ${vip.iface}${added.label && added.label !== vip.iface ? ` label ${added.label}` : ''}`;
      if (!vip.iface.startsWith('lo')) {
        const epoch = ++this.epoch;
        this.lastAnnounce = this.backend.announce(vip, this.announce).then(
          (a) => this.log.debug(1, `${this.text}: announced ${vip.address} on ${vip.iface}: ${a.frames} frame(s)`),
          (e: Error & { code?: string }) => {
            // Stopped meanwhile: the later rounds cannot send from the removed address, as meant.
            if (epoch !== this.epoch) this.log.debug(1, `${this.text}: announce of ${vip.address} ended by stop: ${e.message}`);
            else this.log.error(`${this.text}: could not announce ${vip.address} on ${vip.iface} (${e.code ?? 'error'}): ${e.message}`);
          },
        );
      }
      return this.result('start', t0, true, true, 'ok', added.changed ? `added ${where}` : `${where} was already there`);
    } catch (e) {
      return this.failure('start', t0, e);
    }
  }

  async stop(): Promise<ActionResult> {
    const t0 = this.clock();
    this.epoch++;
    this.log.info(`Running ${this.command('stop')}`);
    try {
      const found = findAddress(this.args, await this.backend.list());
      if (found === null) return this.result('stop', t0, true, false, 'ok', `${this.args.spec.ip} is not configured`);
      const vip = { family: found.family, iface: found.iface, address: found.address, prefix: found.prefix, broadcast: found.broadcast, label: found.label };
      const removed = await this.backend.remove(vip);
      return this.result('stop', t0, true, false, 'ok', removed.changed ? `removed ${found.address}/${found.prefix} from ${found.iface}` : `${found.address} was already gone`);
    } catch (e) {
      return this.failure('stop', t0, e);
    }
  }

  async status(): Promise<ActionResult> {
    const t0 = this.clock();
    try {
      const running = findAddress(this.args, await this.backend.list()) !== null;
      return this.result('status', t0, true, running, running ? 'running' : 'stopped', running ? STATUS_RUNNING : STATUS_STOPPED);
    } catch (e) {
      return this.failure('status', t0, e);
    }
  }
}
